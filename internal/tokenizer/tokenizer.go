package tokenizer

import (
	"fmt"

	"github.com/gomlx/compute"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/irgen/irgen/internal/ckpt"
	"github.com/irgen/irgen/internal/encoder"
	"github.com/irgen/irgen/internal/nn"
	"github.com/irgen/irgen/internal/rq"
)

// Files of a tokenizer inside a model directory.
const (
	ConfigFile  = "tokenizer.json"
	WeightsFile = "tokenizer.ckpt"
)

// Model is a tokenizer with its weights, ready to encode images.
type Model struct {
	Config  Config
	Vars    *model.Store
	Backend compute.Backend
	// Batch is the number of images per encoder call; the last call of a
	// run is padded to it so the graph compiles once.
	Batch int

	feat encoder.Lazy
}

// New returns a tokenizer with freshly initialized weights.
func New(backend compute.Backend, c Config, seed int64) (*Model, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	vars := model.NewStore()
	vars.SetParam(nn.ParamSeed, seed)
	return &Model{Config: c, Vars: vars, Backend: backend, Batch: 64}, nil
}

// files are the tokenizer's configuration and weights, at the bundle's
// root.
var files = ckpt.Files{Config: ConfigFile, Weights: WeightsFile, Name: "tokenizer"}

// Load reads the tokenizer saved in dir.
func Load(backend compute.Backend, dir string) (*Model, error) {
	return ckpt.LoadDir(files, dir, ckpt.Build(func(c Config) (*Model, error) { return New(backend, c, 0) },
		func(m *Model) *model.Store { return m.Vars }))
}

func (m *Model) loadWeights(path string) error {
	return files.LoadWeightsFile(path, m.Vars)
}

// Save writes the configuration and the weights (optimizer state
// included, so training can resume) into dir, atomically.
func (m *Model) Save(dir string) error {
	return files.Save(dir, m.Config, m.Vars)
}

func (m *Model) saveWeights(path string) error {
	return ckpt.SaveFile(path, m.Vars)
}

// Features encodes n images (n × H × W × C, normalized) into n
// L2-normalized features of Config.FeatureDim values.
func (m *Model) Features(images []float32, n int) ([]float32, error) {
	return m.FeaturesBatch(images, n, m.Batch)
}

// FeaturesBatch is Features with batch images per encoder call instead of
// m.Batch; each batch size compiles the graph once more.
func (m *Model) FeaturesBatch(images []float32, n, batch int) ([]float32, error) {
	graph := func(scope *model.Scope, x *Node) *Node {
		f, _ := Feature(scope, m.Config, x)
		return f
	}
	return m.feat.Run(encoder.Job{Backend: m.Backend, Vars: m.Vars, Config: m.Config.Encoder, Graph: graph,
		Batch: batch, Dim: m.Config.FeatureDim, Name: "tokenizer", Verb: "encode"}, images, n)
}

// Quantizer returns the residual quantizer of the trained codebooks.
func (m *Model) Quantizer() (*rq.Quantizer, error) {
	v := m.Vars.GetVariable(CodebookPath)
	if v == nil {
		return nil, fmt.Errorf("tokenizer: no codebooks; train the tokenizer first")
	}
	t, err := v.Value()
	if err != nil {
		return nil, err
	}
	q := &rq.Quantizer{M: m.Config.M, L: m.Config.L, Dim: m.Config.FeatureDim, Codebooks: tensors.MustCopyFlatData[float32](t)}
	if err := q.Init(); err != nil {
		return nil, err
	}
	return q, nil
}

// SetCodebooks sets the codebook variable from a fitted quantizer.
func (m *Model) SetCodebooks(q *rq.Quantizer) error {
	c := m.Config
	if q.M != c.M || q.L != c.L || q.Dim != c.FeatureDim {
		return fmt.Errorf("tokenizer: quantizer is %d×%d×%d, model wants %d×%d×%d", q.M, q.L, q.Dim, c.M, c.L, c.FeatureDim)
	}
	t := tensors.FromFlatDataAndDimensions(append([]float32(nil), q.Codebooks...), c.M, c.L, c.FeatureDim)
	if v := m.Vars.GetVariable(CodebookPath); v != nil {
		return v.SetValue(t)
	}
	_, err := m.Vars.CreateVariable(CodebookPath, t)
	return err
}
