package train

import "math/rand/v2"

// Order returns the order in which epoch visits n items: a permutation that
// depends only on seed and epoch, so that a resumed run continues with the
// same batches.
func Order(seed int64, epoch, n int) []int {
	return rand.New(rand.NewPCG(uint64(seed), uint64(epoch))).Perm(n)
}
