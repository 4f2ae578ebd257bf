// Package backend is the one place that creates GoMLX compute backends.
//
// The pure-Go backend ("go") is always compiled in and needs no C library.
// Two faster backends are opt-in through build tags, each loading its C
// library at run time:
//
//	-tags onnx  "onnx", "onnxruntime": ONNX Runtime (github.com/gomlx/compute-onnx).
//	            It loads the library named by $ONNXRUNTIME_SHARED_LIBRARY_PATH;
//	            scripts/install-onnxruntime.sh installs one and prints its path.
//	-tags xla   "xla", "stablehlo", "shlo", "hlo": XLA/PJRT (github.com/gomlx/go-xla).
//
// A configuration is "<name>[:<options>]", as in $GOMLX_BACKEND; package
// config resolves that variable, this package reads no environment itself.
package backend

import (
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/gobackend"
)

// Default is the configuration New uses for "": the Go backend with
// unlimited parallelism, because in github.com/gomlx/compute v0.1.2 a
// bounded worker pool deadlocks when ops running as pool tasks (Erf, large
// matmuls) wait for more workers from the same pool
// (TestDefaultDoesNotDeadlock).
const Default = gobackend.BackendName + ":parallelism=-1"

// buildTags names the build tag that compiles in each optional backend.
var buildTags = map[string]string{
	"onnx":        "onnx",
	"onnxruntime": "onnx",
	"xla":         "xla",
	"stablehlo":   "xla",
	"shlo":        "xla",
	"hlo":         "xla",
}

// New creates the backend described by config, "<name>[:<options>]".
// "" selects Default. A "go" configuration without a parallelism option
// gets parallelism=-1 (see Default). Naming a backend that is not compiled
// in is an error that says which build tag adds it.
//
// A backend without the Pad op (ONNX Runtime's) gets an emulated one, so
// that gradients of Slice work, and the pure-Go backend gets its slowest
// generic ops replaced by cheaper ones where they can be; see wrap.
func New(config string) (compute.Backend, error) {
	config = strings.TrimSpace(config)
	if config == "" {
		config = Default
	}
	name, opts, _ := strings.Cut(config, ":")
	if name == gobackend.BackendName && !hasOption(opts, "parallelism") {
		opts = joinOptions(opts, "parallelism=-1")
		config = name + ":" + opts
	}
	if !slices.Contains(compute.List(), name) {
		if tag, ok := buildTags[name]; ok {
			return nil, fmt.Errorf("backend: %q is not compiled in: build with -tags %s", name, tag)
		}
		return nil, fmt.Errorf("backend: unknown backend %q (compiled in: %s)", name, strings.Join(Names(), ", "))
	}
	if name == gobackend.BackendName {
		// The Go backend announces its parallelism with fmt.Printf, which
		// would corrupt machine-readable output (irgen eval --json): send
		// it to standard error. Backends are created once, at start-up.
		saved := os.Stdout
		os.Stdout = os.Stderr
		defer func() { os.Stdout = saved }()
	}
	b, err := newWithConfig(config)
	if err != nil {
		return nil, fmt.Errorf("backend: create %q: %w%s", config, err, hint(name))
	}
	return wrap(b, wrapOptions{rewrite: name == gobackend.BackendName, matmul: IsONNX(b)}), nil
}

// Names lists the compiled-in backend names, sorted.
func Names() []string {
	names := compute.List()
	slices.Sort(names)
	return names
}

// newWithConfig calls compute.NewWithConfig, turning its panics (it panics
// on unknown names; constructors may panic too) into errors.
func newWithConfig(config string) (b compute.Backend, err error) {
	defer func() {
		if r := recover(); r != nil {
			b, err = nil, fmt.Errorf("%v", r)
		}
	}()
	return compute.NewWithConfig(config)
}

// hint returns extra advice appended to construction errors; backends
// compiled in through build tags add theirs.
func hint(name string) string {
	if f, ok := hints[name]; ok {
		return f()
	}
	return ""
}

// hints is filled by the tagged files' init functions.
var hints = map[string]func() string{}

// hasOption reports whether the comma-separated opts contain key or key=….
func hasOption(opts, key string) bool {
	for part := range strings.SplitSeq(opts, ",") {
		k, _, _ := strings.Cut(strings.TrimSpace(part), "=")
		if k == key {
			return true
		}
	}
	return false
}

func joinOptions(opts, opt string) string {
	if strings.TrimSpace(opts) == "" {
		return opt
	}
	return opts + "," + opt
}

// goBackendName is what GoMLX's pure-Go backend calls itself.
const goBackendName = "Go Backend"

// IsGo reports whether b is GoMLX's pure-Go backend, for graphs that pick
// the formulation that backend runs fastest (see encoder's stem).
func IsGo(b compute.Backend) bool { return b.Name() == goBackendName }

// onnxBackendName is what the ONNX Runtime backend calls itself.
const onnxBackendName = "onnxruntime"

// IsONNX reports whether b is the ONNX Runtime backend, for graphs that
// pick the formulation that backend runs fastest (see encoder's stem).
func IsONNX(b compute.Backend) bool { return b.Name() == onnxBackendName }
