package dataset_test

import (
	"fmt"

	"github.com/irgen/irgen/internal/dataset"
)

func ExampleSub() {
	g := &dataset.Gray{W: 1, H: 1, Pix: []uint8{10, 20, 30, 40}, Labels: []int{0, 1, 0, 1}, Prefix: "toy/train"}
	odd := dataset.Sub(g, []int{1, 3})
	for i := range odd.Len() {
		fmt.Println(odd.Key(i), odd.Label(i), odd.(*dataset.Gray).Pixels(i))
	}
	fmt.Println(dataset.Limit(g, 2).Len())
	// Output:
	// toy/train/1 1 [20]
	// toy/train/3 1 [40]
	// 2
}
