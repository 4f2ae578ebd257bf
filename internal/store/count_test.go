package store

import (
	"bytes"
	"io"
	"strings"
	"testing"
)

func TestCount(t *testing.T) {
	var buf bytes.Buffer
	w := &CountWriter{W: &buf}
	io.WriteString(w, "hello, ")
	io.WriteString(w, "world")
	if w.N != 12 || buf.String() != "hello, world" {
		t.Errorf("CountWriter: N %d, wrote %q", w.N, buf.String())
	}
	r := &CountReader{R: strings.NewReader("hello, world")}
	data, err := io.ReadAll(r)
	if err != nil || r.N != int64(len(data)) || r.N != 12 {
		t.Errorf("CountReader: N %d after reading %q, %v", r.N, data, err)
	}
}
