package rq_test

import (
	"fmt"

	"github.com/irgen/irgen/internal/rq"
)

func Example() {
	// Two levels of two codewords in 2 dimensions: a coarse level and a
	// fine one.
	q := &rq.Quantizer{M: 2, L: 2, Dim: 2, Codebooks: []float32{
		10, 0, 0, 10, // level 0
		1, 0, 0, 1, // level 1
	}}
	if err := q.Init(); err != nil {
		panic(err)
	}
	codes := make([]int32, q.M)
	if err := q.Encode([]float32{0.2, 10.9}, codes); err != nil {
		panic(err)
	}
	out := make([]float32, q.Dim)
	q.Decode(codes, out)
	fmt.Println(codes, out)
	// Output:
	// [1 1] [0 11]
}
