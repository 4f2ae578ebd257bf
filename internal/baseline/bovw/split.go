package bovw

import (
	"fmt"
	"math"
)

// VocabFile is the file, inside a model bundle, of a vocabulary learned
// on its own ('irgen train-bovw --train-only'), for split workers to count
// the gallery's words with: an index file of no images.
const VocabFile = "bovw-vocab.bin"

// VocabularyIndex returns the vocabulary as an index of no images, the
// content of VocabFile.
func VocabularyIndex(c Config, v *Vocabulary) *Index {
	return &Index{Config: c, Vocab: v, IDF: make([]float32, c.K), Start: []int{0}}
}

// Dense writes sparse counts (word, count, … as CountWords returns them)
// into row, K values, zero for the words the image lacks.
func Dense(sp []uint32, row []float32) {
	clear(row)
	for j := 0; j+1 < len(sp); j += 2 {
		row[sp[j]] = float32(sp[j+1])
	}
}

// maxCount is the largest count a float32 holds exactly.
const maxCount = 1 << 24

// Sparse is Dense's inverse: the nonzero counts of row, in CountWords'
// form. It refuses a row that is not a count per word.
func Sparse(row []float32) ([]uint32, error) {
	var sp []uint32
	for k, v := range row {
		if v == 0 {
			continue
		}
		if !(v > 0 && v <= maxCount) || v != float32(math.Trunc(float64(v))) {
			return nil, fmt.Errorf("%w: word %d has count %v", ErrFormat, k, v)
		}
		sp = append(sp, uint32(k), uint32(v))
	}
	return sp, nil
}
