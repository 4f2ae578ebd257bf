package pgcat_test

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"

	"github.com/irgen/irgen/internal/catalog/pgcat"
	"github.com/irgen/irgen/internal/cli"
	"github.com/irgen/irgen/internal/gallery"
	"github.com/irgen/irgen/internal/pgtest"
	"github.com/irgen/irgen/internal/store"
	"github.com/irgen/irgen/internal/testmodel"
)

// irgen runs the command line args and returns its exit code and stderr.
func irgen(args ...string) (int, string) {
	var out, errOut bytes.Buffer
	code := cli.MainIO(args, &out, &errOut)
	return code, errOut.String()
}

// withoutGallery returns a copy of the test model without its gallery
// (as split workers leave it) and the gallery 'irgen assign' on one
// machine wrote.
func withoutGallery(t *testing.T) (string, *gallery.Gallery) {
	t.Helper()
	dir := testmodel.Copy(t)
	want := testmodel.MustOpen(t, dir).Gallery()
	b, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	b.Forget([]string{gallery.File})
	if err := b.Save(); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(b.Path(gallery.File)); err != nil {
		t.Fatal(err)
	}
	return dir, want
}

// TestExportGallery assigns the gallery with two split workers into a
// catalog, exports it to the model (assign --export-gallery) and trains
// the decoder from it: the exported gallery is the one 'irgen assign'
// gives on one machine. An unfinished catalog, or one that lost an image
// of the gallery, is refused.
func TestExportGallery(t *testing.T) {
	pg := pgtest.Shared(t)
	url := pg.CreateDB(t, "export")
	dir, want := withoutGallery(t)
	export := []string{"assign", "--model", dir, "--catalog", url, "--export-gallery"}
	if code, out := irgen("train-decoder", "--model", dir); code == 0 || !strings.Contains(out, "has no IDs yet") {
		t.Errorf("train-decoder without a gallery: exit %d\n%s", code, out)
	}
	assignShard(t, dir, url, "1/2")
	if code, out := irgen(export...); code == 0 || !strings.Contains(out, "256 of 512 images assigned") {
		t.Errorf("export with shard 0/2 missing: exit %d; want a failure naming the count\n%s", code, out)
	}
	assignShard(t, dir, url, "0/2")
	if code, out := irgen(export...); code != 0 || !strings.Contains(out, "512 gallery images") {
		t.Fatalf("export: exit %d\n%s", code, out)
	}
	b, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Verify(gallery.File); err != nil {
		t.Errorf("the exported gallery is not recorded in the manifest: %v", err)
	}
	sameGallery(t, testmodel.MustOpen(t, dir).Gallery(), want)
	code, out := irgen("train-decoder", "--model", dir, "--fresh", "--dec-steps", "4", "--dec-batch", "32", "--dec-dim", "32",
		"--dec-depth", "1", "--dec-heads", "2", "--dec-mlp", "64", "--dec-val", "0")
	if code != 0 || !strings.Contains(out, "IDs of 512 gallery images") {
		t.Errorf("train-decoder from the exported gallery: exit %d\n%s", code, out)
	}
	if code, out := irgen("build-hnsw", "--model", dir); code != 0 {
		t.Errorf("build-hnsw over the exported gallery: exit %d\n%s", code, out)
	}
	c, err := pgcat.Attach(context.Background(), testmodel.MustOpen(t, dir), url) // replicas serve it still
	if err != nil {
		t.Fatalf("attach after the export: %v", err)
	}
	c.Close()
	conn := connect(t, url)
	if _, err := conn.Exec(context.Background(), `DELETE FROM irgen_images WHERE id = 7`); err != nil {
		t.Fatal(err)
	}
	if code, out := irgen(export...); code == 0 || !strings.Contains(out, "image 7 of the assigned gallery was deleted") {
		t.Errorf("export of a catalog that lost image 7: exit %d\n%s", code, out)
	}
}
