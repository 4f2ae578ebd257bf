package encoder

import (
	"testing"

	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/irgen/irgen/internal/backend"
)

// TestForwardShapes runs every named CPU size once and checks the token
// grid: a plain ViT's patches and a hybrid's 1×1 patches of its stem map.
func TestForwardShapes(t *testing.T) {
	b, err := backend.New("")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"mini", "mini-hybrid"} {
		c, err := Size(name)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Validate(); err != nil {
			t.Fatal(err)
		}
		if c.NumPatches() != 49 {
			t.Errorf("%s: %d patches; want 49", name, c.NumPatches())
		}
		exec := model.MustNewExec(b, model.NewStore(), func(scope *model.Scope, x *Node) *Node {
			return Forward(scope, c, x)
		})
		out := exec.MustExec(tensors.FromFlatDataAndDimensions(make([]float32, 2*28*28), 2, 28, 28, 1))[0]
		if got := out.Shape().Dimensions; len(got) != 3 || got[0] != 2 || got[1] != 50 || got[2] != c.Dim {
			t.Errorf("%s: tokens %v; want [2 50 %d]", name, got, c.Dim)
		}
	}
}

func TestValidate(t *testing.T) {
	c, _ := Size("mini-hybrid")
	c.ImageSize = 30 // not a multiple of the stem's stride 4
	if err := c.Validate(); err == nil {
		t.Error("image size 30 with a 2-layer stem accepted")
	}
	c, _ = Size("mini")
	c.Heads = 5 // 96 is not a multiple of 5
	if err := c.Validate(); err == nil {
		t.Error("96 wide with 5 heads accepted")
	}
}
