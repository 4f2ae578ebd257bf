package decoder

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/gomlx/compute"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/irgen/irgen/internal/ckpt"
	"github.com/irgen/irgen/internal/encoder"
	"github.com/irgen/irgen/internal/nn"
	"github.com/irgen/irgen/internal/store"
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
		for v := range from.IterVariables() {
			if !strings.HasPrefix(v.Path(), EncoderScope+"/") {
				continue
			}
			t, err := v.Value()
			if err != nil {
				return nil, err
			}
			c, err := t.LocalClone()
			if err != nil {
				return nil, err
			}
			if _, err := vars.CreateVariable(v.Path(), c); err != nil {
				return nil, fmt.Errorf("decoder: copy %s: %w", v.Path(), err)
			}
		}
	}
	return &Model{Config: c, Encoder: enc, Vars: vars, Backend: backend}, nil
}

// Load reads the decoder saved in dir.
func Load(backend compute.Backend, dir string) (*Model, error) {
	data, err := os.ReadFile(filepath.Join(dir, ConfigFile))
	if err != nil {
		return nil, fmt.Errorf("decoder: %w", err)
	}
	var s saved
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("decoder: %s: %w", ConfigFile, err)
	}
	m, err := New(backend, s.Decoder, s.Encoder, nil, 0)
	if err != nil {
		return nil, err
	}
	return m, m.loadWeights(filepath.Join(dir, WeightsFile))
}

func (m *Model) loadWeights(path string) error {
	if err := ckpt.LoadFile(path, m.Vars); err != nil {
		return fmt.Errorf("decoder: %w", err)
	}
	return nil
}

func (m *Model) saveWeights(path string) error {
	return store.WriteFileAtomic(path, func(w io.Writer) error {
		return ckpt.Save(w, m.Vars, nil)
	})
}

// Save writes the configuration and weights into dir atomically.
func (m *Model) Save(dir string) error {
	if err := store.WriteJSON(filepath.Join(dir, ConfigFile), saved{Decoder: m.Config, Encoder: m.Encoder}); err != nil {
		return fmt.Errorf("decoder: %w", err)
	}
	return m.saveWeights(filepath.Join(dir, WeightsFile))
}
