package trie

import (
	"iter"

	"github.com/irgen/irgen/internal/semid"
)

// All iterates over the valid IDs in increasing lexicographic order, each
// with its items in insertion order. The ID and item slices are reused
// between steps: copy them to keep them. The trie must not change during
// the iteration.
func (t *Trie) All() iter.Seq2[semid.ID, []int] {
	return func(yield func(semid.ID, []int) bool) {
		if t.m == 0 {
			return
		}
		id := make(semid.ID, t.m)
		var items []int
		var visit func(n int32, d int) bool
		visit = func(n int32, d int) bool {
			b := t.nodes[n]
			for k := b.off; k < b.off+b.n; k++ {
				e := t.arena.edges[k]
				id[d] = e.tok
				if d < t.m-1 {
					if !visit(e.next, d+1) {
						return false
					}
					continue
				}
				items = items[:0]
				for it := t.leaves[e.next].head; it >= 0; it = t.items.next(int(it)) {
					items = append(items, int(it))
				}
				if !yield(id, items) {
					return false
				}
			}
			return true
		}
		visit(0, 0)
	}
}
