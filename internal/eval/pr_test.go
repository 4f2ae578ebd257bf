package eval

import (
	"bytes"
	"image/png"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestPRCurve(t *testing.T) {
	c := NewPRCurve(4)
	if c.Points() != nil {
		t.Error("Points before Add is not nil")
	}
	// q1, 3 relevant, hits at ranks 1,3,4:
	//   P = 1, 1/2, 2/3, 3/4;  R = 1/3, 1/3, 2/3, 1.
	c.Add([]int{1, 0, 1, 1}, 1, 3)
	// q2, 2 relevant, hit at rank 2, ranks 3-4 not retrieved (misses):
	//   P = 0, 1/2, 1/3, 1/4;  R = 0, 1/2, 1/2, 1/2.
	c.Add([]int{0, 2}, 2, 2)
	// q3 has no relevant items: skipped.
	c.Add([]int{4}, 4, 0)
	if c.Queries() != 2 {
		t.Errorf("Queries = %d; want 2", c.Queries())
	}
	want := []PRPoint{
		{Recall: 1.0 / 6, Precision: 0.5},  // (1/3+0)/2, (1+0)/2
		{Recall: 5.0 / 12, Precision: 0.5}, // (1/3+1/2)/2, (1/2+1/2)/2
		{Recall: 7.0 / 12, Precision: 0.5}, // (2/3+1/2)/2, (2/3+1/3)/2
		{Recall: 0.75, Precision: 0.5},     // (1+1/2)/2, (3/4+1/4)/2
	}
	if diff := cmp.Diff(want, c.Points(), cmpopts.EquateApprox(0, 1e-12)); diff != "" {
		t.Errorf("Points mismatch (-want +got):\n%s", diff)
	}
}

func TestPlotPR(t *testing.T) {
	c := NewPRCurve(3)
	c.Add([]int{1, 0, 1}, 1, 2)
	curves := map[string][]PRPoint{
		"knn":  c.Points(),
		"hnsw": {{0.1, 0.9}, {0.5, 0.7}, {0.9, 0.4}},
	}
	for name, cs := range map[string]map[string][]PRPoint{"two curves": curves, "empty": nil} {
		var buf bytes.Buffer
		if err := PlotPR(&buf, cs); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		img, err := png.Decode(&buf)
		if err != nil {
			t.Fatalf("%s: decode PNG: %v", name, err)
		}
		// 6×4 inches at 96 dpi.
		if b := img.Bounds(); b.Dx() != 576 || b.Dy() != 384 {
			t.Errorf("%s: PNG is %dx%d; want 576x384", name, b.Dx(), b.Dy())
		}
	}
}
