// Package semid defines the semantic image identifier: the sequence of M
// residual-quantization tokens that names an image, its text form, and a
// packed integer form for map keys.
//
// An ID is a plain []int32. That is the representation the quantizer's codes
// and the decoder's token tensors already use, so no conversion or copying is
// needed between rq, trie, beam and the model, and a slice allows any number
// of levels M. The cost is that an ID is not comparable; use Equal, or Key
// when a map key is needed.
package semid

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// MaxLen is the largest number of tokens Parse accepts.
const MaxLen = 64

// Sep separates tokens in the text form of an ID.
const Sep = '-'

var (
	// ErrSyntax reports a malformed text ID.
	ErrSyntax = errors.New("semid: invalid syntax")
	// ErrRange reports an ID whose length or tokens are out of range.
	ErrRange = errors.New("semid: out of range")
)

// ID is a semantic identifier: one token per quantization level, each in
// [0, L). A nil or empty ID is the empty prefix.
type ID []int32

// String returns the tokens in decimal joined by '-', for example
// "12-200-3-7". The empty ID is "".
func (id ID) String() string {
	var buf [64]byte
	b := buf[:0]
	for i, tok := range id {
		if i > 0 {
			b = append(b, Sep)
		}
		b = strconv.AppendInt(b, int64(tok), 10)
	}
	return string(b)
}

// Parse parses the canonical text form written by String: 1 to MaxLen
// non-negative decimal tokens without signs or leading zeros, joined by '-'.
// Every accepted s satisfies Parse(s).String() == s.
func Parse(s string) (ID, error) {
	if s == "" {
		return nil, fmt.Errorf("%w: empty id", ErrSyntax)
	}
	n := strings.Count(s, string(Sep)) + 1
	if n > MaxLen {
		return nil, fmt.Errorf("%w: %d tokens, at most %d", ErrRange, n, MaxLen)
	}
	id := make(ID, n)
	for i := range id {
		part, rest, _ := strings.Cut(s, string(Sep))
		tok, err := parseToken(part)
		if err != nil {
			return nil, err
		}
		id[i], s = tok, rest
	}
	return id, nil
}

func parseToken(s string) (int32, error) {
	if s == "" {
		return 0, fmt.Errorf("%w: empty token", ErrSyntax)
	}
	if len(s) > 1 && s[0] == '0' {
		return 0, fmt.Errorf("%w: leading zero in %q", ErrSyntax, s)
	}
	var v int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("%w: bad token %q", ErrSyntax, s)
		}
		v = v*10 + int64(c-'0')
		if v > 1<<31-1 {
			return 0, fmt.Errorf("%w: token %q", ErrRange, s)
		}
	}
	return int32(v), nil
}

// Equal reports whether id and other have the same tokens.
func (id ID) Equal(other ID) bool {
	if len(id) != len(other) {
		return false
	}
	for i := range id {
		if id[i] != other[i] {
			return false
		}
	}
	return true
}

// Clone returns a copy of id that shares no memory with it.
func (id ID) Clone() ID {
	if id == nil {
		return nil
	}
	return append(ID(make([]int32, 0, len(id))), id...)
}

// Compare orders IDs lexicographically by token, a shorter prefix first.
// It returns -1, 0 or +1.
func (id ID) Compare(other ID) int {
	for i := 0; i < len(id) && i < len(other); i++ {
		if id[i] != other[i] {
			if id[i] < other[i] {
				return -1
			}
			return 1
		}
	}
	switch {
	case len(id) < len(other):
		return -1
	case len(id) > len(other):
		return 1
	}
	return 0
}

// Validate reports whether id has exactly m tokens, each in [0, l).
func (id ID) Validate(m, l int) error {
	if len(id) != m {
		return fmt.Errorf("%w: id %s has %d tokens, want %d", ErrRange, id, len(id), m)
	}
	for i, tok := range id {
		if tok < 0 || int(tok) >= l {
			return fmt.Errorf("%w: id %s token %d is %d, want [0,%d)", ErrRange, id, i, tok, l)
		}
	}
	return nil
}

// KeyLen is the longest ID that Key packs exactly.
const KeyLen = 8

// Key returns a uint64 for use as a map key. When id has at most KeyLen
// tokens, each in [0, 256) (M ≤ 8, L ≤ 256), the tokens are packed 8 bits
// each, first token in the most significant used byte, and exact is true:
// distinct IDs of the same length get distinct keys and FromKey inverts it.
// IDs of different lengths may collide (a leading zero token is invisible),
// so keep one length per map. Otherwise Key returns a 64-bit FNV-1a hash of
// the tokens and exact is false: equal IDs still get equal keys, but
// distinct IDs may collide, so such a map must also check Equal (or use
// String as the key). Key never panics and does not allocate.
func (id ID) Key() (k uint64, exact bool) {
	if len(id) <= KeyLen {
		exact = true
		for _, tok := range id {
			if uint32(tok) > 0xff {
				exact = false
				break
			}
			k = k<<8 | uint64(tok)
		}
		if exact {
			return k, true
		}
	}
	// FNV-1a over the little-endian bytes of each token.
	const offset64, prime64 = 14695981039346656037, 1099511628211
	h := uint64(offset64)
	for _, tok := range id {
		for s := 0; s < 32; s += 8 {
			h ^= uint64(byte(uint32(tok) >> s))
			h *= prime64
		}
	}
	return h, false
}

// FromKey unpacks an exact key made by Key from an ID of m tokens. It
// returns ErrRange when m is not in [0, KeyLen].
func FromKey(k uint64, m int) (ID, error) {
	if m < 0 || m > KeyLen {
		return nil, fmt.Errorf("%w: key length %d, want [0,%d]", ErrRange, m, KeyLen)
	}
	id := make(ID, m)
	for i := m - 1; i >= 0; i-- {
		id[i] = int32(k & 0xff)
		k >>= 8
	}
	return id, nil
}
