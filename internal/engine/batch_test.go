package engine_test

import (
	"fmt"
	"testing"

	"github.com/irgen/irgen/internal/engine"
	"github.com/irgen/irgen/internal/testmodel"
)

// TestSearchBatch checks that a search of many queries with
// Options.Batch (the server batching its requests) finds, for every
// built-in method, what each query finds alone.
func TestSearchBatch(t *testing.T) {
	e := openTestEngine(t)
	images, _ := testmodel.Queries(t, e)
	size := e.Transform.Len()
	for _, m := range engine.Methods {
		for _, tc := range []struct{ n, batch int }{{13, 16}, {5, 4}} {
			t.Run(fmt.Sprintf("%s/n=%d/batch=%d", m, tc.n, tc.batch), func(t *testing.T) {
				opt := engine.Options{K: 7, Beam: 9}
				var alone [][]engine.Hit
				for q := range tc.n {
					hits, _, err := e.Search(m, images[q*size:(q+1)*size], 1, opt)
					if err != nil {
						t.Fatal(err)
					}
					alone = append(alone, hits[0])
				}
				opt.Batch = tc.batch
				got, _, err := e.Search(m, images[:tc.n*size], tc.n, opt)
				if err != nil {
					t.Fatal(err)
				}
				sameHits(t, "batched", got, alone)
			})
		}
	}
}
