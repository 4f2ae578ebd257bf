package cli

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/irgen/irgen/internal/catalog/pgcat"
	"github.com/irgen/irgen/internal/config"
	"github.com/irgen/irgen/internal/dataset"
	"github.com/irgen/irgen/internal/engine"
	"github.com/irgen/irgen/internal/gallery"
	"github.com/irgen/irgen/internal/store"
	"github.com/irgen/irgen/internal/train"
)

// shardChunk is the number of images a split worker encodes and commits
// at a time: what a stopped worker redoes at most.
const shardChunk = 1024

// parseShard reads --shard i/N (0 ≤ i < N).
func parseShard(v string) (i, n int, err error) {
	a, b, ok := strings.Cut(v, "/")
	i, err1 := strconv.Atoi(a)
	n, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || n < 1 || i < 0 || i >= n {
		return 0, 0, fmt.Errorf("%w: --shard %q: want i/N with 0 ≤ i < N, e.g. 0/2 and 1/2", errUsage, v)
	}
	return i, n, nil
}

// runAssignShard encodes shard spec (i/N) of the gallery of the model in
// dir into the PostgreSQL catalog at url, skipping the images the
// catalog holds already; the last worker to finish marks it filled.
func runAssignShard(ctx context.Context, dir, url, spec string) error {
	i, n, err := parseShard(spec)
	if err != nil {
		return err
	}
	b, ds, e, err := openAssign(dir)
	if err != nil {
		return err
	}
	sh, err := pgcat.NewShard(i, n, ds.Gallery.Len())
	if err != nil {
		return err
	}
	c, model, err := openAssigned(ctx, b, url)
	if err != nil {
		return err
	}
	defer c.Close()
	tc := e.Tokenizer.Config
	if err := c.BeginAssign(ctx, &gallery.Gallery{Dim: tc.FeatureDim, M: tc.M, L: tc.L, Classes: ds.Classes}, model, sh.Total); err != nil {
		return err
	}
	missing, err := c.Missing(ctx, sh)
	if err != nil {
		return err
	}
	if err := assignIDs(ctx, c, e, ds.Gallery, missing); err != nil {
		return err
	}
	have, err := c.FinishAssign(ctx, sh.Total)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "irgen: shard %d/%d: ids [%d, %d), %d encoded now, %d there already; the catalog %s holds %d of %d images%s\n",
		i, n, sh.Lo, sh.Hi, len(missing), sh.Hi-sh.Lo-len(missing), c.Where(), have, sh.Total, filledNote(have, sh.Total))
	return nil
}

// openAssigned opens the catalog at url for the model of bundle b, and
// returns it with the model's name in assigned catalogs.
func openAssigned(ctx context.Context, b *store.Bundle, url string) (*pgcat.Catalog, string, error) {
	model, err := pgcat.AssignedModel(b)
	if err != nil {
		return nil, "", err
	}
	c, err := pgcat.Open(ctx, url)
	return c, model, err
}

func filledNote(have, total int) string {
	if have >= total {
		return ": filled, ready to serve"
	}
	return "; waiting for the other shards"
}

// assignIDs encodes gallery images ids of split, chunk by chunk, and
// writes each chunk to c in one transaction.
func assignIDs(ctx context.Context, c *pgcat.Catalog, e *engine.Engine, split dataset.Split, ids []int) error {
	tc := e.Tokenizer.Config
	p := train.NewProgress(stderr, "assign", len(ids), 0, "img")
	for lo := 0; lo < len(ids); lo += shardChunk {
		chunk := ids[lo:min(lo+shardChunk, len(ids))]
		g := &gallery.Gallery{Dim: tc.FeatureDim, M: tc.M, L: tc.L}
		src := dataset.NewLoader(dataset.Sub(split, chunk), e.Transform, config.Workers())
		if err := g.Encode(ctx, src, e.Tokenizer, nil); err != nil {
			return err
		}
		codes, err := e.Codes(g.Features)
		if err != nil {
			return err
		}
		g.Codes = codes
		if err := c.PutAssigned(ctx, chunk, g); err != nil {
			return err
		}
		p.Update(lo+len(chunk), "")
	}
	p.Done(len(ids), "")
	return nil
}

// runExportGallery writes the gallery that split workers assigned in the
// catalog at url to the model in dir, as 'irgen assign' on one machine
// does.
func runExportGallery(ctx context.Context, dir, url string) error {
	b, err := loadBundle(dir)
	if err != nil {
		return err
	}
	c, model, err := openAssigned(ctx, b, url)
	if err != nil {
		return err
	}
	defer c.Close()
	g, err := c.AssignedGallery(ctx, model)
	if err != nil {
		return err
	}
	if err := writeGallery(b, g); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "irgen: %d gallery images of %s → %s (%d distinct IDs)\n", g.Len(), c.Where(), b.Path(gallery.File), distinctIDs(g))
	return nil
}
