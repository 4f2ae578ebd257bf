package weights_test

import (
	"fmt"
	"log"

	"github.com/irgen/irgen/internal/weights"
)

func ExampleResizePos() {
	// A 2×2 patch grid of width 1 plus the cls row, upsampled to 4×4 for
	// larger images.
	pos := weights.Tensor{Shape: []int{5, 1}, Data: []float32{-1, 0, 1, 2, 3}}
	big, err := weights.ResizePos(pos, 16)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(big.Shape, big.Data[0])
	for y := range 4 {
		fmt.Println(big.Data[1+4*y : 1+4*y+4])
	}
	// Output:
	// [17 1] -1
	// [0 0.25 0.75 1]
	// [0.5 0.75 1.25 1.5]
	// [1.5 1.75 2.25 2.5]
	// [2 2.25 2.75 3]
}
