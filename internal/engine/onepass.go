package engine

import (
	"bytes"
	"reflect"
	"strings"

	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/irgen/irgen/internal/ckpt"
	"github.com/irgen/irgen/internal/decoder"
	"github.com/irgen/irgen/internal/tokenizer"
)

// shareEncoder lets the irgen method encode each query once when the
// decoder's encoder is the tokenizer's, unchanged (train-decoder
// --dec-encoder-lr-mult 0): same configuration and every variable equal
// bit for bit, whatever the bundle records. The decoder's query encoder
// then also computes the tokenizer's feature (tokenizer.Head), from the
// same tokens, and Tokenizer.Features is not called. Any difference keeps
// the two passes.
func (e *Engine) shareEncoder() error {
	d, t := e.Decoder, e.Tokenizer
	if d == nil || !reflect.DeepEqual(d.Encoder, t.Config.Encoder) || !sameVars(d.Vars, t.Vars, decoder.EncoderScope+"/") {
		return nil
	}
	fc := tokenizer.HeadScope + "/fc/"
	for v := range d.Vars.IterVariables() {
		if strings.HasPrefix(v.Path(), tokenizer.HeadScope+"/") {
			return nil // the decoder has variables of its own there
		}
	}
	if _, err := ckpt.CopyVars(t.Vars, d.Vars, fc, ""); err != nil {
		return err
	}
	c := t.Config
	d.Head = &decoder.Head{Dim: c.FeatureDim, Graph: func(root *model.Scope, tokens *Node) *Node {
		return tokenizer.Head(root, c, tokens)
	}}
	e.onePass = true
	return nil
}

// OnePass reports whether the irgen method encodes each query once, for
// both the decoder and the re-ranking feature (see shareEncoder).
func (e *Engine) OnePass() bool { return e.onePass }

// sameVars reports whether a and b hold the same variables under prefix,
// at least one, with the same shapes and bytes.
func sameVars(a, b *model.Store, prefix string) bool {
	vals := func(s *model.Store) map[string]*tensors.Tensor {
		m := map[string]*tensors.Tensor{}
		for v := range s.IterVariables() {
			if strings.HasPrefix(v.Path(), prefix) {
				t, err := v.Value()
				if err != nil {
					return nil
				}
				m[v.Path()] = t
			}
		}
		return m
	}
	va, vb := vals(a), vals(b)
	if len(va) == 0 || len(va) != len(vb) {
		return false
	}
	for p, ta := range va {
		tb, ok := vb[p]
		if !ok || !ta.Shape().Equal(tb.Shape()) || !sameBytes(ta, tb) {
			return false
		}
	}
	return true
}

// sameBytes reports whether a and b hold the same bytes.
func sameBytes(a, b *tensors.Tensor) bool {
	same := false
	err := a.ConstBytes(func(x []byte) {
		b.ConstBytes(func(y []byte) { same = bytes.Equal(x, y) })
	})
	return err == nil && same
}
