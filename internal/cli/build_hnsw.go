package cli

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/irgen/irgen/internal/baseline/ann"
	"github.com/irgen/irgen/internal/baseline/hnsw"
	"github.com/irgen/irgen/internal/knn"
	"github.com/irgen/irgen/internal/train"
)

func buildHNSW(ctx context.Context, args []string) error {
	cfg := hnsw.DefaultConfig()
	var dir string
	fs := newFlags("build-hnsw", "--model MODEL [--m 16] [--ef-construction 200] [--ef-search 64]")
	fs.StringVar(&dir, "model", "", "model directory (IDs assigned)")
	fs.IntVar(&cfg.M, "m", cfg.M, "neighbours per node (2M on layer 0)")
	fs.IntVar(&cfg.EfConstruction, "ef-construction", cfg.EfConstruction, "candidate list size while building")
	fs.IntVar(&cfg.EfSearch, "ef-search", cfg.EfSearch, "candidate list size of queries (at least K)")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	cfg.Ml = 0 // 1/ln(M) for the M chosen
	if _, err := hnsw.New(1, cfg); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	b, err := loadBundle(dir)
	if err != nil {
		return err
	}
	g, err := readGallery(b)
	if err != nil {
		return err
	}
	n := g.Len()
	fmt.Fprintf(stderr, "irgen: hnsw over %d gallery features of %d dims (M %d, efConstruction %d, efSearch %d)\n",
		n, g.Dim, cfg.M, cfg.EfConstruction, cfg.EfSearch)
	p := train.NewProgress(stderr, "hnsw", n, 0, "img")
	start := time.Now()
	ix, err := hnsw.Build(ctx, g.Features, g.Dim, cfg, func(done int) {
		if done < n {
			p.Update(done, "")
		}
	})
	if err != nil {
		return err
	}
	p.Done(n, "")
	took := time.Since(start)
	if err := b.WriteFile(ann.File, func(w io.Writer) error {
		return ann.Save(w, ix, ann.FeaturesDigest(g.Features))
	}); err != nil {
		return err
	}
	if err := b.Save(); err != nil {
		return err
	}
	recall, err := selfRecall(ix, g.Features, g.Dim, 10, 500)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "irgen: hnsw built in %s; recall@10 against exact search on %d gallery features: %.4f → %s\n",
		took.Round(time.Millisecond), min(n, 500), recall, b.Path(ann.File))
	return nil
}

// selfRecall is the mean recall@k of the graph against exact search, with
// up to m evenly spaced gallery features as queries.
func selfRecall(ix *hnsw.Index, feats []float32, dim, k, m int) (float64, error) {
	exact, err := knn.New(dim, knn.Cosine)
	if err != nil {
		return 0, err
	}
	if err := exact.Add(feats); err != nil {
		return 0, err
	}
	n := len(feats) / dim
	m = min(m, n)
	qs := make([]float32, 0, m*dim)
	for i := range m {
		j := i * n / m
		qs = append(qs, feats[j*dim:(j+1)*dim]...)
	}
	truth, err := exact.SearchBatch(qs, k, 0)
	if err != nil {
		return 0, err
	}
	got, err := ix.SearchBatch(qs, k, 0)
	if err != nil {
		return 0, err
	}
	var hits int
	for q := range truth {
		hits += knn.Hits(truth[q], got[q])
	}
	return float64(hits) / float64(m*k), nil
}
