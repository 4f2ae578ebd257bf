package backend

import (
	"slices"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
)

// Rewrites for the pure-Go backend. In github.com/gomlx/compute v0.1.2 it
// executes Transpose and ReduceSum element by element through a generic
// index iterator, at 3–5 ns per element on the machines measured (a matmul
// reading the same data runs 10× faster), and GoMLX's gradients emit many
// of both: every DotGeneral's gradient ends in a Transpose of each
// operand's gradient, the identity permutation included; every broadcast
// in the forward pass becomes a ReduceSum in the backward one. The ViT encoder's train step spent a third of its time in them. The wrapper builds instead:
//
//   - Transpose with the identity permutation, or one that moves only axes
//     of size 1: Identity or Reshape (which hand on their operand's buffer
//     when it has no other user, and copy it flat otherwise);
//   - Transpose of a DotGeneral's result [batch…, lhs cross…, rhs cross…]
//     into [batch…, rhs cross…, lhs cross…]: the DotGeneral with its
//     operands swapped, which the matmul kernel writes in that layout. The
//     original DotGeneral is then unused and dropped by the backend's
//     dead-code elimination (one whose result is also used elsewhere would
//     run twice);
//   - any other Transpose that moves one axis of at most 64 elements and
//     keeps the last axis last (the attention heads' [B, T, H, d] ↔
//     [B, H, T, d]): one Slice per element of that axis, reshaped, and a
//     Concatenate, which copy whole rows, 2–3× faster;
//   - ReduceSum of a float tensor over its leading or its trailing axes (or
//     all of them): a DotGeneral with a vector of ones, [1, P]·[P, Q] or
//     [P, Q]·[Q, 1], which the matmul kernels run 4–7× faster;
//   - DotGeneral whose lhs contracts other than its trailing axes while rhs
//     is already laid out for the kernel (weight gradients, xᵀ·g): lhs
//     transposed alone, where the backend transposed both (dotlayout.go).

// dotArgs records a DotGeneral built through the wrapper.
type dotArgs struct {
	lhs, rhs                  compute.Value
	lhsContract, lhsBatch     []int
	rhsContract, rhsBatch     []int
	config                    compute.DotGeneralConfig
	batch, lhsCross, rhsCross int
}

func (wf *wrapFunction) DotGeneral(lhs compute.Value, lhsContractingAxes, lhsBatchAxes []int, rhs compute.Value, rhsContractingAxes, rhsBatchAxes []int, config compute.DotGeneralConfig) (compute.Value, error) {
	if wf.b.backend.matmul {
		if v, ok, err := wf.asMatMul(lhs, lhsContractingAxes, lhsBatchAxes, rhs, rhsContractingAxes, rhsBatchAxes, config); ok {
			return v, err
		}
	}
	if !wf.b.backend.rewrite {
		return wf.Function.DotGeneral(lhs, lhsContractingAxes, lhsBatchAxes, rhs, rhsContractingAxes, rhsBatchAxes, config)
	}
	l, lc, lb := lhs, lhsContractingAxes, lhsBatchAxes
	if t, c, b, ok := wf.canonicalLHS(lhs, lhsContractingAxes, lhsBatchAxes, rhs, rhsContractingAxes, rhsBatchAxes); ok {
		l, lc, lb = t, c, b
	}
	v, err := wf.Function.DotGeneral(l, lc, lb, rhs, rhsContractingAxes, rhsBatchAxes, config)
	if err != nil {
		return v, err
	}
	// Recorded with the operands as given: swapped (see Transpose), the
	// product then transposes only its new lhs, if that, and lhs's
	// transposition here goes unused.
	ls, lerr := wf.Shape(lhs)
	rs, rerr := wf.Shape(rhs)
	if lerr != nil || rerr != nil {
		return v, nil // not foldable; the DotGeneral itself is fine
	}
	wf.b.dots[v] = dotArgs{
		lhs: lhs, rhs: rhs,
		lhsContract: lhsContractingAxes, lhsBatch: lhsBatchAxes,
		rhsContract: rhsContractingAxes, rhsBatch: rhsBatchAxes,
		config:   config,
		batch:    len(lhsBatchAxes),
		lhsCross: ls.Rank() - len(lhsContractingAxes) - len(lhsBatchAxes),
		rhsCross: rs.Rank() - len(rhsContractingAxes) - len(rhsBatchAxes),
	}
	return v, nil
}

func (wf *wrapFunction) Transpose(x compute.Value, permutation ...int) (compute.Value, error) {
	if !wf.b.backend.rewrite {
		return wf.Function.Transpose(x, permutation...)
	}
	s, err := wf.Shape(x)
	if err != nil || s.Rank() != len(permutation) || s.IsDynamic() {
		return wf.Function.Transpose(x, permutation...)
	}
	if isIdentity(permutation) {
		wf.b.backend.rewrites.Add(1)
		return wf.Function.Identity(x)
	}
	if keepsOrder(permutation, s.Dimensions) {
		dims := make([]int, len(permutation))
		for i, p := range permutation {
			dims[i] = s.Dimensions[p]
		}
		wf.b.backend.rewrites.Add(1)
		return wf.Function.Reshape(x, dims...)
	}
	if d, ok := wf.b.dots[x]; ok && swapsCross(permutation, d.batch, d.lhsCross, d.rhsCross) {
		wf.b.backend.rewrites.Add(1)
		return wf.DotGeneral(d.rhs, d.rhsContract, d.rhsBatch, d.lhs, d.lhsContract, d.lhsBatch, d.config)
	}
	if a, p, ok := movedAxis(permutation, s.Dimensions); ok {
		wf.b.backend.rewrites.Add(1)
		return wf.moveAxis(x, s.Dimensions, permutation, a, p)
	}
	return wf.Function.Transpose(x, permutation...)
}

// maxMoveSlices bounds the pieces moveAxis cuts x into.
const maxMoveSlices = 64

// movedAxis reports whether perm only moves one axis a of x (dims) to
// position p, keeping the last axis last (so that what moves are whole
// contiguous rows), with at most maxMoveSlices elements along a. Of two
// readings (an adjacent swap is both axes moving) it takes the smaller a.
func movedAxis(perm, dims []int) (a, p int, ok bool) {
	rank := len(perm)
	if rank < 2 || perm[rank-1] != rank-1 {
		return 0, 0, false
	}
	best := -1
	for cand := range rank - 1 {
		rest := make([]int, 0, rank-1)
		for i := range rank {
			if i != cand {
				rest = append(rest, i)
			}
		}
		for pos := range rank {
			if pos == cand {
				continue
			}
			if slices.Equal(slices.Insert(slices.Clone(rest), pos, cand), perm) {
				if dims[cand] <= maxMoveSlices && (best < 0 || dims[cand] < dims[best]) {
					best, p = cand, pos
				}
			}
		}
	}
	return best, p, best >= 0
}

// moveAxis transposes x (dims) by perm, which moves axis a to position p:
// it slices x along a, reshapes each slice to the output's layout with 1 at
// p, and concatenates them along p. Slice and Concatenate copy whole rows,
// 2–3× faster than the backend's Transpose.
func (wf *wrapFunction) moveAxis(x compute.Value, dims, perm []int, a, p int) (compute.Value, error) {
	out := make([]int, len(perm))
	for i, q := range perm {
		out[i] = dims[q]
	}
	out[p] = 1
	starts := make([]int, len(dims))
	limits := slices.Clone(dims)
	strides := make([]int, len(dims))
	for i := range strides {
		strides[i] = 1
	}
	pieces := make([]compute.Value, dims[a])
	for i := range pieces {
		starts[a], limits[a] = i, i+1
		piece, err := wf.Function.Slice(x, starts, limits, strides)
		if err != nil {
			return nil, err
		}
		if pieces[i], err = wf.Function.Reshape(piece, out...); err != nil {
			return nil, err
		}
	}
	if len(pieces) == 1 {
		return pieces[0], nil
	}
	return wf.Function.Concatenate(p, pieces...)
}

func (wf *wrapFunction) ReduceSum(x compute.Value, axes ...int) (compute.Value, error) {
	if !wf.b.backend.rewrite {
		return wf.Function.ReduceSum(x, axes...)
	}
	s, err := wf.Shape(x)
	if err != nil || s.IsDynamic() || (s.DType != dtypes.Float32 && s.DType != dtypes.Float64) {
		return wf.Function.ReduceSum(x, axes...)
	}
	rank := s.Rank()
	if len(axes) == 0 { // the whole array
		axes = make([]int, rank)
		for i := range axes {
			axes[i] = i
		}
	}
	k := len(axes)
	if k == 0 { // a scalar
		return wf.Function.ReduceSum(x)
	}
	sorted := slices.Sorted(slices.Values(axes))
	leading, trailing := true, true
	for i, a := range sorted {
		leading = leading && a == i
		trailing = trailing && a == rank-k+i
	}
	if !leading && !trailing {
		return wf.Function.ReduceSum(x, axes...) // also repeated or bad axes: the backend says why
	}
	split := k
	if !leading {
		split = rank - k
	}
	p, q := 1, 1
	for i, d := range s.Dimensions {
		if i < split {
			p *= d
		} else {
			q *= d
		}
	}
	x2, err := wf.Function.Reshape(x, p, q)
	if err != nil {
		return nil, err
	}
	// Leading: [1, P]·[P, Q] → [1, Q]. Trailing: [P, Q]·[1, Q]ᵀ → [P, 1].
	n, kept := q, s.Dimensions[:rank-k]
	if leading {
		n, kept = p, s.Dimensions[k:]
	}
	ones, err := wf.ones(s.DType, n)
	if err != nil {
		return nil, err
	}
	lhs, lhsContract, rhs, rhsContract := x2, 1, ones, 1
	if leading {
		lhs, lhsContract, rhs, rhsContract = ones, 1, x2, 0
	}
	y, err := wf.Function.DotGeneral(lhs, []int{lhsContract}, nil, rhs, []int{rhsContract}, nil, compute.DotGeneralConfig{})
	if err != nil {
		return nil, err
	}
	wf.b.backend.rewrites.Add(1)
	return wf.Function.Reshape(y, kept...)
}

// ones returns a constant [1, n] of ones, one per function, dtype and n.
func (wf *wrapFunction) ones(dtype dtypes.DType, n int) (compute.Value, error) {
	key := onesKey{dtype, n}
	if v, ok := wf.onesCache[key]; ok {
		return v, nil
	}
	var flat any
	switch dtype {
	case dtypes.Float32:
		f := make([]float32, n)
		for i := range f {
			f[i] = 1
		}
		flat = f
	default:
		f := make([]float64, n)
		for i := range f {
			f[i] = 1
		}
		flat = f
	}
	v, err := wf.Function.Constant(flat, 1, n)
	if err != nil {
		return nil, err
	}
	if wf.onesCache == nil {
		wf.onesCache = map[onesKey]compute.Value{}
	}
	wf.onesCache[key] = v
	return v, nil
}

type onesKey struct {
	dtype dtypes.DType
	n     int
}

func isIdentity(perm []int) bool {
	for i, p := range perm {
		if p != i {
			return false
		}
	}
	return true
}

// keepsOrder reports whether perm keeps the relative order of the axes of
// dims longer than 1, so that transposing is a reshape.
func keepsOrder(perm, dims []int) bool {
	last := -1
	for _, p := range perm {
		if dims[p] == 1 {
			continue
		}
		if p < last {
			return false
		}
		last = p
	}
	return true
}

// swapsCross reports whether perm maps a DotGeneral's output layout
// [batch, lhs cross, rhs cross] to [batch, rhs cross, lhs cross] (both
// cross blocks kept in order) and is not the identity.
func swapsCross(perm []int, batch, lhsCross, rhsCross int) bool {
	if len(perm) != batch+lhsCross+rhsCross || lhsCross == 0 || rhsCross == 0 {
		return false
	}
	i := 0
	for b := range batch {
		if perm[i] != b {
			return false
		}
		i++
	}
	for r := range rhsCross {
		if perm[i] != batch+lhsCross+r {
			return false
		}
		i++
	}
	for l := range lhsCross {
		if perm[i] != batch+l {
			return false
		}
		i++
	}
	return true
}
