package cli_test

import (
	"bytes"
	"context"
	"image/png"
	"math/rand/v2"
	"regexp"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/irgen/irgen/api"
	"github.com/irgen/irgen/internal/cli"
	"github.com/irgen/irgen/internal/testmodel"
)

// syncBuffer is a bytes.Buffer safe for one writer and one reader.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestServe runs 'irgen serve' on a free loopback port, adds an image
// through the API and stops the server with SIGTERM: it must shut down
// cleanly (exit 0) and keep the add in the catalog for the next start.
func TestServe(t *testing.T) {
	dir := testmodel.Copy(t)
	var file bytes.Buffer
	if err := png.Encode(&file, testmodel.Image(1, rand.New(rand.NewPCG(1, 2)))); err != nil {
		t.Fatal(err)
	}
	addr := regexp.MustCompile(`on (http://127\.0\.0\.1:\d+)`)

	serve := func(check func(c *api.Client)) {
		t.Helper()
		var out, errOut syncBuffer
		code := make(chan int, 1)
		go func() { code <- cli.MainIO([]string{"serve", "--model", dir, "--addr", "127.0.0.1:0"}, &out, &errOut) }()
		var base string
		for deadline := time.Now().Add(time.Minute); base == "" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			select {
			case c := <-code:
				t.Fatalf("serve exited with %d: %s", c, errOut.String())
			default:
			}
			if m := addr.FindStringSubmatch(errOut.String()); m != nil {
				base = m[1]
			}
		}
		if base == "" {
			t.Fatalf("serve did not start within a minute: %s", errOut.String())
		}
		c, err := api.NewClient(base, nil)
		if err != nil {
			t.Fatal(err)
		}
		check(c)
		// serve installed its SIGTERM handler before printing its address.
		if err := syscall.Kill(syscall.Getpid(), syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		select {
		case c := <-code:
			if c != 0 {
				t.Errorf("serve exited with %d after SIGTERM: %s", c, errOut.String())
			}
		case <-time.After(time.Minute):
			t.Fatal("serve did not stop within a minute of SIGTERM")
		}
	}

	ctx := context.Background()
	var id int
	serve(func(c *api.Client) {
		h, err := c.Health(ctx)
		if err != nil || h.Images != testmodel.NumTrain {
			t.Fatalf("health: %+v, %v", h, err)
		}
		r, err := c.Add(ctx, file.Bytes(), api.AddOptions{Label: "1"})
		if err != nil {
			t.Fatal(err)
		}
		id = r.ID
	})
	serve(func(c *api.Client) {
		data, typ, err := c.Image(ctx, id)
		if err != nil || typ != "image/png" || !bytes.Equal(data, file.Bytes()) {
			t.Errorf("image %d after a restart: %q, %d bytes, %v", id, typ, len(data), err)
		}
		if h, err := c.Health(ctx); err != nil || h.Images != testmodel.NumTrain+1 {
			t.Errorf("health after a restart: %+v, %v", h, err)
		}
	})
}
