package eval

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
)

// ClassResult is one class's share of a method's evaluation: the metrics
// of the queries of that class alone.
type ClassResult struct {
	Class string `json:"class"`
	Scores
}

// ByClass averages per-query metrics separately for each query label. It
// is not safe for concurrent use.
type ByClass struct {
	names []string
	ks    []int
	mapK  int
	accs  map[int]*Accumulator
}

// NewByClass returns a ByClass reporting, like New, precision and recall
// at each cutoff in ks and MAP at mapK; names[l] names label l (a label
// outside names is named by its number).
func NewByClass(names []string, ks []int, mapK int) (*ByClass, error) {
	if _, err := New(ks, mapK); err != nil {
		return nil, err
	}
	return &ByClass{names: names, ks: ks, mapK: mapK, accs: map[int]*Accumulator{}}, nil
}

// Add scores one query, as Accumulator.Add, into its label's averages.
func (c *ByClass) Add(retrievedLabels []int, queryLabel, numRelevant int) {
	a := c.accs[queryLabel]
	if a == nil {
		a, _ = New(c.ks, c.mapK) // the cutoffs were checked by NewByClass
		c.accs[queryLabel] = a
	}
	a.Add(retrievedLabels, queryLabel, numRelevant)
}

// Results returns every label's averages so far, in label order.
func (c *ByClass) Results() []ClassResult {
	labels := slices.Sorted(maps.Keys(c.accs))
	out := make([]ClassResult, 0, len(labels))
	for _, l := range labels {
		r := c.accs[l].Result()
		name := fmt.Sprint(l)
		if l >= 0 && l < len(c.names) {
			name = c.names[l]
		}
		out = append(out, ClassResult{Class: name, Scores: r.Scores})
	}
	return out
}

// ClassMarkdown writes the per-class results of results (those with
// Classes) as a Markdown table: a row per class, and per method its
// precision at the smallest cutoff and its MAP. Classes are matched by
// name; a method without a class shows "–".
func ClassMarkdown(w io.Writer, results []Result) error {
	var withClasses []Result
	for _, r := range results {
		if len(r.Classes) > 0 {
			withClasses = append(withClasses, r)
		}
	}
	if len(withClasses) == 0 {
		return nil
	}
	header := []string{"class", "queries"}
	for _, r := range withClasses {
		header = append(header, fmt.Sprintf("%s P@%d", r.Method, minKey(r.Precision)), fmt.Sprintf("%s MAP@%d", r.Method, minKey(r.MAP)))
	}
	var b strings.Builder
	row := func(cells []string) { b.WriteString("| " + strings.Join(cells, " | ") + " |\n") }
	row(header)
	align := slices.Repeat([]string{"---:"}, len(header))
	align[0] = ":---"
	row(align)
	for _, c := range withClasses[0].Classes {
		cells := []string{strings.ReplaceAll(c.Class, "|", `\|`), fmt.Sprint(c.Queries)}
		for _, r := range withClasses {
			cells = append(cells, classCells(r, c.Class)...)
		}
		row(cells)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// classCells returns r's precision at its smallest cutoff and its MAP for
// the class named name.
func classCells(r Result, name string) []string {
	i := slices.IndexFunc(r.Classes, func(c ClassResult) bool { return c.Class == name })
	if i < 0 {
		return []string{"–", "–"}
	}
	c := r.Classes[i]
	return []string{fmt.Sprintf("%.4f", c.Precision[minKey(r.Precision)]), fmt.Sprintf("%.4f", c.MAP[minKey(r.MAP)])}
}

// minKey returns the smallest key of m (0 for an empty map).
func minKey(m map[int]float64) int {
	if len(m) == 0 {
		return 0
	}
	return slices.Min(slices.Collect(maps.Keys(m)))
}
