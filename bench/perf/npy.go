package main

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"regexp"
	"strconv"
	"time"

	"github.com/irgen/irgen/internal/gallery"
)

// The features both sides search are NumPy .npy files (format 1.0,
// little-endian float32, C order, shape (n, d)): numpy.load reads them
// without any code of ours on the Python side.

var errNpy = errors.New("npy: unsupported file")

// writeNpy writes data, n rows of d values, to path atomically.
func writeNpy(path string, data []float32, n, d int) error {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	head := fmt.Sprintf("{'descr': '<f4', 'fortran_order': False, 'shape': (%d, %d), }", n, d)
	// magic (6) + version (2) + header length (2) + header + '\n', padded to 64.
	pad := 64 - (10+len(head)+1)%64
	if pad == 64 {
		pad = 0
	}
	for range pad {
		head += " "
	}
	head += "\n"
	w.WriteString("\x93NUMPY\x01\x00")
	binary.Write(w, binary.LittleEndian, uint16(len(head)))
	w.WriteString(head)
	buf := make([]byte, 4*d)
	for i := range n {
		for j, v := range data[i*d : (i+1)*d] {
			binary.LittleEndian.PutUint32(buf[4*j:], math.Float32bits(v))
		}
		w.Write(buf)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

var shapeRE = regexp.MustCompile(`'shape':\s*\((\d+),\s*(\d+),?\s*\)`)

// readNpy reads a float32 matrix written by writeNpy (or numpy.save).
func readNpy(path string) (data []float32, n, d int, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, 0, err
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 1<<20)
	var pre [10]byte
	if _, err := io.ReadFull(r, pre[:]); err != nil {
		return nil, 0, 0, fmt.Errorf("%s: %w", path, err)
	}
	if string(pre[:6]) != "\x93NUMPY" || pre[6] != 1 {
		return nil, 0, 0, fmt.Errorf("%w: %s: not a version 1 .npy", errNpy, path)
	}
	head := make([]byte, binary.LittleEndian.Uint16(pre[8:]))
	if _, err := io.ReadFull(r, head); err != nil {
		return nil, 0, 0, fmt.Errorf("%s: %w", path, err)
	}
	m := shapeRE.FindSubmatch(head)
	if m == nil || !regexp.MustCompile(`'descr':\s*'<f4'`).Match(head) || regexp.MustCompile(`'fortran_order':\s*True`).Match(head) {
		return nil, 0, 0, fmt.Errorf("%w: %s: header %q", errNpy, path, head)
	}
	n, _ = strconv.Atoi(string(m[1]))
	d, _ = strconv.Atoi(string(m[2]))
	raw := make([]byte, 4*n*d)
	if _, err := io.ReadFull(r, raw); err != nil {
		return nil, 0, 0, fmt.Errorf("%s: %w", path, err)
	}
	data = make([]float32, n*d)
	for i := range data {
		data[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	return data, n, d, nil
}

// clustered returns n unit vectors of dim d around c random unit centres:
// centre plus Gaussian noise of per-dimension deviation noise/√d, then
// normalized. Queries drawn with another seed but the same centres seed
// come from the same clusters.
func clustered(centreSeed, seed uint64, n, d, c int, noise float64) []float32 {
	cr := rand.New(rand.NewPCG(centreSeed, 7))
	centres := make([]float32, c*d)
	for i := range centres {
		centres[i] = float32(cr.NormFloat64())
	}
	for i := range c {
		normalize(centres[i*d : (i+1)*d])
	}
	r := rand.New(rand.NewPCG(seed, 11))
	sd := noise / math.Sqrt(float64(d))
	out := make([]float32, n*d)
	for i := range n {
		ctr := centres[r.IntN(c)*d:]
		row := out[i*d : (i+1)*d]
		for j := range row {
			row[j] = ctr[j] + float32(sd*r.NormFloat64())
		}
		normalize(row)
	}
	return out
}

func normalize(v []float32) {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	if s == 0 {
		return
	}
	inv := float32(1 / math.Sqrt(s))
	for i := range v {
		v[i] *= inv
	}
}

// runGen writes the gallery and query files. With -gallery the gallery is
// a trained model's features and the queries are gallery rows picked at
// random, perturbed like the synthetic ones so that they are not exact
// duplicates.
func runGen(o options) (record, error) {
	if o.out == "" || o.qout == "" {
		return nil, errors.New("gen needs -out and -qout")
	}
	start := time.Now()
	var data, qs []float32
	n, d, source := o.n, o.dim, "synthetic-clustered"
	if o.gallery != "" {
		f, err := os.Open(o.gallery)
		if err != nil {
			return nil, err
		}
		var g gallery.Gallery
		_, err = g.ReadFrom(f)
		f.Close()
		if err != nil {
			return nil, err
		}
		n, d, source = g.Len(), g.Dim, o.gallery
		data = g.Features
		for i := range n {
			normalize(data[i*d : (i+1)*d])
		}
		r := rand.New(rand.NewPCG(o.seed, 13))
		qs = make([]float32, o.numQueries*d)
		sd := o.noise / math.Sqrt(float64(d))
		for i := range o.numQueries {
			src := data[r.IntN(n)*d:]
			row := qs[i*d : (i+1)*d]
			for j := range row {
				row[j] = src[j] + float32(sd*r.NormFloat64())
			}
			normalize(row)
		}
	} else {
		data = clustered(o.seed, o.seed+1, n, d, o.clusters, o.noise)
		qs = clustered(o.seed, o.seed+2, o.numQueries, d, o.clusters, o.noise)
	}
	if err := writeNpy(o.out, data, n, d); err != nil {
		return nil, err
	}
	if err := writeNpy(o.qout, qs, o.numQueries, d); err != nil {
		return nil, err
	}
	return record{"bench": "gen", "n": n, "d": d, "q": o.numQueries, "source": source,
		"clusters": o.clusters, "noise": o.noise, "seconds": seconds(time.Since(start))}, nil
}
