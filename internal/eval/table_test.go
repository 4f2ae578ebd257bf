package eval

import (
	"bytes"
	"strings"
	"testing"
)

var tableResults = []Result{
	{
		Method: "knn",
		Scores: Scores{
			Queries:   100,
			Precision: map[int]float64{1: 0.9, 10: 0.81234},
			Recall:    map[int]float64{1: 0.9, 10: 1},
			MAP:       map[int]float64{100: 0.75},
		},
		MsPerQuery: 1.5, MsEncode: 1, MsSearch: 0.5,
	},
	{
		Method: "hnsw|ef=64",
		Scores: Scores{
			Queries:   100,
			Precision: map[int]float64{1: 0.85},
			Recall:    map[int]float64{1: 0.85},
			MAP:       map[int]float64{100: 0.7},
		},
		MsPerQuery: 1.25, MsEncode: 1, MsSearch: 0.25,
	},
}

func TestTable(t *testing.T) {
	var buf bytes.Buffer
	if err := Table(&buf, tableResults); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(buf.String(), "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("Table has %d lines; want 3:\n%s", len(lines), buf.String())
	}
	wantHeader := []string{"method", "queries", "P@1", "P@10", "R@1", "R@10", "MAP@100", "ms/query", "encode", "search"}
	if got := strings.Fields(lines[0]); strings.Join(got, " ") != strings.Join(wantHeader, " ") {
		t.Errorf("header = %q; want %q", got, wantHeader)
	}
	wantRows := [][]string{
		{"knn", "100", "0.9000", "0.8123", "0.9000", "1.0000", "0.7500", "1.500", "1.000", "0.500"},
		{"hnsw|ef=64", "100", "0.8500", "-", "0.8500", "-", "0.7000", "1.250", "1.000", "0.250"},
	}
	for i, want := range wantRows {
		if got := strings.Fields(lines[i+1]); strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("row %d = %q; want %q", i, got, want)
		}
	}
	// Aligned: every line is as wide, and the method column is left-aligned.
	for i, l := range lines {
		if len(l) != len(lines[0]) {
			t.Errorf("line %d is %d wide; header %d:\n%s", i, len(l), len(lines[0]), buf.String())
		}
	}
	if !strings.HasPrefix(lines[1], "knn ") {
		t.Errorf("method column not left-aligned: %q", lines[1])
	}
}

func TestMarkdown(t *testing.T) {
	var buf bytes.Buffer
	if err := Markdown(&buf, tableResults); err != nil {
		t.Fatal(err)
	}
	want := `| method | queries | P@1 | P@10 | R@1 | R@10 | MAP@100 | ms/query | encode | search |
| :--- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
| knn | 100 | 0.9000 | 0.8123 | 0.9000 | 1.0000 | 0.7500 | 1.500 | 1.000 | 0.500 |
| hnsw\|ef=64 | 100 | 0.8500 | - | 0.8500 | - | 0.7000 | 1.250 | 1.000 | 0.250 |
`
	if got := buf.String(); got != want {
		t.Errorf("Markdown =\n%s\nwant\n%s", got, want)
	}
}
