package decoder

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/compute"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/irgen/irgen/internal/testutil"
)

// stepConfig is the small decoder the step tests compare with teacher
// forcing.
var stepConfig = Config{Dim: 16, Depth: 2, Heads: 2, MLPDim: 32, M: 4, L: 5, Activation: "gelu", Eps: 1e-6, Smoothing: 0.1}

// randomMemory returns n standard normal values.
func randomMemory(rng *rand.Rand, n int) []float32 {
	mem := make([]float32, n)
	for i := range mem {
		mem[i] = float32(rng.NormFloat64())
	}
	return mem
}

// teacherForcing compiles the full teacher-forced pass: log-probabilities
// [b, M, L] of memory [b, s, e] and codes [b, M].
func teacherForcing(backend compute.Backend, vars *model.Store, c Config) *model.Exec {
	return model.MustNewExec(backend, vars, func(scope *model.Scope, memory, codes *Node) *Node {
		return LogSoftmax(Logits(scope, c, memory, codes), -1)
	})
}

// TestStepMatchesTeacherForcing checks the cached incremental decoder
// against the full teacher-forced pass: the same log-probabilities at every
// position.
func TestStepMatchesTeacherForcing(t *testing.T) {
	backend := testutil.Backend(t)
	c := stepConfig
	const b, s, e = 3, 7, 12
	rng := rand.New(rand.NewPCG(1, 2))
	mem := randomMemory(rng, b*s*e)
	codes := make([]int32, b*c.M)
	for i := range codes {
		codes[i] = int32(rng.IntN(c.L))
	}
	vars := model.NewStore()
	memT := tensors.FromFlatDataAndDimensions(mem, b, s, e)
	codesT := tensors.FromFlatDataAndDimensions(codes, b, c.M)

	want := tensors.MustCopyFlatData[float32](teacherForcing(backend, vars, c).MustExec(memT, codesT)[0]) // [b, M, L]

	cross := model.MustNewExec(backend, vars, func(scope *model.Scope, memory *Node) []*Node {
		k, v := refCrossCache(scope, c, memory)
		return []*Node{k, v}
	})
	cc := cross.MustExec(memT)
	query := tensors.FromFlatDataAndDimensions([]int32{0, 1, 2}, b)
	var selfK, selfV *tensors.Tensor
	for pos := range c.M {
		tok := make([]int32, b)
		if pos > 0 {
			for i := range b {
				tok[i] = codes[i*c.M+pos-1]
			}
		}
		var step *model.Exec
		args := []any{tensors.FromFlatDataAndDimensions(tok, b), query, cc[0], cc[1]}
		if pos == 0 {
			step = model.MustNewExec(backend, vars, func(scope *model.Scope, tok, query, ck, cv *Node) []*Node {
				lp, k, v := refStep(scope, c, tok, query, 0, nil, nil, ck, cv)
				return []*Node{lp, k, v}
			})
		} else {
			step = model.MustNewExec(backend, vars, func(scope *model.Scope, tok, query, ck, cv, sk, sv *Node) []*Node {
				lp, k, v := refStep(scope, c, tok, query, pos, sk, sv, ck, cv)
				return []*Node{lp, Concatenate([]*Node{sk, k}, 2), Concatenate([]*Node{sv, v}, 2)}
			})
			args = append(args, selfK, selfV)
		}
		out := step.MustExec(args...)
		got := tensors.MustCopyFlatData[float32](out[0])
		selfK, selfV = out[1], out[2]
		for i := range b {
			for l := range c.L {
				g, w := got[i*c.L+l], want[(i*c.M+pos)*c.L+l]
				if math.Abs(float64(g-w)) > 1e-4 {
					t.Fatalf("pos %d beam %d token %d: step logp %g; teacher forcing %g", pos, i, l, g, w)
				}
			}
		}
	}
}

// TestGridStepMatchesTeacherForcing decodes a grid of beams whose parents
// are drawn at random within their query, as beam search reorders them,
// and checks every slot's log-probabilities against the teacher-forced
// pass over the slot's whole prefix.
func TestGridStepMatchesTeacherForcing(t *testing.T) {
	backend := testutil.Backend(t)
	c := stepConfig
	const q, g, s, e = 3, 4, 7, 12
	rng := rand.New(rand.NewPCG(3, 4))
	mem := randomMemory(rng, q*s*e)
	vars := model.NewStore()
	cross := model.MustNewExec(backend, vars, func(scope *model.Scope, memory *Node) []*Node {
		return CrossCache(scope, c, memory)
	})
	cc := cross.MustExec(tensors.FromFlatDataAndDimensions(mem, q, s, e))
	full := teacherForcing(backend, vars, c)

	prefix := make([][]int32, q) // per slot of the last grid
	for i := range prefix {
		prefix[i] = []int32{}
	}
	var cache []*tensors.Tensor
	for pos := range c.M {
		gw := g
		if pos == 0 {
			gw = 1
		}
		next := make([][]int32, q*gw)
		var args []any
		for _, x := range cc {
			args = append(args, x)
		}
		if pos > 0 {
			tok, parents := make([]int32, q*gw), make([]int32, q*gw)
			for j := range next {
				prev := len(prefix) / q
				parents[j] = int32(j/gw*prev + rng.IntN(prev))
				tok[j] = int32(rng.IntN(c.L))
				next[j] = append(append([]int32{}, prefix[parents[j]]...), tok[j])
			}
			args = append(args, tensors.FromFlatDataAndDimensions(tok, q*gw), tensors.FromFlatDataAndDimensions(parents, q*gw))
			for _, x := range cache {
				args = append(args, x)
			}
		}
		n := 2 * c.Depth
		step := model.MustNewExec(backend, vars, func(scope *model.Scope, in []*Node) []*Node {
			var tok, parents *Node
			var cache []*Node
			if pos > 0 {
				tok, parents, cache = in[n], in[n+1], in[n+2:]
			}
			logp, next := GridStep(scope, c, pos, tok, parents, cache, in[:n])
			return append([]*Node{logp}, next...)
		})
		out := step.MustExec(args...)
		want := 1 + n
		if pos == c.M-1 {
			want = 1
		}
		if len(out) != want {
			t.Fatalf("pos %d: %d outputs; want %d", pos, len(out), want)
		}
		cache = out[1:]
		got := tensors.MustCopyFlatData[float32](out[0])
		tf := teacherForced(full, c, mem, next, gw, s, e)
		for j := range next {
			for l := range c.L {
				gv, wv := got[j*c.L+l], tf[(j*c.M+pos)*c.L+l]
				if math.Abs(float64(gv-wv)) > 1e-4 {
					t.Fatalf("pos %d slot %d (prefix %v) token %d: grid step logp %g; teacher forcing %g", pos, j, next[j], l, gv, wv)
				}
			}
		}
		prefix = next
	}
}

// teacherForced returns the teacher-forced log-probabilities [n, M, L] of
// the n prefixes (padded with token 0), prefix j read with query j/g's
// memory.
func teacherForced(full *model.Exec, c Config, mem []float32, prefixes [][]int32, g, s, e int) []float32 {
	n := len(prefixes)
	m := make([]float32, 0, n*s*e)
	codes := make([]int32, n*c.M)
	for j, p := range prefixes {
		qi := j / g
		m = append(m, mem[qi*s*e:(qi+1)*s*e]...)
		copy(codes[j*c.M:], p)
	}
	out := full.MustExec(tensors.FromFlatDataAndDimensions(m, n, s, e), tensors.FromFlatDataAndDimensions(codes, n, c.M))
	return tensors.MustCopyFlatData[float32](out[0])
}
