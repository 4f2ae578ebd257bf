package nn

import (
	"hash/fnv"
	"math"
	"math/rand/v2"

	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
)

// ParamSeed is the store parameter holding the seed every initializer mixes
// with the variable's path, so that a model is reproducible.
const ParamSeed = "seed"

// Init tells how a new parameter is filled.
type Init int

const (
	// InitZeros fills with 0.
	InitZeros Init = iota
	// InitOnes fills with 1.
	InitOnes
	// InitNormal02 draws from a normal distribution with standard deviation 0.02
	// truncated at two standard deviations (the ViT initialization).
	InitNormal02
	// InitXavier draws uniformly in ±sqrt(6/(fanIn+fanOut)) over the last two axes.
	InitXavier
)

// Param returns the variable name in scope, creating it with the given
// initialization when it does not exist yet (a loaded checkpoint wins).
// Initial values depend only on the store seed and the variable's path.
func Param(scope *model.Scope, name string, init Init, dims ...int) *model.Variable {
	path := model.JoinPath(scope.Scope(), name)
	if v := scope.Store().GetVariable(path); v != nil {
		return v
	}
	seed := model.GetRootParamOr(scope.Store(), ParamSeed, int64(1))
	return scope.VariableWithValue(name, newValue(path, seed, init, dims))
}

func newValue(path string, seed int64, init Init, dims []int) *tensors.Tensor {
	n := shapes.Make(0, dims...).Size()
	data := make([]float32, n)
	h := fnv.New64a()
	h.Write([]byte(path))
	rng := rand.New(rand.NewPCG(uint64(seed), h.Sum64()))
	switch init {
	case InitOnes:
		for i := range data {
			data[i] = 1
		}
	case InitNormal02:
		for i := range data {
			v := rng.NormFloat64()
			for math.Abs(v) > 2 {
				v = rng.NormFloat64()
			}
			data[i] = float32(0.02 * v)
		}
	case InitXavier:
		fanIn, fanOut := 1, 1
		if len(dims) >= 2 {
			fanIn, fanOut = dims[len(dims)-2], dims[len(dims)-1]
		} else if len(dims) == 1 {
			fanIn, fanOut = dims[0], dims[0]
		}
		limit := math.Sqrt(6 / float64(fanIn+fanOut))
		for i := range data {
			data[i] = float32((2*rng.Float64() - 1) * limit)
		}
	}
	return tensors.FromFlatDataAndDimensions(data, dims...)
}
