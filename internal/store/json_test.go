package store

import (
	"encoding/json"
	"os"
	"path/filepath"
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
