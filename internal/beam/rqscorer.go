package beam

import (
	"fmt"

	"github.com/irgen/irgen/internal/rq"
)

// RQObjective selects what RQScorer adds up.
type RQObjective int

const (
	// SumResiduals scores token c at level t as -||r_t - C_t[c]||², where
	// r_t = q - Σ_{j<t} C_j[id_j] is the query's residual after the
	// prefix. Since r_t - C_t[c] = r_{t+1}, an ID's total is
	// -Σ_{m=1..M} ||q - x̂_m(id)||², with x̂_m the reconstruction from its
	// first m levels (rq's DecodePrefix): every partial reconstruction
	// counts. This is the literal "RQ prefix tree" baseline.
	SumResiduals RQObjective = iota
	// FinalResidual scores token c at level t as the gain
	// ||r_t||² - ||r_t - C_t[c]||². The sum telescopes to
	// ||q||² - ||q - x̂_M(id)||², so IDs rank by the distance from q to
	// their full reconstruction, and a search of width ≥ the number of
	// valid IDs returns the valid ID whose reconstruction is nearest to q.
	FinalResidual
)

// RQScorer is the "RQ prefix tree without decoder" baseline (IRGen
// Table 2): it scores next tokens by codeword distance to the query's
// residual instead of with a learned decoder. Scores are additive like
// log-probabilities but not normalized. It keeps each beam's residual as
// its state and gathers it in Reorder.
//
// An RQScorer serves one search at a time; SetQueries before each search.
type RQScorer struct {
	q       *rq.Quantizer
	obj     RQObjective
	queries []float32 // numQueries × Dim
	res     []float32 // per beam: residual r_t after its prefix
	spare   []float32 // Reorder target
	dist    []float32 // L
}

// NewRQScorer returns a scorer over q, which must be initialized (made by
// rq.Fit or ReadFrom).
func NewRQScorer(q *rq.Quantizer, obj RQObjective) (*RQScorer, error) {
	if q == nil || q.Dim < 1 || q.L < 1 || len(q.Codebooks) != q.M*q.L*q.Dim {
		return nil, fmt.Errorf("%w: quantizer not initialized", ErrShape)
	}
	if obj != SumResiduals && obj != FinalResidual {
		return nil, fmt.Errorf("%w: unknown RQ objective %d", ErrShape, obj)
	}
	return &RQScorer{q: q, obj: obj, dist: make([]float32, q.L)}, nil
}

// SetQueries sets the query features for the next search, row-major with
// stride Dim: query i (the Beams.Query value) is queries[i*Dim:(i+1)*Dim].
// The slice is used, not copied, until the search ends.
func (s *RQScorer) SetQueries(queries []float32) error {
	if len(queries)%s.q.Dim != 0 {
		return fmt.Errorf("%w: %d query values, want a multiple of Dim=%d", ErrShape, len(queries), s.q.Dim)
	}
	s.queries = queries
	return nil
}

// Next implements Scorer.
func (s *RQScorer) Next(beams Beams, logp []float32) error {
	dim, l, t := s.q.Dim, s.q.L, beams.T
	n := beams.Len()
	if t < 0 || t >= s.q.M || len(logp) != n*l || len(beams.Prefix) != n*t {
		return fmt.Errorf("%w: rq scorer step %d with %d beams, %d logp", ErrShape, t, n, len(logp))
	}
	if t == 0 {
		s.res = grow(s.res, n*dim)
		for b, qi := range beams.Query {
			if qi < 0 || int(qi)*dim >= len(s.queries) {
				return fmt.Errorf("%w: beam %d has query %d of %d", ErrShape, b, qi, len(s.queries)/dim)
			}
			copy(s.res[b*dim:(b+1)*dim], s.queries[int(qi)*dim:])
		}
	} else if len(s.res) != n*dim {
		return fmt.Errorf("%w: rq scorer has %d residuals, step %d has %d beams", ErrShape, len(s.res)/dim, t, n)
	}
	for b := range n {
		r := s.res[b*dim : (b+1)*dim]
		if t > 0 {
			// Move from the parent's r_{t-1} to this beam's r_t.
			w, err := s.q.Codeword(t-1, int(beams.Prefix[b*t+t-1]))
			if err != nil {
				return fmt.Errorf("beam: rq scorer: %w", err)
			}
			w = w[:len(r)]
			for i := range r {
				r[i] -= w[i]
			}
		}
		if err := s.q.Distances(t, r, s.dist); err != nil {
			return fmt.Errorf("beam: rq scorer: %w", err)
		}
		var base float32
		if s.obj == FinalResidual {
			for _, v := range r {
				base += v * v
			}
		}
		row := logp[b*l : (b+1)*l]
		for c, d := range s.dist {
			row[c] = base - d
		}
	}
	return nil
}

// Reorder implements Scorer: beam j takes its parent's residual.
func (s *RQScorer) Reorder(parents []int) error {
	dim := s.q.Dim
	s.spare = grow(s.spare, len(parents)*dim)
	for j, p := range parents {
		if p < 0 || (p+1)*dim > len(s.res) {
			return fmt.Errorf("%w: parent %d of %d beams", ErrShape, p, len(s.res)/dim)
		}
		copy(s.spare[j*dim:(j+1)*dim], s.res[p*dim:(p+1)*dim])
	}
	s.res, s.spare = s.spare, s.res
	return nil
}

// grow returns x resized to n, reusing its memory when it is large enough.
func grow(x []float32, n int) []float32 {
	if cap(x) < n {
		return make([]float32, n)
	}
	return x[:n]
}
