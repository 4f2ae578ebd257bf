package cli

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"

	"github.com/irgen/irgen/internal/config"
	"github.com/irgen/irgen/internal/dataset"
	"github.com/irgen/irgen/internal/engine"
	"github.com/irgen/irgen/internal/eval"
	"github.com/irgen/irgen/internal/imageproc"
	"github.com/irgen/irgen/internal/knn"
	"github.com/irgen/irgen/internal/tokenizer"
)

// defaultVal is the share of the training images held out for validation.
const defaultVal = 0.05

// maxVal bounds the validation images: enough for metrics to within about
// ±0.01, few enough that a validation takes seconds.
const maxVal = 1000

// holdOut splits the training images into those trained on and up to
// maxVal validation images, frac of each class (at least one of a class
// of five or more), chosen by seed. frac 0 holds out nothing.
func holdOut(s dataset.Split, frac float64, seed int64) (trainIdx, valIdx []int, err error) {
	if frac < 0 || frac >= 0.5 {
		return nil, nil, fmt.Errorf("%w: validation share %g, want 0 ≤ share < 0.5", errUsage, frac)
	}
	n := s.Len()
	byClass := map[int][]int{}
	for i := range n {
		byClass[s.Label(i)] = append(byClass[s.Label(i)], i)
	}
	want := min(int(frac*float64(n)+0.5), maxVal)
	rng := rand.New(rand.NewPCG(uint64(seed), 0x7a11d))
	held := make([]bool, n)
	if frac > 0 {
		for _, c := range slices.Sorted(maps.Keys(byClass)) {
			items := byClass[c]
			k := int(float64(len(items))*float64(want)/float64(n) + 0.5)
			if k == 0 && len(items) >= 5 {
				k = 1
			}
			for _, j := range rng.Perm(len(items))[:min(k, len(items)-1)] {
				held[items[j]] = true
			}
		}
	}
	for i := range n {
		if held[i] {
			valIdx = append(valIdx, i)
		} else {
			trainIdx = append(trainIdx, i)
		}
	}
	return trainIdx, valIdx, nil
}

// validation scores retrieval of held-out training images from the
// gallery (leaving each one's own gallery entry out): the decoder during
// training, and the irgen ranking's weight after it.
type validation struct {
	e      *engine.Engine
	loader *dataset.Loader
	labels []int32
	self   []int // gallery index of each validation image, -1 if absent
	rel    []int // relevant gallery images of each
}

func newValidation(e *engine.Engine, ds *dataset.Dataset, idx []int) *validation {
	g := e.Gallery()
	split := dataset.Sub(ds.Train, idx)
	v := &validation{e: e, loader: dataset.NewLoader(split, e.Transform, config.Workers())}
	keyIndex := make(map[string]int, g.Len())
	for i, k := range g.Keys {
		keyIndex[k] = i
	}
	perClass := map[int32]int{}
	for _, l := range g.Labels {
		perClass[l]++
	}
	for i := range split.Len() {
		l := int32(split.Label(i))
		self, ok := keyIndex[split.Key(i)]
		if !ok {
			self = -1
		}
		rel := perClass[l]
		if self >= 0 {
			rel--
		}
		if rel <= 0 {
			continue // disjoint train and gallery classes: nothing to find
		}
		v.labels, v.self, v.rel = append(v.labels, l), append(v.self, self), append(v.rel, rel)
	}
	if len(v.labels) < split.Len() {
		v.loader = nil // a validation over some images only would mislead
	}
	return v
}

func (v *validation) usable() bool { return v.loader != nil && len(v.labels) > 0 }

func (v *validation) String() string {
	if !v.usable() {
		return "no validation"
	}
	return fmt.Sprintf("validation on %d held-out images", len(v.labels))
}

// search runs fn over the validation images in chunks.
func (v *validation) search(fn func(lo int, images []float32, n int) error) error {
	return v.loader.Chunks(context.Background(), len(v.labels), 256, func(lo, k int, images []float32) error {
		return fn(lo, images, k)
	})
}

func (v *validation) add(acc *eval.Accumulator, q int, hits []engine.Hit) {
	acc.Add(v.labelsOf(hits), int(v.labels[q]), v.rel[q])
}

// labelsOf returns the gallery labels of hits.
func (v *validation) labelsOf(hits []engine.Hit) []int {
	g := v.e.Gallery()
	labels := make([]int, len(hits))
	for i, h := range hits {
		labels[i] = int(g.Labels[h.Index])
	}
	return labels
}

// decoderScore is the precision at 10 of the decoder's generated order.
func (v *validation) decoderScore() (float64, string, error) {
	acc, err := eval.New([]int{1, 10}, 10)
	if err != nil {
		return 0, "", err
	}
	err = v.search(func(lo int, images []float32, n int) error {
		opt := engine.Options{K: 10, Exclude: func(q, id int) bool { return id == v.self[lo+q] }}
		hits, _, err := v.e.Search(engine.IRGenGen, images, n, opt)
		if err != nil {
			return err
		}
		for q, hs := range hits {
			v.add(acc, lo+q, hs)
		}
		return nil
	})
	r := acc.Result()
	return r.Precision[10], fmt.Sprintf("irgen-gen P@1 %.4f P@10 %.4f", r.Precision[1], r.Precision[10]), err
}

// chooseRerank picks the weight of the decoder's prior in the irgen
// ranking on the validation images (see pickLambda).
func (v *validation) chooseRerank(ctx context.Context) (engine.Rerank, error) {
	type cands struct {
		q  int
		cs []engine.Candidate
	}
	var all []cands
	opt := engine.Options{K: 100}
	err := v.search(func(lo int, images []float32, n int) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		cs, _, err := v.e.Candidates(images, n, opt)
		for q := range cs {
			all = append(all, cands{lo + q, cs[q]})
		}
		return err
	})
	if err != nil {
		return engine.Rerank{}, err
	}
	per := make([][]queryScores, len(lambdas))
	for i, l := range lambdas {
		per[i] = make([]queryScores, len(all))
		for n, c := range all {
			self := v.self[c.q]
			hits := engine.Rank(c.cs, l, 100, func(id int) bool { return id == self })
			per[i][n] = scoreQuery(v.labelsOf(hits), int(v.labels[c.q]), v.rel[c.q])
		}
		m := meanScores(per[i])
		fmt.Fprintf(stderr, "irgen: ranking weight %-5g on %d validation images: P@1 %.4f P@10 %.4f R@10 %.4f MAP@100 %.4f\n",
			l, len(all), m[0], m[1], m[2], m[3])
	}
	best := pickLambda(per)
	fmt.Fprintf(stderr, "irgen: ranking weight %g chosen\n", lambdas[best])
	return engine.Rerank{Lambda: lambdas[best], Queries: len(all), Metrics: scoreMap(meanScores(per[best]))}, nil
}

// maxRef bounds the training images the tokenizer's validation images are
// searched among.
const maxRef = 10000

// featureValidation scores the tokenizer during training: exact kNN of
// the validation images' features among those of a sample of the
// training images.
type featureValidation struct {
	ref, val             *dataset.Loader
	refLabels, valLabels []int
}

// newFeatureValidation returns nil when nothing is held out.
func newFeatureValidation(s dataset.Split, trainIdx, valIdx []int, t imageproc.Transform) *featureValidation {
	if len(valIdx) == 0 {
		return nil
	}
	ref := trainIdx
	if len(ref) > maxRef {
		rng := rand.New(rand.NewPCG(1, 0x5eed))
		ref = slices.Clone(ref)
		rng.Shuffle(len(ref), func(i, j int) { ref[i], ref[j] = ref[j], ref[i] })
		ref = ref[:maxRef]
	}
	v := &featureValidation{ref: dataset.NewLoader(dataset.Sub(s, ref), t, config.Workers()), val: dataset.NewLoader(dataset.Sub(s, valIdx), t, config.Workers())}
	for _, i := range ref {
		v.refLabels = append(v.refLabels, s.Label(i))
	}
	for _, i := range valIdx {
		v.valLabels = append(v.valLabels, s.Label(i))
	}
	return v
}

func (v *featureValidation) String() string {
	if v == nil {
		return "no validation"
	}
	return fmt.Sprintf("validation: kNN of %d held-out images among %d", len(v.valLabels), len(v.refLabels))
}

// score is the kNN precision at 10 of the validation images.
func (v *featureValidation) score(m *tokenizer.Model) (float64, string, error) {
	rf, err := tokenizer.Encode(m, v.ref, indices(len(v.refLabels)))
	if err != nil {
		return 0, "", err
	}
	vf, err := tokenizer.Encode(m, v.val, indices(len(v.valLabels)))
	if err != nil {
		return 0, "", err
	}
	ix, err := knn.New(m.Config.FeatureDim, knn.Cosine)
	if err != nil {
		return 0, "", err
	}
	if err := ix.Add(rf); err != nil {
		return 0, "", err
	}
	res, err := ix.SearchBatch(vf, 10, 0)
	if err != nil {
		return 0, "", err
	}
	acc, err := eval.New([]int{1, 10}, 10)
	if err != nil {
		return 0, "", err
	}
	for q, rs := range res {
		labels := make([]int, len(rs))
		for i, r := range rs {
			labels[i] = v.refLabels[r.ID]
		}
		acc.Add(labels, v.valLabels[q], 10)
	}
	r := acc.Result()
	return r.Precision[10], fmt.Sprintf("kNN P@1 %.4f P@10 %.4f", r.Precision[1], r.Precision[10]), nil
}

func indices(n int) []int {
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	return idx
}
