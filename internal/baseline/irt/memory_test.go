package irt

import (
	"slices"
	"testing"
)

// TestMemoryQueue follows the seed's XBM queue by hand: K = 5, batches of
// 2 rows with labels 10, 11, ...
func TestMemoryQueue(t *testing.T) {
	m, err := NewMemory(5, 1)
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		before []int32 // LabelsBefore(2)
		after  []int32 // Labels after the enqueue
	}{
		{[]int32{-1, -1, -1, -1, -1}, []int32{10, 11, -1, -1, -1}},
		{[]int32{10, 11, -1, -1, -1}, []int32{10, 11, 12, 13, -1}},
		// 4 + 2 > 5: the batch goes into the last two slots, the write
		// position returns to 0.
		{[]int32{10, 11, 12, -1, -1}, []int32{10, 11, 12, 14, 15}},
		{[]int32{-1, -1, 12, 14, 15}, []int32{16, 17, 12, 14, 15}},
	}
	buf := make([]int32, 5)
	for i, s := range steps {
		m.LabelsBefore(2, buf)
		if !slices.Equal(buf, s.before) {
			t.Errorf("step %d: labels before %v; want %v", i, buf, s.before)
		}
		l := []int32{int32(10 + 2*i), int32(11 + 2*i)}
		if err := m.Enqueue([]float32{float32(l[0]), float32(l[1])}, l); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(m.Labels, s.after) {
			t.Errorf("step %d: labels %v; want %v", i, m.Labels, s.after)
		}
		for k, lab := range m.Labels {
			if lab >= 0 && m.Feats[k] != float32(lab) {
				t.Errorf("step %d: slot %d holds %g for label %d", i, k, m.Feats[k], lab)
			}
		}
	}
	if err := m.Enqueue(make([]float32, 6), make([]int32, 6)); err == nil {
		t.Error("batch larger than the memory: no error")
	}
	if _, err := NewMemory(0, 3); err == nil {
		t.Error("empty memory: no error")
	}
}
