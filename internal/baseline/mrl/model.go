package mrl

import (
	"fmt"

	"github.com/gomlx/compute"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/irgen/irgen/internal/ckpt"
	"github.com/irgen/irgen/internal/encoder"
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

	embed encoder.Lazy
}

// New returns an MRL model whose encoder starts from the variables under
// EncoderScope of from (the trained tokenizer's, say); with from nil the
// encoder, like the head, is initialized from seed.
func New(backend compute.Backend, c Config, from *model.Store, seed int64) (*Model, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	vars, err := ckpt.NewStore(seed, from, EncoderScope+"/")
	if err != nil {
		return nil, fmt.Errorf("mrl: %w", err)
	}
	return &Model{Config: c, Vars: vars, Backend: backend, Batch: 64}, nil
}

// files are the model's configuration and weights, at the bundle's root.
var files = ckpt.Files{Config: ConfigFile, Weights: WeightsFile, Name: "mrl"}

// LoadBundle reads the MRL model recorded in bundle b, checking its files
// against b's manifest.
func LoadBundle(backend compute.Backend, b *store.Bundle) (*Model, error) {
	return ckpt.LoadBundle(files, b, build(backend))
}

// build returns the function that builds a model of a loaded
// configuration, for package ckpt to load its weights into.
func build(backend compute.Backend) func(Config) (*Model, *model.Store, error) {
	return ckpt.Build(func(c Config) (*Model, error) { return New(backend, c, nil, 0) },
		func(m *Model) *model.Store { return m.Vars })
}

// Load reads the MRL model saved in dir, whether or not a bundle records
// it (LoadBundle checks the files).
func Load(backend compute.Backend, dir string) (*Model, error) {
	return ckpt.LoadDir(files, dir, build(backend))
}

// LoadConfig reads the configuration saved in dir.
func LoadConfig(dir string) (Config, error) {
	return ckpt.ConfigDir[Config](files, dir)
}

// Save writes the configuration and the weights (optimizer state
// included, so that training can resume) into dir, atomically.
func (m *Model) Save(dir string) error {
	return files.Save(dir, m.Config, m.Vars)
}

// Embed encodes n images (n × H × W × C, normalized) into n embeddings of
// Config.Dim values (not normalized).
func (m *Model) Embed(images []float32, n int) ([]float32, error) {
	graph := func(scope *model.Scope, x *Node) *Node { return Embed(scope, m.Config, x) }
	return m.embed.Run(encoder.Job{Backend: m.Backend, Vars: m.Vars, Config: m.Config.Encoder, Graph: graph,
		Batch: m.Batch, Dim: m.Config.Dim, Name: "mrl", Verb: "embed"}, images, n)
}
