package hnsw_test

import (
	"bytes"
	"fmt"

	"github.com/irgen/irgen/internal/baseline/hnsw"
	"github.com/irgen/irgen/internal/knn"
)

func Example() {
	cfg := hnsw.DefaultConfig()
	cfg.Metric = knn.L2
	ix, err := hnsw.New(2, cfg)
	if err != nil {
		panic(err)
	}
	for _, v := range [][]float32{{0, 0}, {1, 1}, {5, 5}, {1, 0}} {
		if _, err := ix.Append(v); err != nil {
			panic(err)
		}
	}
	if err := ix.Delete(3); err != nil {
		panic(err)
	}

	// Save and load round-trips the graph.
	var buf bytes.Buffer
	if err := ix.Save(&buf); err != nil {
		panic(err)
	}
	loaded, err := hnsw.Load(&buf)
	if err != nil {
		panic(err)
	}
	res, err := loaded.Search([]float32{0.9, 0.9}, 2)
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
