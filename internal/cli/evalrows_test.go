package cli

import (
	"encoding/json"
	"strings"
	"testing"
)

// EvalRow is one method's line of 'irgen eval --json'. It is exported for
// the tests of package cli_test.
type EvalRow struct {
	Method    string             `json:"method"`
	Queries   int                `json:"queries"`
	Precision map[string]float64 `json:"precision"`
	Recall    map[string]float64 `json:"recall"`
	MAP       map[string]float64 `json:"map"`
	Ms        float64            `json:"ms_per_query"`
}

// DecodeEval returns the lines of out, the output of 'irgen eval --json',
// in order.
func DecodeEval(tb testing.TB, out string) []EvalRow {
	tb.Helper()
	var rows []EvalRow
	dec := json.NewDecoder(strings.NewReader(out))
	for dec.More() {
		var r EvalRow
		if err := dec.Decode(&r); err != nil {
			tb.Fatalf("eval output %q: %v", out, err)
		}
		rows = append(rows, r)
	}
	return rows
}
