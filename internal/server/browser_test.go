package server_test

import (
	"context"
	"fmt"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"golang.org/x/image/draw"

	"github.com/irgen/irgen/internal/server"
)

// chromium is where Debian's chromium package installs the browser.
const chromium = "/usr/bin/chromium"

// TestBrowser drives the web page in headless Chromium: it uploads an
// image, waits for the result grid, then adds the image to the
// collection. With IRGEN_UPDATE_SCREENSHOT=1 it saves the page to
// docs/screenshot.png.
func TestBrowser(t *testing.T) {
	if _, err := os.Stat(chromium); err != nil {
		t.Skipf("no %s (apt-get install -y chromium): %v", chromium, err)
	}
	f := start(t, server.Config{})

	// The query: a class-2 image, enlarged so it shows in the page.
	small, err := png.Decode(strings.NewReader(string(pngOf(t, 2, 77))))
	if err != nil {
		t.Fatal(err)
	}
	big := image.NewGray(image.Rect(0, 0, 112, 112))
	draw.NearestNeighbor.Scale(big, big.Bounds(), small, small.Bounds(), draw.Src, nil)
	query := filepath.Join(t.TempDir(), "query.png")
	qf, err := os.Create(query)
	if err != nil {
		t.Fatal(err)
	}
	png.Encode(qf, big)
	qf.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(chromium),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1100, 900),
	)
	defer cancelAlloc()
	var (
		mu     sync.Mutex
		jsErrs []string
	)
	bctx, cancelBrowser := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf),
		chromedp.WithListener(func(ev any) {
			if e, ok := ev.(*runtime.EventExceptionThrown); ok {
				mu.Lock()
				d := e.ExceptionDetails
				msg := d.Text
				if d.Exception != nil {
					msg += " " + d.Exception.Description
				}
				jsErrs = append(jsErrs, fmt.Sprintf("%s:%d: %s", d.URL, d.LineNumber+1, msg))
				mu.Unlock()
			}
		}))
	defer cancelBrowser()
	jsErrors := func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(jsErrs)
	}
	poll := func(expr string) chromedp.Action[chromedp.Void] {
		return chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(20*time.Second))
	}

	err = chromedp.Do(bctx,
		chromedp.Navigate(f.ts.URL),
		chromedp.WaitReady(chromedp.CSS(`#method option`)),
		chromedp.SetUploadFiles(chromedp.ID("file"), []string{query}),
		chromedp.WaitVisible(chromedp.CSS(`#results li.result`)),
		poll(`document.querySelector('#results img').naturalWidth > 0`),
	)
	if err != nil {
		t.Fatalf("search in the page: %v (JS errors: %v)", err, jsErrors())
	}
	classes, err := chromedp.Run(bctx, chromedp.Evaluate[[]string](
		`[...document.querySelectorAll('#results li.result .class')].map(e => e.textContent)`))
	if err != nil {
		t.Fatal(err)
	}
	if len(classes) != 20 {
		t.Errorf("the page shows %d results; want 20", len(classes))
	}
	for i, c := range classes {
		if c != "2" {
			t.Errorf("result %d has class %q; want 2 (the query's)", i+1, c)
		}
	}

	before := f.e.Stats().Images
	err = chromedp.Do(bctx,
		chromedp.SetValue(chromedp.ID("label"), "2"),
		chromedp.Click(chromedp.ID("add")),
		poll(`document.getElementById('status').textContent.startsWith('Image added')`),
		poll(`[...document.querySelectorAll('#results img')].slice(0, 8).every(i => i.complete && i.naturalWidth > 0)`),
	)
	if err != nil {
		t.Fatalf("add in the page: %v (JS errors: %v)", err, jsErrors())
	}
	status, err := chromedp.Run(bctx, chromedp.Text(chromedp.ID("status")))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(status, "added as #512") {
		t.Errorf("status after add: %q", status)
	}
	if got := f.e.Stats().Images; got != before+1 {
		t.Errorf("%d images after the add; want %d", got, before+1)
	}
	if ent, ok := f.e.Entry(512); !ok || ent.Label != 2 {
		t.Errorf("added image: %+v, %v; want label 2", ent, ok)
	}
	// The added image is searchable at once: knn shows it first,
	// highlighted. (irgen ranks it among the images of its semantic ID,
	// which come in insertion order; with this tiny model's 9 IDs it is
	// past the first 20.)
	err = chromedp.Do(bctx,
		chromedp.SetValue(chromedp.ID("method"), "knn"),
		chromedp.Evaluate[chromedp.Void](`document.getElementById('method').dispatchEvent(new Event('change'))`),
		poll(`document.querySelector('#results li.result')?.classList.contains('added')`),
		poll(`[...document.querySelectorAll('#results img')].slice(0, 8).every(i => i.complete && i.naturalWidth > 0)`),
	)
	if err != nil {
		t.Fatalf("knn search for the added image in the page: %v (JS errors: %v)", err, jsErrors())
	}
	if errs := jsErrors(); len(errs) > 0 {
		t.Errorf("JavaScript errors: %v", errs)
	}
	shot, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}

	out := filepath.Join(t.TempDir(), "screenshot.png")
	if os.Getenv("IRGEN_UPDATE_SCREENSHOT") == "1" {
		out = filepath.Join("..", "..", "docs", "screenshot.png")
		os.MkdirAll(filepath.Dir(out), 0o755)
	}
	if err := os.WriteFile(out, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s (%d bytes)", out, len(shot))
}
