package backend

import (
	"slices"

	"github.com/gomlx/compute"
)

// ONNX Runtime's backend (github.com/gomlx/compute-onnx) builds a
// DotGeneral as an ONNX MatMul only when lhs contracts its last axis and
// rhs its second-to-last, batch axes alike; every other layout becomes an
// Einsum, which ONNX Runtime ran 2–2.4× slower than a Transpose and a
// MatMul of the same product (a weight gradient xᵀ·g of [6272, 1152] and
// [6272, 64]: 13 ms as Einsum, 5.5 ms transposed; 2026-12-06). GoMLX's
// gradients of matrix products are all such layouts (xᵀ·g, g·Wᵀ), and so
// is attention's q·kᵀ. asMatMul lays the operands out for MatMul instead.

// asMatMul builds the DotGeneral as [batch…, M, K]·[batch…, K, N]: lhs
// transposed to [batch…, cross…, contracting…], rhs to [batch…,
// contracting…, cross…] (each a Reshape where its order holds), the cross
// and contracting axes flattened, and the product reshaped back to
// DotGeneral's [batch…, lhs cross…, rhs cross…]. ok is false where the
// backend already builds a MatMul or a shape is not known.
func (wf *wrapFunction) asMatMul(lhs compute.Value, lc, lb []int, rhs compute.Value, rc, rb []int, config compute.DotGeneralConfig) (v compute.Value, ok bool, err error) {
	ls, lerr := wf.Shape(lhs)
	rs, rerr := wf.Shape(rhs)
	if lerr != nil || rerr != nil || ls.IsDynamic() || rs.IsDynamic() || len(lc) == 0 {
		return nil, false, nil
	}
	if slices.Equal(lb, rb) && len(lc) == 1 && lc[0] == ls.Rank()-1 && rc[0] == rs.Rank()-2 {
		return nil, false, nil // compute-onnx's MatMul already
	}
	nb := len(lb)
	lcross, rcross := crossAxes(ls.Rank(), lc, lb), crossAxes(rs.Rank(), rc, rb)
	batch := pick(ls.Dimensions, lb)
	m, k, n := prod(pick(ls.Dimensions, lcross)), prod(pick(ls.Dimensions, lc)), prod(pick(rs.Dimensions, rcross))
	l, err := wf.laidOut(lhs, ls.Dimensions, slices.Concat(lb, lcross, lc), append(slices.Clone(batch), m, k))
	if err != nil {
		return nil, true, err
	}
	r, err := wf.laidOut(rhs, rs.Dimensions, slices.Concat(rb, rc, rcross), append(slices.Clone(batch), k, n))
	if err != nil {
		return nil, true, err
	}
	y, err := wf.Function.DotGeneral(l, []int{nb + 1}, axisRange(0, nb), r, []int{nb}, axisRange(0, nb), config)
	if err != nil {
		return nil, true, err
	}
	wf.b.backend.rewrites.Add(1)
	v, err = wf.Function.Reshape(y, slices.Concat(batch, pick(ls.Dimensions, lcross), pick(rs.Dimensions, rcross))...)
	return v, true, err
}

// laidOut transposes x (dims) by perm, a Reshape where perm keeps the
// order of the axes longer than 1, and reshapes it to out.
func (wf *wrapFunction) laidOut(x compute.Value, dims, perm, out []int) (compute.Value, error) {
	if !keepsOrder(perm, dims) {
		var err error
		if x, err = wf.Function.Transpose(x, perm...); err != nil {
			return nil, err
		}
	}
	return wf.Function.Reshape(x, out...)
}

// crossAxes returns the axes of a rank-rank operand that are neither
// contracting nor batch, in order.
func crossAxes(rank int, contract, batch []int) []int {
	var cross []int
	for a := range rank {
		if !slices.Contains(contract, a) && !slices.Contains(batch, a) {
			cross = append(cross, a)
		}
	}
	return cross
}

// pick returns dims[axes[0]], dims[axes[1]], ….
func pick(dims, axes []int) []int {
	out := make([]int, len(axes))
	for i, a := range axes {
		out[i] = dims[a]
	}
	return out
}

// prod returns the product of dims (1 for none).
func prod(dims []int) int {
	p := 1
	for _, d := range dims {
		p *= d
	}
	return p
}
