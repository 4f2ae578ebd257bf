package cli

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/irgen/irgen/internal/baseline/dsi"
	"github.com/irgen/irgen/internal/config"
	"github.com/irgen/irgen/internal/dataset"
	"github.com/irgen/irgen/internal/engine"
)

func dsiIndexingAcc(ctx context.Context, args []string) error {
	fs := newFlags("dsi-indexing-acc", "--model MODEL [--method dsi,dsi-zeroshot] [--sample N]")
	dir := fs.String("model", "", "model directory (ViT-DSI trained)")
	methods := fs.String("method", "", "dsi-zeroshot, dsi or both (default: every trained one)")
	sample := fs.Int("sample", 1000, "gallery images to measure on, drawn at random (0: all)")
	beam := fs.Int("beam", 5, "beam width (at least 5)")
	seed := fs.Int64("seed", 1, "seed of the sample")
	asJSON := fs.Bool("json", false, "print one JSON object per method")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	b, e, err := openModel(*dir)
	if err != nil {
		return err
	}
	ms := dsiMethods
	if *methods != "" {
		if ms, err = engine.ParseMethods(*methods); err != nil {
			return fmt.Errorf("%w: %v", errUsage, err)
		}
	}
	ds, _, err := reopenData(b)
	if err != nil {
		return err
	}
	src := dataset.NewLoader(ds.Gallery, e.Transform, config.Workers())
	done := 0
	for _, m := range ms {
		var sub string
		switch m {
		case dsi.ZeroShot:
			sub = dsi.IndexDir
		case dsi.FineTuned:
			sub = dsi.RetrievalDir
		default:
			return fmt.Errorf("%w: %s is not a ViT-DSI method (%s, %s)", errUsage, m, dsi.ZeroShot, dsi.FineTuned)
		}
		r, err := dsi.Open(e, sub)
		if err != nil {
			if *methods == "" && m == dsi.FineTuned && done > 0 {
				continue // zero-shot only: no retrieval phase was run
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		acc, err := dsi.IndexingAccuracy(r.Model, r.IDs, r.Trie, src, dsi.Sample(r.IDs.Len(), *sample, uint64(*seed)), *beam)
		if err != nil {
			return err
		}
		done++
		if *asJSON {
			if err := json.NewEncoder(stdout).Encode(map[string]any{
				"method": m, "ia@1": acc.At1, "ia@5": acc.At5, "images": acc.N, "seconds": acc.Elapsed.Seconds()}); err != nil {
				return err
			}
			continue
		}
		fmt.Fprintf(stdout, "%-14s IA@1 %.4f  IA@5 %.4f  (%d gallery images, %.1fs)\n", m, acc.At1, acc.At5, acc.N, acc.Elapsed.Seconds())
	}
	return nil
}
