package mrl

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/irgen/irgen/internal/encoder"
	"github.com/irgen/irgen/internal/nn"
	"github.com/irgen/irgen/internal/testutil"
)

// refLoss is the Matryoshka loss in float64: Σ_m mean_b CE(W_m·z_b[:m] + b_m, y_b).
// ws[i] is W for nesting i (m × C, row-major) and bs[i] its bias.
func refLoss(z []float64, labels []int, dim, classes int, nesting []int, ws, bs [][]float64) float64 {
	batch := len(labels)
	var total float64
	for i, m := range nesting {
		var ce float64
		for b := range batch {
			logits := make([]float64, classes)
			mx := math.Inf(-1)
			for c := range classes {
				v := bs[i][c]
				for j := range m {
					v += z[b*dim+j] * ws[i][j*classes+c]
				}
				logits[c] = v
				mx = math.Max(mx, v)
			}
			var sum float64
			for _, v := range logits {
				sum += math.Exp(v - mx)
			}
			ce += -(logits[labels[b]] - mx - math.Log(sum))
		}
		total += ce / float64(batch)
	}
	return total
}

func TestLossGradient(t *testing.T) {
	enc, _ := encoder.Size("mini")
	const dim, classes, batch = 6, 3, 4
	nesting := []int{2, 4, 6}
	be := testutil.Backend(t)
	rng := rand.New(rand.NewPCG(3, 4))
	z32 := make([]float32, batch*dim)
	for i := range z32 {
		z32[i] = float32(rng.NormFloat64())
	}
	labels := []int32{0, 2, 1, 2}
	for _, shared := range []bool{false, true} {
		name := "MRL"
		if shared {
			name = "MRL-E"
		}
		t.Run(name, func(t *testing.T) {
			c := Config{Encoder: enc, Dim: dim, Classes: classes, Nesting: nesting, Shared: shared}
			if err := c.Validate(); err != nil {
				t.Fatal(err)
			}
			store := model.NewStore()
			store.SetParam(nn.ParamSeed, int64(7))
			var params []*model.Variable
			exec, err := model.NewExec(be, store, func(scope *model.Scope, z, y *Node) []*Node {
				l := Loss(scope, c, z, y)
				params = params[:0]
				var nodes []*Node
				for v := range store.IterVariables() {
					params = append(params, v)
					nodes = append(nodes, v.NodeValue(z.Graph()))
				}
				grads := Gradient(l.Total, append([]*Node{z}, nodes...)...)
				return append([]*Node{l.Total}, grads...)
			})
			if err != nil {
				t.Fatal(err)
			}
			out, err := exec.Exec(tensors.FromFlatDataAndDimensions(z32, batch, dim), tensors.FromFlatDataAndDimensions(labels, batch))
			if err != nil {
				t.Fatal(err)
			}
			got := tensors.ToScalar[float32](out[0])
			gz := tensors.MustCopyFlatData[float32](out[1])

			// The classifier weights, as the reference reads them.
			values := map[string][]float64{}
			for _, v := range params {
				tv, err := v.Value()
				if err != nil {
					t.Fatal(err)
				}
				values[v.Path()] = f64(tensors.MustCopyFlatData[float32](tv))
			}
			weights := func(vals map[string][]float64) (ws, bs [][]float64) {
				for _, m := range nesting {
					if shared {
						w := vals["/mrl/classifier/kernel"]
						ws = append(ws, w[:m*classes])
						bs = append(bs, vals["/mrl/classifier/bias"])
						continue
					}
					ws = append(ws, vals[fmt.Sprintf("/mrl/classifier%d/kernel", m)])
					bs = append(bs, vals[fmt.Sprintf("/mrl/classifier%d/bias", m)])
				}
				return ws, bs
			}
			ws, bs := weights(values)
			for i := range ws {
				if ws[i] == nil || bs[i] == nil {
					t.Fatalf("classifier %d not found among %v", nesting[i], keys(values))
				}
			}
			labelsInt := []int{0, 2, 1, 2}
			z := f64(z32)
			want := refLoss(z, labelsInt, dim, classes, nesting, ws, bs)
			if math.Abs(float64(got)-want) > 1e-4*math.Max(1, want) {
				t.Errorf("loss = %v; want %v", got, want)
			}

			// Gradient with respect to z against central differences.
			const eps = 1e-4
			for i := range z {
				zp := append([]float64(nil), z...)
				zm := append([]float64(nil), z...)
				zp[i] += eps
				zm[i] -= eps
				fd := (refLoss(zp, labelsInt, dim, classes, nesting, ws, bs) - refLoss(zm, labelsInt, dim, classes, nesting, ws, bs)) / (2 * eps)
				if math.Abs(float64(gz[i])-fd) > 1e-3 {
					t.Errorf("dL/dz[%d] = %v; finite difference %v", i, gz[i], fd)
				}
			}
			// Gradient with respect to every classifier parameter: with
			// MRL-E one parameter gets contributions from several prefixes.
			for pi, v := range params {
				g := tensors.MustCopyFlatData[float32](out[2+pi])
				base := values[v.Path()]
				for j := range base {
					perturb := func(d float64) float64 {
						vals := map[string][]float64{}
						for k, x := range values {
							vals[k] = x
						}
						p := append([]float64(nil), base...)
						p[j] += d
						vals[v.Path()] = p
						ws, bs := weights(vals)
						return refLoss(z, labelsInt, dim, classes, nesting, ws, bs)
					}
					fd := (perturb(eps) - perturb(-eps)) / (2 * eps)
					if math.Abs(float64(g[j])-fd) > 1e-3 {
						t.Errorf("dL/d%s[%d] = %v; finite difference %v", v.Path(), j, g[j], fd)
					}
				}
			}
		})
	}
}

func f64(x []float32) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = float64(v)
	}
	return out
}

func keys(m map[string][]float64) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
