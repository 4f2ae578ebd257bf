package trie_test

import (
	"fmt"

	"github.com/irgen/irgen/internal/semid"
	"github.com/irgen/irgen/internal/trie"
)

func Example() {
	tr, err := trie.New(3, 256)
	if err != nil {
		panic(err)
	}
	tr.Insert(semid.ID{12, 200, 3}, 0)
	tr.Insert(semid.ID{12, 200, 7}, 1)
	tr.Insert(semid.ID{12, 5, 3}, 2)
	tr.Insert(semid.ID{12, 200, 3}, 3) // same ID as item 0

	dst := make([]int32, 0, tr.L()) // reused: Allowed does not allocate
	for _, prefix := range []semid.ID{nil, {12}, {12, 200}} {
		dst = tr.Allowed(prefix, dst)
		fmt.Printf("after %q: %v\n", prefix, dst)
	}
	fmt.Println(tr.Items(semid.ID{12, 200, 3}), tr.Len(), tr.NumItems())

	tr.Delete(2) // the last item of 12-5-3: the branch 12-5 goes away
	fmt.Println(tr.Allowed(semid.ID{12}, nil), tr.Contains(semid.ID{12, 5, 3}))
	// Output:
	// after "": [12]
	// after "12": [5 200]
	// after "12-200": [3 7]
	// [0 3] 3 4
	// [200] false
}
