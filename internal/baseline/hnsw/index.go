package hnsw

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"

	"github.com/irgen/irgen/internal/knn"
	"github.com/irgen/irgen/internal/vec"
)

// Index is an HNSW graph over vectors with dense ids 0..Len()-1. Searches
// run concurrently with each other under a read lock; Add and Delete take
// the write lock, so inserts are serialised and briefly block searches.
type Index struct {
	mu  sync.RWMutex
	dim int
	cfg Config
	m0  int  // neighbours kept on layer 0: 2*M
	l2  bool // score by -squared distance rather than inner product

	vecs    []float32 // n rows of dim, normalised for Cosine
	levels  []uint8   // top layer of each node
	deleted []bool
	ndel    int
	// links0 holds layer 0 for every node in blocks of m0+1 int32s: the
	// count, then the neighbour ids.
	links0 []int32
	// upper[id] holds layers 1..levels[id] in blocks of M+1 int32s, laid
	// out like links0; nil for nodes on layer 0 only.
	upper [][]int32

	entry int32 // entry point, -1 when empty
	top   int   // level of the entry point

	rng   *rand.Rand
	build *Searcher // insertion scratch, used under the write lock
	pool  sync.Pool // *Searcher for Search
}

// New returns an empty index of dim-dimensional vectors.
func New(dim int, cfg Config) (*Index, error) {
	if dim <= 0 || dim > maxDim {
		return nil, fmt.Errorf("%w: dim %d not in [1, %d]", knn.ErrDim, dim, maxDim)
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	ix := &Index{dim: dim, entry: -1}
	ix.setConfig(cfg, 0)
	return ix, nil
}

func (ix *Index) setConfig(cfg Config, n int) {
	ix.cfg = cfg
	ix.m0 = 2 * cfg.M
	ix.l2 = cfg.Metric == knn.L2
	ix.rng = rand.New(rand.NewPCG(uint64(cfg.Seed), uint64(n)))
	ix.build = ix.NewSearcher()
}

// Dim returns the vector dimension.
func (ix *Index) Dim() int { return ix.dim }

// Config returns the index's configuration, with Ml filled in.
func (ix *Index) Config() Config { return ix.cfg }

// Len returns the number of nodes, deleted ones included.
func (ix *Index) Len() int {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return len(ix.levels)
}

// Live returns the number of nodes not deleted.
func (ix *Index) Live() int {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return len(ix.levels) - ix.ndel
}

// checkVec rejects vectors of the wrong length or with non-finite values,
// which would make every comparison in the graph false.
func (ix *Index) checkVec(v []float32) error {
	if len(v) != ix.dim {
		return fmt.Errorf("%w: vector has %d values, index %d", knn.ErrDim, len(v), ix.dim)
	}
	if i := vec.NonFinite(v); i >= 0 {
		return fmt.Errorf("%w: element %d is %v", ErrValue, i, v[i])
	}
	return nil
}

// Add inserts v with the given id, which must be the next dense id, Len().
// Use Append to have the id assigned.
func (ix *Index) Add(id int, v []float32) error {
	if err := ix.checkVec(v); err != nil {
		return err
	}
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if id != len(ix.levels) {
		return fmt.Errorf("%w: add %d, next id is %d", ErrID, id, len(ix.levels))
	}
	ix.insert(v)
	return nil
}

// Append inserts v under the next dense id and returns that id.
func (ix *Index) Append(v []float32) (int, error) {
	if err := ix.checkVec(v); err != nil {
		return 0, err
	}
	ix.mu.Lock()
	defer ix.mu.Unlock()
	return ix.insert(v), nil
}

// Delete marks id deleted. It is never returned by searches again but stays
// in the graph to route through. Deleting twice is a no-op.
func (ix *Index) Delete(id int) error {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if id < 0 || id >= len(ix.levels) {
		return fmt.Errorf("%w: delete %d not in [0, %d)", ErrID, id, len(ix.levels))
	}
	if !ix.deleted[id] {
		ix.deleted[id] = true
		ix.ndel++
	}
	return nil
}

// Deleted reports whether id has been deleted.
func (ix *Index) Deleted(id int) bool {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return id >= 0 && id < len(ix.deleted) && ix.deleted[id]
}

// Search returns up to k live nodes near q, best first, using
// Config.EfSearch. For repeated searches without allocation use a Searcher.
func (ix *Index) Search(q []float32, k int) ([]knn.Result, error) {
	s, _ := ix.pool.Get().(*Searcher)
	if s == nil {
		s = ix.NewSearcher()
	}
	defer ix.pool.Put(s)
	return s.SearchInto(q, k, nil)
}

func (ix *Index) row(id int32) []float32 {
	i := int(id) * ix.dim
	return ix.vecs[i : i+ix.dim : i+ix.dim]
}

// score is the similarity of q and node id, higher is better.
func (ix *Index) score(q []float32, id int32) float32 {
	if ix.l2 {
		return -vec.SquaredL2(q, ix.row(id))
	}
	return vec.Dot(q, ix.row(id))
}

// block returns node id's neighbour block on layer l: count, then ids.
func (ix *Index) block(id int32, l int) []int32 {
	if l == 0 {
		w := ix.m0 + 1
		i := int(id) * w
		return ix.links0[i : i+w : i+w]
	}
	w := ix.cfg.M + 1
	return ix.upper[id][(l-1)*w : l*w : l*w]
}

// neighbors returns node id's neighbours on layer l.
func (ix *Index) neighbors(id int32, l int) []int32 {
	b := ix.block(id, l)
	return b[1 : 1+b[0]]
}

func (ix *Index) maxNeighbors(l int) int {
	if l == 0 {
		return ix.m0
	}
	return ix.cfg.M
}

func (ix *Index) randomLevel() int {
	u := 1 - ix.rng.Float64() // (0, 1]
	return min(int(-math.Log(u)*ix.cfg.Ml), maxLevel)
}
