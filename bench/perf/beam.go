package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"time"

	"github.com/irgen/irgen/internal/beam"
	"github.com/irgen/irgen/internal/decoder"
	"github.com/irgen/irgen/internal/gallery"
	"github.com/irgen/irgen/internal/semid"
	"github.com/irgen/irgen/internal/trie"
)

// buildTrie returns the prefix tree of n synthetic IDs (uniform random
// tokens; colliding IDs share a leaf, as in a real gallery) or, with
// -gallery, of a trained model's gallery IDs.
func buildTrie(o options) (*trie.Trie, string, error) {
	if o.gallery != "" {
		f, err := os.Open(o.gallery)
		if err != nil {
			return nil, "", err
		}
		defer f.Close()
		var g gallery.Gallery
		if _, err := g.ReadFrom(f); err != nil {
			return nil, "", err
		}
		tr, err := trie.New(g.M, g.L)
		if err != nil {
			return nil, "", err
		}
		for i := range g.Len() {
			if err := tr.Insert(semid.ID(g.Code(i)), i); err != nil {
				return nil, "", err
			}
		}
		return tr, o.gallery, nil
	}
	tr, err := trie.New(o.idM, o.idL)
	if err != nil {
		return nil, "", err
	}
	rng := rand.New(rand.NewPCG(o.seed, 17))
	id := make(semid.ID, o.idM)
	for i := range o.n {
		for j := range id {
			id[j] = int32(rng.IntN(o.idL))
		}
		if err := tr.Insert(id, i); err != nil {
			return nil, "", err
		}
	}
	return tr, "synthetic-uniform", nil
}

// runBeam times the decoder's beam search (width -width, constrained to
// the trie) per query, without the query encoder: decoder.Model.Search
// reports the two apart, and search_per_encode is the median over calls
// of the one's time over the other's. The decoder has the default CPU configuration
// and random weights, the encoder that feeds its cross-attention is -size.
func runBeam(o options) (record, error) {
	encCfg, b, name, err := sizeAndBackend(o)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	tr, source, err := buildTrie(o)
	if err != nil {
		return nil, err
	}
	trieBuild := time.Since(start)
	decCfg := decoder.DefaultConfig(tr.M(), tr.L())
	m, err := decoder.New(b, decCfg, encCfg, nil, int64(o.seed))
	if err != nil {
		return nil, err
	}
	bs, err := beam.New(beam.Config{Width: o.width, M: tr.M(), L: tr.L()})
	if err != nil {
		return nil, err
	}
	q := o.qbatch
	per := encCfg.ImageSize * encCfg.ImageSize * encCfg.Channels
	rng := rand.New(rand.NewPCG(o.seed, 19))
	images := make([]float32, q*per)
	call := func() (decoder.Timing, error) {
		for i := range images {
			images[i] = float32(rng.NormFloat64())
		}
		hyps, tm, err := m.Search(images, q, bs, tr)
		if err == nil && (len(hyps) != q || len(hyps[0]) == 0) {
			err = fmt.Errorf("search returned %d queries", len(hyps))
		}
		return tm, err
	}
	start = time.Now()
	if _, err := call(); err != nil { // compiles the graphs
		return nil, err
	}
	compile := time.Since(start)
	for range o.warmup {
		if _, err := call(); err != nil {
			return nil, err
		}
	}
	stop, err := profile(o.cpuprofile)
	if err != nil {
		return nil, err
	}
	defer stop()
	calls := max(1, o.numQueries/q)
	var search, encode, ratio []float64
	for range calls {
		tm, err := call()
		if err != nil {
			return nil, err
		}
		search = append(search, tm.Search.Seconds()/float64(q))
		encode = append(encode, tm.Encode.Seconds()/float64(q))
		ratio = append(ratio, tm.Search.Seconds()/tm.Encode.Seconds())
	}
	return record{
		"bench": "beam", "backend": name, "n": tr.NumItems(), "ids": tr.Len(), "source": source,
		"id_m": tr.M(), "id_l": tr.L(), "width": o.width, "qbatch": q, "queries": calls * q,
		"decoder": decCfg, "encoder_size": o.size, "trie_build_s": seconds(trieBuild), "compile_s": seconds(compile),
		"ms_per_query":        1000 * median(search),
		"ms_per_query_mean":   1000 * meanOf(search),
		"encode_ms_per_query": 1000 * median(encode),
		// The two parts of one call ran under the same machine load.
		"search_per_encode": median(ratio),
	}, nil
}
