package decoder

import (
	"math"
	"math/rand/v2"
	"testing"

	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/irgen/irgen/internal/testutil"
)

// TestStepMatchesTeacherForcing checks the cached incremental decoder
// against the full teacher-forced pass: the same log-probabilities at every
// position.
func TestStepMatchesTeacherForcing(t *testing.T) {
	backend := testutil.Backend(t)
	c := Config{Dim: 16, Depth: 2, Heads: 2, MLPDim: 32, M: 4, L: 5, Activation: "gelu", Eps: 1e-6, Smoothing: 0.1}
	const b, s, e = 3, 7, 12
	rng := rand.New(rand.NewPCG(1, 2))
	mem := make([]float32, b*s*e)
	for i := range mem {
		mem[i] = float32(rng.NormFloat64())
	}
	codes := make([]int32, b*c.M)
	for i := range codes {
		codes[i] = int32(rng.IntN(c.L))
	}
	vars := model.NewStore()
	memT := tensors.FromFlatDataAndDimensions(mem, b, s, e)
	codesT := tensors.FromFlatDataAndDimensions(codes, b, c.M)

	full := model.MustNewExec(backend, vars, func(scope *model.Scope, memory, codes *Node) *Node {
		return LogSoftmax(Logits(scope, c, memory, codes), -1)
	})
	want := tensors.MustCopyFlatData[float32](full.MustExec(memT, codesT)[0]) // [b, M, L]

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
