package vec_test

import (
	"fmt"

	"github.com/irgen/irgen/internal/vec"
)

func ExampleDotBatch() {
	q := []float32{1, 2}
	data := []float32{ // three 2-dim rows, row-major
		1, 0,
		0, 1,
		3, 4,
	}
	out := make([]float32, 3)
	vec.DotBatch(q, data, 2, out)
	fmt.Println(out)
	// Output: [1 2 11]
}

func ExampleNormalize() {
	x := []float32{3, 4}
	n := vec.Normalize(x)
	fmt.Println(n, x)
	// Output: 5 [0.6 0.8]
}
