package knn

import (
	"math/bits"

	"github.com/irgen/irgen/internal/vec"
)

// A batch of inner-product or cosine queries is scored as a matrix
// product, the way FAISS's IndexFlatIP calls sgemm: the queries are packed
// in panels of vec.PanelWidth, and vec.ScorePanel loads each gallery row
// once for a whole panel and runs at the machine's multiply-add rate. It
// also flags the scores that beat each query's current top-k threshold, so
// that top-k selection only looks at those few.
//
// Work is split in items: tiles of queries (their panels, tileBytes,
// stay in L2) × parts of the gallery, one part per worker. Each item walks
// its part in blocks (panelBlockBytes, also in L2) and scores every panel
// of its tile against a block before moving on, so that the gallery is
// read from memory once per tile. The workers take the items in order, so
// that they share each tile, part by part, however many tiles there are;
// the parts' top-k lists are merged at the end.
const (
	tileBytes       = 256 << 10
	panelBlockBytes = 128 << 10
	maxBlockRows    = 1020 // bounds the scores kept per block: 64 KiB
	minPartRows     = 64
)

// panelPlan is how a batch is split.
type panelPlan struct {
	tile, tiles int // queries per tile (a multiple of PanelWidth), tiles
	parts       int // parts of the gallery
	block       int // rows per block: a multiple of ScorePanel's six
}

// planPanels splits nq queries over n rows of dim values for workers.
func planPanels(nq, n, dim, workers int) panelPlan {
	const w = vec.PanelWidth
	maxTile := max(w, tileBytes/(4*dim)/w*w)
	tiles := (nq + maxTile - 1) / maxTile
	tile := ((nq+tiles-1)/tiles + w - 1) / w * w
	tiles = (nq + tile - 1) / tile
	parts := max(1, min(workers, n/minPartRows))
	block := min(maxBlockRows, max(6, panelBlockBytes/(4*dim)/6*6))
	return panelPlan{tile: tile, tiles: tiles, parts: parts, block: block}
}

// panelScratch is a worker's reusable state.
type panelScratch struct {
	packed int       // the tile whose panels are packed, -1 for none
	panels []float32 // the tile's queries, packed
	tops   []TopK    // the tile's top-k lists
	thr    [vec.PanelWidth]float32
	out    []float32
	flags  []uint16
}

// searchPanels runs batch b (inner products, normalized for Cosine) as
// panels over workers.
func (ix *Index) searchPanels(b *batch, workers int) {
	p := planPanels(b.nq, len(ix.deleted), ix.dim, workers)
	var parts [][]Result // parts[s*nq+q]: part s's list for query q
	var backing []Result
	if p.parts > 1 {
		parts, backing = make([][]Result, p.parts*b.nq), make([]Result, p.parts*b.nq*b.per)
	}
	newScratch := func() *panelScratch {
		return &panelScratch{packed: -1, panels: make([]float32, p.tile*ix.dim), tops: make([]TopK, p.tile),
			out: make([]float32, p.block*vec.PanelWidth), flags: make([]uint16, p.block)}
	}
	parallel(workers, p.tiles*p.parts, newScratch, func(s *panelScratch, item int) {
		t, part := item/p.parts, item%p.parts
		tops := ix.scanPanels(b, p, s, t, part)
		for j := range tops {
			q := t*p.tile + j
			if p.parts == 1 {
				b.finish(q, &tops[j])
				continue
			}
			i := part*b.nq + q
			parts[i] = tops[j].AppendSorted(backing[i*b.per : i*b.per : (i+1)*b.per])
		}
	})
	if p.parts == 1 {
		return
	}
	var top TopK
	for q := range b.nq {
		top.Reset(b.per)
		for s := range p.parts {
			for _, r := range parts[s*b.nq+q] {
				top.Push(r.ID, r.Score)
			}
		}
		b.finish(q, &top)
	}
}

// scanPanels scores tile t of b's queries against part of the gallery
// and returns their top-k lists.
func (ix *Index) scanPanels(b *batch, p panelPlan, s *panelScratch, t, part int) []TopK {
	const w = vec.PanelWidth
	dim, n := ix.dim, len(ix.deleted)
	qlo, qhi := t*p.tile, min((t+1)*p.tile, b.nq)
	pl := vec.PanelLen(dim)
	if s.packed != t {
		for a := qlo; a < qhi; a += w {
			c := min(a+w, qhi)
			vec.PackPanel(b.qs[a*dim:c*dim], dim, s.panels[(a-qlo)/w*pl:])
		}
		s.packed = t
	}
	tops := s.tops[:qhi-qlo]
	for j := range tops {
		tops[j].Reset(min(b.k, n))
	}
	lo, hi := part*n/p.parts, (part+1)*n/p.parts
	for blo := lo; blo < hi; {
		// The lists fill on the first k rows, then filter the scores by
		// their thresholds, as of the last block: blocks double in size up
		// to p.block so that few rows are flagged on a stale threshold.
		bhi := min(blo+min(p.block, max(blo-lo, (b.k+5)/6*6)), hi)
		var scale []float32
		if ix.inv != nil {
			scale = ix.inv[blo:bhi]
		}
		for a := 0; a < len(tops); a += w {
			pt := tops[a:min(a+w, len(tops))]
			thresholds(&s.thr, pt)
			if vec.ScorePanel(ix.data[blo*dim:bhi*dim], dim, s.panels[a/w*pl:], scale, &s.thr, s.out, s.flags) {
				ix.pushFlagged(b, pt, qlo+a, blo, s.out, s.flags[:bhi-blo])
			}
		}
		blo = bhi
	}
	return tops
}

// thresholds sets thr to the thresholds of tops, +Inf past them.
func thresholds(thr *[vec.PanelWidth]float32, tops []TopK) {
	for j := range thr {
		if j < len(tops) {
			thr[j] = tops[j].threshold()
		} else {
			thr[j] = inf
		}
	}
}

// pushFlagged offers the flagged scores of a block (rows from blo) to the
// top-k lists of queries q0, q0+1, ..., skipping deleted rows and those
// b.exclude reports.
func (ix *Index) pushFlagged(b *batch, tops []TopK, q0, blo int, out []float32, flags []uint16) {
	const w = vec.PanelWidth
	valid := uint16(1<<len(tops) - 1)
	for r, f := range flags {
		f &= valid
		if f == 0 {
			continue
		}
		id := blo + r
		if ix.ndel > 0 && ix.deleted[id] {
			continue
		}
		sc := out[r*w : (r+1)*w : (r+1)*w]
		for f != 0 {
			j := bits.TrailingZeros16(f)
			f &= f - 1
			if b.exclude != nil && b.exclude(q0+j, id) {
				continue
			}
			tops[j].Push(id, sc[j])
		}
	}
}
