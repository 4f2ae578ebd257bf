package main

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"time"

	"github.com/irgen/irgen/internal/gallery"
	"github.com/irgen/irgen/internal/knn"
	"github.com/irgen/irgen/internal/semid"
	"github.com/irgen/irgen/internal/trie"
)

// stateBytes is the heap a serving engine (internal/engine) holds per
// gallery image, part by part: the gallery itself (key, label, feature,
// ID), the exact index (which shares the gallery's features and keeps
// each one's inverse norm and deleted flag), and the prefix tree of IDs.
type stateBytes struct {
	N           int     `json:"n"`
	Dim         int     `json:"d"`
	M           int     `json:"id_m"`
	L           int     `json:"id_l"`
	Gallery     float64 `json:"gallery_bytes_per_image"`
	Features    float64 `json:"features_bytes_per_image"` // of Gallery: D float32
	Codes       float64 `json:"codes_bytes_per_image"`    // of Gallery: M int32
	KeysLabels  float64 `json:"keys_labels_bytes_per_image"`
	Index       float64 `json:"knn_index_bytes_per_image"`
	TrieN       int     `json:"trie_n"` // images in the trie measured
	Trie        float64 `json:"trie_bytes_per_image"`
	Total       float64 `json:"total_bytes_per_image"`
	TotalAt1M   float64 `json:"total_mib_at_1m"`
	MeasureSecs float64 `json:"seconds"`
}

// stateKey is a typical gallery key: a relative image path.
func stateKey(i int) string { return fmt.Sprintf("images/%07d.jpg", i) }

// heapInUse returns the live heap after a full collection.
func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// measureState builds the per-image state of n synthetic images (the
// prefix tree of trieN, which may differ: trie bytes per image depend on
// how many IDs share prefixes) and measures each part's heap.
func measureState(n, trieN, d, m, l int, seed uint64) (stateBytes, error) {
	start := time.Now()
	s := stateBytes{N: n, Dim: d, M: m, L: l, TrieN: trieN}
	rng := rand.New(rand.NewPCG(seed, 23))
	per := func(before uint64, count int) float64 {
		return float64(int64(heapInUse())-int64(before)) / float64(count)
	}

	h0 := heapInUse()
	g := &gallery.Gallery{Dim: d, M: m, L: l, Classes: []string{"c"},
		Keys: make([]string, n), Labels: make([]int32, n)}
	for i := range n {
		g.Keys[i] = stateKey(i)
	}
	s.KeysLabels = per(h0, n)
	h1 := heapInUse()
	g.Features = make([]float32, n*d)
	for i := range g.Features {
		g.Features[i] = float32(rng.NormFloat64())
	}
	s.Features = per(h1, n)
	h2 := heapInUse()
	g.Codes = make([]int32, n*m)
	for i := range g.Codes {
		g.Codes[i] = int32(rng.IntN(l))
	}
	s.Codes = per(h2, n)
	s.Gallery = per(h0, n)
	if err := g.Check(); err != nil {
		return s, err
	}

	h3 := heapInUse()
	ix, err := knn.New(d, knn.Cosine)
	if err != nil {
		return s, err
	}
	if err := ix.Attach(g.Features); err != nil { // as engine.Restore does
		return s, err
	}
	s.Index = per(h3, n)

	h4 := heapInUse()
	tr, err := trie.New(m, l)
	if err != nil {
		return s, err
	}
	id := make(semid.ID, m)
	for i := range trieN {
		if i < n {
			copy(id, g.Code(i))
		} else {
			for j := range id {
				id[j] = int32(rng.IntN(l))
			}
		}
		if err := tr.Insert(id, i); err != nil {
			return s, err
		}
	}
	s.Trie = per(h4, trieN)
	runtime.KeepAlive(g)
	runtime.KeepAlive(ix)
	runtime.KeepAlive(tr)
	s.Total = s.Gallery + s.Index + s.Trie
	s.TotalAt1M = s.Total * 1e6 / (1 << 20)
	s.MeasureSecs = time.Since(start).Seconds()
	return s, nil
}

// runState measures the per-image state of -n images (the trie too).
func runState(o options) (record, error) {
	s, err := measureState(o.n, o.n, o.dim, o.idM, o.idL, o.seed)
	if err != nil {
		return nil, err
	}
	return record{"bench": "state", "state": s, "budget_bytes_per_image": stateBudget(o.dim, o.idM)}, nil
}

// stateBudget is the documented budget (docs/performance.md) in bytes per
// gallery image: the feature once (float32, shared by the gallery and the
// exact index), the index's inverse norm (float32) and deleted flag, the
// ID tokens (int32), label, key (string header and up to 32 bytes of
// path) and 112 bytes for the prefix tree and slack: 697 B for D=128 and
// M=4, within issue #15's 700.
func stateBudget(d, m int) float64 {
	return float64(4*d + 4 + 1 + 4*m + 4 + 16 + 32 + 112)
}
