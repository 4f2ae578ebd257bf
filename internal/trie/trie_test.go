package trie

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/irgen/irgen/internal/semid"
)

func mustNew(t testing.TB, m, l int) *Trie {
	t.Helper()
	tr, err := New(m, l)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func mustInsert(t testing.TB, tr *Trie, id semid.ID, item int) {
	t.Helper()
	if err := tr.Insert(id, item); err != nil {
		t.Fatalf("Insert(%v, %d): %v", id, item, err)
	}
}

func TestSmall(t *testing.T) {
	tr := mustNew(t, 3, 5)
	mustInsert(t, tr, semid.ID{1, 2, 3}, 10)
	mustInsert(t, tr, semid.ID{1, 2, 4}, 11)
	mustInsert(t, tr, semid.ID{1, 0, 4}, 12)
	mustInsert(t, tr, semid.ID{3, 3, 3}, 13)
	mustInsert(t, tr, semid.ID{1, 2, 3}, 5) // shares an ID; stays after 10

	if got, want := tr.Len(), 4; got != want {
		t.Errorf("Len() = %d; want %d", got, want)
	}
	if got, want := tr.NumItems(), 5; got != want {
		t.Errorf("NumItems() = %d; want %d", got, want)
	}
	allowed := []struct {
		prefix semid.ID
		want   []int32
	}{
		{nil, []int32{1, 3}},
		{semid.ID{1}, []int32{0, 2}},
		{semid.ID{1, 2}, []int32{3, 4}},
		{semid.ID{1, 0}, []int32{4}},
		{semid.ID{3, 3}, []int32{3}},
		{semid.ID{2}, []int32{}},
		{semid.ID{1, 1}, []int32{}},
		{semid.ID{1, 2, 3}, []int32{}}, // complete: no continuation
		{semid.ID{-1}, []int32{}},
		{semid.ID{99, 2}, []int32{}},
	}
	mask := make([]bool, 5)
	for _, tt := range allowed {
		got := tr.Allowed(tt.prefix, make([]int32, 0, 5))
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("Allowed(%v) (-want +got):\n%s", tt.prefix, diff)
		}
		n := tr.AllowedMask(tt.prefix, mask)
		var fromMask []int32
		for tok, ok := range mask {
			if ok {
				fromMask = append(fromMask, int32(tok))
			}
		}
		if n != len(tt.want) || !slices.Equal(fromMask, tt.want) {
			t.Errorf("AllowedMask(%v) = %d, %v; want %d, %v", tt.prefix, n, fromMask, len(tt.want), tt.want)
		}
	}
	items := []struct {
		id   semid.ID
		want []int
	}{
		{semid.ID{1, 2, 3}, []int{10, 5}},
		{semid.ID{3, 3, 3}, []int{13}},
		{semid.ID{3, 3, 4}, nil},
		{semid.ID{1, 2}, nil},
		{semid.ID{1, 2, 3, 0}, nil},
	}
	for _, tt := range items {
		if diff := cmp.Diff(tt.want, tr.Items(tt.id)); diff != "" {
			t.Errorf("Items(%v) (-want +got):\n%s", tt.id, diff)
		}
		if got, want := tr.Contains(tt.id), tt.want != nil; got != want {
			t.Errorf("Contains(%v) = %v; want %v", tt.id, got, want)
		}
	}
	if id, ok := tr.ID(12); !ok || !id.Equal(semid.ID{1, 0, 4}) {
		t.Errorf("ID(12) = %v, %v; want 1-0-4, true", id, ok)
	}

	// Deleting the only item of 1-0-4 prunes the branch 1-0.
	if !tr.Delete(12) {
		t.Fatal("Delete(12) = false")
	}
	if got := tr.Allowed(semid.ID{1}, nil); !slices.Equal(got, []int32{2}) {
		t.Errorf("after Delete(12): Allowed(1) = %v; want [2]", got)
	}
	// Deleting one of two items keeps the ID.
	if !tr.Delete(10) || !tr.Contains(semid.ID{1, 2, 3}) {
		t.Errorf("after Delete(10): Contains(1-2-3) = false; want true")
	}
	if diff := cmp.Diff([]int{5}, tr.Items(semid.ID{1, 2, 3})); diff != "" {
		t.Errorf("Items(1-2-3) after Delete(10) (-want +got):\n%s", diff)
	}
	if tr.Delete(10) || tr.Delete(-1) || tr.Delete(1<<40) || tr.Delete(7) {
		t.Errorf("Delete of an absent item returned true")
	}
	for _, it := range []int{5, 11, 13} {
		tr.Delete(it)
	}
	if tr.Len() != 0 || tr.NumItems() != 0 || len(tr.Allowed(nil, nil)) != 0 {
		t.Errorf("after deleting everything: Len %d, NumItems %d, Allowed(root) %v", tr.Len(), tr.NumItems(), tr.Allowed(nil, nil))
	}
	// Reuse after emptying.
	mustInsert(t, tr, semid.ID{4, 4, 4}, 10)
	if got := tr.Allowed(semid.ID{4}, nil); !slices.Equal(got, []int32{4}) {
		t.Errorf("after reinsert: Allowed(4) = %v; want [4]", got)
	}
}

func TestErrors(t *testing.T) {
	for _, s := range []struct{ m, l int }{{0, 4}, {4, 0}, {MaxM + 1, 4}, {4, MaxL + 1}} {
		if _, err := New(s.m, s.l); !errors.Is(err, ErrShape) {
			t.Errorf("New(%d, %d) error = %v; want ErrShape", s.m, s.l, err)
		}
	}
	tr := mustNew(t, 2, 4)
	mustInsert(t, tr, semid.ID{1, 1}, 0)
	tests := []struct {
		id   semid.ID
		item int
		want error
	}{
		{semid.ID{1}, 1, ErrShape},
		{semid.ID{1, 1, 1}, 1, ErrShape},
		{semid.ID{1, 4}, 1, ErrShape},
		{semid.ID{-1, 0}, 1, ErrShape},
		{semid.ID{0, 0}, -1, ErrItem},
		{semid.ID{0, 0}, MaxItem + 1, ErrItem},
		{semid.ID{0, 0}, 0, ErrItem}, // already present
	}
	for _, tt := range tests {
		if err := tr.Insert(tt.id, tt.item); !errors.Is(err, tt.want) {
			t.Errorf("Insert(%v, %d) error = %v; want %v", tt.id, tt.item, err, tt.want)
		}
	}
	if tr.Len() != 1 || tr.NumItems() != 1 {
		t.Errorf("failed inserts changed the trie: Len %d, NumItems %d", tr.Len(), tr.NumItems())
	}
	var zero Trie
	if err := zero.Insert(semid.ID{}, 0); !errors.Is(err, ErrShape) {
		t.Errorf("zero Trie Insert error = %v; want ErrShape", err)
	}
	if zero.Contains(nil) || zero.Len() != 0 || len(zero.Allowed(nil, nil)) != 0 {
		t.Errorf("zero Trie is not empty")
	}
}

// model is the reference: a map from ID string to items in order.
type model struct {
	m, l  int
	ids   map[string][]int
	owner map[int]string
}

func (md *model) allowed(prefix semid.ID) []int32 {
	var out []int32
	for s := range md.ids {
		id, _ := semid.Parse(s)
		if len(prefix) < md.m && slices.Equal(id[:len(prefix)], prefix) {
			out = append(out, id[len(prefix)])
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func randID(rng *rand.Rand, m, l int) semid.ID {
	id := make(semid.ID, m)
	for i := range id {
		id[i] = int32(rng.IntN(l))
	}
	return id
}

// TestAgainstModel applies random inserts and deletes and compares every
// query with the map model.
func TestAgainstModel(t *testing.T) {
	for trial := range 40 {
		rng := rand.New(rand.NewPCG(uint64(trial), 11))
		m, l := 1+rng.IntN(4), 1+rng.IntN(6)
		t.Run(fmt.Sprintf("trial=%d/M=%d/L=%d", trial, m, l), func(t *testing.T) {
			tr := mustNew(t, m, l)
			md := &model{m: m, l: l, ids: map[string][]int{}, owner: map[int]string{}}
			for op := range 300 {
				item := rng.IntN(60)
				if _, ok := md.owner[item]; ok && rng.IntN(3) > 0 {
					s := md.owner[item]
					md.ids[s] = slices.DeleteFunc(md.ids[s], func(x int) bool { return x == item })
					if len(md.ids[s]) == 0 {
						delete(md.ids, s)
					}
					delete(md.owner, item)
					if !tr.Delete(item) {
						t.Fatalf("op %d: Delete(%d) = false", op, item)
					}
				} else if !ok {
					id := randID(rng, m, l)
					md.ids[id.String()] = append(md.ids[id.String()], item)
					md.owner[item] = id.String()
					mustInsert(t, tr, id, item)
				} else if tr.Delete(item + 1000) {
					t.Fatalf("op %d: Delete(%d) of absent item = true", op, item+1000)
				}
				if op%10 == 0 {
					check(t, tr, md)
				}
			}
			check(t, tr, md)
		})
	}
}

func check(t *testing.T, tr *Trie, md *model) {
	t.Helper()
	if tr.Len() != len(md.ids) || tr.NumItems() != len(md.owner) {
		t.Fatalf("Len, NumItems = %d, %d; want %d, %d", tr.Len(), tr.NumItems(), len(md.ids), len(md.owner))
	}
	// Every prefix of every length, valid or not.
	var prefixes []semid.ID
	var gen func(p semid.ID)
	gen = func(p semid.ID) {
		prefixes = append(prefixes, p.Clone())
		if len(p) < md.m {
			for tok := range md.l {
				gen(append(p, int32(tok)))
			}
		}
	}
	gen(semid.ID{})
	dst := make([]int32, 0, md.l)
	for _, p := range prefixes {
		got := tr.Allowed(p, dst)
		want := md.allowed(p)
		if len(got) != len(want) || !slices.Equal(got, want) {
			t.Fatalf("Allowed(%v) = %v; want %v", p, got, want)
		}
		if len(p) == md.m {
			wantItems := md.ids[p.String()]
			if got := tr.Items(p); !slices.Equal(got, wantItems) {
				t.Fatalf("Items(%v) = %v; want %v", p, got, wantItems)
			}
			if tr.Contains(p) != (wantItems != nil) {
				t.Fatalf("Contains(%v) = %v", p, tr.Contains(p))
			}
		}
	}
	for item, s := range md.owner {
		if id, ok := tr.ID(item); !ok || id.String() != s {
			t.Fatalf("ID(%d) = %v, %v; want %s", item, id, ok, s)
		}
	}
	var prev semid.ID
	n := 0
	for id, items := range tr.All() {
		if prev != nil && id.Compare(prev) <= 0 {
			t.Fatalf("All: %v after %v", id, prev)
		}
		if want := md.ids[id.String()]; !slices.Equal(items, want) {
			t.Fatalf("All: items of %v = %v; want %v", id, items, want)
		}
		prev = id.Clone()
		n++
	}
	if n != len(md.ids) {
		t.Fatalf("All yielded %d IDs; want %d", n, len(md.ids))
	}
}

func TestLookupAllocs(t *testing.T) {
	tr := randomTrie(t, 4, 256, 20000, 1)
	some := firstID(tr)
	dst := make([]int32, 0, 256)
	mask := make([]bool, 256)
	items := make([]int, 0, 8)
	tests := []struct {
		name string
		fn   func()
	}{
		{"Allowed", func() { tr.Allowed(some[:2], dst) }},
		{"AllowedRoot", func() { tr.Allowed(nil, dst) }},
		{"AllowedMask", func() { tr.AllowedMask(some[:3], mask) }},
		{"Contains", func() { tr.Contains(some) }},
		{"AppendItems", func() { tr.AppendItems(items[:0], some) }},
	}
	for _, tt := range tests {
		if n := testing.AllocsPerRun(100, tt.fn); n != 0 {
			t.Errorf("%s allocs = %v; want 0", tt.name, n)
		}
	}
}

// randomTrie inserts n items with random IDs (collisions allowed).
func randomTrie(t testing.TB, m, l, n int, seed uint64) *Trie {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 3))
	tr := mustNew(t, m, l)
	for i := range n {
		mustInsert(t, tr, randID(rng, m, l), i)
	}
	return tr
}

// firstID returns a copy of the first ID that tr.All yields.
func firstID(tr *Trie) semid.ID {
	for id := range tr.All() {
		return id.Clone()
	}
	return nil
}

// TestConcurrentReads runs readers in parallel; run with -race.
func TestConcurrentReads(t *testing.T) {
	tr := randomTrie(t, 3, 8, 2000, 4)
	done := make(chan bool)
	for g := range 4 {
		go func() {
			defer func() { done <- true }()
			dst := make([]int32, 0, 8)
			mask := make([]bool, 8)
			rng := rand.New(rand.NewPCG(uint64(g), 0))
			for range 500 {
				id := randID(rng, 3, 8)
				tr.Allowed(id[:rng.IntN(3)], dst)
				tr.AllowedMask(id[:2], mask)
				tr.Items(id)
				tr.Contains(id)
			}
			for range tr.All() {
			}
		}()
	}
	for range 4 {
		<-done
	}
}
