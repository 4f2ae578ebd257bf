package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/irgen/irgen/internal/batch"
	"github.com/irgen/irgen/internal/config"
	"github.com/irgen/irgen/internal/engine"
	"github.com/irgen/irgen/internal/eval"
	"github.com/irgen/irgen/internal/store"
	"github.com/irgen/irgen/internal/train"
)

func init() {
	register("eval", "Evaluate retrieval methods on the query split: precision, recall, MAP, latency", evalCmd)
}

type evalFlags struct {
	dir, methods, ks, prPlot string
	markdown                 string
	json                     bool
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
		enc := json.NewEncoder(stdout)
		for _, r := range results {
			if err := enc.Encode(r); err != nil {
				return err
			}
		}
		return nil
	}
	return eval.Table(stdout, results)
}

func runEval(ctx context.Context, f evalFlags) ([]eval.Result, error) {
	ks, err := intList(f.ks)
	if err != nil {
		return nil, err
	}
	b, err := loadBundle(f.dir)
	if err != nil {
		return nil, err
	}
	e, err := openEngine(b)
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
	queries := ds.Query
	n := queries.Len()
	if f.queries > 0 {
		n = min(n, f.queries)
	}
	perClass := map[int32]int{}
	for _, l := range g.Labels {
		perClass[l]++
	}
	k := f.mapK
	for _, kk := range ks {
		k = max(k, kk)
	}
	opt := engine.Options{K: k, Beam: f.beam}
	self := 0
	if ds.QueryInGallery {
		opt.Exclude = func(q, id int) bool { return q == id }
		self = 1
	}
	accs := make([]*eval.Accumulator, len(methods))
	curves := make([]*eval.PRCurve, len(methods))
	for i, m := range methods {
		if accs[i], err = eval.New(ks, f.mapK); err != nil {
			return nil, err
		}
		accs[i].Method = string(m)
		curves[i] = eval.NewPRCurve(k)
	}
	loader := batch.New(queries, e.Transform, config.Workers())
	const chunk = 256
	images := make([]float32, chunk*e.Transform.Len())
	idx := make([]int, 0, chunk)
	p := train.NewProgress(stderr, "eval", n*len(methods), 0, "query")
	for lo := 0; lo < n; lo += chunk {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		hi := min(lo+chunk, n)
		idx = idx[:0]
		for i := lo; i < hi; i++ {
			idx = append(idx, i)
		}
		buf := images[:(hi-lo)*e.Transform.Len()]
		if err := loader.Fill(idx, -1, buf, nil); err != nil {
			return nil, err
		}
		for mi, m := range methods {
			o := opt
			if o.Exclude != nil {
				o.Exclude = func(q, id int) bool { return lo+q == id }
			}
			hits, tm, err := e.Search(m, buf, hi-lo, o)
			if errors.Is(err, engine.ErrNoDecoder) {
				return nil, fmt.Errorf("%w (or drop irgen from --method)", err)
			}
			if err != nil {
				return nil, err
			}
			for q, hs := range hits {
				ql := int32(queries.Label(lo + q))
				labels := make([]int, len(hs))
				for i, h := range hs {
					labels[i] = int(g.Labels[h.Index])
				}
				rel := perClass[ql] - self
				accs[mi].Add(labels, int(ql), rel)
				curves[mi].Add(labels, int(ql), rel)
				accs[mi].AddLatency(tm.Encode/time.Duration(hi-lo), tm.Search/time.Duration(hi-lo))
			}
			p.Update(lo*len(methods)+(mi+1)*(hi-lo), "")
		}
	}
	p.Done(n*len(methods), "")
	var results []eval.Result
	plot := map[string][]eval.PRPoint{}
	for i := range methods {
		results = append(results, accs[i].Result())
		plot[string(methods[i])] = curves[i].Points()
	}
	if f.prPlot != "" {
		if err := writePlot(f.prPlot, plot); err != nil {
			return nil, err
		}
	}
	return results, nil
}

func writePlot(path string, curves map[string][]eval.PRPoint) error {
	return store.WriteFileAtomic(path, func(w io.Writer) error { return eval.PlotPR(w, curves) })
}

func writeMarkdown(path string, results []eval.Result) error {
	return store.WriteFileAtomic(path, func(w io.Writer) error { return eval.Markdown(w, results) })
}
