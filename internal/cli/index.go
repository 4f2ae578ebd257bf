package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/irgen/irgen/internal/decoder"
	"github.com/irgen/irgen/internal/eval"
	"github.com/irgen/irgen/internal/gallery"
	"github.com/irgen/irgen/internal/tokenizer"
)

func indexCmd(ctx context.Context, args []string) error {
	var tf tokenizerFlags
	var df decoderFlags
	fs := newFlags("index", "SOURCE --out MODEL [flags]")
	tf.define(fs)
	df.define(fs)
	fs.StringVar(&tf.out, "out", "", "model directory to create or resume")
	fs.BoolVar(&tf.fresh, "fresh", false, freshUsage)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 1 {
		return fmt.Errorf("%w: one SOURCE, got %v", errUsage, pos)
	}
	if len(pos) == 1 {
		tf.data = pos[0]
	}
	_, err = runIndex(ctx, tf, df)
	return err
}

// indexTimes are the training seconds of each stage.
type indexTimes struct{ tokenizer, assign, decoder float64 }

// runIndex runs every stage that is not finished yet; an interrupted run
// resumes where it stopped.
func runIndex(ctx context.Context, tf tokenizerFlags, df decoderFlags) (indexTimes, error) {
	var t indexTimes
	var err error
	if t.tokenizer, err = runTokenizer(ctx, tf); err != nil {
		return t, err
	}
	if _, err := os.Stat(filepath.Join(tf.out, gallery.File)); err != nil {
		start := time.Now()
		if err := runAssign(ctx, tf.out); err != nil {
			return t, err
		}
		t.assign = time.Since(start).Seconds()
	}
	df.dir = tf.out
	if t.decoder, err = runDecoder(ctx, df); err != nil {
		return t, err
	}
	return t, nil
}

func runCmd(ctx context.Context, args []string) error {
	var tf tokenizerFlags
	var df decoderFlags
	var ef evalFlags
	fs := newFlags("run", "[--out DIR] [flags]")
	tf.define(fs)
	df.define(fs)
	fs.StringVar(&tf.out, "out", filepath.Join("runs", "fashion-mnist"), "model directory (resumed if it exists)")
	fs.IntVar(&ef.queries, "queries", 0, "evaluate the first N queries (0 = all)")
	fs.StringVar(&ef.prPlot, "pr-plot", "", "also write the precision-recall curves to this PNG file")
	fs.StringVar(&ef.markdown, "markdown", "", "also write the result table as Markdown to this file")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	t, err := runIndex(ctx, tf, df)
	if err != nil {
		return err
	}
	ef.dir, ef.ks, ef.mapK, ef.beam = tf.out, "1,10,20,30", 100, 30
	results, err := runEval(ctx, ef)
	if err != nil {
		return err
	}
	return report(stdout, tf.out, results, t, ef.markdown)
}

// report prints the result table with the machine, data and training
// times it was measured with.
func report(w io.Writer, dir string, results []eval.Result, t indexTimes, markdown string) error {
	b, err := loadBundle(dir)
	if err != nil {
		return err
	}
	ds := b.Dataset()
	tokSecs, decSecs := stateSeconds(dir)
	fmt.Fprintf(w, "irgen %s on %s (%s), %s %s/%s, %d CPUs, backend %s\n", dir, ds.Name, ds.Digest[:12],
		time.Now().UTC().Format("2006-01-02"), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), backendName())
	fmt.Fprintf(w, "training time: tokenizer %s, decoder %s\n\n", dur(tokSecs), dur(decSecs))
	if err := eval.Table(w, results); err != nil {
		return err
	}
	if markdown == "" {
		return nil
	}
	return writeMarkdown(markdown, results)
}

func stateSeconds(dir string) (tok, dec float64) {
	tok = tokenizer.Seconds(dir)
	dec = decoder.Seconds(dir)
	return tok, dec
}

func dur(s float64) string {
	return time.Duration(s * float64(time.Second)).Round(time.Second).String()
}
