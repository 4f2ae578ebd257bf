package trie

// edge is one child: a token and the child node (or leaf at depth M-1).
type edge struct {
	tok  int32
	next int32
}

// block is a node's child list: edges[off:off+n] in the arena, sorted by
// token, with capacity 1<<cls (no storage when cls < 0).
type block struct {
	off int32
	n   int32
	cls int32
}

var emptyBlock = block{off: 0, n: 0, cls: -1}

func (b block) capacity() int32 {
	if b.cls < 0 {
		return 0
	}
	return 1 << b.cls
}

// numClasses covers capacities 1 to MaxL.
const numClasses = 17

// arena stores all child lists in one pointer-free slice, in power-of-two
// blocks recycled through per-size free lists.
type arena struct {
	edges     []edge
	freeLists [numClasses][]int32
}

// grow moves b's edges to a block of twice the capacity and frees the old
// one.
func (a *arena) grow(b block) block {
	nb := block{off: a.alloc(b.cls + 1), n: b.n, cls: b.cls + 1}
	copy(a.edges[nb.off:nb.off+b.n], a.edges[b.off:b.off+b.n])
	a.release(b)
	return nb
}

func (a *arena) alloc(cls int32) int32 {
	if fl := a.freeLists[cls]; len(fl) > 0 {
		off := fl[len(fl)-1]
		a.freeLists[cls] = fl[:len(fl)-1]
		return off
	}
	off := int32(len(a.edges))
	a.edges = append(a.edges, make([]edge, 1<<cls)...)
	return off
}

func (a *arena) release(b block) {
	if b.cls >= 0 {
		a.freeLists[b.cls] = append(a.freeLists[b.cls], b.off)
	}
}

// itemIndex maps an item to its leaf and to the next item of that leaf, in
// pages allocated on first use, so memory follows the largest item number
// without one huge allocation.
type itemIndex struct {
	pages []*itemPage
}

const pageBits = 12

type itemSlot struct {
	leaf int32 // -1: absent
	next int32 // next item in the same leaf, -1: last
}

type itemPage [1 << pageBits]itemSlot

func (x *itemIndex) slot(item int) *itemSlot {
	p := item >> pageBits
	if p >= len(x.pages) || x.pages[p] == nil {
		return nil
	}
	return &x.pages[p][item&(1<<pageBits-1)]
}

func (x *itemIndex) leafOf(item int) int32 {
	if s := x.slot(item); s != nil {
		return s.leaf
	}
	return -1
}

func (x *itemIndex) next(item int) int32 {
	return x.slot(item).next
}

func (x *itemIndex) setNext(item int, next int32) {
	x.slot(item).next = next
}

func (x *itemIndex) set(item int, leaf, next int32) {
	p := item >> pageBits
	if p >= len(x.pages) {
		x.pages = append(x.pages, make([]*itemPage, p+1-len(x.pages))...)
	}
	if x.pages[p] == nil {
		pg := new(itemPage)
		for i := range pg {
			pg[i] = itemSlot{leaf: -1, next: -1}
		}
		x.pages[p] = pg
	}
	x.pages[p][item&(1<<pageBits-1)] = itemSlot{leaf: leaf, next: next}
}
