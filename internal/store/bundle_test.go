package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

type rqConfig struct {
	Levels   int `json:"levels"`
	Codebook int `json:"codebook"`
}

// newBundle creates and saves a bundle with rq.bin, index/ids.bin and a
// recorded encoder/ directory.
func newBundle(t *testing.T) *Bundle {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "model")
	b, err := Create(dir)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	if err := b.WriteFile("rq.bin", writeString("codebooks")); err != nil {
		t.Fatalf("WriteFile: %v", err)
	}
	if err := b.WriteFile("index/ids.bin", writeString("0123456789")); err != nil {
		t.Fatalf("WriteFile: %v", err)
	}
	for _, f := range []string{"encoder/checkpoint.json", "encoder/step-1/params.bin"} {
		p := b.Path(f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("weights of "+f), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Record("encoder"); err != nil {
		t.Fatalf("Record: %v", err)
	}
	if err := b.SetConfig("rq", rqConfig{Levels: 3, Codebook: 256}); err != nil {
		t.Fatalf("SetConfig: %v", err)
	}
	b.SetDataset(Dataset{Name: "cifar10", Digest: "sha256:abc"})
	if err := b.Save(); err != nil {
		t.Fatalf("Save: %v", err)
	}
	return b
}

func TestBundleRoundTrip(t *testing.T) {
	b := newBundle(t)
	o, err := Open(b.Dir())
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if diff := cmp.Diff(b.Manifest(), o.Manifest()); diff != "" {
		t.Errorf("manifest after Open (-saved +opened):\n%s", diff)
	}
	wantFiles := []string{"encoder/checkpoint.json", "encoder/step-1/params.bin", "index/ids.bin", "rq.bin"}
	if diff := cmp.Diff(wantFiles, o.Files()); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
	var rq rqConfig
	if err := o.Config("rq", &rq); err != nil {
		t.Fatalf("Config: %v", err)
	}
	if rq != (rqConfig{Levels: 3, Codebook: 256}) {
		t.Errorf("got config %+v", rq)
	}
	if got := o.Dataset(); got != (Dataset{Name: "cifar10", Digest: "sha256:abc"}) {
		t.Errorf("got dataset %+v", got)
	}
	if err := o.VerifyAll(); err != nil {
		t.Errorf("VerifyAll: %v", err)
	}
	data, err := o.ReadFile("index/ids.bin")
	if err != nil || string(data) != "0123456789" {
		t.Errorf("ReadFile = %q, %v; want %q", data, err, "0123456789")
	}
	if got, want := o.Manifest().Files["rq.bin"], (FileInfo{SHA256: digest([]byte("codebooks")), Size: 9}); got != want {
		t.Errorf("rq.bin recorded as %+v; want %+v", got, want)
	}
}

func TestManifestJSON(t *testing.T) {
	b := newBundle(t)
	data, err := os.ReadFile(b.Path(ManifestName))
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Format  string                     `json:"format"`
		Version int                        `json:"version"`
		Created string                     `json:"created"`
		Config  map[string]json.RawMessage `json:"config"`
		Dataset map[string]string          `json:"dataset"`
		Files   map[string]map[string]any  `json:"files"`
	}
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	if m.Format != "irgen-model" || m.Version != 1 {
		t.Errorf("got format %q version %d; want irgen-model 1", m.Format, m.Version)
	}
	if _, err := time.Parse(time.RFC3339, m.Created); err != nil {
		t.Errorf("created %q is not RFC 3339: %v", m.Created, err)
	}
	var rq bytes.Buffer
	if err := json.Compact(&rq, m.Config["rq"]); err != nil || rq.String() != `{"levels":3,"codebook":256}` {
		t.Errorf("config rq = %s (%v)", m.Config["rq"], err)
	}
	if m.Dataset["name"] != "cifar10" || m.Dataset["digest"] != "sha256:abc" {
		t.Errorf("dataset = %v", m.Dataset)
	}
	if f := m.Files["rq.bin"]; f["sha256"] != digest([]byte("codebooks")) || f["size"] != 9.0 {
		t.Errorf("files[rq.bin] = %v", f)
	}
}

func TestCreateExisting(t *testing.T) {
	b := newBundle(t)
	if _, err := Create(b.Dir()); !errors.Is(err, fs.ErrExist) {
		t.Errorf("Create over a bundle = %v; want %v", err, fs.ErrExist)
	}
}

func TestOpenErrors(t *testing.T) {
	sha := strings.Repeat("ab", 32)
	for _, tc := range []struct {
		name     string
		manifest string // "" for no manifest at all
		wantErr  error
		wantMsg  string
	}{
		{"missing-manifest", "", fs.ErrNotExist, ManifestName},
		{"bad-json", `{"format": "irgen-model", "version": 1,`, ErrManifest, "manifest"},
		{"not-object", `[1, 2, 3]`, ErrManifest, "manifest"},
		{"trailing-garbage", `{"format": "irgen-model", "version": 1} x`, ErrManifest, "manifest"},
		{"wrong-format", `{"format": "onnx", "version": 1}`, ErrFormat, `"onnx"`},
		{"no-format", `{}`, ErrFormat, `""`},
		{"unknown-version", `{"format": "irgen-model", "version": 2, "files": ["new layout"]}`, ErrVersion, "version 2"},
		{"string-version", `{"format": "irgen-model", "version": "1"}`, ErrManifest, "version"},
		{"files-wrong-type", `{"format": "irgen-model", "version": 1, "files": []}`, ErrManifest, "files"},
		{"escaping-path", `{"format": "irgen-model", "version": 1, "files": {"../etc/passwd": {"sha256": "` + sha + `", "size": 1}}}`, ErrPath, "../etc/passwd"},
		{"absolute-path", `{"format": "irgen-model", "version": 1, "files": {"/etc/passwd": {"sha256": "` + sha + `", "size": 1}}}`, ErrPath, "/etc/passwd"},
		{"bad-digest", `{"format": "irgen-model", "version": 1, "files": {"a": {"sha256": "xyz", "size": 1}}}`, ErrManifest, "sha256"},
		{"upper-digest", `{"format": "irgen-model", "version": 1, "files": {"a": {"sha256": "` + strings.ToUpper(sha) + `", "size": 1}}}`, ErrManifest, "sha256"},
		{"negative-size", `{"format": "irgen-model", "version": 1, "files": {"a": {"sha256": "` + sha + `", "size": -1}}}`, ErrManifest, "negative"},
		{"bad-created", `{"format": "irgen-model", "version": 1, "created": "yesterday"}`, ErrManifest, "yesterday"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if tc.manifest != "" {
				if err := os.WriteFile(filepath.Join(dir, ManifestName), []byte(tc.manifest), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			_, err := Open(dir)
			t.Logf("error: %v", err)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Open = %v; want %v", err, tc.wantErr)
			}
			if !strings.Contains(err.Error(), tc.wantMsg) {
				t.Errorf("error %q does not mention %q", err, tc.wantMsg)
			}
		})
	}
}

func TestVerifyErrors(t *testing.T) {
	for _, tc := range []struct {
		name    string
		rel     string
		damage  func(path string) error
		wantErr error
		wantMsg string
	}{
		{"truncated", "rq.bin", func(p string) error { return os.Truncate(p, 4) }, ErrCorrupt, "truncated"},
		{"empty", "encoder/step-1/params.bin", func(p string) error { return os.Truncate(p, 0) }, ErrCorrupt, "0 bytes"},
		{"flipped-byte", "index/ids.bin", func(p string) error {
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			data[3] ^= 0x01
			return os.WriteFile(p, data, 0o644)
		}, ErrCorrupt, "sha256"},
		{"appended", "rq.bin", func(p string) error {
			f, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				return err
			}
			f.WriteString("!")
			return f.Close()
		}, ErrCorrupt, "10 bytes"},
		{"deleted", "encoder/checkpoint.json", os.Remove, ErrCorrupt, "missing"},
		{"not-recorded", "other.bin", nil, ErrNotRecorded, "other.bin"},
		{"invalid-path", "../rq.bin", nil, ErrPath, "../rq.bin"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBundle(t)
			if tc.damage != nil {
				if err := tc.damage(b.Path(tc.rel)); err != nil {
					t.Fatal(err)
				}
			}
			check := func(what string, err error) {
				t.Helper()
				t.Logf("%s error: %v", what, err)
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("%s = %v; want %v", what, err, tc.wantErr)
				}
				for _, s := range []string{tc.rel, tc.wantMsg} {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("%s error %q does not mention %q", what, err, s)
					}
				}
			}
			check("Verify", b.Verify(tc.rel))
			_, err := b.ReadFile(tc.rel)
			check("ReadFile", err)
			if tc.damage != nil {
				check("VerifyAll", b.VerifyAll())
			}
		})
	}
}

func TestRecordDirDropsStale(t *testing.T) {
	b := newBundle(t)
	if err := os.RemoveAll(b.Path("encoder/step-1")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(b.Path("encoder/step-2.bin"), []byte("new"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := b.Record("encoder"); err != nil {
		t.Fatalf("Record: %v", err)
	}
	want := []string{"encoder/checkpoint.json", "encoder/step-2.bin", "index/ids.bin", "rq.bin"}
	if diff := cmp.Diff(want, b.Files()); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
	if err := b.VerifyAll(); err != nil {
		t.Errorf("VerifyAll: %v", err)
	}
}

func TestRecordErrors(t *testing.T) {
	b := newBundle(t)
	if err := os.Symlink(b.Path("rq.bin"), b.Path("encoder/link")); err != nil {
		t.Skipf("no symlinks: %v", err)
	}
	for _, tc := range []struct {
		rel     string
		wantErr error
	}{
		{"encoder", nil},      // holds a symlink
		{"encoder/link", nil}, // is one
		{"nope.bin", fs.ErrNotExist},
		{"..", ErrPath},
		{ManifestName, ErrPath},
	} {
		err := b.Record(tc.rel)
		if err == nil || (tc.wantErr != nil && !errors.Is(err, tc.wantErr)) {
			t.Errorf("Record(%q) = %v; want an error (%v)", tc.rel, err, tc.wantErr)
		}
	}
}

func TestWriteFileErrors(t *testing.T) {
	b := newBundle(t)
	for _, rel := range []string{"", ".", "..", "../x", "/abs", "a//b", "a/./b", `a\b`, "dir/", ManifestName} {
		if err := b.WriteFile(rel, writeString("x")); !errors.Is(err, ErrPath) {
			t.Errorf("WriteFile(%q) = %v; want %v", rel, err, ErrPath)
		}
	}
	errWrite := errors.New("out of space")
	before := b.Manifest().Files["rq.bin"]
	err := b.WriteFile("rq.bin", func(w io.Writer) error {
		io.WriteString(w, "half")
		return errWrite
	})
	if !errors.Is(err, errWrite) {
		t.Errorf("WriteFile with a failing writer = %v; want %v", err, errWrite)
	}
	if got := b.Manifest().Files["rq.bin"]; got != before {
		t.Errorf("failed write changed the record to %+v", got)
	}
	if err := b.Verify("rq.bin"); err != nil {
		t.Errorf("failed write damaged rq.bin: %v", err)
	}
}

func TestConfigErrors(t *testing.T) {
	b := newBundle(t)
	if err := b.Config("decoder", new(rqConfig)); !errors.Is(err, ErrNoConfig) || !strings.Contains(err.Error(), "decoder") {
		t.Errorf("Config of a missing key = %v; want %v naming it", err, ErrNoConfig)
	}
	if err := b.Config("rq", new(string)); err == nil {
		t.Error("Config into the wrong type succeeded")
	}
	for _, v := range []any{math.NaN(), make(chan int)} {
		if err := b.SetConfig("bad", v); err == nil {
			t.Errorf("SetConfig(%T) succeeded", v)
		}
	}
	if err := b.SetConfig("", 1); err == nil {
		t.Error("SetConfig with an empty key succeeded")
	}
}

func TestConcurrentWrites(t *testing.T) {
	b, err := Create(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	const n = 8
	errs := make(chan error, 2*n)
	for i := range n {
		go func() {
			errs <- b.WriteFile(fmt.Sprintf("shard/%d.bin", i), writeString(strings.Repeat("x", i)))
		}()
		go func() { errs <- b.SetConfig(fmt.Sprintf("c%d", i), i) }()
	}
	for range 2 * n {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if got := len(b.Files()); got != n {
		t.Errorf("got %d files; want %d", got, n)
	}
	if err := b.VerifyAll(); err != nil {
		t.Errorf("VerifyAll: %v", err)
	}
}
