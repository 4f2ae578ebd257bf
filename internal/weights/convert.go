package weights

import (
	"fmt"
	"strings"
)

// convert reads the encoder under prefix and lays it out canonically.
func convert(f *stFile, lay *layout, p string) (*ViT, error) {
	a, pw, pos, err := readArch(f, lay, p)
	if err != nil {
		return nil, err
	}
	d := a.Dim
	c := converter{f: f, params: make(map[string]Tensor)}
	c.embeddings(&a, lay, p, pw, pos)
	for i := range a.Depth {
		c.block(i, fmt.Sprintf("%s%s%d.", p, lay.blockPrefix, i), lay, d, a.MLPDim)
	}
	c.vector(ParamFinalNormGain, p+lay.final.w, d)
	c.vector(ParamFinalNormBias, p+lay.final.b, d)
	if lay.format == FormatCLIP {
		if err := c.projection(&a, p); err != nil {
			return nil, err
		}
	}
	if c.err != nil {
		return nil, c.err
	}
	return &ViT{Arch: a, Params: c.params}, nil
}

// readArch infers the architecture of the encoder under prefix p from the
// shapes of its tensors, and returns it with the patch-embedding weight
// and the position embedding it read.
func readArch(f *stFile, lay *layout, p string) (a Arch, pw, pos Tensor, err error) {
	pw, err = f.read(p + lay.patch.w)
	if err != nil {
		return Arch{}, Tensor{}, Tensor{}, err
	}
	if len(pw.Shape) != 4 || pw.Shape[2] != pw.Shape[3] || pw.Len() == 0 {
		return Arch{}, Tensor{}, Tensor{}, fmt.Errorf("%w: tensor %q has shape %v, want [D, C, P, P] with square non-empty patches",
			ErrShape, p+lay.patch.w, pw.Shape)
	}
	a = Arch{
		Dim:        pw.Shape[0],
		Channels:   pw.Shape[1],
		Patch:      pw.Shape[2],
		Activation: lay.activation,
		NormEps:    lay.eps,
		Format:     lay.format,
	}
	a.Heads = guessHeads(a.Dim)
	d := a.Dim

	pos, err = f.read(p + lay.pos)
	if err != nil {
		return Arch{}, Tensor{}, Tensor{}, err
	}
	rows, ok := posRows(pos.Shape, lay.lead, d)
	if !ok {
		want := "[1+N, D]"
		if lay.lead {
			want = "[1, 1+N, D]"
		}
		return Arch{}, Tensor{}, Tensor{}, fmt.Errorf("%w: tensor %q has shape %v, want %s with D=%d", ErrShape, p+lay.pos, pos.Shape, want, d)
	}
	a.NumPatches = rows - 1

	a.Depth = depth(f, p+lay.blockPrefix)
	if a.Depth == 0 {
		return Arch{}, Tensor{}, Tensor{}, fmt.Errorf("%w: no transformer blocks named %q", ErrMissing, p+lay.blockPrefix+"0.*")
	}
	fc1 := p + lay.blockPrefix + "0." + lay.fc1.w
	info, ok := f.tensors[fc1]
	if !ok {
		return Arch{}, Tensor{}, Tensor{}, fmt.Errorf("%w %q", ErrMissing, fc1)
	}
	if len(info.Shape) != 2 || info.Shape[1] != uint64(d) || info.Shape[0] == 0 {
		return Arch{}, Tensor{}, Tensor{}, fmt.Errorf("%w: tensor %q has shape %v, want [H, %d]", ErrShape, fc1, info.Shape, d)
	}
	a.MLPDim = int(info.Shape[0]) // bounded by the file size, checked in openST
	return a, pw, pos, nil
}

// embeddings stores the patch embedding pw, the class token, the position
// embedding pos and, when the file has one, the layer norm before the
// blocks (setting a.PreNorm).
func (c *converter) embeddings(a *Arch, lay *layout, p string, pw, pos Tensor) {
	d := a.Dim
	c.params[ParamPatchKernel] = Tensor{Shape: []int{a.Patch, a.Patch, a.Channels, d}, Data: patchKernel(pw.Data, d, a.Channels, a.Patch)}
	if c.f.has(p + lay.patch.b) {
		c.vector(ParamPatchBias, p+lay.patch.b, d)
	} else {
		c.params[ParamPatchBias] = Tensor{Shape: []int{d}, Data: make([]float32, d)}
	}
	clsShape := []int{d}
	if lay.lead {
		clsShape = []int{1, 1, d}
	}
	if t := c.read(p+lay.cls, clsShape...); c.err == nil {
		c.params[ParamCLS] = Tensor{Shape: []int{d}, Data: t.Data}
	}
	c.params[ParamPos] = Tensor{Shape: []int{a.NumPatches + 1, d}, Data: pos.Data}
	if lay.preNorm.w != "" && c.f.has(p+lay.preNorm.w) {
		a.PreNorm = true
		c.vector(ParamPreNormGain, p+lay.preNorm.w, d)
		c.vector(ParamPreNormBias, p+lay.preNorm.b, d)
	}
}

// block stores transformer block i, whose tensors are named with prefix b.
func (c *converter) block(i int, b string, lay *layout, d, mlpDim int) {
	c.vector(BlockParam(i, BlockLN1Gain), b+lay.ln1.w, d)
	c.vector(BlockParam(i, BlockLN1Bias), b+lay.ln1.b, d)
	if lay.qkv.w != "" {
		c.linear(BlockParam(i, BlockQKVKernel), BlockParam(i, BlockQKVBias), b, lay.qkv, d, 3*d)
	} else {
		c.qkv(i, b, lay, d)
	}
	c.linear(BlockParam(i, BlockOutKernel), BlockParam(i, BlockOutBias), b, lay.out, d, d)
	c.vector(BlockParam(i, BlockLN2Gain), b+lay.ln2.w, d)
	c.vector(BlockParam(i, BlockLN2Bias), b+lay.ln2.b, d)
	c.linear(BlockParam(i, BlockFC1Kernel), BlockParam(i, BlockFC1Bias), b, lay.fc1, d, mlpDim)
	c.linear(BlockParam(i, BlockFC2Kernel), BlockParam(i, BlockFC2Bias), b, lay.fc2, mlpDim, d)
}

// projection stores CLIP's projection into the joint space, which
// CLIPModel and CLIPVisionModelWithProjection keep beside vision_model,
// when the file has one (setting a.ProjDim).
func (c *converter) projection(a *Arch, p string) error {
	d := a.Dim
	name := strings.TrimSuffix(p, "vision_model.") + "visual_projection.weight"
	info, ok := c.f.tensors[name]
	if !ok || c.err != nil {
		return nil
	}
	if len(info.Shape) != 2 || info.Shape[0] == 0 {
		return fmt.Errorf("%w: tensor %q has shape %v, want [E, %d]", ErrShape, name, info.Shape, d)
	}
	a.ProjDim = int(info.Shape[0])
	if t := c.read(name, a.ProjDim, d); c.err == nil {
		c.params[ParamProjKernel] = Tensor{Shape: []int{d, a.ProjDim}, Data: transpose(t.Data, a.ProjDim, d)}
	}
	return nil
}

// posRows checks a position-embedding shape and returns its row count 1+N.
func posRows(shape []int, lead bool, d int) (int, bool) {
	if lead {
		if len(shape) != 3 || shape[0] != 1 {
			return 0, false
		}
		shape = shape[1:]
	}
	if len(shape) != 2 || shape[0] < 2 || shape[1] != d {
		return 0, false
	}
	return shape[0], true
}

// converter accumulates canonical params, keeping the first error so that
// the mapping code reads straight through.
type converter struct {
	f      *stFile
	params map[string]Tensor
	err    error
}

func (c *converter) read(name string, shape ...int) Tensor {
	if c.err != nil {
		return Tensor{}
	}
	t, err := c.f.read(name, shape...)
	c.err = err
	return t
}

// vector stores the [n] tensor src under dst.
func (c *converter) vector(dst, src string, n int) {
	if t := c.read(src, n); c.err == nil {
		c.params[dst] = t
	}
}

// linear stores a PyTorch Linear (weight [out, in], bias [out]) under
// prefix b as kernel [in, out] and bias [out].
func (c *converter) linear(kernel, bias, b string, l linear, in, out int) {
	w := c.read(b+l.w, out, in)
	bb := c.read(b+l.b, out)
	if c.err != nil {
		return
	}
	c.params[kernel] = Tensor{Shape: []int{in, out}, Data: transpose(w.Data, out, in)}
	c.params[bias] = bb
}

// qkv fuses separate q, k, v projections into kernel [D, 3D] and bias [3D].
func (c *converter) qkv(i int, b string, lay *layout, d int) {
	var ws [3]Tensor
	bias := make([]float32, 0, 3*d)
	for s, l := range []linear{lay.q, lay.k, lay.v} {
		ws[s] = c.read(b+l.w, d, d)
		bias = append(bias, c.read(b+l.b, d).Data...)
	}
	if c.err != nil {
		return
	}
	kernel := make([]float32, d*3*d)
	for s, w := range ws {
		for out := range d {
			for in := range d {
				kernel[in*3*d+s*d+out] = w.Data[out*d+in]
			}
		}
	}
	c.params[BlockParam(i, BlockQKVKernel)] = Tensor{Shape: []int{d, 3 * d}, Data: kernel}
	c.params[BlockParam(i, BlockQKVBias)] = Tensor{Shape: []int{3 * d}, Data: bias}
}

// transpose returns the [cols, rows] transpose of a row-major [rows, cols]
// matrix.
func transpose(m []float32, rows, cols int) []float32 {
	out := make([]float32, len(m))
	for r := range rows {
		row := m[r*cols : (r+1)*cols]
		for c, x := range row {
			out[c*rows+r] = x
		}
	}
	return out
}

// patchKernel turns a conv weight [D, C, P, P] into [P, P, C, D], so that a
// patch flattened in (row, col, channel) order times the [P·P·C, D] kernel
// gives the conv output.
func patchKernel(w []float32, d, ch, p int) []float32 {
	out := make([]float32, len(w))
	for o := range d {
		for c := range ch {
			for kh := range p {
				for kw := range p {
					out[((kh*p+kw)*ch+c)*d+o] = w[((o*ch+c)*p+kh)*p+kw]
				}
			}
		}
	}
	return out
}
