package mrl

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/irgen/irgen/internal/testutil"
	"github.com/irgen/irgen/internal/train"
)

// TestTrainOldState checks that a model whose state file was written
// before MRL ran on train.Run (settings with "epochs", no budget) is
// still a finished run: Train trains nothing and loads its weights.
func TestTrainOldState(t *testing.T) {
	be := testutil.Backend(t)
	src := testutil.Loader(24)
	enc := testutil.Encoder()
	cfg := Config{Encoder: enc, Dim: 8, Classes: 3, Nesting: []int{4, 8}}
	m, err := New(be, cfg, nil, 3)
	if err != nil {
		t.Fatal(err)
	}
	tc := DefaultTrainConfig()
	tc.Budget, tc.Batch, tc.Out = train.Budget{Epochs: 1}, 5, &bytes.Buffer{}
	dir := t.TempDir()
	if _, err := Train(context.Background(), m, dir, tc, src); err != nil {
		t.Fatal(err)
	}
	old := `{"train":{"epochs":1,"batch":5,"lr":0.001,"encoder_lr_mult":0.1,"warmup_epochs":0.5,"seed":1},` +
		`"done_steps":4,"steps":4,"seconds":2.5,"best":{"score":0,"step":0,"stale":0}}`
	if err := os.WriteFile(filepath.Join(dir, StateFile), []byte(old), 0o644); err != nil {
		t.Fatal(err)
	}
	fresh, err := New(be, cfg, nil, 4)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	tc.Out = &out
	secs, err := Train(context.Background(), fresh, dir, tc, src)
	if err != nil || secs != 2.5 || out.Len() != 0 {
		t.Fatalf("Train over an old finished state = %g s, %v, output %q; want its 2.5 s, nothing trained", secs, err, out.String())
	}
	images := make([]float32, 3*64)
	want, err := m.Embed(images, 3)
	if err != nil {
		t.Fatal(err)
	}
	got, err := fresh.Embed(images, 3)
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("the loaded model embeds %v, %v; want the trained model's %v", got[:4], err, want[:4])
	}

	// Other settings are refused with the hint.
	tc.Batch = 6
	if _, err := Train(context.Background(), fresh, dir, tc, src); err == nil || !strings.Contains(err.Error(), StateFile) {
		t.Errorf("another batch: %v; want an error naming %s", err, StateFile)
	}
}
