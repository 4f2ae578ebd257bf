package beam_test

import (
	"fmt"

	"github.com/irgen/irgen/internal/beam"
	"github.com/irgen/irgen/internal/semid"
	"github.com/irgen/irgen/internal/trie"
)

// preferLow scores token tok as -tok at every step, whatever the prefix:
// a stateless scorer, so Reorder has nothing to do.
type preferLow struct{ l int }

func (p preferLow) Next(beams beam.Beams, logp []float32) error {
	for b := range beams.Len() {
		for tok := range p.l {
			logp[b*p.l+tok] = -float32(tok)
		}
	}
	return nil
}

func (preferLow) Reorder([]int) error { return nil }

func Example() {
	tr, _ := trie.New(2, 4)
	tr.Insert(semid.ID{3, 0}, 0)
	tr.Insert(semid.ID{1, 2}, 1)
	tr.Insert(semid.ID{1, 3}, 2)
	tr.Insert(semid.ID{2, 1}, 3)
	tr.Insert(semid.ID{1, 2}, 4)

	s, err := beam.New(beam.Config{Width: 2, M: 2, L: 4})
	if err != nil {
		panic(err)
	}
	hyps, err := s.Search(preferLow{l: 4}, tr)
	if err != nil {
		panic(err)
	}
	for _, h := range hyps {
		fmt.Println(h.ID, h.Score)
	}
	fmt.Println(beam.Expand(hyps, tr, 10))
	// Output:
	// 1-2 -3
	// 2-1 -3
	// [1 4 3]
}
