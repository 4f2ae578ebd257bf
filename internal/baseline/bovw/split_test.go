package bovw

import (
	"bytes"
	"context"
	"errors"
	"math"
	"slices"
	"testing"

	"github.com/irgen/irgen/internal/imageproc"
)

// TestSplitBuild learns the vocabulary alone, counts the gallery's words
// in two parts as split workers do, carries the counts through their
// dense rows, and checks that the index laid out from them is Build's,
// byte for byte.
func TestSplitBuild(t *testing.T) {
	ctx := context.Background()
	tf := imageproc.DefaultTransform(28, 1)
	data, _ := textures(60, 1, tf)
	keys := make([]string, 60)
	for i := range keys {
		keys[i] = string(rune('a' + i))
	}
	o := BuildOptions{Config: smallConfig(), Transform: tf, Train: memImages(data, tf.Len()),
		Gallery: memImages(data, tf.Len()), GalleryKeys: keys, Workers: 2}
	whole, _, err := Build(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	vocab, bs, err := Learn(ctx, BuildOptions{Config: o.Config, Transform: tf, Train: o.Train, Workers: 2})
	if err != nil || bs.Sampled == 0 {
		t.Fatalf("Learn: %v (stats %+v)", err, bs)
	}
	if !slices.Equal(vocab.Words, whole.Vocab.Words) {
		t.Fatal("Learn's vocabulary differs from Build's")
	}
	var counts [][]uint32
	row := make([]float32, o.Config.K)
	for _, part := range [][2]int{{0, 25}, {25, 60}} {
		sub := memImages(data[part[0]*tf.Len():part[1]*tf.Len()], tf.Len())
		got, st, err := CountWords(ctx, BuildOptions{Config: o.Config, Transform: tf, Gallery: sub, Workers: 1}, vocab)
		if err != nil || st.Images != part[1]-part[0] {
			t.Fatalf("CountWords %v: %v (stats %+v)", part, err, st)
		}
		for _, sp := range got {
			Dense(sp, row)
			back, err := Sparse(row)
			if err != nil || !slices.Equal(back, sp) {
				t.Fatalf("Sparse(Dense(%v)) = %v, %v", sp, back, err)
			}
			counts = append(counts, back)
		}
	}
	var want, got bytes.Buffer
	if _, err := whole.WriteTo(&want); err != nil {
		t.Fatal(err)
	}
	if _, err := NewIndex(o.Config, vocab, counts, keys).WriteTo(&got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), want.Bytes()) {
		t.Error("the index from split counts differs from Build's")
	}
	if _, _, err := CountWords(ctx, BuildOptions{Config: smallConfig(), Transform: tf, Gallery: o.Gallery}, &Vocabulary{K: 3}); !errors.Is(err, ErrConfig) {
		t.Errorf("CountWords with a vocabulary of another K: %v; want ErrConfig", err)
	}
}

// TestVocabularyFile checks that a vocabulary written as an index of no
// images reads back with its words and configuration.
func TestVocabularyFile(t *testing.T) {
	ix, _, _ := buildTextures(t, smallConfig())
	var buf bytes.Buffer
	if _, err := VocabularyIndex(ix.Config, ix.Vocab).WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	var got Index
	if _, err := got.ReadFrom(&buf); err != nil {
		t.Fatal(err)
	}
	if got.Len() != 0 || got.Config != ix.Config || !slices.Equal(got.Vocab.Words, ix.Vocab.Words) {
		t.Errorf("read back %d images, config %+v; want none, %+v and the same words", got.Len(), got.Config, ix.Config)
	}
}

func TestSparseRejects(t *testing.T) {
	for _, row := range [][]float32{{0, -1}, {0.5}, {float32(math.NaN())}, {float32(math.Inf(1))}, {1 << 25}} {
		if sp, err := Sparse(row); !errors.Is(err, ErrFormat) {
			t.Errorf("Sparse(%v) = %v, %v; want ErrFormat", row, sp, err)
		}
	}
}
