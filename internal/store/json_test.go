package store

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteJSON(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	want := map[string]int{"done_steps": 3}
	if err := WriteJSON(path, want); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]int
	if err := json.Unmarshal(data, &got); err != nil || got["done_steps"] != 3 {
		t.Fatalf("read back %s: %v, %v", data, got, err)
	}
	if err := WriteJSON(path, func() {}); err == nil {
		t.Error("a value JSON cannot encode was written")
	}
	if got, _ := os.ReadFile(path); string(got) != string(data) {
		t.Error("a failed write changed the file")
	}
}

func TestReadJSON(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.json")
	if err := WriteJSON(path, map[string]int{"dim": 96}); err != nil {
		t.Fatal(err)
	}
	var got map[string]int
	if err := ReadJSON(path, &got); err != nil || got["dim"] != 96 {
		t.Fatalf("ReadJSON = %v, %v; want dim 96", got, err)
	}
	if err := ReadJSON(filepath.Join(dir, "missing.json"), &got); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: error %v; want os.ErrNotExist", err)
	}
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"dim": `), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := ReadJSON(bad, &got); err == nil || !strings.Contains(err.Error(), "bad.json") {
		t.Errorf("truncated file: error %v; want one naming bad.json", err)
	}
}
