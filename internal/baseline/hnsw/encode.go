package hnsw

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/irgen/irgen/internal/knn"
	"github.com/irgen/irgen/internal/store"
)

// The binary format, a store.Format, little-endian throughout:
//
//	magic    [8]byte "IRGNHNSW"
//	version  uint32  (encodingVersion)
//	dim, metric, M, efConstruction, efSearch  uint32
//	ml       float64
//	seed     int64
//	n        uint64  nodes
//	entry    int64   entry point, -1 when empty
//	top      uint32  level of the entry point
//	n nodes, each:
//	  level  uint8
//	  flags  uint8   bit 0: deleted
//	  vector dim × float32
//	  layers 0..level, each: count uint32, then count × uint32 ids
//	crc      uint32  CRC-32C of everything before it
const encodingVersion = 1

var format = store.Format{Magic: "IRGNHNSW", Version: encodingVersion, ErrFormat: ErrFormat}

// Save writes the index to w in the binary format above.
func (ix *Index) Save(w io.Writer) error {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	fw := format.NewWriter(w)
	e := &encoder{w: fw, buf: make([]byte, 0, 1<<16)}
	c := ix.cfg
	for _, v := range []int{ix.dim, int(c.Metric), c.M, c.EfConstruction, c.EfSearch} {
		e.u32(uint32(v))
	}
	e.u64(math.Float64bits(c.Ml))
	e.u64(uint64(c.Seed))
	e.u64(uint64(len(ix.levels)))
	e.u64(uint64(int64(ix.entry)))
	e.u32(uint32(ix.top))
	for id := range ix.levels {
		lv := int(ix.levels[id])
		var flags uint8
		if ix.deleted[id] {
			flags = 1
		}
		e.buf = append(e.buf, uint8(lv), flags)
		for _, x := range ix.row(int32(id)) {
			e.u32(math.Float32bits(x))
		}
		for l := 0; l <= lv; l++ {
			nb := ix.neighbors(int32(id), l)
			e.u32(uint32(len(nb)))
			for _, x := range nb {
				e.u32(uint32(x))
			}
		}
		e.maybeFlush()
	}
	e.flush()
	if _, err := fw.Finish(); err != nil {
		return fmt.Errorf("hnsw: save: %w", err)
	}
	return nil
}

type encoder struct {
	w   io.Writer
	buf []byte
	err error
}

func (e *encoder) u32(v uint32) { e.buf = binary.LittleEndian.AppendUint32(e.buf, v) }
func (e *encoder) u64(v uint64) { e.buf = binary.LittleEndian.AppendUint64(e.buf, v) }

func (e *encoder) maybeFlush() {
	if len(e.buf) >= 1<<15 {
		e.flush()
	}
}

func (e *encoder) flush() {
	if e.err == nil {
		_, e.err = e.w.Write(e.buf)
	}
	e.buf = e.buf[:0]
}

// Load reads an index written by Save. It rejects unknown versions,
// truncated data, out-of-range sizes and links, and checksum mismatches
// with errors wrapping ErrFormat.
func Load(r io.Reader) (*Index, error) {
	return load(r, true)
}

// load is Load with the checksum check optional, so that the fuzz test can
// reach the structural checks behind it.
func load(r io.Reader, verify bool) (*Index, error) {
	fr, err := format.NewReader(bufio.NewReaderSize(r, 1<<16))
	if err != nil {
		return nil, err
	}
	d := &decoder{r: fr}
	ix, err := d.index()
	if err != nil {
		return nil, err
	}
	if verify {
		_, err = fr.Finish()
	} else if _, err = io.ReadFull(fr, make([]byte, 4)); err != nil {
		err = fmt.Errorf("%w: checksum: %w", ErrFormat, truncated(err))
	}
	if err != nil {
		return nil, err
	}
	return ix, nil
}

type decoder struct {
	r   io.Reader
	buf []byte
	err error
}

// read returns the next n bytes; after an error it returns zeros.
func (d *decoder) read(n int) []byte {
	if cap(d.buf) < n {
		d.buf = make([]byte, n)
	}
	b := d.buf[:n]
	if d.err != nil {
		clear(b)
		return b
	}
	if _, err := io.ReadFull(d.r, b); err != nil {
		d.err = truncated(err)
		clear(b)
	}
	return b
}

func (d *decoder) u8() uint8   { return d.read(1)[0] }
func (d *decoder) u32() uint32 { return binary.LittleEndian.Uint32(d.read(4)) }
func (d *decoder) u64() uint64 { return binary.LittleEndian.Uint64(d.read(8)) }

func truncated(err error) error {
	if errors.Is(err, io.EOF) {
		return fmt.Errorf("truncated: %w", io.ErrUnexpectedEOF)
	}
	return err
}

func (d *decoder) index() (*Index, error) {
	fail := func(format string, args ...any) (*Index, error) {
		return nil, fmt.Errorf("%w: "+format, append([]any{ErrFormat}, args...)...)
	}
	dim, metric, m, efc, efs := d.u32(), d.u32(), d.u32(), d.u32(), d.u32()
	ml, seed := math.Float64frombits(d.u64()), int64(d.u64())
	n, entry, top := d.u64(), int64(d.u64()), d.u32()
	if d.err != nil {
		return fail("header: %w", d.err)
	}
	if metric > math.MaxInt32 || m > maxM || efc > math.MaxInt32 || efs > math.MaxInt32 {
		return fail("header field out of range")
	}
	cfg := Config{M: int(m), EfConstruction: int(efc), EfSearch: int(efs), Ml: ml, Seed: seed, Metric: knn.Metric(metric)}
	if ml == 0 {
		return fail("zero Ml")
	}
	ix, err := New(int(min(dim, maxDim+1)), cfg)
	if err != nil {
		return fail("header: %w", err)
	}
	if n > math.MaxInt32 {
		return fail("%d nodes exceeds the limit %d", n, math.MaxInt32)
	}
	switch {
	case n == 0 && (entry != -1 || top != 0):
		return fail("empty index has entry %d at level %d", entry, top)
	case n > 0 && (entry < 0 || uint64(entry) >= n):
		return fail("entry %d not in [0, %d)", entry, n)
	case top > maxLevel:
		return fail("top level %d exceeds %d", top, maxLevel)
	}
	for id := range int(n) {
		if err := d.node(ix, id, int(n)); err != nil {
			return fail("node %d: %w", id, err)
		}
	}
	if n > 0 && int(ix.levels[entry]) != int(top) {
		return fail("entry %d has level %d, header says %d", entry, ix.levels[entry], top)
	}
	// A link on layer l must point at a node that reaches layer l.
	for id, lv := range ix.levels {
		for l := 1; l <= int(lv); l++ {
			for _, nb := range ix.neighbors(int32(id), l) {
				if int(ix.levels[nb]) < l {
					return fail("node %d: layer %d links to %d, whose top layer is %d", id, l, nb, ix.levels[nb])
				}
			}
		}
	}
	ix.entry, ix.top = int32(entry), int(top)
	ix.setConfig(ix.cfg, int(n)) // reseed levels so new adds don't repeat old draws
	return ix, nil
}

// node reads one node and appends it to ix. Memory grows only with bytes
// actually read, so a header claiming huge sizes cannot force a huge
// allocation.
func (d *decoder) node(ix *Index, id, n int) error {
	level, flags := int(d.u8()), d.u8()
	if d.err != nil {
		return d.err
	}
	if level > maxLevel {
		return fmt.Errorf("level %d exceeds %d", level, maxLevel)
	}
	if flags > 1 {
		return fmt.Errorf("unknown flags %#x", flags)
	}
	raw := d.read(4 * ix.dim)
	if d.err != nil {
		return d.err
	}
	start := len(ix.vecs)
	for i := range ix.dim {
		ix.vecs = append(ix.vecs, math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:])))
	}
	if err := ix.checkVec(ix.vecs[start:]); err != nil {
		return err
	}
	ix.levels = append(ix.levels, uint8(level))
	ix.deleted = append(ix.deleted, flags == 1)
	if flags == 1 {
		ix.ndel++
	}
	ix.links0 = append(ix.links0, make([]int32, ix.m0+1)...)
	var up []int32
	if level > 0 {
		up = make([]int32, level*(ix.cfg.M+1))
	}
	ix.upper = append(ix.upper, up)
	for l := 0; l <= level; l++ {
		cnt := d.u32()
		if d.err != nil {
			return d.err
		}
		if cnt > uint32(ix.maxNeighbors(l)) {
			return fmt.Errorf("layer %d has %d neighbours, max %d", l, cnt, ix.maxNeighbors(l))
		}
		raw := d.read(4 * int(cnt))
		if d.err != nil {
			return d.err
		}
		b := ix.block(int32(id), l)
		b[0] = int32(cnt)
		for i := range int(cnt) {
			nb := binary.LittleEndian.Uint32(raw[4*i:])
			if nb >= uint32(n) || int(nb) == id {
				return fmt.Errorf("layer %d: neighbour %d not in [0, %d) or self", l, nb, n)
			}
			b[1+i] = int32(nb)
		}
	}
	return nil
}
