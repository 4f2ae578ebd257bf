// Package config is the only reader of irgen's environment variables and
// the home of its defaults.
package config

import (
	"os"
	"runtime"
)

// Environment variables irgen reads.
const (
	// EnvBackend selects the GoMLX backend, e.g. "go", "onnx:cpu", "xla:cuda".
	EnvBackend = "GOMLX_BACKEND"
	// EnvFashionDir overrides the directory of the Fashion-MNIST IDX files.
	EnvFashionDir = "IRGEN_FASHION_MNIST_DIR"
	// EnvToken is the bearer token 'irgen serve' requires for writes.
	EnvToken = "IRGEN_TOKEN"
	// EnvRequirePostgres, set to 1 (as CI does), makes the tests that need
	// a PostgreSQL server fail instead of skipping where its binaries are
	// absent.
	EnvRequirePostgres = "IRGEN_REQUIRE_POSTGRES"
)

// DefaultBackend is the pure-Go backend with the parallelism setting seen
// to run without deadlocks on this code base (see internal/backend).
const DefaultBackend = "go:parallelism=-1"

// FashionMNISTDir is where Debian's dataset-fashion-mnist installs the
// embedded default data set.
const FashionMNISTDir = "/usr/share/datasets/fashion-mnist"

// Backend returns the backend configuration: $GOMLX_BACKEND or the default.
func Backend() string {
	if v := os.Getenv(EnvBackend); v != "" {
		return v
	}
	return DefaultBackend
}

// Token returns $IRGEN_TOKEN, the serve command's default write token.
func Token() string { return os.Getenv(EnvToken) }

// RequirePostgres reports whether $IRGEN_REQUIRE_POSTGRES is 1.
func RequirePostgres() bool { return os.Getenv(EnvRequirePostgres) == "1" }

// FashionDir returns the Fashion-MNIST directory.
func FashionDir() string {
	if v := os.Getenv(EnvFashionDir); v != "" {
		return v
	}
	return FashionMNISTDir
}

// Workers is the default number of goroutines for data loading and search.
func Workers() int { return runtime.GOMAXPROCS(0) }
