package engine

import "cmp"

// rankedHit is a candidate's score in Rank.
type rankedHit struct {
	score float64
	index int
}

// before reports whether a ranks before b: a higher score, or the same
// score and a lower index (cmp.Compare's order: NaN below every number).
func (a rankedHit) before(b rankedHit) bool {
	if c := cmp.Compare(a.score, b.score); c != 0 {
		return c > 0
	}
	return a.index < b.index
}

// ranked is a heap of the best hits so far with the last of them on top.
type ranked []rankedHit

func (h ranked) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !h[p].before(h[i]) {
			return
		}
		h[p], h[i] = h[i], h[p]
		i = p
	}
}

func (h ranked) down(i int) {
	for {
		last, l := i, 2*i+1
		if l < len(h) && h[last].before(h[l]) {
			last = l
		}
		if r := l + 1; r < len(h) && h[last].before(h[r]) {
			last = r
		}
		if last == i {
			return
		}
		h[i], h[last] = h[last], h[i]
		i = last
	}
}
