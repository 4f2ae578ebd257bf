package semid_test

import (
	"fmt"

	"github.com/irgen/irgen/internal/semid"
)

func Example() {
	id, err := semid.Parse("12-200-3-7")
	if err != nil {
		panic(err)
	}
	k, exact := id.Key()
	fmt.Println(id, len(id), exact)
	fmt.Printf("%#x\n", k)
	// Output:
	// 12-200-3-7 4 true
	// 0xcc80307
}
