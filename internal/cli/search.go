package cli

import (
	"context"
	"fmt"
	"text/tabwriter"

	"github.com/irgen/irgen/internal/engine"
	"github.com/irgen/irgen/internal/imageproc"
)

func init() {
	register("search", "Find the gallery images most like the given image files", searchCmd)
}

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
	b, err := loadBundle(*dir)
	if err != nil {
		return err
	}
	e, err := openEngine(b)
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
	images := make([]float32, len(files)*tf.Len())
	for i, f := range files {
		img, err := imageproc.DecodeFile(f, imageproc.DefaultLimits())
		if err != nil {
			return err
		}
		if err := tf.Eval(img, images[i*tf.Len():(i+1)*tf.Len()]); err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
	}
	hits, tm, err := e.Search(m, images, len(files), engine.Options{K: *k, Beam: *beamWidth})
	if err != nil {
		return err
	}
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
