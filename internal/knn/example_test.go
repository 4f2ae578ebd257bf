package knn_test

import (
	"fmt"

	"github.com/irgen/irgen/internal/knn"
)

func Example() {
	ix, err := knn.New(2, knn.L2)
	if err != nil {
		panic(err)
	}
	// Three 2-dim rows, flat and row-major: ids 0, 1, 2.
	if err := ix.Add([]float32{0, 0, 1, 1, 5, 5}); err != nil {
		panic(err)
	}
	res, err := ix.Search([]float32{0.9, 0.9}, 2)
	if err != nil {
		panic(err)
	}
	for _, r := range res {
		fmt.Printf("id=%d score=%.2f\n", r.ID, r.Score)
	}
	// Output:
	// id=1 score=-0.02
	// id=0 score=-1.62
}
