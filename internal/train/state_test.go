package train

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestReadState(t *testing.T) {
	type cfg struct {
		Epochs int `json:"epochs"`
	}
	path := filepath.Join(t.TempDir(), "state.json")
	// The field names resumable runs already wrote.
	data := `{"train":{"epochs":3},"done_steps":7,"steps":30,"seconds":1.5}`
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	st, err := ReadState[cfg](path)
	if err != nil || st != (State[cfg]{Train: cfg{3}, Done: 7, Steps: 30, Seconds: 1.5}) {
		t.Errorf("ReadState = %+v, %v", st, err)
	}
	if _, err := ReadState[cfg](path + ".missing"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v; want ErrNotExist", err)
	}
	os.WriteFile(path, []byte(`{"done_steps":`), 0o644)
	if _, err := ReadState[cfg](path); err == nil {
		t.Error("truncated JSON: no error")
	}
}
