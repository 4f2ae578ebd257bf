package imageproc_test

import (
	"fmt"
	"image"
	"math/rand/v2"

	"github.com/irgen/irgen/internal/imageproc"
)

func ExampleTransform_Eval() {
	img := image.NewGray(image.Rect(0, 0, 4, 2))
	copy(img.Pix, []uint8{0, 51, 102, 153, 204, 255, 255, 255})
	t := imageproc.Transform{Size: 2, Channels: 1, Mean: []float32{0.5}, Std: []float32{0.5}}
	dst := make([]float32, t.Len())
	if err := t.Eval(img, dst); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%.2f\n", dst) // center crop of the 4x2 image: columns 1 and 2
	// Output: [-0.60 -0.20 1.00 1.00]
}

func ExampleGrayToFloat() {
	pix := make([]uint8, 28*28) // one Fashion-MNIST image
	t := imageproc.DefaultTransform(28, 1)
	dst := make([]float32, t.Len())
	rng := rand.New(rand.NewPCG(1, 2))
	if err := imageproc.GrayToFloat(pix, 28, 28, t, rng, dst); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(len(dst), dst[0])
	// Output: 784 -1
}
