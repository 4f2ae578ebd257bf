// Package trie is the prefix tree of valid semantic IDs. Beam search asks it
// which tokens may follow a prefix, so that generation only produces IDs
// that name at least one gallery image.
//
// Nodes, child lists (in a power-of-two size-class arena), leaves and the
// item index live in flat int32 arrays rather than per-node objects, so a
// gallery of 1M random IDs (M=4, L=256) costs about 66 bytes per ID and
// gives the garbage collector almost nothing to scan (one pointer per 4096
// item numbers). BenchmarkInsert reports bytes per ID.
//
// A Trie is not safe for concurrent mutation. Reads (Allowed, AllowedMask,
// Contains, Items, ID, All, Len, NumItems, WriteTo) may run concurrently
// with each other but not with Insert, Delete or ReadFrom: callers that
// mutate a shared Trie hold a sync.RWMutex (the server does).
package trie

import (
	"errors"
	"fmt"

	"github.com/irgen/irgen/internal/semid"
)

// Limits on the shape of a trie and on item numbers.
const (
	MaxM    = semid.MaxLen
	MaxL    = 1 << 16
	MaxItem = 1<<31 - 2
)

var (
	// ErrShape reports an ID or shape that does not fit the trie.
	ErrShape = errors.New("trie: shape mismatch")
	// ErrItem reports an item number out of range or already present.
	ErrItem = errors.New("trie: bad item")
)

// A Trie holds the set of valid IDs of M tokens in [0, L), and for each ID
// the gallery items (image numbers) that have it, in insertion order. Item
// numbers should be dense (gallery row numbers): the item index costs
// 8 bytes per number up to the largest, in 32 KiB pages.
type Trie struct {
	m, l int

	// nodes are the inner nodes, nodes[0] the root. The children of a node
	// at depth d < M are the tokens that may appear at position d after its
	// prefix; those of a node at depth M-1 are leaves.
	nodes     []block
	freeNodes []int32 // indices of deleted nodes
	arena     arena   // child lists

	leaves     []leaf
	leafIDs    []uint16 // stride m: the ID of each leaf
	freeLeaves []int32

	items    itemIndex
	numIDs   int
	numItems int
}

// leaf is a complete ID: a list of items linked through the item index.
type leaf struct {
	head, tail int32
}

// New returns an empty trie for IDs of m tokens in [0, l). It returns
// ErrShape unless 1 ≤ m ≤ MaxM and 1 ≤ l ≤ MaxL.
func New(m, l int) (*Trie, error) {
	if m < 1 || m > MaxM || l < 1 || l > MaxL {
		return nil, fmt.Errorf("%w: M=%d L=%d, want M in [1,%d], L in [1,%d]", ErrShape, m, l, MaxM, MaxL)
	}
	t := &Trie{m: m, l: l}
	t.reset()
	return t, nil
}

func (t *Trie) reset() {
	*t = Trie{m: t.m, l: t.l, nodes: []block{emptyBlock}}
}

// M returns the number of tokens per ID.
func (t *Trie) M() int { return t.m }

// L returns the number of token values.
func (t *Trie) L() int { return t.l }

// Len returns the number of distinct IDs.
func (t *Trie) Len() int { return t.numIDs }

// NumItems returns the number of items.
func (t *Trie) NumItems() int { return t.numItems }

// Insert adds item under id. Several items may share an ID. It returns
// ErrShape when id does not have M tokens in [0, L), and ErrItem when item
// is not in [0, MaxItem] or is already in the trie.
func (t *Trie) Insert(id semid.ID, item int) error {
	if t.m == 0 {
		return fmt.Errorf("%w: trie not made by New or ReadFrom", ErrShape)
	}
	if err := id.Validate(t.m, t.l); err != nil {
		return fmt.Errorf("%w: %w", ErrShape, err)
	}
	if item < 0 || item > MaxItem {
		return fmt.Errorf("%w: item %d, want [0,%d]", ErrItem, item, MaxItem)
	}
	if t.items.leafOf(item) >= 0 {
		return fmt.Errorf("%w: item %d already present", ErrItem, item)
	}
	n := int32(0)
	for d, tok := range id {
		i, ok := t.find(n, tok)
		if !ok {
			var child int32
			if d < t.m-1 {
				child = t.newNode()
			} else {
				child = t.newLeaf(id)
			}
			t.insertEdge(n, i, edge{tok: tok, next: child})
		}
		n = t.arena.edges[t.nodes[n].off+int32(i)].next
	}
	// n is now the leaf.
	lf := &t.leaves[n]
	t.items.set(item, n, -1)
	if lf.head < 0 {
		lf.head = int32(item)
		t.numIDs++
	} else {
		t.items.setNext(int(lf.tail), int32(item))
	}
	lf.tail = int32(item)
	t.numItems++
	return nil
}

// Delete removes item. When it was the last item of its ID, the ID is
// removed too, with every branch left empty, so the ID is no longer valid.
// It reports whether item was present.
func (t *Trie) Delete(item int) bool {
	if item < 0 || item > MaxItem {
		return false
	}
	lfi := t.items.leafOf(item)
	if lfi < 0 {
		return false
	}
	lf := &t.leaves[lfi]
	prev := int32(-1)
	for it := lf.head; it != int32(item); it = t.items.next(int(it)) {
		prev = it
	}
	next := t.items.next(item)
	if prev < 0 {
		lf.head = next
	} else {
		t.items.setNext(int(prev), next)
	}
	if lf.tail == int32(item) {
		lf.tail = prev
	}
	t.items.set(item, -1, -1)
	t.numItems--
	if lf.head >= 0 {
		return true
	}
	t.numIDs--
	t.prune(lfi)
	return true
}

// prune removes the empty leaf lfi and every ancestor left without
// children, except the root.
func (t *Trie) prune(lfi int32) {
	var path [MaxM]int32
	var toks [MaxM]int32
	ids := t.leafIDs[int(lfi)*t.m : (int(lfi)+1)*t.m]
	n := int32(0)
	for d, tok := range ids {
		path[d], toks[d] = n, int32(tok)
		i, _ := t.find(n, int32(tok))
		n = t.arena.edges[t.nodes[n].off+int32(i)].next
	}
	t.freeLeaves = append(t.freeLeaves, lfi)
	for d := t.m - 1; d >= 0; d-- {
		p := path[d]
		i, _ := t.find(p, toks[d])
		t.removeEdge(p, i)
		if d == 0 || t.nodes[p].n > 0 {
			return
		}
		t.arena.release(t.nodes[p])
		t.nodes[p] = emptyBlock
		t.freeNodes = append(t.freeNodes, p)
	}
}

func (t *Trie) newNode() int32 {
	if k := len(t.freeNodes); k > 0 {
		n := t.freeNodes[k-1]
		t.freeNodes = t.freeNodes[:k-1]
		return n
	}
	t.nodes = append(t.nodes, emptyBlock)
	return int32(len(t.nodes) - 1)
}

func (t *Trie) newLeaf(id semid.ID) int32 {
	var lfi int32
	if k := len(t.freeLeaves); k > 0 {
		lfi = t.freeLeaves[k-1]
		t.freeLeaves = t.freeLeaves[:k-1]
		t.leaves[lfi] = leaf{head: -1, tail: -1}
	} else {
		t.leaves = append(t.leaves, leaf{head: -1, tail: -1})
		t.leafIDs = append(t.leafIDs, make([]uint16, t.m)...)
		lfi = int32(len(t.leaves) - 1)
	}
	dst := t.leafIDs[int(lfi)*t.m : (int(lfi)+1)*t.m]
	for i, tok := range id {
		dst[i] = uint16(tok)
	}
	return lfi
}

// find returns the position of tok among the children of node n, or the
// position where it would be inserted and false.
func (t *Trie) find(n int32, tok int32) (int, bool) {
	b := t.nodes[n]
	es := t.arena.edges[b.off : b.off+b.n]
	lo, hi := 0, len(es)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if es[mid].tok < tok {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo, lo < len(es) && es[lo].tok == tok
}

func (t *Trie) insertEdge(n int32, i int, e edge) {
	b := t.nodes[n]
	if b.n == b.capacity() {
		b = t.arena.grow(b)
	}
	es := t.arena.edges[b.off : b.off+b.n+1]
	copy(es[i+1:], es[i:])
	es[i] = e
	b.n++
	t.nodes[n] = b
}

func (t *Trie) removeEdge(n int32, i int) {
	b := &t.nodes[n]
	es := t.arena.edges[b.off : b.off+b.n]
	copy(es[i:], es[i+1:])
	b.n--
}

// walk returns the node reached by prefix (len(prefix) < M), or false.
func (t *Trie) walk(prefix semid.ID) (int32, bool) {
	n := int32(0)
	for _, tok := range prefix {
		i, ok := t.find(n, tok)
		if !ok {
			return 0, false
		}
		n = t.arena.edges[t.nodes[n].off+int32(i)].next
	}
	return n, true
}

// leafOf returns the leaf of a complete id, or false.
func (t *Trie) leafOf(id semid.ID) (int32, bool) {
	if len(id) != t.m || t.m == 0 {
		return 0, false
	}
	return t.walk(id)
}

// Allowed appends to dst[:0] the tokens, in increasing order, that extend
// prefix toward at least one valid ID, and returns it. It returns dst[:0]
// when prefix is not a prefix of a valid ID or already has M tokens. It
// does not allocate when cap(dst) ≥ L.
func (t *Trie) Allowed(prefix semid.ID, dst []int32) []int32 {
	dst = dst[:0]
	if len(prefix) >= t.m {
		return dst
	}
	n, ok := t.walk(prefix)
	if !ok {
		return dst
	}
	b := t.nodes[n]
	for _, e := range t.arena.edges[b.off : b.off+b.n] {
		dst = append(dst, e.tok)
	}
	return dst
}

// AllowedMask sets mask[tok] to whether tok is in Allowed(prefix) for every
// tok in [0, L) and returns how many are. It panics if len(mask) < L.
func (t *Trie) AllowedMask(prefix semid.ID, mask []bool) int {
	if len(mask) < t.l {
		panic(fmt.Sprintf("trie: AllowedMask: mask has %d entries, want L=%d", len(mask), t.l))
	}
	clear(mask[:t.l])
	if len(prefix) >= t.m {
		return 0
	}
	n, ok := t.walk(prefix)
	if !ok {
		return 0
	}
	b := t.nodes[n]
	for _, e := range t.arena.edges[b.off : b.off+b.n] {
		mask[e.tok] = true
	}
	return int(b.n)
}

// Contains reports whether id is a valid ID (has at least one item).
func (t *Trie) Contains(id semid.ID) bool {
	_, ok := t.leafOf(id)
	return ok
}

// Items returns the items of id in insertion order, or nil.
func (t *Trie) Items(id semid.ID) []int {
	return t.AppendItems(nil, id)
}

// AppendItems appends the items of id, in insertion order, to dst.
func (t *Trie) AppendItems(dst []int, id semid.ID) []int {
	lfi, ok := t.leafOf(id)
	if !ok {
		return dst
	}
	for it := t.leaves[lfi].head; it >= 0; it = t.items.next(int(it)) {
		dst = append(dst, int(it))
	}
	return dst
}

// ID returns the ID of item, or false when item is not in the trie.
func (t *Trie) ID(item int) (semid.ID, bool) {
	if item < 0 || item > MaxItem {
		return nil, false
	}
	lfi := t.items.leafOf(item)
	if lfi < 0 {
		return nil, false
	}
	id := make(semid.ID, t.m)
	for i, tok := range t.leafIDs[int(lfi)*t.m : (int(lfi)+1)*t.m] {
		id[i] = int32(tok)
	}
	return id, true
}
