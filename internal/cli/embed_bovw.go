package cli

import (
	"context"
	"fmt"

	"github.com/irgen/irgen/internal/baseline/bovw"
	"github.com/irgen/irgen/internal/catalog/pgcat"
	"github.com/irgen/irgen/internal/config"
	"github.com/irgen/irgen/internal/dataset"
	"github.com/irgen/irgen/internal/store"
)

// bovwEmbedder counts the gallery's visual words with the vocabulary
// 'irgen train-bovw --train-only' learned: a worker stores an image's
// counts (K values) in the catalog; the export lays them out as the
// index, inverse document frequencies over the whole gallery, as
// train-bovw does on one machine.
func bovwEmbedder(b *store.Bundle) (*galleryEmbedder, error) {
	vocab, err := bovw.Load(b.Path(bovw.VocabFile))
	if err == nil {
		err = b.Verify(bovw.VocabFile)
	}
	if err == nil && vocab.Len() != 0 {
		err = fmt.Errorf("%s holds %d images, want a vocabulary alone", bovw.VocabFile, vocab.Len())
	}
	if err != nil {
		return nil, fmt.Errorf("%w; learn the vocabulary first ('irgen train-bovw --model %s --train-only')", err, b.Dir())
	}
	d, err := openBoVWData(b)
	if err != nil {
		return nil, err
	}
	c := vocab.Config
	em := &galleryEmbedder{file: bovw.File, next: "; evaluate with 'irgen eval --method bovw'"}
	em.set = pgcat.VectorSet{Method: string(bovw.Method), Model: "bovw:" + b.Manifest().Files[bovw.VocabFile].SHA256,
		Gallery: store.KeysDigest(d.keys), Dim: c.K, Total: len(d.keys)}
	em.embed = func(ctx context.Context, ids []int) ([]float32, error) {
		o := bovw.BuildOptions{Config: c, Transform: d.tf, Gallery: d.images(dataset.Sub(d.ds.Gallery, ids)), Workers: config.Workers()}
		counts, _, err := bovw.CountWords(ctx, o, vocab.Vocab)
		if err != nil {
			return nil, err
		}
		out := make([]float32, len(ids)*c.K)
		for i, sp := range counts {
			bovw.Dense(sp, out[i*c.K:(i+1)*c.K])
		}
		return out, nil
	}
	em.write = func(data []float32) error {
		counts := make([][]uint32, len(d.keys))
		for i := range counts {
			if counts[i], err = bovw.Sparse(data[i*c.K : (i+1)*c.K]); err != nil {
				return fmt.Errorf("gallery image %d: %w", i, err)
			}
		}
		return writeBoVW(b, bovw.File, bovw.NewIndex(c, vocab.Vocab, counts, d.keys))
	}
	return em, nil
}
