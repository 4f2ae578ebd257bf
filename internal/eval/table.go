package eval

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
)

// Table writes results as an aligned text table with one row per method:
// P@k and R@k for every cutoff any result has, MAP@k, and the mean
// milliseconds per query with its encode and search parts.
func Table(w io.Writer, results []Result) error {
	header, rows := tableCells(results)
	// Numbers align right; pad the method column so it reads left-aligned.
	width := len(header[0])
	for _, row := range rows {
		width = max(width, len(row[0]))
	}
	header[0] = fmt.Sprintf("%-*s", width, header[0])
	for _, row := range rows {
		row[0] = fmt.Sprintf("%-*s", width, row[0])
	}
	tw := tabwriter.NewWriter(w, 0, 0, 0, ' ', tabwriter.AlignRight)
	write := func(cells []string) {
		// Columns are separated by two spaces inside the cells, not by
		// tabwriter padding, which AlignRight would put before the method.
		// A trailing tab terminates the last cell so AlignRight applies.
		fmt.Fprintln(tw, strings.Join(cells, "\t  ")+"\t")
	}
	write(header)
	for _, row := range rows {
		write(row)
	}
	return tw.Flush()
}

// Markdown writes the same table as Table in GitHub Markdown.
func Markdown(w io.Writer, results []Result) error {
	header, rows := tableCells(results)
	var b strings.Builder
	line := func(cells []string) {
		for i, c := range cells {
			cells[i] = strings.ReplaceAll(c, "|", `\|`)
		}
		b.WriteString("| " + strings.Join(cells, " | ") + " |\n")
	}
	line(header)
	align := make([]string, len(header))
	for i := range align {
		align[i] = "---:"
	}
	align[0] = ":---"
	line(align)
	for _, row := range rows {
		line(row)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// tableCells lays results out as strings. Metrics a result lacks show as "-".
func tableCells(results []Result) (header []string, rows [][]string) {
	cutoffs := func(pick func(Result) map[int]float64) []int {
		set := map[int]bool{}
		for _, r := range results {
			for k := range pick(r) {
				set[k] = true
			}
		}
		return slices.Sorted(maps.Keys(set))
	}
	precK := cutoffs(func(r Result) map[int]float64 { return r.Precision })
	recK := cutoffs(func(r Result) map[int]float64 { return r.Recall })
	mapK := cutoffs(func(r Result) map[int]float64 { return r.MAP })

	header = []string{"method", "queries"}
	for _, k := range precK {
		header = append(header, "P@"+strconv.Itoa(k))
	}
	for _, k := range recK {
		header = append(header, "R@"+strconv.Itoa(k))
	}
	for _, k := range mapK {
		header = append(header, "MAP@"+strconv.Itoa(k))
	}
	header = append(header, "ms/query", "encode", "search")

	metric := func(m map[int]float64, k int) string {
		v, ok := m[k]
		if !ok {
			return "-"
		}
		return strconv.FormatFloat(v, 'f', 4, 64)
	}
	ms := func(v float64) string { return strconv.FormatFloat(v, 'f', 3, 64) }
	for _, r := range results {
		row := []string{r.Method, strconv.Itoa(r.Queries)}
		for _, k := range precK {
			row = append(row, metric(r.Precision, k))
		}
		for _, k := range recK {
			row = append(row, metric(r.Recall, k))
		}
		for _, k := range mapK {
			row = append(row, metric(r.MAP, k))
		}
		row = append(row, ms(r.MsPerQuery), ms(r.MsEncode), ms(r.MsSearch))
		rows = append(rows, row)
	}
	return header, rows
}
