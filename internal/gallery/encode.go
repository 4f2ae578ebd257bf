package gallery

import (
	"context"
	"fmt"

	"github.com/irgen/irgen/internal/dataset"
)

// Featurizer computes the features of n images (n × the loader's
// transform, normalized): the tokenizer.
type Featurizer interface {
	Features(images []float32, n int) ([]float32, error)
}

// encodeChunk is the number of images read and encoded at a time.
const encodeChunk = 1024

// Encode appends the images of src to g: their keys, labels and the
// features f gives them (eval transform), with zero IDs for the caller to
// assign. progress, when not nil, is told the number of images of src
// done after each chunk.
func (g *Gallery) Encode(ctx context.Context, src *dataset.Loader, f Featurizer, progress func(done int)) error {
	split := src.Split
	return src.Chunks(ctx, split.Len(), encodeChunk, func(lo, k int, buf []float32) error {
		hi := lo + k
		feats, err := f.Features(buf, k)
		if err != nil {
			return err
		}
		if len(feats) != (hi-lo)*g.Dim {
			return fmt.Errorf("gallery: %d feature values for %d images of dim %d", len(feats), hi-lo, g.Dim)
		}
		for i := lo; i < hi; i++ {
			g.Keys = append(g.Keys, split.Key(i))
			g.Labels = append(g.Labels, int32(split.Label(i)))
		}
		g.Features = append(g.Features, feats...)
		g.Codes = append(g.Codes, make([]int32, (hi-lo)*g.M)...)
		if progress != nil {
			progress(hi)
		}
		return nil
	})
}
