package cli

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/irgen/irgen/internal/baseline/mrl"
	"github.com/irgen/irgen/internal/config"
	"github.com/irgen/irgen/internal/dataset"
)

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
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	rows, err := runEvalMRL(ctx, f)
	if err != nil {
		return err
	}
	if f.json {
		return writeJSONLines(stdout, rows)
	}
	return mrlTable(stdout, rows)
}

// mrlMethods returns the methods of the flags for a model of width dim
// and nesting sizes nesting.
func mrlMethods(f evalMRLFlags, nesting []int, dim int) ([]mrl.EvalMethod, error) {
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
	methods, err := mrl.EvalMethods(f.methods, nesting, dim, adaptive, funnel)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errUsage, err)
	}
	return methods, nil
}

func runEvalMRL(ctx context.Context, f evalMRLFlags) ([]mrl.Result, error) {
	ks, err := intList(f.ks)
	if err != nil {
		return nil, err
	}
	if f.shortlist <= 0 || f.queries < 0 {
		return nil, fmt.Errorf("%w: --shortlist %d and --queries %d must be positive and non-negative", errUsage, f.shortlist, f.queries)
	}
	b, e, err := openModel(f.dir)
	if err != nil {
		return nil, err
	}
	r, err := mrl.Open(e)
	if err != nil {
		return nil, err
	}
	c := r.Model.Config
	methods, err := mrlMethods(f, c.Nesting, c.Dim)
	if err != nil {
		return nil, err
	}
	ds, _, err := reopenData(b)
	if err != nil {
		return nil, err
	}
	ev := mrl.Eval{Queries: dataset.NewLoader(ds.Query, e.Transform, config.Workers()), N: f.queries, Labels: e.Gallery().Labels,
		QueryInGallery: ds.QueryInGallery, Ks: ks, CSVDir: f.csvDir}
	return ev.Run(ctx, r, methods)
}

func mrlTable(w io.Writer, rows []mrl.Result) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	if len(rows) == 0 {
		return nil
	}
	head := "method\tqueries\ttop1\t"
	for _, k := range rows[0].Ks {
		head += fmt.Sprintf("mAP@%d\tP@%d\tR@%d\ttop%d\t", k, k, k, k)
	}
	fmt.Fprintln(tw, head+"ms enc\tms search\t")
	for _, r := range rows {
		line := fmt.Sprintf("%s\t%d\t%.4f\t", r.Method, r.Queries, r.Top1)
		for _, k := range r.Ks {
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
