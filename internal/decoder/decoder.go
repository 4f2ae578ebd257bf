package decoder

import (
	"fmt"

	"github.com/gomlx/compute"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/irgen/irgen/internal/ckpt"
	"github.com/irgen/irgen/internal/encoder"
	"github.com/irgen/irgen/internal/nn"
)

// Files of a decoder inside a model directory.
const (
	ConfigFile  = "decoder.json"
	WeightsFile = "decoder.ckpt"
	// EncoderScope is where the decoder's own copy of the encoder lives,
	// the same scope as the tokenizer's so weights copy by path.
	EncoderScope = "/encoder"
)

// Model is a decoder with the encoder it reads query images with.
type Model struct {
	Config  Config
	Encoder encoder.Config
	Vars    *model.Store
	Backend compute.Backend
	// Head, when set (before the first search), is what SearchHead
	// computes besides the IDs.
	Head *Head
}

type saved struct {
	Decoder Config         `json:"decoder"`
	Encoder encoder.Config `json:"encoder"`
}

// New returns a decoder whose encoder starts from the variables under
// EncoderScope of from (the trained tokenizer); the decoder itself is
// initialized from seed.
func New(backend compute.Backend, c Config, enc encoder.Config, from *model.Store, seed int64) (*Model, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	vars := model.NewStore()
	vars.SetParam(nn.ParamSeed, seed)
	if from != nil {
		if _, err := ckpt.CopyVars(from, vars, EncoderScope+"/", ""); err != nil {
			return nil, fmt.Errorf("decoder: %w", err)
		}
	}
	return &Model{Config: c, Encoder: enc, Vars: vars, Backend: backend}, nil
}

// files are the decoder's configuration (saved) and weights, at the
// bundle's root.
var files = ckpt.Files{Config: ConfigFile, Weights: WeightsFile, Name: "decoder"}

// Load reads the decoder saved in dir.
func Load(backend compute.Backend, dir string) (*Model, error) {
	return ckpt.LoadDir(files, dir, ckpt.Build(func(s saved) (*Model, error) { return New(backend, s.Decoder, s.Encoder, nil, 0) },
		func(m *Model) *model.Store { return m.Vars }))
}

func (m *Model) loadWeights(path string) error {
	return files.LoadWeightsFile(path, m.Vars)
}

func (m *Model) saveWeights(path string) error {
	return ckpt.SaveFile(path, m.Vars)
}

// Save writes the configuration and weights into dir atomically.
func (m *Model) Save(dir string) error {
	return files.Save(dir, saved{Decoder: m.Config, Encoder: m.Encoder}, m.Vars)
}
