package dataset

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/irgen/irgen/internal/imageproc"
	"github.com/irgen/irgen/internal/vec"
)

// FlipCheck is the evidence on whether horizontal flips keep the class of
// a collection's images: the 1-nearest-neighbour accuracy, on pixels, of
// probe images against reference images, as they are and mirrored. On
// Fashion-MNIST a mirrored garment is still recognized well above chance;
// a mirrored digit mostly is not.
type FlipCheck struct {
	Probes            int     // probe images (as many references)
	Original, Flipped float64 // 1-NN accuracy of the probes as they are and mirrored
	Chance            float64 // accuracy of a label drawn by the references' class shares
}

// minSignal is the least lift of Original over Chance with which the check
// tells anything: below it the pixels carry too little of the class.
const minSignal = 0.05

// Keeps reports whether flips keep the class: mirrored probes are
// recognized at least half as far above chance as the originals. When the
// pixels carry too little of the class to tell (photographs of objects
// rarely have a nearest neighbour of their class on raw pixels) it keeps
// flips, the usual augmentation for photographs.
func (c FlipCheck) Keeps() bool {
	lift := c.Original - c.Chance
	return lift < minSignal || c.Flipped-c.Chance >= lift/2
}

func (c FlipCheck) String() string {
	verdict := "flips keep the class"
	if !c.Keeps() {
		verdict = "flips change the class"
	}
	return fmt.Sprintf("1-NN on pixels of %d images: %.3f as they are, %.3f mirrored, chance %.3f: %s",
		c.Probes, c.Original, c.Flipped, c.Chance, verdict)
}

// CheckFlips draws up to n images of idx (seeded), loads them with the eval
// transform of t (keep it small: 32 px is plenty), and measures FlipCheck
// with every second drawn image as a reference and the others as probes.
func CheckFlips(s Split, idx []int, t imageproc.Transform, n int, seed int64, workers int) (FlipCheck, error) {
	rng := rand.New(rand.NewPCG(uint64(seed), 0xf11b))
	pick := make([]int, 0, min(n, len(idx)))
	for _, j := range rng.Perm(len(idx))[:min(n, len(idx))] {
		pick = append(pick, idx[j])
	}
	if len(pick) < 4 {
		return FlipCheck{}, fmt.Errorf("dataset: flip check needs at least 4 images, have %d", len(pick))
	}
	size := t.Len()
	images := make([]float32, len(pick)*size)
	labels := make([]int32, len(pick))
	if err := NewLoader(s, t, workers).Fill(pick, -1, images, labels); err != nil {
		return FlipCheck{}, err
	}
	var ref, probe, mirrored [][]float32
	var refLabels, probeLabels []int32
	for i := range pick {
		x := unitCentered(images[i*size : (i+1)*size])
		if i%2 == 0 {
			ref, refLabels = append(ref, x), append(refLabels, labels[i])
			continue
		}
		probe, probeLabels = append(probe, x), append(probeLabels, labels[i])
		mirrored = append(mirrored, unitCentered(mirror(images[i*size:(i+1)*size], t.Size, t.Channels)))
	}
	return FlipCheck{
		Probes:   len(probe),
		Original: nnAccuracy(probe, probeLabels, ref, refLabels),
		Flipped:  nnAccuracy(mirrored, probeLabels, ref, refLabels),
		Chance:   chance(probeLabels, refLabels),
	}, nil
}

// mirror returns a copy of the HWC image x flipped left to right.
func mirror(x []float32, size, channels int) []float32 {
	out := make([]float32, len(x))
	for y := range size {
		row := y * size * channels
		for col := range size {
			src, dst := row+col*channels, row+(size-1-col)*channels
			copy(out[dst:dst+channels], x[src:src+channels])
		}
	}
	return out
}

// unitCentered returns x less its mean, scaled to unit length (a copy).
func unitCentered(x []float32) []float32 {
	var mean float64
	for _, v := range x {
		mean += float64(v)
	}
	mean /= float64(max(len(x), 1))
	out := make([]float32, len(x))
	for i, v := range x {
		out[i] = float32(float64(v) - mean)
	}
	vec.Normalize(out)
	return out
}

// nnAccuracy is the share of queries whose most similar reference (by dot
// product) has their label.
func nnAccuracy(queries [][]float32, qLabels []int32, refs [][]float32, rLabels []int32) float64 {
	hits := 0
	for q, x := range queries {
		best, bestDot := -1, float32(math.Inf(-1))
		for r, y := range refs {
			if dot := vec.Dot(x, y); dot > bestDot {
				best, bestDot = r, dot
			}
		}
		if best >= 0 && rLabels[best] == qLabels[q] {
			hits++
		}
	}
	return float64(hits) / float64(max(len(queries), 1))
}

// chance is the accuracy of labelling each probe with the label of a
// reference drawn at random.
func chance(probe, ref []int32) float64 {
	share := map[int32]float64{}
	for _, l := range ref {
		share[l] += 1 / float64(len(ref))
	}
	var c float64
	for _, l := range probe {
		c += share[l]
	}
	return c / float64(max(len(probe), 1))
}
