package vec

import (
	"math"
	"testing"
)

func TestNonFinite(t *testing.T) {
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	for _, tc := range []struct {
		x    []float32
		want int
	}{
		{nil, -1},
		{[]float32{0, 1, -2, math.MaxFloat32}, -1},
		{[]float32{0, nan, inf}, 1},
		{[]float32{1, 2, -inf}, 2},
	} {
		if got := NonFinite(tc.x); got != tc.want {
			t.Errorf("NonFinite(%v) = %d; want %d", tc.x, got, tc.want)
		}
	}
}
