package server_test

import (
	"bufio"
	"bytes"
	"flag"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/irgen/irgen/internal/imageproc"
	"github.com/irgen/irgen/internal/server"
)

var memLoad = flag.Bool("memload", false, "run the full memory test: 32 clients at once with 32 MiB bodies and 64 MiB-decoded 16-bit images")

// TestMemoryBound sends the worst request mix the limits allow, all at
// once: bodies of the largest size (a small PNG padded with junk) and
// 16-bit RGBA images just under the decoded-size limit, to search and
// add. Peak RSS above the idle server must stay within 10% of the stated
// bound, server.MemoryBound (the body budget plus, for each search slot,
// four times the decoded limit), with the Go memory limit 'irgen serve'
// sets.
func TestMemoryBound(t *testing.T) {
	cfg := server.Config{
		MaxBodyBytes:  2 << 20,
		MaxBodyMemory: 8 << 20,
		Limits:        imageproc.Limits{MaxBytes: 2 << 20, MaxPixels: 40 << 20, MaxDecodedBytes: 8 << 20},
		Concurrency:   2,
		Timeout:       60 * time.Second,
	}
	clients, rounds := 8, 2
	if *memLoad {
		cfg = server.DefaultConfig()
		cfg.Concurrency = runtime.GOMAXPROCS(0)
		cfg.Timeout = 120 * time.Second
		clients, rounds = 32, 2
	}
	f := start(t, cfg)
	bound := server.MemoryBound(cfg)
	side := 1
	for int64(side+1)*int64(side+1)*8 <= cfg.Limits.MaxDecodedBytes {
		side++
	}
	big := rgba64PNG(t, side)
	small := pngOf(t, 1, 3)
	// Idle means after one search and one add: a backend's one-time costs
	// (ONNX Runtime compiles each graph and sizes its arenas on first
	// use) are the model's, not the requests'.
	for _, path := range []string{"/v1/search?k=5", "/v1/images"} {
		resp, err := f.ts.Client().Post(f.ts.URL+path, "image/png", bytes.NewReader(small))
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			t.Fatalf("warm-up %s: status %d", path, resp.StatusCode)
		}
	}
	debug.FreeOSMemory()
	limit := server.SetMemoryLimit(cfg) // as 'irgen serve' does
	defer debug.SetMemoryLimit(math.MaxInt64)
	t.Logf("Go memory limit %d MiB", limit>>20)
	resetPeakRSS(t)
	idle := rss(t, "VmRSS")
	var wg sync.WaitGroup
	codes := make(chan int, clients*rounds)
	start := time.Now()
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range rounds {
				var body io.Reader
				var n int64
				if (c+r)%2 == 0 {
					body, n = padded(small, cfg.MaxBodyBytes), cfg.MaxBodyBytes
				} else {
					body, n = bytes.NewReader(big), int64(len(big))
				}
				path := "/v1/search?k=5"
				if c%4 == 3 {
					path = "/v1/images"
				}
				req, _ := http.NewRequest("POST", f.ts.URL+path, body)
				req.ContentLength = n
				req.Header.Set("Content-Type", "image/png")
				resp, err := f.ts.Client().Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				codes <- resp.StatusCode
			}
		}()
	}
	wg.Wait()
	close(codes)
	counts := map[int]int{}
	for c := range codes {
		counts[c]++
	}
	peak := rss(t, "VmHWM")
	t.Logf("%d clients × %d requests (bodies of %d MiB padded PNGs, %d×%d 16-bit RGBA PNGs of %d MiB decoded) in %v; statuses %v",
		clients, rounds, cfg.MaxBodyBytes>>20, side, side, int64(side)*int64(side)*8>>20, time.Since(start).Round(time.Millisecond), counts)
	t.Logf("RSS idle %d MiB, peak %d MiB: %d MiB above idle; bound %d MiB (body budget %d MiB + %d slots × 4 × %d MiB decoded)",
		idle>>20, peak>>20, (peak-idle)>>20, bound>>20, cfg.MaxBodyMemory>>20, cfg.Concurrency, cfg.Limits.MaxDecodedBytes>>20)
	// The Go runtime's soft limit keeps the heap at idle + bound; stacks
	// and runtime metadata come on top: 10%.
	if peak-idle > bound+bound/10 {
		t.Errorf("peak RSS %d MiB above idle exceeds the bound of %d MiB by more than 10%%", (peak-idle)>>20, bound>>20)
	}
	if counts[http.StatusInternalServerError] > 0 {
		t.Errorf("%d requests failed with 500", counts[http.StatusInternalServerError])
	}
}

// rgba64PNG encodes a side×side 16-bit RGBA image (a gradient, so that
// it is not all one color).
func rgba64PNG(t *testing.T, side int) []byte {
	img := image.NewRGBA64(image.Rect(0, 0, side, side))
	for y := range side {
		for x := range side {
			img.SetRGBA64(x, y, color.RGBA64{uint16(x * 13), uint16(y * 7), 0x8000, 0xffff})
		}
	}
	var buf bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// padded streams img followed by junk up to n bytes, without holding
// them in memory.
func padded(img []byte, n int64) io.Reader {
	return io.MultiReader(bytes.NewReader(img), io.LimitReader(zeros{}, n-int64(len(img))))
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// resetPeakRSS resets VmHWM (Linux: "5" to /proc/self/clear_refs).
func resetPeakRSS(t *testing.T) {
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		t.Skipf("cannot reset the peak RSS: %v", err)
	}
}

// rss reads a /proc/self/status field in bytes.
func rss(t *testing.T, field string) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatalf("no %s in /proc/self/status", field)
	return 0
}
