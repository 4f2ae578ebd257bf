package main

import (
	"math"
	"path/filepath"
	"slices"
	"testing"
)

// TestStateBudget checks the per-image serving state against the budget
// of docs/performance.md. The gallery arrays and the exact index are flat
// per-image arrays, so their bytes per image at 100,000 images are those
// at 1M; the prefix tree is built at 1M IDs (100,000 with -short), since
// its bytes per ID depend on how many IDs share prefixes.
func TestStateBudget(t *testing.T) {
	const n, d, m, l = 100_000, 128, 4, 256
	trieN := 1_000_000
	if testing.Short() {
		trieN = n
	}
	s, err := measureState(n, trieN, d, m, l, 1)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("bytes/image at n=%d (trie at %d): gallery %.1f (features %.1f, codes %.1f, keys+labels %.1f), knn index %.1f, trie %.1f, total %.1f = %.0f MiB at 1M",
		s.N, s.TrieN, s.Gallery, s.Features, s.Codes, s.KeysLabels, s.Index, s.Trie, s.Total, s.TotalAt1M)
	if budget := stateBudget(d, m); s.Total > budget {
		t.Errorf("state = %.1f bytes/image; want ≤ %.0f (docs/performance.md)", s.Total, budget)
	}
	// The flat parts must be what their types say, within allocator
	// rounding: a regression here means an extra copy or a wider type.
	for _, c := range []struct {
		name      string
		got, want float64
	}{
		{"features", s.Features, 4 * d},
		{"codes", s.Codes, 4 * m},
		{"knn index", s.Index, 4 + 1}, // inverse norm and deleted flag: the features are shared
	} {
		if math.Abs(c.got-c.want) > 0.02*c.want+1 {
			t.Errorf("%s = %.1f bytes/image; want %.0f", c.name, c.got, c.want)
		}
	}
}

func TestNpyRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.npy")
	want := clustered(1, 2, 7, 5, 3, 0.5)
	if err := writeNpy(path, want, 7, 5); err != nil {
		t.Fatal(err)
	}
	got, n, d, err := readNpy(path)
	if err != nil {
		t.Fatal(err)
	}
	if n != 7 || d != 5 || !slices.Equal(got, want) {
		t.Errorf("readNpy = %d×%d %v; want 7×5 %v", n, d, got, want)
	}
}
