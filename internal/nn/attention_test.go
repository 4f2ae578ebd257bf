package nn

import (
	"math"
	"math/rand/v2"
	"testing"

	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
)

// attentionRef is SelfAttention in float64: x [b, t, d] row-major, the
// fused qkv kernel [d, 3d] and bias [3d], the out kernel [d, d] and bias
// [d], causal or not. It returns Σ c·y as well.
func attentionRef(x, qkvK, qkvB, outK, outB, c []float64, b, t, d, heads int, causal bool) ([]float64, float64) {
	dh := d / heads
	proj := make([]float64, b*t*3*d)
	for n := range b * t {
		for o := range 3 * d {
			s := qkvB[o]
			for i := range d {
				s += x[n*d+i] * qkvK[i*3*d+o]
			}
			proj[n*3*d+o] = s
		}
	}
	att := make([]float64, b*t*d)
	for bi := range b {
		for h := range heads {
			for ti := range t {
				q := proj[(bi*t+ti)*3*d+h*dh:]
				w := make([]float64, t)
				mx := math.Inf(-1)
				for si := range t {
					if causal && si > ti {
						w[si] = math.Inf(-1)
						continue
					}
					k := proj[(bi*t+si)*3*d+d+h*dh:]
					for j := range dh {
						w[si] += q[j] * k[j]
					}
					w[si] /= math.Sqrt(float64(dh))
					mx = max(mx, w[si])
				}
				var z float64
				for si := range t {
					w[si] = math.Exp(w[si] - mx)
					z += w[si]
				}
				for si := range t {
					v := proj[(bi*t+si)*3*d+2*d+h*dh:]
					for j := range dh {
						att[(bi*t+ti)*d+h*dh+j] += w[si] / z * v[j]
					}
				}
			}
		}
	}
	y := make([]float64, b*t*d)
	var sum float64
	for n := range b * t {
		for o := range d {
			s := outB[o]
			for i := range d {
				s += att[n*d+i] * outK[i*d+o]
			}
			y[n*d+o] = s
			sum += c[n*d+o] * s
		}
	}
	return y, sum
}

// TestSelfAttention checks SelfAttention, with and without a causal mask,
// and the gradient of Σ c·y with respect to the fused qkv kernel and bias
// against the float64 reference and its central finite differences.
func TestSelfAttention(t *testing.T) {
	be := testBackend(t)
	const b, tt, d, heads = 2, 3, 4, 2
	r := rand.New(rand.NewPCG(31, 32))
	to64 := func(v []float32) []float64 {
		o := make([]float64, len(v))
		for i, a := range v {
			o[i] = float64(a)
		}
		return o
	}
	x, qkvK, qkvB, outK, outB, c := randn(r, b*tt*d), randn(r, d*3*d), randn(r, 3*d), randn(r, d*d), randn(r, d), randn(r, b*tt*d)
	for _, tc := range []struct{ causal, training bool }{{false, false}, {true, false}, {false, true}, {true, true}} {
		causal := tc.causal
		exec := model.MustNewExec(be, model.NewStore(), func(scope *model.Scope, x, c *Node) []*Node {
			s := scope.Store()
			s.SetTraining(x.Graph(), tc.training) // the two layouts of SelfAttention
			kv := s.VariableWithValue("/attn/qkv/kernel", tensors.FromFlatDataAndDimensions(qkvK, d, 3*d))
			bv := s.VariableWithValue("/attn/qkv/bias", tensors.FromFlatDataAndDimensions(qkvB, 3*d))
			s.VariableWithValue("/attn/out/kernel", tensors.FromFlatDataAndDimensions(outK, d, d))
			s.VariableWithValue("/attn/out/bias", tensors.FromFlatDataAndDimensions(outB, d))
			as := scope.In("attn")
			var mask *Node
			if causal {
				mask = CausalMask(x.Graph(), tt)
			}
			y := SelfAttention(as, x, heads, mask)
			g := x.Graph()
			grads := Gradient(ReduceAllSum(Mul(y, c)), kv.NodeValue(g), bv.NodeValue(g))
			return append([]*Node{y}, grads...)
		})
		res := exec.MustExec(tensors.FromFlatDataAndDimensions(x, b, tt, d), tensors.FromFlatDataAndDimensions(c, b, tt, d))
		y := tensors.MustCopyFlatData[float32](res[0])
		gk, gb := tensors.MustCopyFlatData[float32](res[1]), tensors.MustCopyFlatData[float32](res[2])
		x64, k64, b64, ok64, ob64, c64 := to64(x), to64(qkvK), to64(qkvB), to64(outK), to64(outB), to64(c)
		want, _ := attentionRef(x64, k64, b64, ok64, ob64, c64, b, tt, d, heads, causal)
		for i := range want {
			if math.Abs(float64(y[i])-want[i]) > 1e-5*(1+math.Abs(want[i])) {
				t.Errorf("%+v: y[%d] = %v; want %v", tc, i, y[i], want[i])
			}
		}
		const h = 1e-6
		for _, p := range []struct {
			name string
			v    []float64
			grad []float32
		}{{"dkernel", k64, gk}, {"dbias", b64, gb}} {
			for i := range p.v {
				saved := p.v[i]
				p.v[i] = saved + h
				_, up := attentionRef(x64, k64, b64, ok64, ob64, c64, b, tt, d, heads, causal)
				p.v[i] = saved - h
				_, down := attentionRef(x64, k64, b64, ok64, ob64, c64, b, tt, d, heads, causal)
				p.v[i] = saved
				if fd := (up - down) / (2 * h); math.Abs(float64(p.grad[i])-fd) > 1e-3*(1+math.Abs(fd)) {
					t.Errorf("%+v: %s[%d] = %v; finite differences %v", tc, p.name, i, p.grad[i], fd)
				}
			}
		}
	}
}
