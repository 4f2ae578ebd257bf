package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/irgen/irgen/internal/batch"
	"github.com/irgen/irgen/internal/config"
	"github.com/irgen/irgen/internal/eval"
	"github.com/irgen/irgen/internal/hnsw"
	"github.com/irgen/irgen/internal/knn"
	"github.com/irgen/irgen/internal/mrl"
	"github.com/irgen/irgen/internal/store"
)

func init() {
	register("eval-mrl", "Evaluate Matryoshka retrieval (exact per prefix size, adaptive, funnel, HNSW) with seed 004's metrics", evalMRL)
}

type evalMRLFlags struct {
	dir, methods, ks, csvDir string
	dr, ds, shortlist        int
	funnelDR                 int
	funnelDims, funnelLists  string
	queries                  int
	json                     bool
}

func evalMRL(ctx context.Context, args []string) error {
	var f evalMRLFlags
	fs := newFlags("eval-mrl", "--model MODEL [--method mrl@16,mrl,mrl-adaptive,mrl-funnel,mrl-hnsw] [flags]")
	fs.StringVar(&f.dir, "model", "", "model directory (after 'irgen train-mrl')")
	fs.StringVar(&f.methods, "method", "", "comma-separated: mrl (exact L2 at full width), mrl@M (exact L2 on the first M dims), mrl-adaptive, mrl-funnel, mrl-hnsw (default: mrl@M for every nesting size, then the other three)")
	fs.IntVar(&f.dr, "dr", 0, "adaptive retrieval: shortlist dims D_r (default 16, as seed 004)")
	fs.IntVar(&f.ds, "ds", 0, "adaptive retrieval: rerank dims D_s (default the full width, seed 004's 2048)")
	fs.IntVar(&f.shortlist, "shortlist", 200, "adaptive retrieval: shortlist length k (seed 004: 200)")
	fs.IntVar(&f.funnelDR, "funnel-dr", 0, "funnel retrieval: shortlist dims D_r (default 8, as seed 004)")
	fs.StringVar(&f.funnelDims, "funnel-dims", "", "funnel retrieval: rerank cascade (default seed 004's 16,32,64,128,2048 fitted to the width: 16,32,64,128 for D=128)")
	fs.StringVar(&f.funnelLists, "funnel-shortlists", "", "funnel retrieval: shortlist cascade, one per rerank size (default seed 004's 200,100,50,25)")
	fs.StringVar(&f.ks, "k", "10,25,50,100", "cutoffs k of mAP@k, precision@k, recall@k and top-k accuracy")
	fs.IntVar(&f.queries, "queries", 0, "evaluate the first N queries (0 = all)")
	fs.StringVar(&f.csvDir, "csv", "", "write each method's k-NN shortlist (gallery positions, one query per row) as CSV files named as seed 004's into this directory")
	fs.BoolVar(&f.json, "json", false, "print one JSON object per method instead of a table")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return fmt.Errorf("%w: unexpected arguments %q", errUsage, pos)
	}
	rows, err := runEvalMRL(ctx, f)
	if err != nil {
		return err
	}
	if f.json {
		enc := json.NewEncoder(stdout)
		for _, r := range rows {
			if err := enc.Encode(r); err != nil {
				return err
			}
		}
		return nil
	}
	return mrlTable(stdout, rows)
}

// mrlRun is one retrieval method of eval-mrl.
type mrlRun struct {
	name    string
	csv     string // file name of its shortlist
	cascade *mrl.Cascade
}

// MRLResult is one method's row of eval-mrl: seed 004's four metrics at
// each cutoff (mAP@k as Σ P@r·rel(r) / k, precision@k, recall@k as the
// fraction of the query's class retrieved, top-k accuracy), top-1 accuracy
// and latency.
type MRLResult struct {
	Method    string          `json:"method"`
	Cascade   string          `json:"cascade,omitempty"`
	Queries   int             `json:"queries"`
	Top1      float64         `json:"top1"`
	MAP       map[int]float64 `json:"map"`
	Precision map[int]float64 `json:"precision"`
	Recall    map[int]float64 `json:"recall"`
	TopK      map[int]float64 `json:"topk"`
	MsEncode  float64         `json:"ms_encode"`
	MsSearch  float64         `json:"ms_search"`
	ks        []int
}

func mrlRuns(f evalMRLFlags, nesting []int, dim int) ([]mrlRun, error) {
	adaptive := mrl.DefaultAdaptive(dim)
	if f.dr != 0 {
		adaptive.RetrieveDim = f.dr
	}
	if f.ds != 0 {
		adaptive.RerankDims[0] = f.ds
	}
	adaptive.Shortlists[0] = f.shortlist
	funnel := mrl.DefaultFunnel(dim)
	if f.funnelDR != 0 {
		funnel.RetrieveDim = f.funnelDR
	}
	var err error
	if f.funnelDims != "" {
		if funnel.RerankDims, err = intList(f.funnelDims); err != nil {
			return nil, err
		}
	}
	if f.funnelLists != "" {
		if funnel.Shortlists, err = intList(f.funnelLists); err != nil {
			return nil, err
		}
	}
	for _, c := range []mrl.Cascade{adaptive, funnel} {
		if err := c.Validate(dim); err != nil {
			return nil, fmt.Errorf("%w: %v", errUsage, err)
		}
	}
	names := f.methods
	if names == "" || names == "all" {
		var ms []string
		for _, m := range nesting {
			ms = append(ms, fmt.Sprintf("mrl@%d", m))
		}
		names = strings.Join(append(ms, "mrl-adaptive", "mrl-funnel", "mrl-hnsw"), ",")
	}
	var runs []mrlRun
	for _, name := range strings.Split(names, ",") {
		name = strings.TrimSpace(name)
		switch {
		case name == "mrl" || strings.HasPrefix(name, "mrl@"):
			m := dim
			if name != "mrl" {
				if m, err = strconv.Atoi(strings.TrimPrefix(name, "mrl@")); err != nil || m < 1 || m > dim {
					return nil, fmt.Errorf("%w: method %q: prefix size must be in [1, %d]", errUsage, name, dim)
				}
			}
			c := mrl.Exact(m)
			runs = append(runs, mrlRun{name: name, csv: fmt.Sprintf("exactl2_%ddim-%%d-NN.csv", m), cascade: &c})
		case name == "mrl-adaptive":
			c := adaptive
			runs = append(runs, mrlRun{name: name, cascade: &c,
				csv: fmt.Sprintf("%ddim-reranked%d_%dshortlist_exactl2.csv", c.RetrieveDim, c.RerankDims[0], c.Shortlists[0])})
		case name == "mrl-funnel":
			c := funnel
			runs = append(runs, mrlRun{name: name, cascade: &c,
				csv: fmt.Sprintf("%ddim-cascade%s_%sshortlist_exactl2.csv", c.RetrieveDim, pyList(c.RerankDims), pyList(c.Shortlists))})
		case name == "mrl-hnsw":
			runs = append(runs, mrlRun{name: name, csv: fmt.Sprintf("hnsw_%ddim-%%d-NN.csv", dim)})
		default:
			return nil, fmt.Errorf("%w: unknown method %q (have mrl, mrl@M, mrl-adaptive, mrl-funnel, mrl-hnsw)", errUsage, name)
		}
	}
	return runs, nil
}

func pyList(v []int) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = strconv.Itoa(x)
	}
	return "[" + strings.Join(s, ",") + "]"
}

func runEvalMRL(ctx context.Context, f evalMRLFlags) ([]MRLResult, error) {
	ks, err := intList(f.ks)
	if err != nil {
		return nil, err
	}
	if f.shortlist <= 0 || f.queries < 0 {
		return nil, fmt.Errorf("%w: --shortlist %d and --queries %d must be positive and non-negative", errUsage, f.shortlist, f.queries)
	}
	b, err := loadBundle(f.dir)
	if err != nil {
		return nil, err
	}
	e, err := openEngine(b)
	if err != nil {
		return nil, err
	}
	r, err := mrl.Open(e)
	if err != nil {
		return nil, err
	}
	c := r.Model.Config
	runs, err := mrlRuns(f, c.Nesting, c.Dim)
	if err != nil {
		return nil, err
	}
	g := e.Gallery()
	ds, _, err := reopenData(b)
	if err != nil {
		return nil, err
	}
	n := ds.Query.Len()
	if f.queries > 0 {
		n = min(n, f.queries)
	}
	kmax := 0
	for _, k := range ks {
		kmax = max(kmax, k)
	}

	// Embed the queries once; every method searches the same embeddings.
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	start := time.Now()
	z, err := mrl.EmbedImages(ctx, r.Model, batch.New(ds.Query, e.Transform, config.Workers()), idx, nil)
	if err != nil {
		return nil, err
	}
	msEncode := msPer(time.Since(start), n)
	var exclude func(q, id int) bool
	self := 0
	if ds.QueryInGallery {
		exclude = func(q, id int) bool { return q == id }
		self = 1
	}
	perClass := map[int32]int{}
	for _, l := range g.Labels {
		perClass[l]++
	}

	var rows []MRLResult
	for _, run := range runs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		start := time.Now()
		var res [][]knn.Result
		if run.cascade != nil {
			res, err = r.Index.Search(z, kmax, *run.cascade, exclude)
		} else {
			var ix *hnsw.Index
			if ix, err = r.HNSWIndex(); err == nil {
				res, err = mrl.SearchHNSW(ix, z, kmax, exclude)
			}
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", run.name, err)
		}
		row := MRLResult{Method: run.name, Queries: n, MsEncode: msEncode, MsSearch: msPer(time.Since(start), n), ks: ks,
			MAP: map[int]float64{}, Precision: map[int]float64{}, Recall: map[int]float64{}, TopK: map[int]float64{}}
		if run.cascade != nil {
			row.Cascade = run.cascade.String()
		}
		for q, rs := range res {
			ql := int(ds.Query.Label(q))
			labels := make([]int, len(rs))
			for i, x := range rs {
				labels[i] = int(g.Labels[x.ID])
			}
			rel := perClass[int32(ql)] - self
			row.Top1 += eval.PrecisionAtK(labels, ql, 1)
			for _, k := range ks {
				row.MAP[k] += eval.APOverKAtK(labels, ql, k)
				row.Precision[k] += eval.PrecisionAtK(labels, ql, k)
				row.Recall[k] += eval.ClassRecallAtK(labels, ql, k, rel)
				row.TopK[k] += eval.RecallAtK(labels, ql, k)
			}
		}
		nq := float64(max(n, 1))
		row.Top1 /= nq
		for _, k := range ks {
			row.MAP[k] /= nq
			row.Precision[k] /= nq
			row.Recall[k] /= nq
			row.TopK[k] /= nq
		}
		rows = append(rows, row)
		if f.csvDir != "" {
			name := run.csv
			if strings.Contains(name, "%d") {
				name = fmt.Sprintf(name, kmax)
			}
			if err := writeShortlist(filepath.Join(f.csvDir, name), res); err != nil {
				return nil, err
			}
		}
	}
	return rows, nil
}

// writeShortlist writes one row of comma-separated gallery positions per
// query, without header, as seed 004's pd.DataFrame(I).to_csv.
func writeShortlist(path string, res [][]knn.Result) error {
	return store.WriteFileAtomic(path, func(w io.Writer) error {
		var sb strings.Builder
		for _, rs := range res {
			sb.Reset()
			for i, x := range rs {
				if i > 0 {
					sb.WriteByte(',')
				}
				sb.WriteString(strconv.Itoa(x.ID))
			}
			sb.WriteByte('\n')
			if _, err := io.WriteString(w, sb.String()); err != nil {
				return err
			}
		}
		return nil
	})
}

func mrlTable(w io.Writer, rows []MRLResult) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	if len(rows) == 0 {
		return nil
	}
	head := "method\tqueries\ttop1\t"
	for _, k := range rows[0].ks {
		head += fmt.Sprintf("mAP@%d\tP@%d\tR@%d\ttop%d\t", k, k, k, k)
	}
	fmt.Fprintln(tw, head+"ms enc\tms search\t")
	for _, r := range rows {
		line := fmt.Sprintf("%s\t%d\t%.4f\t", r.Method, r.Queries, r.Top1)
		for _, k := range r.ks {
			line += fmt.Sprintf("%.4f\t%.4f\t%.4f\t%.4f\t", r.MAP[k], r.Precision[k], r.Recall[k], r.TopK[k])
		}
		fmt.Fprintln(tw, line+fmt.Sprintf("%.3f\t%.3f\t", r.MsEncode, r.MsSearch))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, r := range rows {
		if r.Cascade != "" {
			fmt.Fprintf(w, "%s: %s\n", r.Method, r.Cascade)
		}
	}
	return nil
}
