package encoder

import (
	"fmt"
	"sync"

	"github.com/gomlx/compute"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
)

// Job is what Lazy.Run runs: a graph of a batch of images, its variables
// and how to feed it.
type Job struct {
	Backend compute.Backend
	Vars    *model.Store
	Config  Config // the images' size
	// Graph maps images [Batch, H, W, C] to outputs [Batch, Dim]. Only the
	// first Run compiles it.
	Graph func(scope *model.Scope, images *Node) *Node
	Batch int // images per call of the compiled graph
	Dim   int // output values per image
	// Name and Verb prefix the errors: "Name: …" for images of the wrong
	// size, "Name: Verb: …" for a failed run.
	Name, Verb string
}

// Lazy runs a graph compiled on its first use. The zero Lazy is ready to
// use; it is safe for concurrent use.
type Lazy struct {
	once sync.Once
	exec *model.Exec
	err  error
}

// Run feeds n images (n × H × W × C of job.Config, normalized) through
// job.Graph as RunBatched does, compiling it on the first call, and
// returns the n × job.Dim outputs. A compile error is returned as is, by
// every call.
func (l *Lazy) Run(job Job, images []float32, n int) ([]float32, error) {
	c := job.Config
	size := c.ImageSize * c.ImageSize * c.Channels
	if n < 0 || len(images) != n*size {
		return nil, fmt.Errorf("%s: %d values for %d images of %d", job.Name, len(images), n, size)
	}
	l.once.Do(func() { l.exec, l.err = model.NewExec(job.Backend, job.Vars, job.Graph) })
	if l.err != nil {
		return nil, l.err
	}
	out, err := RunBatched(l.exec, c, images, n, job.Batch, job.Dim)
	if err != nil {
		return nil, fmt.Errorf("%s: %s: %w", job.Name, job.Verb, err)
	}
	return out, nil
}

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
