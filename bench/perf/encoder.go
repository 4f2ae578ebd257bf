package main

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"syscall"
	"time"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/irgen/irgen/internal/backend"
	"github.com/irgen/irgen/internal/encoder"
	"github.com/irgen/irgen/internal/nn"
)

// numClasses is the classification head of the train step, as in
// internal/encoder's BenchmarkTrainStep; the peer uses the same.
const numClasses = 10

func newBackend(config string) (compute.Backend, string, error) {
	b, err := backend.New(config)
	if err != nil {
		return nil, "", err
	}
	name := config
	if name == "" {
		name = backend.Default
	}
	return b, name, nil
}

// sizeAndBackend returns the encoder size and the backend (with its
// name) that o names.
func sizeAndBackend(o options) (encoder.Config, compute.Backend, string, error) {
	cfg, err := encoder.Size(o.size)
	if err != nil {
		return encoder.Config{}, nil, "", err
	}
	b, name, err := newBackend(o.backend)
	if err != nil {
		return encoder.Config{}, nil, "", err
	}
	return cfg, b, name, nil
}

// encoderRecord holds the fields every encoder line shares.
func encoderRecord(bench, backendName string, cfg encoder.Config, o options) record {
	fwd := cfg.GFLOPs() * float64(o.batch)
	return record{
		"bench": bench, "backend": backendName, "size": o.size, "batch": o.batch, "phase": o.phase,
		"image_size": cfg.ImageSize, "dim": cfg.Dim, "depth": cfg.Depth, "heads": cfg.Heads, "mlp_dim": cfg.MLPDim,
		"tokens": cfg.Tokens(), "stem": cfg.Stem,
		// Matmul and convolution FLOPs of one call, counted analytically
		// (encoder.Config.GFLOPs: 2 per multiply-add); a train step is
		// taken as 3× the forward (forward, input and weight gradients).
		"matmul_gflop": map[string]float64{"forward": fwd, "train": 3 * fwd}[o.phase],
	}
}

func randomImages(cfg encoder.Config, batch int) (*tensors.Tensor, *tensors.Tensor) {
	rng := rand.New(rand.NewPCG(1, 2))
	img := make([]float32, batch*cfg.ImageSize*cfg.ImageSize*cfg.Channels)
	for i := range img {
		img[i] = float32(rng.NormFloat64())
	}
	lab := make([]int32, batch)
	for i := range lab {
		lab[i] = int32(rng.IntN(numClasses))
	}
	return tensors.FromFlatDataAndDimensions(img, batch, cfg.ImageSize, cfg.ImageSize, cfg.Channels),
		tensors.FromFlatDataAndDimensions(lab, batch)
}

// execer is a compiled GoMLX graph: graph.Exec or model.Exec.
type execer interface {
	Exec(args ...any) ([]*tensors.Tensor, error)
}

// timeExec compiles exec (first call), warms it up and times iters calls
// with args, releasing each call's outputs.
func timeExec(o options, exec execer, args ...any) (compile time.Duration, per []float64, err error) {
	run := func() error {
		out, err := exec.Exec(args...)
		finalize(out)
		return err
	}
	start := time.Now()
	if err := run(); err != nil {
		return 0, nil, err
	}
	compile = time.Since(start)
	for range o.warmup {
		if err := run(); err != nil {
			return 0, nil, err
		}
	}
	stop, err := profile(o.cpuprofile)
	if err != nil {
		return 0, nil, err
	}
	defer stop()
	cpu0 := cpuSeconds()
	for range o.iters {
		t := time.Now()
		if err := run(); err != nil {
			return 0, nil, err
		}
		per = append(per, time.Since(t).Seconds())
	}
	lastCPU = cpuSeconds() - cpu0
	return compile, per, nil
}

// lastCPU is the process's user+system CPU time over timeExec's last timed
// calls: on a shared VM it moves less than wall time when the host takes
// the CPU away.
var lastCPU float64

func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

func finalize(out []*tensors.Tensor) {
	for _, t := range out {
		t.FinalizeAll()
	}
}

// addTimes adds the median and mean of per (seconds per call) in ms, and
// the derived rates.
func addTimes(rec record, compile time.Duration, per []float64, batch int, gflop float64) {
	med, mean := median(per), meanOf(per)
	rec["compile_s"] = seconds(compile)
	rec["iters"] = len(per)
	rec["ms"] = 1000 * med
	rec["ms_mean"] = 1000 * mean
	rec["ms_all"] = scale(per, 1000)
	rec["cpu_ms"] = 1000 * lastCPU / float64(len(per))
	rec["images_per_s"] = float64(batch) / med
	rec["gflops_achieved"] = gflop / med
}

// runEncoder times the ViT forward (class-token features, no gradient) or
// one train step: forward, linear head, cross-entropy, backward, AdamW.
func runEncoder(o options) (record, error) {
	cfg, b, name, err := sizeAndBackend(o)
	if err != nil {
		return nil, err
	}
	store := model.NewStore()
	var exec *model.Exec
	switch o.phase {
	case "forward":
		exec, err = model.NewExec(b, store, func(scope *model.Scope, images *Node) *Node {
			return encoder.ClassToken(encoder.Forward(scope.In("encoder"), cfg, images))
		})
	case "train":
		opt := nn.DefaultAdamW(1000, 10)
		exec, err = model.NewExec(b, store, func(scope *model.Scope, images, labels *Node) *Node {
			store.SetTraining(images.Graph(), true) // as irgen's trainers do
			feat := encoder.ClassToken(encoder.Forward(scope.In("encoder"), cfg, images))
			logits := nn.Dense(scope.In("head"), feat, numClasses, true)
			loss := ReduceAllMean(Neg(ReduceSum(Mul(OneHot(labels, numClasses, logits.DType()), LogSoftmax(logits, -1)), -1)))
			opt.Update(scope, loss)
			return loss
		})
	default:
		return nil, fmt.Errorf("unknown phase %q", o.phase)
	}
	if err != nil {
		return nil, err
	}
	it, lt := randomImages(cfg, o.batch)
	args := []any{it}
	if o.phase == "train" {
		args = append(args, lt)
	}
	compile, per, err := timeExec(o, exec, args...)
	if err != nil {
		return nil, err
	}
	rec := encoderRecord("encoder", name, cfg, o)
	addTimes(rec, compile, per, o.batch, rec["matmul_gflop"].(float64))
	return rec, nil
}

// skeleton builds the encoder's matmuls and convolutions with the same
// shapes and data flow but none of its other ops (no layer norm, softmax,
// GELU, bias or AdamW): its time is the part of the encoder spent in
// matmuls. Weights are inputs; for the train phase the graph also returns
// the gradient of the output's sum with respect to every weight, which
// adds the backward matmuls of the train step.
//
// With stemOnly it stops after the convolutional stem.
func skeleton(cfg encoder.Config, train, stemOnly bool, in []*Node) []*Node {
	images, ws := in[0], in[1:]
	b := images.Shape().Dim(0)
	next := func() *Node { w := ws[0]; ws = ws[1:]; return w }
	x := images
	ch := cfg.Channels
	for _, out := range cfg.Stem {
		h, w := x.Shape().Dim(1), x.Shape().Dim(2)
		x = Reshape(x, b, h/2, 2, w/2, 2, ch)
		x = Reshape(TransposeAllDims(x, 0, 1, 3, 2, 4, 5), b, h/2, w/2, 4*ch)
		x = encoder.Conv3x3(x, Reshape(next(), 9*4*ch, out)) // as the encoder: im2col on the pure-Go backend
		ch = out
	}
	if stemOnly {
		return finish(ReduceAllSum(x), train, in[1:1+len(cfg.Stem)])
	}
	p, n := cfg.Patch, cfg.GridSize()/cfg.Patch
	x = Reshape(x, b, n, p, n, p, ch)
	x = Reshape(TransposeAllDims(x, 0, 1, 3, 2, 4, 5), b*n*n, p*p*ch)
	x = MatMul(x, next())
	d, t, heads := cfg.Dim, cfg.Tokens(), cfg.Heads
	x = Concatenate([]*Node{Reshape(x, b, n*n, d), Zeros(x.Graph(), shapes.Make(dtypes.Float32, b, 1, d))}, 1)
	x = Reshape(x, b*t, d)
	for range cfg.Depth {
		qkv := MatMul(x, next())
		qkv = TransposeAllDims(Reshape(qkv, b, t, 3, heads, d/heads), 2, 0, 3, 1, 4)
		q := Squeeze(SliceAxis(qkv, 0, AxisElem(0)), 0)
		k := Squeeze(SliceAxis(qkv, 0, AxisElem(1)), 0)
		v := Squeeze(SliceAxis(qkv, 0, AxisElem(2)), 0)
		a := Einsum("bhts,bhsd->bhtd", Einsum("bhtd,bhsd->bhts", q, k), v)
		a = Reshape(TransposeAllDims(a, 0, 2, 1, 3), b*t, d)
		x = Add(x, MatMul(a, next()))
		x = Add(x, MatMul(MatMul(x, next()), next()))
	}
	return finish(ReduceAllSum(x), train, in[1:])
}

func finish(out *Node, train bool, weights []*Node) []*Node {
	if !train {
		return []*Node{out}
	}
	return append([]*Node{out}, Gradient(out, weights...)...)
}

// stemGFLOPs is the stem's share of encoder.Config.GFLOPs.
func stemGFLOPs(cfg encoder.Config) float64 {
	f, side, in := 0.0, cfg.ImageSize, cfg.Channels
	for _, out := range cfg.Stem {
		side /= 2
		f += float64(side * side * 9 * 4 * in * out)
		in = out
	}
	return 2 * f / 1e9
}

// skeletonWeights returns the weight shapes skeleton consumes, in order.
func skeletonWeights(cfg encoder.Config) [][]int {
	var dims [][]int
	ch := cfg.Channels
	for _, out := range cfg.Stem {
		dims = append(dims, []int{9 * 4 * ch, out})
		ch = out
	}
	d := cfg.Dim
	dims = append(dims, []int{cfg.Patch * cfg.Patch * ch, d})
	for range cfg.Depth {
		dims = append(dims, []int{d, 3 * d}, []int{d, d}, []int{d, cfg.MLPDim}, []int{cfg.MLPDim, d})
	}
	return dims
}

func runSkeleton(o options) (record, error) {
	cfg, b, name, err := sizeAndBackend(o)
	if err != nil {
		return nil, err
	}
	train := o.phase == "train"
	if !train && o.phase != "forward" {
		return nil, fmt.Errorf("unknown phase %q", o.phase)
	}
	stemOnly := o.part == "stem"
	if stemOnly && len(cfg.Stem) == 0 {
		return nil, fmt.Errorf("size %s has no stem", o.size)
	}
	weights := skeletonWeights(cfg)
	if stemOnly {
		weights = weights[:len(cfg.Stem)]
	}
	exec, err := NewExec(b, func(in []*Node) []*Node { return skeleton(cfg, train, stemOnly, in) })
	if err != nil {
		return nil, err
	}
	it, _ := randomImages(cfg, o.batch)
	args := []any{it}
	rng := rand.New(rand.NewPCG(3, 4))
	for _, dims := range weights {
		w := make([]float32, dims[0]*dims[1])
		for i := range w {
			w[i] = float32(0.02 * rng.NormFloat64())
		}
		args = append(args, tensors.FromFlatDataAndDimensions(w, dims...))
	}
	compile, per, err := timeExec(o, exec, args...)
	if err != nil {
		return nil, err
	}
	rec := encoderRecord("skeleton", name, cfg, o)
	rec["part"] = "all"
	if stemOnly {
		rec["part"] = "stem"
		f := stemGFLOPs(cfg) * float64(o.batch)
		rec["matmul_gflop"] = map[bool]float64{false: f, true: 3 * f}[train]
	}
	addTimes(rec, compile, per, o.batch, rec["matmul_gflop"].(float64))
	return rec, nil
}

// runMatmul times one [n, n]·[n, n] float32 matmul: the backend's
// achievable matmul rate on this machine.
func runMatmul(o options) (record, error) {
	if o.n <= 0 {
		return nil, errors.New("matmul needs -n > 0")
	}
	b, name, err := newBackend(o.backend)
	if err != nil {
		return nil, err
	}
	exec, err := NewExec(b, func(x, y *Node) *Node { return MatMul(x, y) })
	if err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(5, 6))
	mk := func() *tensors.Tensor {
		v := make([]float32, o.n*o.n)
		for i := range v {
			v[i] = float32(rng.NormFloat64())
		}
		return tensors.FromFlatDataAndDimensions(v, o.n, o.n)
	}
	x, y := mk(), mk()
	compile, per, err := timeExec(o, exec, x, y)
	if err != nil {
		return nil, err
	}
	gflop := 2 * float64(o.n) * float64(o.n) * float64(o.n) / 1e9
	rec := record{"bench": "matmul", "backend": name, "n": o.n, "gflop": gflop}
	addTimes(rec, compile, per, 1, gflop)
	delete(rec, "images_per_s")
	return rec, nil
}
