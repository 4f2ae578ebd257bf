package backend

import "github.com/gomlx/compute"

// Transpose folding, for the pure-Go backend: it executes every Transpose
// as an element-by-element copy (about 3–5 ns per element here), and
// GoMLX's gradient of DotGeneral ends in a Transpose of each operand's
// gradient, the identity permutation included. A train step of the ViT
// encoder spends a sixth of its time in them. Two rewrites remove most:
//
//   - an identity permutation becomes Identity, which hands its operand's
//     buffer on when it is the last user (a copy otherwise);
//   - a Transpose of a DotGeneral's result [batch…, lhs cross…, rhs
//     cross…] into [batch…, rhs cross…, lhs cross…] becomes the DotGeneral
//     with its operands swapped, which the matmul kernel writes in that
//     layout directly. The original DotGeneral is then unused, and the
//     backend's dead-code elimination drops it (a DotGeneral whose result
//     is also used elsewhere would run twice).

// dotArgs records a DotGeneral built through the wrapper.
type dotArgs struct {
	lhs, rhs                  compute.Value
	lhsContract, lhsBatch     []int
	rhsContract, rhsBatch     []int
	config                    compute.DotGeneralConfig
	batch, lhsCross, rhsCross int
}

func (wf *wrapFunction) DotGeneral(lhs compute.Value, lhsContractingAxes, lhsBatchAxes []int, rhs compute.Value, rhsContractingAxes, rhsBatchAxes []int, config compute.DotGeneralConfig) (compute.Value, error) {
	v, err := wf.Function.DotGeneral(lhs, lhsContractingAxes, lhsBatchAxes, rhs, rhsContractingAxes, rhsBatchAxes, config)
	if err != nil || !wf.b.backend.fold {
		return v, err
	}
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
	if !wf.b.backend.fold {
		return wf.Function.Transpose(x, permutation...)
	}
	if isIdentity(permutation) {
		if s, err := wf.Shape(x); err == nil && s.Rank() == len(permutation) {
			wf.b.backend.folds.Add(1)
			return wf.Function.Identity(x)
		}
	}
	if d, ok := wf.b.dots[x]; ok && swapsCross(permutation, d.batch, d.lhsCross, d.rhsCross) {
		wf.b.backend.folds.Add(1)
		return wf.DotGeneral(d.rhs, d.rhsContract, d.rhsBatch, d.lhs, d.lhsContract, d.lhsBatch, d.config)
	}
	return wf.Function.Transpose(x, permutation...)
}

func isIdentity(perm []int) bool {
	for i, p := range perm {
		if p != i {
			return false
		}
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
