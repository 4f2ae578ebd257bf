// Package irt is IRT ("Training Vision Transformers for Image Retrieval",
// El-Nouby et al. 2021; seed 003, an unofficial PyTorch implementation):
// a ViT whose L2-normalized class-token embedding is fine-tuned for
// retrieval with a contrastive loss (Contrastive: positives are the images
// of the same class, negatives those of other classes above a margin β)
// plus λ times a differential-entropy regularizer (KoLeo) that spreads the
// embeddings, with an optional cross-batch memory of past embeddings
// (Memory, the seed code's XBM; --memory-ratio) filled by a momentum
// encoder (--encoder-momentum). Retrieval is exact cosine kNN over the
// gallery's embeddings.
//
// The seed starts from an ImageNet-pretrained DeiT. irgen has no pretrained
// weights for its data, so IRT starts from the tokenizer's encoder (trained
// on the same training split with a classification loss), and IRT_O, the
// off-the-shelf variant, is that encoder's embedding without fine-tuning.
// The embedding is the class token after the final layer norm (Feature
// ClassToken, as IRT) or, optionally, the tokenizer's FC projection of it
// (Feature Head): then IRT_O's embedding is exactly the tokenizer feature
// and IRT_O retrieves exactly what the knn method does.
//
// Not reproduced: drop-path 0.1 (the encoder has no stochastic depth), the
// m-per-class batch sampler (batches are drawn uniformly), and mixed
// precision.
package irt

import (
	"fmt"

	"github.com/gomlx/compute"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/irgen/irgen/internal/ckpt"
	"github.com/irgen/irgen/internal/encoder"
	"github.com/irgen/irgen/internal/nn"
	"github.com/irgen/irgen/internal/store"
	"github.com/irgen/irgen/internal/tokenizer"
)

// Feature names what the embedding is.
type Feature string

const (
	// ClassToken is the ViT's class token after the final layer norm, the
	// embedding of IRT.
	ClassToken Feature = "cls"
	// Head is the tokenizer's fully connected projection of the class
	// token (the feature of irgen's knn method).
	Head Feature = "head"
)

// Scopes of the model's variables: the encoder's and the head's are the
// tokenizer's, so that weights copy by path; KeyPrefix prefixes the
// momentum (key) encoder's copies.
const (
	EncoderScope = tokenizer.EncoderScope
	HeadScope    = tokenizer.HeadScope
	KeyPrefix    = "/key"
)

// Config describes the embedding network.
type Config struct {
	Encoder encoder.Config `json:"encoder"`
	Feature Feature        `json:"feature"`
	// FeatureDim is the width of the Head projection (Feature Head only).
	FeatureDim int `json:"feature_dim,omitempty"`
}

// Validate checks the configuration.
func (c Config) Validate() error {
	if err := c.Encoder.Validate(); err != nil {
		return err
	}
	switch c.Feature {
	case ClassToken:
	case Head:
		if c.FeatureDim <= 0 {
			return fmt.Errorf("irt: head feature of width %d", c.FeatureDim)
		}
	default:
		return fmt.Errorf("irt: unknown feature %q (have cls, head)", c.Feature)
	}
	return nil
}

// Dim is the width of the embedding.
func (c Config) Dim() int {
	if c.Feature == Head {
		return c.FeatureDim
	}
	return c.Encoder.Dim
}

// Embedding computes the L2-normalized embeddings [B, Dim] of images
// [B, H, W, C] with the variables of s under prefix ("" for the model,
// KeyPrefix for the momentum encoder).
func Embedding(s *model.Store, prefix string, c Config, images *Node) *Node {
	x := encoder.ClassToken(encoder.Forward(s.Scope(prefix+EncoderScope), c.Encoder, images))
	if c.Feature == Head {
		x = nn.Dense(s.Scope(prefix+HeadScope).In("fc"), x, c.FeatureDim, true)
	}
	return L2Normalize(x, -1)
}

// Files of a trained IRT model inside its directory.
const (
	ConfigFile  = "irt.json"
	WeightsFile = "irt.ckpt"
)

// Model is an IRT embedding network with its weights.
type Model struct {
	Config  Config
	Vars    *model.Store
	Backend compute.Backend
}

// New returns a model whose encoder (and head, for Feature Head) starts
// from the variables of from (the tokenizer's); with from nil it starts
// from a random initialization drawn from seed.
func New(backend compute.Backend, c Config, from *model.Store, seed int64) (*Model, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	prefixes := []string{EncoderScope + "/"}
	if c.Feature == Head {
		prefixes = append(prefixes, HeadScope+"/fc/")
	}
	vars, err := ckpt.NewStore(seed, from, prefixes...)
	if err != nil {
		return nil, fmt.Errorf("irt: %w", err)
	}
	return &Model{Config: c, Vars: vars, Backend: backend}, nil
}

// files are the fine-tuned model's configuration and weights, in the
// bundle folder Dir.
var files = ckpt.Files{Dir: Dir, Config: ConfigFile, Weights: WeightsFile, Name: "irt"}

// LoadBundle reads the fine-tuned model recorded in bundle b, checking its
// files against b's manifest.
func LoadBundle(backend compute.Backend, b *store.Bundle) (*Model, error) {
	return ckpt.LoadBundle(files, b, build(backend))
}

// build returns the function that builds a model of a loaded
// configuration, for package ckpt to load its weights into.
func build(backend compute.Backend) func(Config) (*Model, *model.Store, error) {
	return ckpt.Build(func(c Config) (*Model, error) { return New(backend, c, nil, 0) },
		func(m *Model) *model.Store { return m.Vars })
}

// LoadBundleConfig reads the configuration recorded in bundle b, checking
// the file against b's manifest (an error wrapping store.ErrNotRecorded
// when IRT was not trained).
func LoadBundleConfig(b *store.Bundle) (Config, error) {
	return ckpt.ConfigBundle[Config](files, b)
}

// Load reads the model saved in dir, its folder on disk, whether or not a
// bundle records it (LoadBundle checks the files).
func Load(backend compute.Backend, dir string) (*Model, error) {
	return ckpt.LoadDir(files, dir, build(backend))
}

// LoadConfig reads the configuration saved in dir, the model's folder on
// disk. A missing file is an error wrapping fs.ErrNotExist.
func LoadConfig(dir string) (Config, error) {
	return ckpt.ConfigDir[Config](files, dir)
}

// loadWeights loads the checkpoint at path (to resume training).
func (m *Model) loadWeights(path string) error {
	return files.LoadWeightsFile(path, m.Vars)
}

// Save writes the configuration and the weights (optimizer and momentum
// encoder included, for resuming) into dir, the model's folder on disk,
// atomically.
func (m *Model) Save(dir string) error {
	return files.Save(dir, m.Config, m.Vars)
}

// Embedder computes embeddings with the variables of Vars under Prefix.
// It is safe for concurrent use.
type Embedder struct {
	Backend compute.Backend
	Vars    *model.Store
	Prefix  string
	Config  Config
	// Batch is the number of images per call of the compiled graph; the
	// last call is padded to it so that the graph compiles once.
	Batch int

	run encoder.Lazy
}

// NewEmbedder returns an Embedder of the model's own (not the key)
// encoder.
func (m *Model) NewEmbedder() *Embedder {
	return &Embedder{Backend: m.Backend, Vars: m.Vars, Config: m.Config, Batch: 64}
}

// Embed encodes n images (n × H × W × C, normalized) into n L2-normalized
// embeddings of Config.Dim() values.
func (e *Embedder) Embed(images []float32, n int) ([]float32, error) {
	graph := func(scope *model.Scope, x *Node) *Node { return Embedding(scope.Store(), e.Prefix, e.Config, x) }
	return e.run.Run(encoder.Job{Backend: e.Backend, Vars: e.Vars, Config: e.Config.Encoder, Graph: graph,
		Batch: e.Batch, Dim: e.Config.Dim(), Name: "irt", Verb: "embed"}, images, n)
}
