package cli

import (
	"context"
	"fmt"
	"text/tabwriter"

	"github.com/irgen/irgen/internal/engine"
	"github.com/irgen/irgen/internal/imageproc"
)

func searchCmd(ctx context.Context, args []string) error {
	fs := newFlags("search", "--model MODEL [--method irgen] [--k 10] IMAGE...")
	dir := fs.String("model", "", "model directory")
	method := fs.String("method", "", "retrieval method: irgen, knn, rqtree or another the model supports (hnsw, bovw, mrl, irt, dsi, …; default irgen when the decoder is trained, else knn)")
	k := fs.Int("k", 10, "results per image")
	beamWidth := fs.Int("beam", 30, "beam width of irgen and rqtree")
	files, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return fmt.Errorf("%w: give at least one image file", errUsage)
	}
	_, e, err := openModel(*dir)
	if err != nil {
		return err
	}
	m := engine.Method(*method)
	if m == "" {
		m = engine.KNN
		if e.Decoder != nil {
			m = engine.IRGen
		}
	}
	if _, err := engine.ParseMethods(string(m)); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	tf := e.Transform
	var good []string
	images := make([]float32, 0, len(files)*tf.Len())
	for _, f := range files {
		x, err := loadQuery(f, tf)
		if err != nil {
			fmt.Fprintf(stderr, "irgen: search: %v\n", err)
			continue
		}
		good = append(good, f)
		images = append(images, x...)
	}
	if len(good) == 0 {
		return fmt.Errorf("search: none of the %d images could be read", len(files))
	}
	hits, tm, err := e.Search(m, images, len(good), engine.Options{K: *k, Beam: *beamWidth})
	if err != nil {
		return err
	}
	if err := printHits(e, good, m, hits, tm); err != nil {
		return err
	}
	if len(good) < len(files) {
		return fmt.Errorf("search: %d of %d images could not be read", len(files)-len(good), len(files))
	}
	return nil
}

// loadQuery decodes an image file and applies the model's transform.
func loadQuery(path string, tf imageproc.Transform) ([]float32, error) {
	img, err := imageproc.DecodeFile(path, imageproc.DefaultLimits())
	if err != nil {
		return nil, err
	}
	x := make([]float32, tf.Len())
	if err := tf.Eval(img, x); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return x, nil
}

func printHits(e *engine.Engine, files []string, m engine.Method, hits [][]engine.Hit, tm engine.Timing) error {
	g := e.Gallery()
	w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	for i, f := range files {
		fmt.Fprintf(w, "# %s (%s: encode %.1f ms, search %.1f ms)\n", f, m,
			msPer(tm.Encode, len(files)), msPer(tm.Search, len(files)))
		fmt.Fprintln(w, "rank\timage\tlabel\tscore")
		for r, h := range hits[i] {
			label := "-"
			if l := g.Labels[h.Index]; l >= 0 && int(l) < len(g.Classes) {
				label = g.Classes[l]
			}
			fmt.Fprintf(w, "%d\t%s\t%s\t%.4f\n", r+1, g.Keys[h.Index], label, h.Score)
		}
	}
	return w.Flush()
}
