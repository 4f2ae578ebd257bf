package cli

import (
	"context"
	"fmt"
	"io"

	"github.com/irgen/irgen/internal/catalog/pgcat"
	"github.com/irgen/irgen/internal/config"
	"github.com/irgen/irgen/internal/dataset"
	"github.com/irgen/irgen/internal/engine"
	"github.com/irgen/irgen/internal/gallery"
	"github.com/irgen/irgen/internal/store"
	"github.com/irgen/irgen/internal/tokenizer"
	"github.com/irgen/irgen/internal/train"
)

func assign(ctx context.Context, args []string) error {
	fs := newFlags("assign", "--model MODEL [--catalog postgres://… [--shard i/N | --export-gallery]]")
	dir := fs.String("model", "", "model directory")
	cat := fs.String("catalog", "", "write the IDs into this PostgreSQL catalog (postgres://USER@HOST:PORT/DB) instead of MODEL/gallery.bin")
	shard := fs.String("shard", "", "with --catalog: assign shard i of N (0 ≤ i < N) of the gallery; run one worker per shard")
	export := fs.Bool("export-gallery", false, "with --catalog: write the gallery the split workers assigned to MODEL/gallery.bin (for train-decoder, eval and the other methods)")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	switch {
	case *cat != "" && !pgcat.IsURL(*cat):
		return fmt.Errorf("%w: --catalog %s: want a postgres:// URL", errUsage, pgcat.Redact(*cat))
	case *export && *shard != "":
		return fmt.Errorf("%w: --export-gallery and --shard: export once every shard is done, in a run of its own", errUsage)
	case *export && *cat == "":
		return fmt.Errorf("%w: --export-gallery needs --catalog postgres://…", errUsage)
	case *export:
		return runExportGallery(ctx, *dir, *cat)
	case *cat != "":
		if *shard == "" {
			*shard = "0/1"
		}
		return runAssignShard(ctx, *dir, *cat, *shard)
	case *shard != "":
		return fmt.Errorf("%w: --shard needs --catalog postgres://…: split workers write to a shared catalog", errUsage)
	}
	return runAssign(ctx, *dir)
}

// openAssign opens the model in dir, whose tokenizer must be trained,
// with its data and engine, for assign.
func openAssign(dir string) (*store.Bundle, *dataset.Dataset, *engine.Engine, error) {
	b, err := loadBundle(dir)
	if err != nil {
		return nil, nil, nil, err
	}
	if !tokenizer.Trained(dir) {
		return nil, nil, nil, fmt.Errorf("the tokenizer in %s is not fully trained; rerun 'irgen train-tokenizer --out %s' to finish it", dir, dir)
	}
	ds, _, err := reopenData(b)
	if err != nil {
		return nil, nil, nil, err
	}
	e, err := openEngine(b)
	return b, ds, e, err
}

func runAssign(ctx context.Context, dir string) error {
	b, ds, e, err := openAssign(dir)
	if err != nil {
		return err
	}
	g, err := encodeGallery(ctx, e.Tokenizer, ds, e.Transform)
	if err != nil {
		return err
	}
	codes, err := e.Codes(g.Features)
	if err != nil {
		return err
	}
	g.Codes = codes
	if err := writeGallery(b, g); err != nil {
		return err
	}
	if err := e.SetGallery(g); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "irgen: %d gallery images → %d distinct IDs (M=%d, L=%d)\n", g.Len(), distinctIDs(g), g.M, g.L)
	return nil
}

// encodeGallery computes the features of every gallery image of ds, with
// a progress line.
func encodeGallery(ctx context.Context, tok *tokenizer.Model, ds *dataset.Dataset, tf transformT) (*gallery.Gallery, error) {
	c := tok.Config
	g := &gallery.Gallery{Dim: c.FeatureDim, M: c.M, L: c.L, Classes: ds.Classes}
	n := ds.Gallery.Len()
	p := train.NewProgress(stderr, "assign", n, 0, "img")
	if err := g.Encode(ctx, dataset.NewLoader(ds.Gallery, tf, config.Workers()), tok, func(done int) { p.Update(done, "") }); err != nil {
		return nil, err
	}
	p.Done(n, "")
	return g, nil
}

func distinctIDs(g *gallery.Gallery) int {
	seen := map[string]bool{}
	for i := range g.Len() {
		seen[fmt.Sprint(g.Code(i))] = true
	}
	return len(seen)
}

// writeGallery writes g as the gallery of bundle b and records it.
func writeGallery(b *store.Bundle, g *gallery.Gallery) error {
	if err := b.WriteFile(gallery.File, func(w io.Writer) error {
		_, err := g.WriteTo(w)
		return err
	}); err != nil {
		return err
	}
	return b.Save()
}
