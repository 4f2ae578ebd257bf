package catalog_test

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"image/png"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/irgen/irgen/internal/catalog"
	"github.com/irgen/irgen/internal/engine"
	"github.com/irgen/irgen/internal/testmodel"
)

// envChild makes the test binary run childAdd instead of the tests.
const envChild = "IRGEN_CATALOG_TEST_CHILD"

func TestMain(m *testing.M) {
	if dir := os.Getenv(envChild); dir != "" {
		if err := childAdd(dir); err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func mustAttach(t *testing.T, dir string) (*engine.Engine, *catalog.Catalog) {
	t.Helper()
	e, c, err := testmodel.Attach(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return e, c
}

// checkConsistent verifies that the catalog's rows, the prefix tree's
// items and the index's live rows are the same images.
func checkConsistent(t *testing.T, e *engine.Engine, c *catalog.Catalog) {
	t.Helper()
	if err := e.Check(); err != nil {
		t.Error(err)
	}
	n, err := c.Count()
	if err != nil {
		t.Fatal(err)
	}
	if st := e.Stats(); st.Images != n {
		t.Errorf("catalog has %d images, engine %d", n, st.Images)
	}
}

func addImage(e *engine.Engine, class int, seed uint64) (int, error) {
	img := testmodel.Image(class, rand.New(rand.NewPCG(seed, seed)))
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return 0, err
	}
	return e.AddImage(img, engine.NewImage{Key: "api/" + strconv.FormatUint(seed, 10), Label: int32(class), Data: buf.Bytes(), Type: "image/png"})
}

func TestRestartKeepsChanges(t *testing.T) {
	dir := testmodel.Copy(t)
	e, c := mustAttach(t, dir)
	base := e.Stats()
	checkConsistent(t, e, c)
	var added []int
	for i := range 3 {
		id, err := addImage(e, i, uint64(100+i))
		if err != nil {
			t.Fatal(err)
		}
		added = append(added, id)
	}
	deleted := []int{added[1], 5}
	for _, id := range deleted {
		if err := e.Delete(id); err != nil {
			t.Fatal(err)
		}
	}
	c.Close()

	e2, c2 := mustAttach(t, dir)
	checkConsistent(t, e2, c2)
	if got, want := e2.Stats(), (engine.Stats{Images: base.Images + 1, Slots: base.Slots + 3}); got.Images != want.Images || got.Slots != want.Slots {
		t.Errorf("stats after restart %+v; want %+v", got, want)
	}
	for _, id := range []int{added[0], added[2]} {
		ent, ok := e2.Entry(id)
		if !ok || ent.Key != "api/"+strconv.Itoa(100+id-added[0]) {
			t.Errorf("added image %d after restart: %+v, %v", id, ent, ok)
		}
		im, err := c2.Image(context.Background(), id)
		if err != nil || im.Type != "image/png" || len(im.Data) == 0 {
			t.Errorf("stored file of image %d: %q, %d bytes, %v", id, im.Type, len(im.Data), err)
		}
	}
	for _, id := range deleted {
		if _, ok := e2.Entry(id); ok {
			t.Errorf("deleted image %d is back after restart", id)
		}
	}
	// A new image continues after the last id, deleted ones included.
	id, err := addImage(e2, 0, 200)
	if err != nil || id != added[2]+1 {
		t.Errorf("add after restart: id %d, %v; want %d", id, err, added[2]+1)
	}
}

func TestStaleCatalog(t *testing.T) {
	dir := testmodel.Copy(t)
	_, c := mustAttach(t, dir)
	c.Close()
	// Pretend the catalog was filled for another tokenizer.
	db, err := sql.Open("sqlite", filepath.Join(dir, catalog.File))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE meta SET value = 'tokenizer:0 gallery:0' WHERE key = 'model'`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, _, err := testmodel.Attach(dir); !errors.Is(err, catalog.ErrStale) {
		t.Errorf("Attach of a stale catalog: %v; want ErrStale", err)
	}
}

// childAdd attaches the model in dir and adds images in a loop, printing
// "add ID" once each add is committed and, every third add, deleting the
// one before: it prints "deleting ID" before and "del ID" once committed.
// It stops by itself after a minute.
func childAdd(dir string) error {
	e, _, err := testmodel.Attach(dir)
	if err != nil {
		return err
	}
	deadline := time.Now().Add(time.Minute)
	prev := -1
	for i := 0; time.Now().Before(deadline); i++ {
		id, err := addImage(e, i%4, uint64(time.Now().UnixNano()))
		if err != nil {
			return err
		}
		fmt.Println("add", id)
		if i%3 == 2 {
			fmt.Println("deleting", prev)
			if err := e.Delete(prev); err != nil {
				return err
			}
			fmt.Println("del", prev)
		}
		prev = id
	}
	return nil
}

// changes are what a child acknowledged.
type changes struct {
	added, deleted []int
	maybeDeleted   []int // deletes started, perhaps not committed
}

// runChild starts childAdd on dir and SIGKILLs it once it has acknowledged
// n adds, at a point that varies with timing; it returns what the child
// acknowledged.
func runChild(t *testing.T, dir string, n int) changes {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envChild+"="+dir)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var ch changes
	sc := bufio.NewScanner(out)
	killed := false
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 2 {
			continue
		}
		id, _ := strconv.Atoi(f[1])
		switch f[0] {
		case "add":
			ch.added = append(ch.added, id)
		case "deleting":
			ch.maybeDeleted = append(ch.maybeDeleted, id)
		case "del":
			ch.deleted = append(ch.deleted, id)
		}
		if len(ch.added) == n && !killed {
			time.Sleep(time.Duration(rand.IntN(15)) * time.Millisecond)
			if err := cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			killed = true
		}
	}
	err = cmd.Wait()
	if !killed {
		t.Fatalf("child ended before the kill: %v\n%s", err, stderr.String())
	}
	return ch
}

// TestKill9 SIGKILLs processes that add and delete images in a loop and
// checks, after each restart, that every acknowledged change is there and
// that the catalog, prefix tree and index agree (no half-added image).
func TestKill9(t *testing.T) {
	dir := testmodel.Copy(t)
	// Fill the catalog here, so the children only add.
	e0, c0, err := testmodel.Attach(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := e0.Stats().Images
	c0.Close()

	for round := range 3 {
		ch := runChild(t, dir, 6+4*round)
		t.Logf("round %d: child killed after %d acknowledged adds and %d deletes", round, len(ch.added), len(ch.deleted))
		e, c, err := testmodel.Attach(dir)
		if err != nil {
			t.Fatal(err)
		}
		checkConsistent(t, e, c)
		for _, id := range ch.added {
			_, ok := e.Entry(id)
			switch {
			case slices.Contains(ch.deleted, id) && ok:
				t.Errorf("round %d: image %d deleted (acknowledged) but present", round, id)
			case !slices.Contains(ch.maybeDeleted, id) && !ok:
				t.Errorf("round %d: image %d added (acknowledged) but missing", round, id)
			}
		}
		// At most one change was under way at the kill: an add or a
		// delete, fully there or fully absent.
		want += len(ch.added) - len(ch.deleted)
		got := e.Stats().Images
		if got < want-1 || got > want+1 {
			t.Errorf("round %d: %d images after the kill; want %d ± 1 unacknowledged change", round, got, want)
		}
		want = got
		// Every live added image is searchable: knn finds it first.
		for _, id := range ch.added {
			ent, ok := e.Entry(id)
			if !ok {
				continue
			}
			im, err := c.Image(context.Background(), id)
			if err != nil {
				t.Fatal(err)
			}
			img, err := png.Decode(bytes.NewReader(im.Data))
			if err != nil {
				t.Fatalf("image %d (%s): stored file: %v", id, ent.Key, err)
			}
			x := make([]float32, e.Transform.Len())
			e.Transform.Eval(img, x)
			hits, _, err := e.Search(engine.KNN, x, 1, engine.Options{K: 1})
			if err != nil || len(hits[0]) == 0 || hits[0][0].Index != id {
				t.Errorf("knn for added image %d: %v, %v", id, hits, err)
			}
		}
		c.Close()
	}
}

// TestOneWriter checks that a second server cannot attach a catalog in
// use: two writers would each keep their own gallery and disagree.
func TestOneWriter(t *testing.T) {
	dir := testmodel.Copy(t)
	_, c := mustAttach(t, dir)
	if _, c2, err := testmodel.Attach(dir); !errors.Is(err, catalog.ErrLocked) {
		if c2 != nil {
			c2.Close()
		}
		t.Fatalf("second attach: %v; want ErrLocked", err)
	} else if !strings.Contains(err.Error(), "process") {
		t.Errorf("error does not name the holder: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	_, c3 := mustAttach(t, dir)
	c3.Close()
}
