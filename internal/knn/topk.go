package knn

import "math"

// Result is one search hit. Higher Score is better: the inner product for
// Cosine and InnerProduct, minus the squared distance for L2.
type Result struct {
	ID    int
	Score float32
}

// better reports whether a ranks before b: higher score first, then lower id,
// so rankings are deterministic under ties.
func better(a, b Result) bool {
	return a.Score > b.Score || (a.Score == b.Score && a.ID < b.ID)
}

// TopK keeps the k best results pushed into it. It is a size-k min-heap whose
// root h[0] is the worst result kept, so a new candidate is compared against
// h[0] alone. The zero value is an empty TopK with k = 0; call Reset before use.
// A TopK reuses its storage across Resets and does not allocate once its
// capacity has reached k.
type TopK struct {
	k int
	h []Result
}

// NewTopK returns an empty TopK that keeps at most k results.
func NewTopK(k int) *TopK {
	t := &TopK{}
	t.Reset(k)
	return t
}

// Reset empties t and sets the number of results it keeps. Storage grows
// with the results actually pushed, so a huge k costs nothing up front.
func (t *TopK) Reset(k int) {
	t.k = max(k, 0)
	if want := min(t.k, 1024); cap(t.h) < want {
		t.h = make([]Result, 0, want)
	}
	t.h = t.h[:0]
}

// Len returns the number of results held.
func (t *TopK) Len() int { return len(t.h) }

// Full reports whether t holds k results, so that a candidate must beat
// Worst to enter.
func (t *TopK) Full() bool { return len(t.h) >= t.k }

// threshold is the score that a candidate must beat (or equal, with a
// lower id) to enter t: the worst score held once t is full; before, NaN,
// which vec.ScorePanel flags every score against.
func (t *TopK) threshold() float32 {
	switch {
	case len(t.h) < t.k:
		return float32(math.NaN())
	case t.k == 0:
		return inf
	}
	return t.h[0].Score
}

// inf is +Inf as a float32.
var inf = float32(math.Inf(1))

// Worst returns the worst result held (the heap root). It panics if t is empty.
func (t *TopK) Worst() Result { return t.h[0] }

// Push offers a candidate and reports whether it was kept. NaN scores are
// treated as -Inf so that they never displace a real score.
func (t *TopK) Push(id int, score float32) bool {
	if score != score {
		score = float32(math.Inf(-1))
	}
	r := Result{ID: id, Score: score}
	if len(t.h) < t.k {
		t.h = append(t.h, r)
		t.up(len(t.h) - 1)
		return true
	}
	if t.k == 0 || !better(r, t.h[0]) {
		return false
	}
	t.h[0] = r
	t.down(0)
	return true
}

// Pop removes and returns the worst result held. It panics if t is empty.
func (t *TopK) Pop() Result {
	h := t.h
	r := h[0]
	last := len(h) - 1
	h[0] = h[last]
	t.h = h[:last]
	t.down(0)
	return r
}

// AppendSorted appends the held results to dst, best first, and empties t.
// It does not allocate when dst has room for Len more results.
func (t *TopK) AppendSorted(dst []Result) []Result {
	n := len(t.h)
	start := len(dst)
	dst = append(dst, t.h...) // reserve room; overwritten below
	for i := n - 1; i >= 0; i-- {
		dst[start+i] = t.Pop()
	}
	return dst
}

func (t *TopK) up(i int) {
	h := t.h
	for i > 0 {
		p := (i - 1) / 2
		if !better(h[p], h[i]) { // parent already worse or equal: heap holds
			break
		}
		h[p], h[i] = h[i], h[p]
		i = p
	}
}

func (t *TopK) down(i int) {
	h := t.h
	n := len(h)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		w := l // the worse child
		if r := l + 1; r < n && better(h[l], h[r]) {
			w = r
		}
		if !better(h[i], h[w]) {
			return
		}
		h[i], h[w] = h[w], h[i]
		i = w
	}
}
