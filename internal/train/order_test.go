package train

import (
	"slices"
	"testing"
)

func TestOrder(t *testing.T) {
	a, b := Order(7, 3, 50), Order(7, 3, 50)
	if !slices.Equal(a, b) {
		t.Fatal("same seed and epoch gave different orders: a resumed run would see other batches")
	}
	if slices.Equal(a, Order(7, 4, 50)) {
		t.Error("two epochs visit the items in the same order")
	}
	s := slices.Clone(a)
	slices.Sort(s)
	for i, v := range s {
		if v != i {
			t.Fatalf("order %v is not a permutation of 0..49", a)
		}
	}
}
