package bovw

import (
	"context"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"runtime"
	"time"

	"github.com/irgen/irgen/internal/baseline/sift"
	"github.com/irgen/irgen/internal/imageproc"
	"github.com/irgen/irgen/internal/rq"
	"github.com/irgen/irgen/internal/store"
)

// Index is a trained BoVW model over a gallery: the vocabulary, the
// inverse document frequencies and the word counts of every gallery
// image, stored sparsely.
type Index struct {
	Config Config
	Vocab  *Vocabulary
	// IDF holds ln(N/df) per word, df the number of gallery images with
	// the word (0 for words in none). Used with WeightTFIDF.
	IDF []float32
	// GalleryDigest identifies the gallery keys the histograms belong to
	// (store.KeysDigest).
	GalleryDigest string
	// Image i's nonzero counts are Count[Start[i]:Start[i+1]] of the
	// words Word[Start[i]:Start[i+1]], in increasing word order.
	Start []int
	Word  []uint32
	Count []uint32
}

// Len returns the number of gallery images.
func (ix *Index) Len() int { return len(ix.Start) - 1 }

// idf returns the weights the index's Weighting applies to tf, nil for
// none.
func (ix *Index) idf() []float32 {
	if ix.Config.Weighting == WeightTFIDF {
		return ix.IDF
	}
	return nil
}

// Vector writes image i's weighted, unit-length histogram into dst (K
// values).
func (ix *Index) Vector(i int, dst []float32) {
	k := ix.Vocab.K
	counts := make([]uint32, k)
	for j := ix.Start[i]; j < ix.Start[i+1]; j++ {
		counts[ix.Word[j]] = ix.Count[j]
	}
	weigh(counts, ix.idf(), dst[:k])
}

// Vectors returns the weighted histograms of all gallery images, row-major
// (Len() × K).
func (ix *Index) Vectors() []float32 {
	k := ix.Vocab.K
	out := make([]float32, ix.Len()*k)
	for i := range ix.Len() {
		ix.Vector(i, out[i*k:(i+1)*k])
	}
	return out
}

// BuildOptions are the inputs of Build.
type BuildOptions struct {
	Config    Config
	Transform imageproc.Transform
	// Train supplies the images the vocabulary is learned from; Gallery
	// the images that are indexed, whose keys are GalleryKeys.
	Train, Gallery Images
	GalleryKeys    []string
	// Workers is the number of extraction goroutines (0: GOMAXPROCS).
	Workers int
	// Log, when set, receives progress lines and a summary.
	Log io.Writer
	// Progress, when set, is called as images are done in each stage
	// ("vocabulary", "index") with the count done and the total.
	Progress func(stage string, done, total int)
}

// BuildStats reports what Build did.
type BuildStats struct {
	Train, Gallery Stats
	// Sampled is the number of descriptors k-means clustered.
	Sampled                    int
	Extract, KMeans, Histogram time.Duration
}

// Build learns the vocabulary from the training images (k-means over a
// sample of their descriptors) and computes every gallery image's word
// counts and the words' inverse document frequencies: Learn, CountWords
// and NewIndex in one call.
func Build(ctx context.Context, o BuildOptions) (*Index, BuildStats, error) {
	if err := o.checkGallery(); err != nil {
		return nil, BuildStats{}, err
	}
	vocab, bs, err := Learn(ctx, o)
	if err != nil {
		return nil, bs, err
	}
	start := time.Now()
	counts, st, err := CountWords(ctx, o, vocab)
	bs.Gallery = st
	if err != nil {
		return nil, bs, err
	}
	ix := NewIndex(o.Config, vocab, counts, o.GalleryKeys)
	bs.Histogram = time.Since(start)
	if o.Log != nil {
		fmt.Fprintf(o.Log, "bovw: vocabulary from %d images (%d descriptors, %d dense, %d images without any), gallery of %d images (%d descriptors, %d dense, %d without any)\n",
			bs.Train.Images, bs.Train.Descriptors, bs.Train.Dense, bs.Train.Empty,
			bs.Gallery.Images, bs.Gallery.Descriptors, bs.Gallery.Dense, bs.Gallery.Empty)
	}
	return ix, bs, nil
}

// Learn learns the vocabulary from o.Train: k-means over a sample of their
// descriptors. It does not read o.Gallery. The vocabulary depends only on
// o.Config, o.Transform and the training images (and o.Workers, through
// the order of k-means' floating-point sums).
func Learn(ctx context.Context, o BuildOptions) (*Vocabulary, BuildStats, error) {
	var bs BuildStats
	if err := o.checkTrain(); err != nil {
		return nil, bs, err
	}
	o.defaults()
	start := time.Now()
	sample, st, err := o.sample(ctx)
	bs.Train = st
	if err != nil {
		return nil, bs, err
	}
	bs.Sampled = len(sample) / sift.DescriptorLen
	bs.Extract = time.Since(start)

	start = time.Now()
	vocab, err := o.vocabulary(sample)
	if err != nil {
		return nil, bs, err
	}
	bs.KMeans = time.Since(start)
	return vocab, bs, ctx.Err()
}

func (o *BuildOptions) defaults() {
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
}

func (o *BuildOptions) checkTrain() error {
	if err := o.Config.Validate(); err != nil {
		return err
	}
	if o.Train.N < 1 || o.Train.Fill == nil {
		return fmt.Errorf("bovw: %d training images, need some", o.Train.N)
	}
	return nil
}

func (o *BuildOptions) checkGallery() error {
	if err := o.Config.Validate(); err != nil {
		return err
	}
	if o.Gallery.N < 1 || o.Gallery.Fill == nil {
		return fmt.Errorf("bovw: %d gallery images, need some", o.Gallery.N)
	}
	if len(o.GalleryKeys) != o.Gallery.N {
		return fmt.Errorf("bovw: %d keys for %d gallery images", len(o.GalleryKeys), o.Gallery.N)
	}
	return nil
}

func (o *BuildOptions) progress(stage string, total int) func(int) {
	if o.Progress == nil {
		return nil
	}
	return func(done int) { o.Progress(stage, done, total) }
}

// sample returns the descriptors the vocabulary is learned from: each
// training image keeps a seeded random subset of at most perImage
// descriptors, so that the sample does not depend on scheduling and
// memory stays bounded, and TrainDescriptors of those are drawn.
func (o *BuildOptions) sample(ctx context.Context) ([]float32, Stats, error) {
	c := o.Config
	perImage := max(1, int(math.Ceil(2*float64(c.TrainDescriptors)/float64(o.Train.N))))
	kept := make([][]uint8, o.Train.N)
	st, err := forEach(ctx, c, o.Transform, o.Train, o.Workers, o.progress("vocabulary", o.Train.N), func(_, i int, desc []float32) {
		n := len(desc) / sift.DescriptorLen
		order := make([]int, n)
		for j := range order {
			order[j] = j
		}
		if n > perImage {
			rng := rand.New(rand.NewPCG(c.Seed, uint64(i)))
			rng.Shuffle(n, func(a, b int) { order[a], order[b] = order[b], order[a] })
			order = order[:perImage]
		}
		q := make([]uint8, 0, len(order)*sift.DescriptorLen)
		for _, j := range order {
			q = appendQuantized(q, desc[j*sift.DescriptorLen:(j+1)*sift.DescriptorLen])
		}
		kept[i] = q
	})
	if err != nil {
		return nil, st, err
	}
	var all []uint8
	for _, q := range kept {
		all = append(all, q...)
	}
	n := len(all) / sift.DescriptorLen
	if n < c.K {
		return nil, st, fmt.Errorf("bovw: %d descriptors from %d training images, fewer than the %d words; use more images or the dense detector", n, o.Train.N, c.K)
	}
	rng := rand.New(rand.NewPCG(c.Seed, math.MaxUint64))
	m := min(n, c.TrainDescriptors)
	sample := make([]float32, m*sift.DescriptorLen)
	for r, j := range rng.Perm(n)[:m] {
		for d, b := range all[j*sift.DescriptorLen : (j+1)*sift.DescriptorLen] {
			sample[r*sift.DescriptorLen+d] = float32(b) / quantScale
		}
	}
	return sample, st, nil
}

// vocabulary clusters the sampled descriptors into the K visual words.
func (o *BuildOptions) vocabulary(sample []float32) (*Vocabulary, error) {
	c := o.Config
	if o.Log != nil {
		fmt.Fprintf(o.Log, "bovw: k-means of %d descriptors into %d words\n", len(sample)/sift.DescriptorLen, c.K)
	}
	words, err := rq.KMeans(sample, sift.DescriptorLen, rq.KMeansConfig{K: c.K, Iters: c.KMeansIters, Seed: c.Seed, Workers: o.Workers})
	if err != nil {
		return nil, fmt.Errorf("bovw: vocabulary: %w", err)
	}
	return NewVocabulary(words)
}

// CountWords returns the word counts of each of o.Gallery's images,
// sparse (word, count, word, count, …, in increasing word order), with
// vocab's words. Only o.Config, o.Transform, o.Gallery, o.Workers and
// o.Progress are read: split workers count parts of a gallery this way.
func CountWords(ctx context.Context, o BuildOptions, vocab *Vocabulary) ([][]uint32, Stats, error) {
	if err := o.Config.Validate(); err != nil {
		return nil, Stats{}, err
	}
	if vocab == nil || vocab.K != o.Config.K {
		return nil, Stats{}, fmt.Errorf("%w: vocabulary does not match K %d", ErrConfig, o.Config.K)
	}
	o.defaults()
	k := o.Config.K
	counts := make([][]uint32, o.Gallery.N)
	scratch := make([][]float32, o.Workers)
	dense := make([][]uint32, o.Workers)
	for w := range o.Workers {
		scratch[w] = make([]float32, k)
		dense[w] = make([]uint32, k)
	}
	st, err := forEach(ctx, o.Config, o.Transform, o.Gallery, o.Workers, o.progress("index", o.Gallery.N), func(w, i int, desc []float32) {
		h := dense[w]
		clear(h)
		vocab.Count(desc, h, scratch[w])
		var sp []uint32
		for k, v := range h {
			if v > 0 {
				sp = append(sp, uint32(k), v)
			}
		}
		counts[i] = sp
	})
	return counts, st, err
}

// NewIndex lays out the gallery's sparse word counts (CountWords'
// result, one per key) as the index's rows and computes the words'
// inverse document frequencies over them.
func NewIndex(c Config, vocab *Vocabulary, counts [][]uint32, keys []string) *Index {
	ix := &Index{Config: c, Vocab: vocab, GalleryDigest: store.KeysDigest(keys), Start: make([]int, 1, len(counts)+1)}
	df := make([]int, c.K)
	for _, sp := range counts {
		for j := 0; j < len(sp); j += 2 {
			ix.Word = append(ix.Word, sp[j])
			ix.Count = append(ix.Count, sp[j+1])
			df[sp[j]]++
		}
		ix.Start = append(ix.Start, len(ix.Word))
	}
	ix.IDF = idfOf(df, len(counts))
	return ix
}

// idfOf returns ln(n/df) per word, 0 where df is 0.
func idfOf(df []int, n int) []float32 {
	out := make([]float32, len(df))
	for k, d := range df {
		if d > 0 {
			out[k] = float32(math.Log(float64(n) / float64(d)))
		}
	}
	return out
}

// quantScale is OpenCV's SIFT_INT_DESCR_FCTR: unit descriptors are
// stored as bytes v·512, rounded and saturated (their values are rarely
// above 0.3 after the clipping at 0.2).
const quantScale = 512

// appendQuantized appends the unit descriptor d as bytes.
func appendQuantized(dst []uint8, d []float32) []uint8 {
	for _, v := range d {
		dst = append(dst, uint8(min(max(v*quantScale+0.5, 0), 255)))
	}
	return dst
}
