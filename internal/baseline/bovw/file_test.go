package bovw

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"hash/crc32"
	"math"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/irgen/irgen/internal/baseline/sift"
	"github.com/irgen/irgen/internal/store"
)

// TestFileOldLayout reads an index laid out byte by byte as the code
// before store.Format wrote it, and checks that WriteTo still writes it.
func TestFileOldLayout(t *testing.T) {
	c := DefaultConfig()
	c.K = 2
	words := make([]float32, 2*sift.DescriptorLen)
	for i := range words {
		words[i] = float32(i%7) / 7
	}
	want := &Index{Config: c, IDF: []float32{0, float32(math.Ln2)}, GalleryDigest: store.KeysDigest([]string{"a", "b"}),
		Start: []int{0, 2, 3}, Word: []uint32{0, 1, 0}, Count: []uint32{4, 1, 2}}
	var err error
	if want.Vocab, err = NewVocabulary(words); err != nil {
		t.Fatal(err)
	}

	head, err := json.Marshal(header{Config: c, K: 2, Dim: sift.DescriptorLen, Images: 2, GalleryDigest: want.GalleryDigest})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	b.WriteString("IRGNBOVW")
	binary.Write(&b, binary.LittleEndian, [2]uint32{1, uint32(len(head))})
	b.Write(head)
	binary.Write(&b, binary.LittleEndian, words)
	binary.Write(&b, binary.LittleEndian, want.IDF)
	binary.Write(&b, binary.LittleEndian, []uint32{2, 0, 4, 1, 1, 1, 0, 2})
	binary.Write(&b, binary.LittleEndian, crc32.Checksum(b.Bytes(), crc32.MakeTable(crc32.Castagnoli)))
	old := b.Bytes()

	var got Index
	if n, err := got.ReadFrom(bytes.NewReader(old)); err != nil || n != int64(len(old)) {
		t.Fatalf("ReadFrom(old layout) = %d, %v; want %d, nil", n, err, len(old))
	}
	if !slices.Equal(got.Vocab.Words, words) {
		t.Errorf("vocabulary %v; want %v", got.Vocab.Words, words)
	}
	cut := func(ix Index) Index { ix.Vocab = nil; return ix }
	if diff := cmp.Diff(cut(*want), cut(got)); diff != "" {
		t.Errorf("read (-want +got):\n%s", diff)
	}
	var out bytes.Buffer
	if _, err := want.WriteTo(&out); err != nil || !bytes.Equal(out.Bytes(), old) {
		t.Errorf("WriteTo wrote %d bytes, %v; want the %d of the old layout", out.Len(), err, len(old))
	}
}
