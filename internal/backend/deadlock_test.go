package backend

import (
	"sync"
	"testing"
	"time"

	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
)

// TestDefaultDoesNotDeadlock runs, on the default Go backend, graphs whose
// nodes ask the worker pool for more workers from inside a pool task
// (large matmuls through Saturate, Erf through WaitToStart): the pattern
// that hung with bounded parallelism (see Default). It runs them alone
// (parallel-ops mode) and from several goroutines at once, and fails if
// they do not all finish in time.
func TestDefaultDoesNotDeadlock(t *testing.T) {
	b, err := New("")
	if err != nil {
		t.Fatal(err)
	}
	exec := MustNewExec(b, func(x *Node) *Node {
		h := MatMul(x, Transpose(x, 0, 1)) // 256×256 matmul: Saturate
		h = Erf(MulScalar(h, 1e-3))        // 65536 values: WaitToStart per chunk
		h = MatMul(h, x)
		return ReduceAllSum(Erf(h))
	})
	data := make([]float32, 256*256)
	for i := range data {
		data[i] = float32(i%97) / 97
	}
	x := tensors.FromFlatDataAndDimensions(data, 256, 256)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 3 {
			exec.MustExec(x)[0].FinalizeAll()
		}
		var wg sync.WaitGroup
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 3 {
					exec.MustExec(x)[0].FinalizeAll()
				}
			}()
		}
		wg.Wait()
	}()
	select {
	case <-done:
	case <-time.After(2 * time.Minute):
		t.Fatal("graphs on the default Go backend did not finish in 2 minutes: worker-pool deadlock")
	}
}
