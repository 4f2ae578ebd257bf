package backend

import (
	"slices"

	"github.com/gomlx/compute"
)

// The pure-Go backend's matrix product takes lhs as [batch…, cross…,
// contracting…] and rhs as [batch…, contracting…, cross…] or [batch…,
// cross…, contracting…]. For any other layout it transposes both operands
// element by element (github.com/gomlx/compute v0.1.2 dot.TransposeToLayout),
// even when only lhs is out of place. That is what every weight gradient
// of a dense layer is, xᵀ·g with x [N, in] and g [N, out] both contracting
// their leading axis: the backend transposed the activations and their
// gradients, 16–18% of a ViT train step. canonicalLHS transposes lhs alone
// when rhs is already in place, so the backend only multiplies.

// canonicalLHS returns lhs transposed to [batch…, cross…, contracting…]
// (with its new contracting and batch axes) when rhs already has one of the
// backend's layouts and lhs does not; otherwise ok is false.
func (wf *wrapFunction) canonicalLHS(lhs compute.Value, lhsContract, lhsBatch []int, rhs compute.Value, rhsContract, rhsBatch []int) (v compute.Value, contract, batch []int, ok bool) {
	ls, lerr := wf.Shape(lhs)
	rs, rerr := wf.Shape(rhs)
	if lerr != nil || rerr != nil || ls.IsDynamic() || rs.IsDynamic() {
		return nil, nil, nil, false
	}
	nb, nc, rank := len(lhsBatch), len(lhsContract), ls.Rank()
	if nc == 0 || !isRange(lhsBatch, 0) || isRange(lhsContract, rank-nc) {
		return nil, nil, nil, false // batch axes out of place, or lhs already canonical
	}
	if !isRange(rhsBatch, 0) || (!isRange(rhsContract, nb) && !isRange(rhsContract, rs.Rank()-nc)) {
		return nil, nil, nil, false // the backend transposes rhs anyway
	}
	perm := slices.Clone(lhsBatch)
	for a := range rank {
		if !slices.Contains(lhsBatch, a) && !slices.Contains(lhsContract, a) {
			perm = append(perm, a)
		}
	}
	perm = append(perm, lhsContract...)
	t, err := wf.relayout(lhs, ls.Dimensions, perm)
	if err != nil {
		return nil, nil, nil, false
	}
	return t, axisRange(rank-nc, nc), axisRange(0, nb), true
}

// relayout transposes x (dims) by perm, a permutation that is not the
// identity, as Transpose does but never through a DotGeneral with swapped
// operands: that would multiply again what is here only moved.
func (wf *wrapFunction) relayout(x compute.Value, dims, perm []int) (compute.Value, error) {
	wf.b.backend.rewrites.Add(1)
	if keepsOrder(perm, dims) {
		out := make([]int, len(perm))
		for i, p := range perm {
			out[i] = dims[p]
		}
		return wf.Function.Reshape(x, out...)
	}
	if a, p, ok := movedAxis(perm, dims); ok {
		return wf.moveAxis(x, dims, perm, a, p)
	}
	return wf.Function.Transpose(x, perm...)
}

// isRange reports whether axes are start, start+1, … in that order.
func isRange(axes []int, start int) bool {
	for i, a := range axes {
		if a != start+i {
			return false
		}
	}
	return true
}

// axisRange returns start, start+1, …, start+n-1.
func axisRange(start, n int) []int {
	r := make([]int, n)
	for i := range r {
		r[i] = start + i
	}
	return r
}
