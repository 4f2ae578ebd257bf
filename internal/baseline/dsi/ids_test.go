package dsi

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/irgen/irgen/internal/semid"
	"github.com/irgen/irgen/internal/store"
)

func TestDigits(t *testing.T) {
	for _, tc := range []struct{ n, want int }{
		{1, 1}, {2, 1}, {10, 1}, {11, 2}, {100, 2}, {101, 3}, {512, 3}, {60000, 5}, {100000, 5}, {100001, 6},
	} {
		if got := Digits(tc.n); got != tc.want {
			t.Errorf("Digits(%d) = %d; want %d", tc.n, got, tc.want)
		}
	}
}

func TestTokensValue(t *testing.T) {
	ids := &IDs{Scheme: Random, Digits: 3, Of: []int{7, 120, 0, 999}}
	want := [][]int32{{0, 0, 7}, {1, 2, 0}, {0, 0, 0}, {9, 9, 9}}
	codes := ids.Codes()
	for i, w := range want {
		if got := codes[i*3 : i*3+3]; !slices.Equal(got, w) {
			t.Errorf("image %d: tokens %v; want %v", i, got, w)
		}
		if v := ids.Value(semid.ID(w)); v != ids.Of[i] {
			t.Errorf("Value(%v) = %d; want %d", w, v, ids.Of[i])
		}
	}
	for _, bad := range []semid.ID{{1, 2}, {1, 2, 10}, {-1, 0, 0}, {0, 0, 0, 0}} {
		if v := ids.Value(bad); v != -1 {
			t.Errorf("Value(%v) = %d; want -1", bad, v)
		}
	}
}

// clusters returns n points around c well-separated centres in dim 4,
// shuffled, with the centre of each point.
func clusters(n, c int, rng *rand.Rand) (feats []float32, centre []int) {
	const dim = 4
	for i := range n {
		k := rng.IntN(c)
		centre = append(centre, k)
		for d := range dim {
			v := 0.01 * float32(rng.NormFloat64())
			if d == k%dim {
				v += float32(10 * (1 + k/dim))
			}
			feats = append(feats, v)
		}
		_ = i
	}
	return feats, centre
}

// contiguous reports whether, for every group, the IDs of its members form
// an interval.
func contiguous(ids []int, group []int) bool {
	lo, hi, count := map[int]int{}, map[int]int{}, map[int]int{}
	for i, g := range group {
		if _, ok := lo[g]; !ok {
			lo[g], hi[g] = ids[i], ids[i]
		}
		lo[g], hi[g] = min(lo[g], ids[i]), max(hi[g], ids[i])
		count[g]++
	}
	for g := range count {
		if hi[g]-lo[g]+1 != count[g] {
			return false
		}
	}
	return true
}

func TestAssign(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const n = 500
	feats, centre := clusters(n, 10, rng) // one per k-means branch
	labels := make([]int32, n)
	for i := range labels {
		labels[i] = int32(rng.IntN(5))
	}
	label := make([]int, n)
	for i, l := range labels {
		label[i] = int(l)
	}
	for _, sc := range []Scheme{Random, Label, KMeans} {
		t.Run(string(sc), func(t *testing.T) {
			cfg := DefaultAssignConfig()
			cfg.Scheme, cfg.Leaf = sc, 20
			ids, err := Assign(cfg, labels, feats, 4)
			if err != nil {
				t.Fatal(err)
			}
			if ids.Digits != 3 || ids.Len() != n {
				t.Fatalf("%d IDs of %d digits; want %d of 3", ids.Len(), ids.Digits, n)
			}
			if err := ids.Check(); err != nil {
				t.Fatal(err)
			}
			again, _ := Assign(cfg, labels, feats, 4)
			if !slices.Equal(again.Of, ids.Of) {
				t.Error("same seed, different IDs")
			}
			switch sc {
			case Random:
				if contiguous(ids.Of, label) {
					t.Error("random IDs are grouped by label")
				}
			case Label:
				if !contiguous(ids.Of, label) {
					t.Error("label IDs: a class does not get consecutive IDs")
				}
			case KMeans:
				if !contiguous(ids.Of, centre) {
					t.Error("k-means IDs: a cluster does not get consecutive IDs")
				}
			}
			tr, err := ids.Trie()
			if err != nil {
				t.Fatal(err)
			}
			tok := make(semid.ID, ids.Digits)
			for i := range n {
				ids.Tokens(i, tok)
				if items := tr.Items(tok); len(items) != 1 || items[0] != i {
					t.Fatalf("trie holds %v under image %d's ID %v", items, i, tok)
				}
			}
		})
	}
}

func TestAssignErrors(t *testing.T) {
	cfg := DefaultAssignConfig()
	if _, err := Assign(cfg, nil, nil, 4); err == nil {
		t.Error("no images: no error")
	}
	if _, err := Assign(cfg, []int32{0, 1}, []float32{1, 2, 3}, 4); err == nil {
		t.Error("short features: no error")
	}
	cfg.Scheme = "sorted"
	if _, err := Assign(cfg, []int32{0, 1}, nil, 0); err == nil {
		t.Error("unknown scheme: no error")
	}
	if _, err := ParseScheme("sorted"); err == nil {
		t.Error("ParseScheme(sorted): no error")
	}
}

func TestIDsFile(t *testing.T) {
	ids := &IDs{Scheme: Label, Digits: 2, Of: []int{3, 0, 10, 1, 2, 4, 5, 6, 7, 8, 9}, Gallery: store.KeysDigest([]string{"a", "b"})}
	var buf bytes.Buffer
	if _, err := ids.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	good := buf.String()
	got, err := ReadIDs(strings.NewReader(good))
	if err != nil {
		t.Fatal(err)
	}
	if got.Scheme != ids.Scheme || got.Digits != ids.Digits || !slices.Equal(got.Of, ids.Of) || got.Gallery != ids.Gallery {
		t.Errorf("read %+v; want %+v", got, ids)
	}
	for name, text := range map[string]string{
		"version":   strings.Replace(good, `"version":1`, `"version":2`, 1),
		"format":    strings.Replace(good, `irgen-dsi-ids`, `other`, 1),
		"scheme":    strings.Replace(good, `"label"`, `"sorted"`, 1),
		"digits":    strings.Replace(good, `"digits":2`, `"digits":3`, 1),
		"duplicate": strings.Replace(good, `[3,0,`, `[3,3,`, 1),
		"range":     strings.Replace(good, `[3,0,`, `[11,0,`, 1),
		"negative":  strings.Replace(good, `[3,0,`, `[-1,0,`, 1),
		"empty":     `{"format":"irgen-dsi-ids","version":1,"scheme":"label","digits":1,"ids":[]}`,
		"garbage":   `{"format":`,
	} {
		if _, err := ReadIDs(strings.NewReader(text)); !errors.Is(err, ErrFormat) {
			t.Errorf("%s: error %v; want ErrFormat", name, err)
		}
	}
}

func FuzzReadIDs(f *testing.F) {
	var buf bytes.Buffer
	(&IDs{Scheme: Random, Digits: 1, Of: []int{1, 0, 2}}).WriteTo(&buf)
	f.Add(buf.String())
	f.Add(`{"format":"irgen-dsi-ids","version":1,"scheme":"kmeans","digits":1,"ids":[0]}`)
	f.Fuzz(func(t *testing.T, s string) {
		ids, err := ReadIDs(strings.NewReader(s))
		if err != nil {
			return
		}
		if err := ids.Check(); err != nil {
			t.Fatalf("ReadIDs accepted invalid IDs: %v", err)
		}
		if _, err := ids.Trie(); err != nil {
			t.Fatalf("valid IDs do not build a trie: %v", err)
		}
	})
}
