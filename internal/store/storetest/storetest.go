// Package storetest holds the checks that the tests of the binary formats
// built on package store share. Only tests import it.
package storetest

import (
	"bytes"
	"encoding"
	"errors"
	"io"
	"testing"
)

// FuzzRewrite fuzzes read, the reader of a binary format, from seeds:
// whatever it accepts must write back, with WriteTo, as the bytes it was
// read from (the start of the input), and then pass check when check is
// not nil.
func FuzzRewrite[T io.WriterTo](f *testing.F, seeds [][]byte, read func(data []byte) (T, error), check func(t *testing.T, v T)) {
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := read(data)
		if err != nil {
			return
		}
		var out bytes.Buffer
		if _, err := v.WriteTo(&out); err != nil {
			t.Fatalf("accepted input does not write: %v", err)
		}
		if !bytes.HasPrefix(data, out.Bytes()) {
			t.Fatal("read then write changed the input")
		}
		if check != nil {
			check(t, v)
		}
	})
}

// Unmarshal is a reader for FuzzRewrite of a type that reads itself with
// UnmarshalBinary: a new *T filled from data.
func Unmarshal[T any, P interface {
	*T
	encoding.BinaryUnmarshaler
}](data []byte) (P, error) {
	v := P(new(T))
	return v, v.UnmarshalBinary(data)
}

// Bad is an input that a reader must reject with an error wrapping Want.
// It names a struct type rather than defining one, so that tables of
// cases may leave out the field names.
type Bad = struct {
	Name string
	Data []byte
	Want error
}

// Edit returns a copy of data changed by f.
func Edit(data []byte, f func(b []byte)) []byte {
	b := bytes.Clone(data)
	f(b)
	return b
}

// Truncated returns good cut to the lengths from, from+step, ... below
// len(good), each to be rejected with an error wrapping want.
func Truncated(good []byte, from, step int, want error) []Bad {
	var bad []Bad
	for cut := from; cut < len(good); cut += step {
		bad = append(bad, Bad{"truncated", good[:cut], want})
	}
	return bad
}

// Rejects runs read on each input, in a subtest named after it: read
// must fail with an error wrapping the input's Want. read may check more,
// say that the failed read changed nothing.
func Rejects(t *testing.T, bad []Bad, read func(t *testing.T, data []byte) error) {
	t.Helper()
	for _, b := range bad {
		t.Run(b.Name, func(t *testing.T) {
			if err := read(t, b.Data); !errors.Is(err, b.Want) {
				t.Errorf("error %v; want %v", err, b.Want)
			}
		})
	}
}
