package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/irgen/irgen/internal/config"
	"github.com/irgen/irgen/internal/dataset"
	"github.com/irgen/irgen/internal/engine"
	"github.com/irgen/irgen/internal/eval"
	"github.com/irgen/irgen/internal/store"
	"github.com/irgen/irgen/internal/train"
)

type evalFlags struct {
	dir, methods, ks, prPlot string
	markdown                 string
	json, perClass           bool
	queries, mapK, beam      int
}

func evalCmd(ctx context.Context, args []string) error {
	var f evalFlags
	fs := newFlags("eval", "--model MODEL [--method irgen,irgen-gen,knn,rqtree] [--json] [flags]")
	fs.StringVar(&f.dir, "model", "", "model directory")
	fs.StringVar(&f.methods, "method", "", "comma-separated methods: "+methodNames()+" (default or \"all\": every method the model supports)")
	fs.StringVar(&f.ks, "k", "1,10,20,30", "cutoffs K of precision and recall")
	fs.IntVar(&f.mapK, "map-k", 100, "cutoff of MAP")
	fs.IntVar(&f.queries, "queries", 0, "evaluate the first N queries (0 = all)")
	fs.IntVar(&f.beam, "beam", 30, "beam width of irgen and rqtree")
	fs.BoolVar(&f.json, "json", false, "print one JSON object per method instead of a table")
	fs.StringVar(&f.prPlot, "pr-plot", "", "write the precision-recall curves of the methods to this PNG file")
	fs.StringVar(&f.markdown, "markdown", "", "also write the result table as Markdown to this file")
	fs.BoolVar(&f.perClass, "per-class", false, "also report each class's queries alone (a table of P@K and MAP per class and method; \"classes\" in --json)")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	results, err := runEval(ctx, f)
	if err != nil {
		return err
	}
	if f.markdown != "" {
		if err := writeMarkdown(f.markdown, results); err != nil {
			return err
		}
	}
	if f.json {
		return writeJSONLines(stdout, results)
	}
	if err := eval.Table(stdout, results); err != nil {
		return err
	}
	return writeClassTable(stdout, results)
}

func runEval(ctx context.Context, f evalFlags) ([]eval.Result, error) {
	ks, err := intList(f.ks)
	if err != nil {
		return nil, err
	}
	b, e, err := openModel(f.dir)
	if err != nil {
		return nil, err
	}
	methods, err := chooseMethods(f.methods, e)
	if err != nil {
		return nil, err
	}
	return evaluate(ctx, b, e, methods, ks, f)
}

// methodNames lists every method, built-in and registered.
func methodNames() string {
	var names []string
	for _, m := range append(append([]engine.Method(nil), engine.Methods...), engine.Registered()...) {
		names = append(names, string(m))
	}
	return strings.Join(names, ", ")
}

// chooseMethods parses --method; "" and "all" mean every method the model
// can serve: the built-in ones, then the registered seed systems whose
// training has been run.
func chooseMethods(s string, e *engine.Engine) ([]engine.Method, error) {
	if s != "" && s != "all" {
		ms, err := engine.ParseMethods(s)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", errUsage, err)
		}
		return ms, nil
	}
	var ms []engine.Method
	for _, m := range append(append([]engine.Method(nil), engine.Methods...), engine.Registered()...) {
		if e.Available(m) {
			ms = append(ms, m)
		}
	}
	return ms, nil
}

func evaluate(ctx context.Context, b *store.Bundle, e *engine.Engine, methods []engine.Method, ks []int, f evalFlags) ([]eval.Result, error) {
	g := e.Gallery()
	if g == nil {
		return nil, fmt.Errorf("%s has no IDs yet; run 'irgen assign --model %s'", f.dir, f.dir)
	}
	ds, _, err := reopenData(b)
	if err != nil {
		return nil, err
	}
	n := ds.Query.Len()
	if f.queries > 0 {
		n = min(n, f.queries)
	}
	s, err := newScorer(e, g.Labels, ds, methods, ks, f)
	if err != nil {
		return nil, err
	}
	if err := s.run(ctx, n); err != nil {
		return nil, err
	}
	var results []eval.Result
	plot := map[string][]eval.PRPoint{}
	for i := range methods {
		r := s.accs[i].Result()
		if s.byClass != nil {
			r.Classes = s.byClass[i].Results()
		}
		results = append(results, r)
		plot[string(methods[i])] = s.curves[i].Points()
	}
	if f.prPlot != "" {
		if err := writePlot(f.prPlot, plot); err != nil {
			return nil, err
		}
	}
	return results, nil
}

// scorer searches the queries with every method and scores the hits by
// the labels of the gallery images they name.
type scorer struct {
	e        *engine.Engine
	queries  dataset.Split
	labels   []int32       // gallery image labels
	perClass map[int32]int // gallery images per label
	self     int           // 1 when each query is in the gallery: not relevant to itself
	opt      engine.Options
	methods  []engine.Method
	accs     []*eval.Accumulator
	byClass  []*eval.ByClass // per method, with --per-class
	curves   []*eval.PRCurve
}

// newScorer returns a scorer of ds's queries against a gallery labelled
// labels, with cutoffs ks and f's MAP cutoff and beam width.
func newScorer(e *engine.Engine, labels []int32, ds *dataset.Dataset, methods []engine.Method, ks []int, f evalFlags) (*scorer, error) {
	s := &scorer{e: e, queries: ds.Query, labels: labels, perClass: map[int32]int{}, methods: methods}
	for _, l := range s.labels {
		s.perClass[l]++
	}
	k := f.mapK
	for _, kk := range ks {
		k = max(k, kk)
	}
	s.opt = engine.Options{K: k, Beam: f.beam}
	if ds.QueryInGallery {
		s.opt.Exclude = func(q, id int) bool { return q == id }
		s.self = 1
	}
	s.accs = make([]*eval.Accumulator, len(methods))
	s.curves = make([]*eval.PRCurve, len(methods))
	for i, m := range methods {
		var err error
		if s.accs[i], err = eval.New(ks, f.mapK); err != nil {
			return nil, err
		}
		s.accs[i].Method = string(m)
		s.curves[i] = eval.NewPRCurve(k)
	}
	if f.perClass {
		s.byClass = make([]*eval.ByClass, len(methods))
		for i := range methods {
			var err error
			if s.byClass[i], err = eval.NewByClass(ds.Classes, ks, f.mapK); err != nil {
				return nil, err
			}
		}
	}
	return s, nil
}

// run scores the first n queries, loaded and searched in chunks.
func (s *scorer) run(ctx context.Context, n int) error {
	loader := dataset.NewLoader(s.queries, s.e.Transform, config.Workers())
	p := train.NewProgress(stderr, "eval", n*len(s.methods), 0, "query")
	err := loader.Chunks(ctx, n, 256, func(lo, k int, buf []float32) error {
		for mi := range s.methods {
			if err := s.score(mi, lo, k, buf); err != nil {
				return err
			}
			p.Update(lo*len(s.methods)+(mi+1)*k, "")
		}
		return nil
	})
	if err != nil {
		return err
	}
	p.Done(n*len(s.methods), "")
	return nil
}

// score searches n query images, queries lo to lo+n-1, with method mi and
// adds their hits and latency to its accumulator and curve.
func (s *scorer) score(mi, lo, n int, images []float32) error {
	o := s.opt
	if o.Exclude != nil {
		o.Exclude = func(q, id int) bool { return lo+q == id }
	}
	hits, tm, err := s.e.Search(s.methods[mi], images, n, o)
	if errors.Is(err, engine.ErrNoDecoder) {
		return fmt.Errorf("%w (or drop irgen from --method)", err)
	}
	if err != nil {
		return err
	}
	for q, hs := range hits {
		ql := int32(s.queries.Label(lo + q))
		labels := make([]int, len(hs))
		for i, h := range hs {
			labels[i] = int(s.labels[h.Index])
		}
		rel := s.perClass[ql] - s.self
		s.accs[mi].Add(labels, int(ql), rel)
		if s.byClass != nil {
			s.byClass[mi].Add(labels, int(ql), rel)
		}
		s.curves[mi].Add(labels, int(ql), rel)
		s.accs[mi].AddLatency(tm.Encode/time.Duration(n), tm.Search/time.Duration(n))
	}
	return nil
}

func writePlot(path string, curves map[string][]eval.PRPoint) error {
	return store.WriteFileAtomic(path, func(w io.Writer) error { return eval.PlotPR(w, curves) })
}

// writeMarkdown writes the result table, then the per-class table of the
// results that have one.
func writeMarkdown(path string, results []eval.Result) error {
	return store.WriteFileAtomic(path, func(w io.Writer) error {
		if err := eval.Markdown(w, results); err != nil {
			return err
		}
		return writeClassTable(w, results)
	})
}

// writeClassTable writes a blank line and the per-class table of the
// results that have one (eval --per-class); nothing when none has.
func writeClassTable(w io.Writer, results []eval.Result) error {
	if !slices.ContainsFunc(results, func(r eval.Result) bool { return len(r.Classes) > 0 }) {
		return nil
	}
	if _, err := io.WriteString(w, "\n"); err != nil {
		return err
	}
	return eval.ClassMarkdown(w, results)
}
