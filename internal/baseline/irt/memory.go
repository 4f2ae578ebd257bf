package irt

import "fmt"

// Memory is the cross-batch memory (XBM) of the seed's code: the last K
// embeddings and labels of training batches, against which each batch's
// embeddings also form contrastive pairs. It behaves as the seed's queue:
// a batch of q rows is written at the write position, or into the last q
// slots (and the position reset to 0) when it does not fit before the end.
// Empty slots have label -1.
type Memory struct {
	K, Dim int
	Feats  []float32 // K × Dim
	Labels []int32   // K
	ptr    int
}

// NewMemory returns an empty memory of k embeddings of dim values.
func NewMemory(k, dim int) (*Memory, error) {
	if k < 1 || dim < 1 {
		return nil, fmt.Errorf("irt: memory of %d embeddings of %d values", k, dim)
	}
	m := &Memory{K: k, Dim: dim, Feats: make([]float32, k*dim), Labels: make([]int32, k)}
	for i := range m.Labels {
		m.Labels[i] = -1
	}
	return m, nil
}

// next returns the first slot the next Enqueue of q rows writes.
func (m *Memory) next(q int) int {
	if m.ptr+q > m.K {
		return m.K - q
	}
	return m.ptr
}

// LabelsBefore writes into dst (len K) the labels as the loss must see
// them for a batch of q rows: the slots the batch will overwrite marked
// empty (-1), since the batch itself stands for them (it is enqueued
// before the seed computes the loss).
func (m *Memory) LabelsBefore(q int, dst []int32) {
	copy(dst, m.Labels)
	lo := m.next(q)
	for i := lo; i < lo+q; i++ {
		dst[i] = -1
	}
}

// Enqueue writes a batch of len(labels) embeddings (len(labels) × Dim).
func (m *Memory) Enqueue(feats []float32, labels []int32) error {
	q := len(labels)
	if q > m.K || len(feats) != q*m.Dim {
		return fmt.Errorf("irt: enqueue %d labels and %d values into a memory of %d × %d", q, len(feats), m.K, m.Dim)
	}
	lo := m.next(q)
	copy(m.Feats[lo*m.Dim:], feats)
	copy(m.Labels[lo:], labels)
	if m.ptr+q > m.K {
		m.ptr = 0
	} else {
		m.ptr += q
	}
	return nil
}
