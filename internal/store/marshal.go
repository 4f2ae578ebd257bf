package store

import (
	"bytes"
	"fmt"
	"io"
)

// Marshal returns the bytes v writes: the MarshalBinary of a type that
// writes its format with WriteTo.
func Marshal(v io.WriterTo) ([]byte, error) {
	var b bytes.Buffer
	if _, err := v.WriteTo(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// Unmarshal replaces *dst with the value its ReadFrom reads from data,
// which must hold exactly one value of format f: trailing bytes are an
// error wrapping f.ErrFormat. *dst is unchanged on error. It is the
// UnmarshalBinary of a type that reads its format with ReadFrom.
func Unmarshal[T any, P interface {
	*T
	io.ReaderFrom
}](f Format, dst P, data []byte) error {
	r := bytes.NewReader(data)
	var n T
	if _, err := P(&n).ReadFrom(r); err != nil {
		return err
	}
	if r.Len() != 0 {
		return fmt.Errorf("%w: %d trailing bytes", f.errFormat(), r.Len())
	}
	*dst = n
	return nil
}
