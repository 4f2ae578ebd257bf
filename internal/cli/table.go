package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/irgen/irgen/internal/eval"
)

func tableCmd(ctx context.Context, args []string) error {
	fs := newFlags("table", "[--markdown] [LABEL=]FILE...")
	md := fs.Bool("markdown", false, "print GitHub Markdown instead of aligned text")
	files, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return fmt.Errorf("%w: give the JSON files of eval runs (LABEL=FILE prefixes their method names)", errUsage)
	}
	var results []eval.Result
	for _, arg := range files {
		// The label may itself hold "=" (M=4): split at the last one.
		label, path := "", arg
		if i := strings.LastIndex(arg, "="); i >= 0 {
			label, path = arg[:i], arg[i+1:]
		}
		rs, err := readResults(path)
		if err != nil {
			return err
		}
		for _, r := range rs {
			if label != "" {
				r.Method = label + " " + r.Method
			}
			results = append(results, r)
		}
	}
	if *md {
		return eval.Markdown(stdout, results)
	}
	return eval.Table(stdout, results)
}

func readResults(path string) ([]eval.Result, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []eval.Result
	dec := json.NewDecoder(f)
	for {
		var r eval.Result
		err := dec.Decode(&r)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		out = append(out, r)
	}
}
