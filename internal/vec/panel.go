package vec

// PanelWidth is the number of queries a panel holds: two 8-lane vectors.
const PanelWidth = 16

// PanelLen returns the number of values in a panel of dim-wide queries.
func PanelLen(dim int) int { return dim * PanelWidth }

// PackPanel packs the queries of the row-major matrix qs (dim wide, at
// most PanelWidth rows) into panel for ScorePanel, value i of every query
// side by side: panel[i*PanelWidth+j] = q_j[i]. The slots of missing
// queries are zero. It panics unless len(qs) is a multiple of dim of at
// most PanelWidth rows and len(panel) >= PanelLen(dim).
func PackPanel(qs []float32, dim int, panel []float32) {
	if dim <= 0 || len(qs)%dim != 0 || len(qs) > PanelLen(dim) {
		panic("vec: panel dimension mismatch")
	}
	if len(panel) < PanelLen(dim) {
		panic("vec: panel too short")
	}
	panel = panel[:PanelLen(dim)]
	clear(panel)
	for j := range len(qs) / dim {
		q := qs[j*dim : (j+1)*dim]
		for i, v := range q {
			panel[i*PanelWidth+j] = v
		}
	}
}

// ScorePanel scores every row of data (row-major, dim wide) against the
// PanelWidth queries packed in panel (PackPanel): the score of row r and
// query j is
//
//	s = Σ_i q_j[i]·row_r[i]   (summed in order of i)
//	s *= scale[r]             (unless scale is nil)
//
// and flags the scores that may enter a top-k list with threshold thr:
// bit j of flags[r] is set when !(s <= thr[j]), that is when s > thr[j] or
// either is NaN, so a NaN threshold flags every score. out[r*PanelWidth+j]
// holds s for every row r whose flags are not zero; the scores of other
// rows may be left unwritten. It reports whether any flag is set.
//
// Every row is loaded once for all the panel's queries, as a matrix
// product's kernel does: the scan of a gallery against many queries runs
// at the machine's multiply-add rate. Each score is summed in the same
// order whatever the row's position, so a row scores the same in any
// block.
//
// It panics unless len(data) is a multiple of dim, len(panel) >=
// PanelLen(dim), and scale (when not nil) and flags have a value per row
// and out PanelWidth per row.
func ScorePanel(data []float32, dim int, panel, scale []float32, thr *[PanelWidth]float32, out []float32, flags []uint16) bool {
	if dim <= 0 || len(data)%dim != 0 || len(panel) < PanelLen(dim) {
		panic("vec: panel dimension mismatch")
	}
	rows := len(data) / dim
	if (scale != nil && len(scale) < rows) || len(out) < rows*PanelWidth || len(flags) < rows {
		panic("vec: panel output too short")
	}
	if rows == 0 {
		return false
	}
	return scorePanel(data[:rows*dim], dim, panel[:PanelLen(dim)], scale, thr, out[:rows*PanelWidth], flags[:rows])
}

// scorePanelGeneric is ScorePanel's portable loop (after its checks); it
// writes every row's scores.
func scorePanelGeneric(data []float32, dim int, panel, scale []float32, thr *[PanelWidth]float32, out []float32, flags []uint16) bool {
	found := false
	for r := range len(data) / dim {
		row := data[r*dim : (r+1)*dim : (r+1)*dim]
		var acc [PanelWidth]float32
		for i, x := range row {
			p := panel[i*PanelWidth : (i+1)*PanelWidth : (i+1)*PanelWidth]
			for j := range acc {
				acc[j] += p[j] * x
			}
		}
		o := out[r*PanelWidth : (r+1)*PanelWidth : (r+1)*PanelWidth]
		var f uint16
		for j, s := range acc {
			if scale != nil {
				s *= scale[r]
			}
			o[j] = s
			if !(s <= thr[j]) {
				f |= 1 << j
			}
		}
		flags[r] = f
		found = found || f != 0
	}
	return found
}
