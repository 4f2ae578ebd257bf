package gallery

import (
	"bytes"
	"errors"
	"testing"
)

func sample() *Gallery {
	g := &Gallery{Dim: 2, M: 3, L: 4, Classes: []string{"a", "b"}}
	g.Append("x.png", 0, []float32{1, 2}, []int32{0, 1, 2})
	g.Append("y.png", 1, []float32{3, 4}, []int32{3, 3, 0})
	return g
}

func TestRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	if _, err := sample().WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	var g Gallery
	if _, err := g.ReadFrom(&buf); err != nil {
		t.Fatal(err)
	}
	if g.Len() != 2 || g.Keys[1] != "y.png" || g.Labels[1] != 1 || g.Feature(1)[1] != 4 || g.Code(1)[0] != 3 {
		t.Errorf("round trip = %+v", g)
	}
}

func TestDamaged(t *testing.T) {
	var buf bytes.Buffer
	sample().WriteTo(&buf)
	good := buf.Bytes()
	flip := bytes.Clone(good)
	flip[len(flip)-6] ^= 1
	ver := bytes.Clone(good)
	ver[8] = 7
	for _, tc := range []struct {
		name string
		data []byte
		want error
	}{
		{"empty", nil, ErrFormat},
		{"truncated", good[:len(good)-9], ErrFormat},
		{"flipped", flip, ErrFormat},
		{"version", ver, ErrVersion},
	} {
		var g Gallery
		if _, err := g.ReadFrom(bytes.NewReader(tc.data)); !errors.Is(err, tc.want) {
			t.Errorf("%s: ReadFrom = %v; want %v", tc.name, err, tc.want)
		}
	}
}

func TestCheck(t *testing.T) {
	g := sample()
	g.Codes[0] = 4
	if err := g.Check(); err == nil {
		t.Error("token outside [0,L) accepted")
	}
	if _, err := sample().Append("z", 0, []float32{1}, []int32{0, 0, 0}); err == nil {
		t.Error("feature of the wrong size accepted")
	}
}

func FuzzReadFrom(f *testing.F) {
	var buf bytes.Buffer
	sample().WriteTo(&buf)
	f.Add(buf.Bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		var g Gallery
		g.ReadFrom(bytes.NewReader(data))
	})
}
