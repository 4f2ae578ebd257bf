package decoder

import (
	"math/rand/v2"

	. "github.com/gomlx/gomlx/core/graph"

	"github.com/irgen/irgen/internal/nn"
)

// Dropout is a training step's dropout: the rate and, as graph inputs,
// uniform [0, 1) noise drawn in Go for every value it may drop (the same
// on every backend, and reproducible on resume). A nil *Dropout drops
// nothing.
type Dropout struct {
	Rate float64
	// Branches is [3·Depth, B, M, Dim]: one slice per attention or MLP
	// branch of every block; Memory is [B, S, E], the encoder tokens.
	Branches, Memory *Node
}

// noiseDims returns the dimensions of a Dropout's two noise inputs for a
// batch of b queries whose memory is s tokens of width e.
func (c Config) noiseDims(b, s, e int) (branches, memory []int) {
	return []int{3 * c.Depth, b, c.M, c.Dim}, []int{b, s, e}
}

// branch drops from the output x of branch i.
func (d *Dropout) branch(x *Node, i int) *Node {
	if d == nil {
		return x
	}
	return nn.Dropout(x, Squeeze(SliceAxis(d.Branches, 0, AxisElem(i)), 0), d.Rate)
}

// memory drops from the encoder tokens.
func (d *Dropout) memory(x *Node) *Node {
	if d == nil {
		return x
	}
	return nn.Dropout(x, d.Memory, d.Rate)
}

// uniform fills dst with uniform [0, 1) values of rng.
func uniform(rng *rand.Rand, dst []float32) {
	for i := range dst {
		dst[i] = rng.Float32()
	}
}
