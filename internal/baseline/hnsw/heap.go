package hnsw

import "github.com/irgen/irgen/internal/knn"

// candHeap is a max-heap of candidates by score: pop yields the best
// unexpanded candidate. Ties pop the lower id first.
type candHeap []knn.Result

func candBefore(a, b knn.Result) bool {
	return a.Score > b.Score || (a.Score == b.Score && a.ID < b.ID)
}

func (h *candHeap) push(r knn.Result) {
	*h = append(*h, r)
	s := *h
	i := len(s) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !candBefore(s[i], s[p]) {
			break
		}
		s[i], s[p] = s[p], s[i]
		i = p
	}
}

func (h *candHeap) pop() knn.Result {
	s := *h
	top := s[0]
	last := len(s) - 1
	s[0] = s[last]
	s = s[:last]
	*h = s
	i := 0
	for {
		l := 2*i + 1
		if l >= len(s) {
			break
		}
		b := l
		if r := l + 1; r < len(s) && candBefore(s[r], s[l]) {
			b = r
		}
		if !candBefore(s[b], s[i]) {
			break
		}
		s[i], s[b] = s[b], s[i]
		i = b
	}
	return top
}
