package encoder

import (
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
)

// RunBatched feeds n images (n × H × W × C of c, normalized) through exec,
// a graph from one [batch, H, W, C] input to one [batch, dim] output,
// batch images a call, the last call padded so that the graph compiles
// once; it returns the n × dim outputs. images must hold n images.
func RunBatched(exec *model.Exec, c Config, images []float32, n, batch, dim int) ([]float32, error) {
	batch = max(batch, 1)
	size := c.ImageSize * c.ImageSize * c.Channels
	out := make([]float32, n*dim)
	buf := make([]float32, batch*size)
	for lo := 0; lo < n; lo += batch {
		hi := min(lo+batch, n)
		clear(buf)
		copy(buf, images[lo*size:hi*size])
		in := tensors.FromFlatDataAndDimensions(buf, batch, c.ImageSize, c.ImageSize, c.Channels)
		res, err := exec.Exec(in)
		in.FinalizeAll()
		if err != nil {
			return nil, err
		}
		err = tensors.ConstFlatData(res[0], func(flat []float32) { copy(out[lo*dim:hi*dim], flat[:(hi-lo)*dim]) })
		res[0].FinalizeAll()
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}
