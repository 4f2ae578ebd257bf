package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// seedRow is one cell group of seed 002's Table 1: IA@1, IA@5, MAP@10,
// Recall@100 (-1: not given).
type seedRow [4]float64

// seedTable is seed 002's Table 1, by database size and row name.
var seedTable = map[int]map[string]seedRow{
	512: {"bovw": {-1, -1, 0.58, 0.875}, "dsi/label": {0.415, 0.566, 0.32, 0.58}, "dsi/random": {0.402, 0.472, 0.21, 0.365},
		"dsi-zeroshot/label": {0.833, 0.962, 0.18, 0.275}, "dsi-zeroshot/random": {0.794, 0.871, 0.1, 0.23}},
	1024: {"bovw": {-1, -1, 0.5, 0.825}, "dsi/label": {0.378, 0.404, 0.28, 0.38}, "dsi/random": {0.266, 0.3, 0.18, 0.265},
		"dsi-zeroshot/label": {0.763, 0.828, 0.12, 0.21}, "dsi-zeroshot/random": {0.725, 0.766, 0.07, 0.175}},
	2048: {"bovw": {-1, -1, 0.42, 0.78}, "dsi/label": {0.305, 0.333, 0.17, 0.22}, "dsi/random": {0.233, 0.275, 0.07, 0.135},
		"dsi-zeroshot/label": {0.678, 0.774, 0.1, 0.195}, "dsi-zeroshot/random": {0.533, 0.719, 0.06, 0.16}},
}

// result is what 'irgen eval --json' prints per method (the fields used).
type result struct {
	Method   string             `json:"method"`
	Queries  int                `json:"queries"`
	MAP      map[string]float64 `json:"map"`
	Fraction map[string]float64 `json:"fraction"`
}

// indexing is what 'irgen dsi-indexing-acc --json' prints per method.
type indexing struct {
	Method string  `json:"method"`
	At1    float64 `json:"ia@1"`
	At5    float64 `json:"ia@5"`
	Images int     `json:"images"`
}

// readLines decodes the JSON lines of file into a map by method.
func readLines[T any](file string, method func(T) string) (map[string]T, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]T{}
	dec := json.NewDecoder(bufio.NewReader(f))
	for {
		var v T
		if err := dec.Decode(&v); err == io.EOF {
			return out, nil
		} else if err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		out[method(v)] = v
	}
}

// dsiNames names ViT-DSI's methods in the table.
var dsiNames = map[string]string{"dsi": "ViT-DSI fine-tuned", "dsi-zeroshot": "ViT-DSI zero-shot"}

// row is one line of the printed table.
type row struct {
	name, dir, method, seedKey string
}

// printTable prints the grid found under dir (see dsi-table.sh) beside
// seed 002's Table 1, as Markdown.
func printTable(w io.Writer, dir string) error {
	fmt.Fprintln(w, "| DB | method | IDs | IA@1 | IA@5 | MAP@10 (10 q) | Recall@100 (10 q) | MAP@10 (all q) | Recall@100 (all q) | seed IA@1 | seed IA@5 | seed MAP@10 | seed R@100 |")
	fmt.Fprintln(w, "|--:|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
	for _, n := range sizes {
		base := filepath.Join(dir, fmt.Sprintf("m%d", n))
		rows := []row{{"BoVW", base, "bovw", "bovw"}}
		for _, m := range []string{"dsi", "dsi-zeroshot"} {
			for _, ids := range []string{"label", "random"} {
				rows = append(rows, row{dsiNames[m], base + "-" + ids, m, m + "/" + ids})
			}
		}
		rows = append(rows, row{"IRGen", base, "irgen", ""}, row{"kNN (IRGen's features)", base, "knn", ""})
		for _, r := range rows {
			err := printRow(w, n, r)
			if errors.Is(err, fs.ErrNotExist) {
				fmt.Fprintf(w, "| %d | %s | %s | not run | | | | | | | | | |\n", n, r.name, r.ids())
				continue
			}
			if err != nil {
				return err
			}
		}
	}
	return nil
}

func printRow(w io.Writer, n int, r row) error {
	byName := func(v result) string { return v.Method }
	ten, err := readLines(filepath.Join(r.dir, "eval-10.json"), byName)
	if err != nil {
		return err
	}
	all, err := readLines(filepath.Join(r.dir, "eval-all.json"), byName)
	if err != nil {
		return err
	}
	at1, at5 := "—", "—"
	if r.seedKey != "" && r.method != "bovw" {
		accs, err := readLines(filepath.Join(r.dir, "ia.json"), func(v indexing) string { return v.Method })
		if err != nil {
			return err
		}
		a := accs[r.method]
		at1, at5 = fmt.Sprintf("%.3f", a.At1), fmt.Sprintf("%.3f", a.At5)
	}
	seed := seedTable[n][r.seedKey]
	if r.seedKey == "" {
		seed = seedRow{-1, -1, -1, -1}
	}
	fmt.Fprintf(w, "| %d | %s | %s | %s | %s | %.3f | %.3f | %.3f | %.3f | %s | %s | %s | %s |\n", n, r.name, r.ids(), at1, at5,
		ten[r.method].MAP["10"], ten[r.method].Fraction["100"], all[r.method].MAP["10"], all[r.method].Fraction["100"],
		cell(seed[0]), cell(seed[1]), cell(seed[2]), cell(seed[3]))
	return nil
}

// ids names the row's ID scheme as the seed does, "/" for none.
func (r row) ids() string {
	if r.seedKey == "bovw" || r.seedKey == "" {
		return "/"
	}
	return map[string]string{"label": "clustered", "random": "random"}[filepath.Base(r.seedKey)]
}

func cell(v float64) string {
	if v < 0 {
		return "/"
	}
	return fmt.Sprintf("%.3f", v)
}
