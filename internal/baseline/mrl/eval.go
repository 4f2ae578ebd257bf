package mrl

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/irgen/irgen/internal/dataset"
	"github.com/irgen/irgen/internal/eval"
	"github.com/irgen/irgen/internal/knn"
	"github.com/irgen/irgen/internal/store"
)

// EvalMethod is one retrieval method of an evaluation: a Cascade (exact
// search at one prefix size, adaptive or funnel retrieval) or, with
// Cascade nil, the HNSW graph.
type EvalMethod struct {
	Name    string
	Cascade *Cascade
	// CSV is the file name of its shortlist, as seed 004 names it; a %d
	// in it stands for the largest cutoff.
	CSV string
}

// EvalMethods returns the methods names lists, comma-separated: "mrl"
// (exact search at the full width dim), "mrl@M" (exact search on the
// first M dims), "mrl-adaptive" and "mrl-funnel" (the cascades adaptive
// and funnel) and "mrl-hnsw". Empty or "all" is mrl@M for every size of
// nesting, then the other three.
func EvalMethods(names string, nesting []int, dim int, adaptive, funnel Cascade) ([]EvalMethod, error) {
	for _, c := range []Cascade{adaptive, funnel} {
		if err := c.Validate(dim); err != nil {
			return nil, err
		}
	}
	if names == "" || names == "all" {
		var ms []string
		for _, m := range nesting {
			ms = append(ms, fmt.Sprintf("mrl@%d", m))
		}
		names = strings.Join(append(ms, "mrl-adaptive", "mrl-funnel", "mrl-hnsw"), ",")
	}
	var methods []EvalMethod
	for _, name := range strings.Split(names, ",") {
		name = strings.TrimSpace(name)
		var c Cascade
		var csv string
		switch {
		case name == "mrl" || strings.HasPrefix(name, "mrl@"):
			m := dim
			if name != "mrl" {
				var err error
				if m, err = strconv.Atoi(strings.TrimPrefix(name, "mrl@")); err != nil || m < 1 || m > dim {
					return nil, fmt.Errorf("mrl: method %q: prefix size must be in [1, %d]", name, dim)
				}
			}
			c, csv = Exact(m), fmt.Sprintf("exactl2_%ddim-%%d-NN.csv", m)
		case name == "mrl-adaptive":
			c = adaptive
			csv = fmt.Sprintf("%ddim-reranked%d_%dshortlist_exactl2.csv", c.RetrieveDim, c.RerankDims[0], c.Shortlists[0])
		case name == "mrl-funnel":
			c = funnel
			csv = fmt.Sprintf("%ddim-cascade%s_%sshortlist_exactl2.csv", c.RetrieveDim, pyList(c.RerankDims), pyList(c.Shortlists))
		case name == "mrl-hnsw":
			methods = append(methods, EvalMethod{Name: name, CSV: fmt.Sprintf("hnsw_%ddim-%%d-NN.csv", dim)})
			continue
		default:
			return nil, fmt.Errorf("mrl: unknown method %q (have mrl, mrl@M, mrl-adaptive, mrl-funnel, mrl-hnsw)", name)
		}
		methods = append(methods, EvalMethod{Name: name, Cascade: &c, CSV: csv})
	}
	return methods, nil
}

// pyList writes v as Python prints a list of ints: [16,32].
func pyList(v []int) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = strconv.Itoa(x)
	}
	return "[" + strings.Join(s, ",") + "]"
}

// Result is one method's row of an evaluation: seed 004's four metrics at
// each cutoff (mAP@k as Σ P@r·rel(r) / k, precision@k, recall@k as the
// fraction of the query's class retrieved, top-k accuracy), top-1 accuracy
// and latency.
type Result struct {
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
	// Ks are the cutoffs, in the order asked.
	Ks []int `json:"-"`
}

// Eval evaluates retrieval of labelled queries from a gallery.
type Eval struct {
	// Queries are the query images (their split's labels are the truth).
	Queries *dataset.Loader
	// N is the number of queries evaluated, the first of Queries; 0 is all.
	N int
	// Labels are the gallery images' labels.
	Labels []int32
	// QueryInGallery means query q is gallery image q, left out of its
	// results and of its class size.
	QueryInGallery bool
	Ks             []int
	// CSVDir, when set, receives each method's shortlists (EvalMethod.CSV).
	CSVDir string
}

// Run embeds the queries once with r's model and evaluates every method
// on the embeddings.
func (ev Eval) Run(ctx context.Context, r *Retrieval, methods []EvalMethod) ([]Result, error) {
	if len(ev.Ks) == 0 || slices.Min(ev.Ks) < 1 {
		return nil, fmt.Errorf("mrl: cutoffs %v; want positive ones", ev.Ks)
	}
	n := ev.Queries.Len()
	if ev.N > 0 {
		n = min(n, ev.N)
	}
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	start := time.Now()
	z, err := EmbedImages(ctx, r.Model, ev.Queries, idx, nil)
	if err != nil {
		return nil, err
	}
	msEncode := msPer(time.Since(start), n)
	var rows []Result
	for _, m := range methods {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		start := time.Now()
		res, err := ev.search(r, m, z)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", m.Name, err)
		}
		row := ev.score(res)
		row.Method, row.Queries, row.MsEncode, row.MsSearch = m.Name, n, msEncode, msPer(time.Since(start), n)
		if m.Cascade != nil {
			row.Cascade = m.Cascade.String()
		}
		rows = append(rows, row)
		if ev.CSVDir != "" {
			name := m.CSV
			if strings.Contains(name, "%d") {
				name = fmt.Sprintf(name, slices.Max(ev.Ks))
			}
			if err := WriteShortlist(filepath.Join(ev.CSVDir, name), res); err != nil {
				return nil, err
			}
		}
	}
	return rows, nil
}

// search returns the largest cutoff's results of m for the query
// embeddings z.
func (ev Eval) search(r *Retrieval, m EvalMethod, z []float32) ([][]knn.Result, error) {
	var exclude func(q, id int) bool
	if ev.QueryInGallery {
		exclude = func(q, id int) bool { return q == id }
	}
	k := slices.Max(ev.Ks)
	if m.Cascade != nil {
		return r.Index.Search(z, k, *m.Cascade, exclude)
	}
	ix, err := r.HNSWIndex()
	if err != nil {
		return nil, err
	}
	return SearchHNSW(ix, z, k, exclude)
}

// score averages the metrics of the results res of the queries.
func (ev Eval) score(res [][]knn.Result) Result {
	row := Result{Ks: ev.Ks, MAP: map[int]float64{}, Precision: map[int]float64{}, Recall: map[int]float64{}, TopK: map[int]float64{}}
	perClass := map[int32]int{}
	for _, l := range ev.Labels {
		perClass[l]++
	}
	self := 0
	if ev.QueryInGallery {
		self = 1
	}
	for q, rs := range res {
		ql := int(ev.Queries.Split.Label(q))
		labels := make([]int, len(rs))
		for i, x := range rs {
			labels[i] = int(ev.Labels[x.ID])
		}
		rel := perClass[int32(ql)] - self
		row.Top1 += eval.PrecisionAtK(labels, ql, 1)
		for _, k := range ev.Ks {
			row.MAP[k] += eval.APOverKAtK(labels, ql, k)
			row.Precision[k] += eval.PrecisionAtK(labels, ql, k)
			row.Recall[k] += eval.ClassRecallAtK(labels, ql, k, rel)
			row.TopK[k] += eval.RecallAtK(labels, ql, k)
		}
	}
	nq := float64(max(len(res), 1))
	row.Top1 /= nq
	for _, k := range ev.Ks {
		row.MAP[k] /= nq
		row.Precision[k] /= nq
		row.Recall[k] /= nq
		row.TopK[k] /= nq
	}
	return row
}

func msPer(d time.Duration, n int) float64 { return d.Seconds() * 1000 / float64(max(n, 1)) }

// WriteShortlist writes one row of comma-separated gallery positions per
// query, without header, as seed 004's pd.DataFrame(I).to_csv.
func WriteShortlist(path string, res [][]knn.Result) error {
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
