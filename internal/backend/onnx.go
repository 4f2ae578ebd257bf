//go:build onnx

package backend

import (
	// Registers the "onnx" and "onnxruntime" backends. The package uses cgo
	// with its own copy of the ONNX Runtime headers and dlopens the library
	// at run time, so building needs a C compiler but no ONNX Runtime.
	_ "github.com/gomlx/compute-onnx"
)

func init() {
	h := func() string {
		return " (set ONNXRUNTIME_SHARED_LIBRARY_PATH to the libonnxruntime.so.1 that scripts/install-onnxruntime.sh prints)"
	}
	hints["onnx"] = h
	hints["onnxruntime"] = h
}
