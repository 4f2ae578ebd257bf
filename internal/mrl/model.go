package mrl

import (
	"fmt"
	"io"
	"path/filepath"
	"sync"

	"github.com/gomlx/compute"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/irgen/irgen/internal/ckpt"
	"github.com/irgen/irgen/internal/nn"
	"github.com/irgen/irgen/internal/store"
)

// Files of the MRL model inside a model directory.
const (
	ConfigFile     = "mrl.json"
	WeightsFile    = "mrl.ckpt"
	StateFile      = "mrl.state.json"
	EmbeddingsFile = "mrl.emb"
	HNSWFile       = "mrl.hnsw"
)

// Model is an MRL encoder with its weights.
type Model struct {
	Config  Config
	Vars    *model.Store
	Backend compute.Backend
	// Batch is the number of images per embedding call; the last call is
	// padded to it so that the graph compiles once.
	Batch int

	once  sync.Once
	embed *model.Exec
	err   error
}

// New returns an MRL model whose encoder starts from the variables under
// EncoderScope of from (the trained tokenizer's, say); with from nil the
// encoder, like the head, is initialized from seed.
func New(backend compute.Backend, c Config, from *model.Store, seed int64) (*Model, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	vars := model.NewStore()
	vars.SetParam(nn.ParamSeed, seed)
	if from != nil {
		copied, err := ckpt.CopyVars(from, vars, EncoderScope+"/", "")
		if err != nil {
			return nil, fmt.Errorf("mrl: %w", err)
		}
		if copied == 0 {
			return nil, fmt.Errorf("mrl: no encoder variables under %s to start from", EncoderScope)
		}
	}
	return &Model{Config: c, Vars: vars, Backend: backend, Batch: 64}, nil
}

// Load reads the MRL model saved in dir.
func Load(backend compute.Backend, dir string) (*Model, error) {
	c, err := LoadConfig(dir)
	if err != nil {
		return nil, err
	}
	m, err := New(backend, c, nil, 0)
	if err != nil {
		return nil, err
	}
	return m, m.loadWeights(filepath.Join(dir, WeightsFile))
}

// LoadConfig reads the configuration saved in dir.
func LoadConfig(dir string) (Config, error) {
	var c Config
	if err := store.ReadJSON(filepath.Join(dir, ConfigFile), &c); err != nil {
		return c, fmt.Errorf("mrl: %w", err)
	}
	return c, c.Validate()
}

func (m *Model) loadWeights(path string) error {
	if err := ckpt.LoadFile(path, m.Vars); err != nil {
		return fmt.Errorf("mrl: %w", err)
	}
	return nil
}

// Save writes the configuration and the weights (optimizer state
// included, so that training can resume) into dir, atomically.
func (m *Model) Save(dir string) error {
	if err := store.WriteJSON(filepath.Join(dir, ConfigFile), m.Config); err != nil {
		return fmt.Errorf("mrl: %w", err)
	}
	if err := store.WriteFileAtomic(filepath.Join(dir, WeightsFile), func(w io.Writer) error {
		return ckpt.Save(w, m.Vars, nil)
	}); err != nil {
		return fmt.Errorf("mrl: %w", err)
	}
	return nil
}

// Embed encodes n images (n × H × W × C, normalized) into n embeddings of
// Config.Dim values (not normalized).
func (m *Model) Embed(images []float32, n int) ([]float32, error) {
	c := m.Config.Encoder
	size := c.ImageSize * c.ImageSize * c.Channels
	if n < 0 || len(images) != n*size {
		return nil, fmt.Errorf("mrl: %d values for %d images of %d", len(images), n, size)
	}
	m.once.Do(func() {
		m.embed, m.err = model.NewExec(m.Backend, m.Vars, func(scope *model.Scope, x *Node) *Node {
			return Embed(scope, m.Config, x)
		})
	})
	if m.err != nil {
		return nil, m.err
	}
	d := m.Config.Dim
	out := make([]float32, n*d)
	buf := make([]float32, m.Batch*size)
	for lo := 0; lo < n; lo += m.Batch {
		hi := min(lo+m.Batch, n)
		clear(buf)
		copy(buf, images[lo*size:hi*size])
		res, err := m.embed.Exec(tensors.FromFlatDataAndDimensions(buf, m.Batch, c.ImageSize, c.ImageSize, c.Channels))
		if err != nil {
			return nil, fmt.Errorf("mrl: embed: %w", err)
		}
		z := tensors.MustCopyFlatData[float32](res[0])
		res[0].FinalizeAll()
		copy(out[lo*d:], z[:(hi-lo)*d])
	}
	return out, nil
}
