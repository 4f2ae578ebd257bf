package pgcat_test

import (
	"bytes"
	"context"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/irgen/irgen/internal/catalog/pgcat"
	"github.com/irgen/irgen/internal/cli"
	"github.com/irgen/irgen/internal/gallery"
	"github.com/irgen/irgen/internal/testmodel"
)

// assignShard runs 'irgen assign --shard' and returns its stderr.
func assignShard(t *testing.T, dir, url, shard string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	if code := cli.MainIO([]string{"assign", "--model", dir, "--catalog", url, "--shard", shard}, &out, &errOut); code != 0 {
		t.Fatalf("assign --shard %s: exit %d\n%s", shard, code, errOut.String())
	}
	return errOut.String()
}

// TestAssignShards assigns the gallery with two split workers, one of
// them stopped half-way (some of its rows removed) and run again, and
// checks that the catalog is served only once complete, with the IDs
// and features that 'irgen assign' on one machine gives.
func TestAssignShards(t *testing.T) {
	_, url, dir := modelDB(t, "assign")
	assignShard(t, dir, url, "1/2")
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `DELETE FROM irgen_images WHERE id IN (300, 301, 400, 500, 511)`); err != nil {
		t.Fatal(err)
	}
	e := testmodel.MustOpen(t, dir)
	if _, err := pgcat.Attach(ctx, e, url); !errors.Is(err, pgcat.ErrUnfinished) {
		t.Fatalf("attach before every shard is done: %v; want ErrUnfinished", err)
	}
	if out := assignShard(t, dir, url, "0/2"); !strings.Contains(out, "waiting for the other shards") {
		t.Errorf("shard 0/2 with shard 1/2 incomplete said:\n%s", out)
	}
	if out := assignShard(t, dir, url, "1/2"); !strings.Contains(out, "5 encoded now, 251 there already") || !strings.Contains(out, "filled") {
		t.Errorf("shard 1/2 resumed said:\n%s", out)
	}
	want := e.Gallery() // made by 'irgen assign' on one machine
	c, err := pgcat.Attach(ctx, e, url)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sameGallery(t, e.Gallery(), want)
	if err := e.Check(); err != nil {
		t.Error(err)
	}
}

// sameGallery checks that got has want's keys, labels and IDs, and its
// features within 1e-4.
func sameGallery(t *testing.T, got, want *gallery.Gallery) {
	t.Helper()
	if got.Len() != want.Len() {
		t.Fatalf("gallery of %d images; want %d", got.Len(), want.Len())
	}
	diffCodes := 0
	for i := range got.Len() {
		if got.Keys[i] != want.Keys[i] || got.Labels[i] != want.Labels[i] {
			t.Fatalf("image %d: key %q label %d; want %q %d", i, got.Keys[i], got.Labels[i], want.Keys[i], want.Labels[i])
		}
		if !slices.Equal(got.Code(i), want.Code(i)) {
			diffCodes++
		}
		for j, v := range got.Feature(i) {
			if math.Abs(float64(v-want.Feature(i)[j])) > 1e-4 {
				t.Fatalf("image %d: feature[%d] = %v; want %v", i, j, v, want.Feature(i)[j])
			}
		}
	}
	if diffCodes > 0 {
		t.Errorf("%d images got another semantic ID than on one machine", diffCodes)
	}
}

// TestShardFlags checks the usage errors of assign's split flags.
func TestShardFlags(t *testing.T) {
	for _, args := range [][]string{
		{"--shard", "0/2"},
		{"--catalog", "postgres://u@127.0.0.1:1/x", "--shard", "2/2"},
		{"--catalog", "postgres://u@127.0.0.1:1/x", "--shard", "x"},
		{"--catalog", "/tmp/catalog.db"},
	} {
		var out, errOut bytes.Buffer
		if code := cli.MainIO(append([]string{"assign", "--model", t.TempDir()}, args...), &out, &errOut); code != 2 {
			t.Errorf("assign %v: exit %d; want 2 (usage)\n%s", args, code, errOut.String())
		}
	}
}
