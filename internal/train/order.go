package train

import "math/rand/v2"

// Order returns the order in which epoch visits n items: a permutation that
// depends only on seed and epoch, so that a resumed run continues with the
// same batches.
func Order(seed int64, epoch, n int) []int {
	return rand.New(rand.NewPCG(uint64(seed), uint64(epoch))).Perm(n)
}

// Batches hands out the batches of a run over N items: step i takes batch
// i mod (N/Size) of epoch i / (N/Size), in the epoch's Order. The items
// left over after the last whole batch of an epoch are not visited in it.
type Batches struct {
	Seed    int64
	N, Size int

	perm  []int
	epoch int
}

// PerEpoch is the number of steps of an epoch.
func (b *Batches) PerEpoch() int { return b.N / b.Size }

// At returns the epoch of step i (0-based) and the items of its batch.
func (b *Batches) At(i int) (epoch int, idx []int) {
	spe := b.PerEpoch()
	epoch, j := i/spe, i%spe
	if b.perm == nil || epoch != b.epoch {
		b.perm, b.epoch = Order(b.Seed, epoch, b.N), epoch
	}
	return epoch, b.perm[j*b.Size : (j+1)*b.Size]
}
