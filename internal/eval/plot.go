package eval

import (
	"fmt"
	"io"
	"maps"
	"slices"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// Size of the PNG written by PlotPR: 6×4 inches at 96 dpi, 576×384 pixels.
const (
	plotWidth  = 6 * vg.Inch
	plotHeight = 4 * vg.Inch
)

// PlotPR draws one precision-recall line per named curve, in name order, and
// writes the chart to w as a 576×384 PNG.
func PlotPR(w io.Writer, curves map[string][]PRPoint) error {
	p := plot.New()
	p.Title.Text = "Precision-recall"
	p.X.Label.Text = "Recall"
	p.Y.Label.Text = "Precision"
	// The recall axis ends at the largest recall reached: curves cut at
	// rank K reach only K/(relevant items), tiny on data sets with large
	// classes, and would vanish against a fixed [0, 1] axis.
	maxRecall := 0.0
	for _, pts := range curves {
		for _, pt := range pts {
			maxRecall = max(maxRecall, pt.Recall)
		}
	}
	p.X.Min, p.X.Max = 0, 1
	if maxRecall > 0 && maxRecall < 1 {
		p.X.Max = maxRecall * 1.05
	}
	p.Y.Min, p.Y.Max = 0, 1
	p.Add(plotter.NewGrid())
	p.Legend.Left = true // curves fall to the right, leaving the lower left free

	for i, name := range slices.Sorted(maps.Keys(curves)) {
		pts := curves[name]
		xys := make(plotter.XYs, len(pts))
		for j, pt := range pts {
			xys[j] = plotter.XY{X: pt.Recall, Y: pt.Precision}
		}
		line, err := plotter.NewLine(xys)
		if err != nil {
			return fmt.Errorf("eval: plot curve %q: %w", name, err)
		}
		line.Color = plotutil.Color(i)
		line.Dashes = plotutil.Dashes(i)
		line.Width = vg.Points(1.5)
		p.Add(line)
		p.Legend.Add(name, line)
	}

	wt, err := p.WriterTo(plotWidth, plotHeight, "png")
	if err != nil {
		return fmt.Errorf("eval: render plot: %w", err)
	}
	if _, err := wt.WriteTo(w); err != nil {
		return fmt.Errorf("eval: write plot: %w", err)
	}
	return nil
}
