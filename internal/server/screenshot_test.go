package server_test

import (
	"context"
	"flag"
	"os"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

var (
	shotURL   = flag.String("screenshot-url", "", "with -screenshot-query and -screenshot-out: search the page of a running 'irgen serve' at this URL and save a screenshot")
	shotQuery = flag.String("screenshot-query", "", "image file to search with for -screenshot-url")
	shotOut   = flag.String("screenshot-out", "", "PNG file the -screenshot-url screenshot goes to")
)

// TestScreenshot takes the README's picture of the web page of a real
// model, served by 'irgen serve'; it runs only when given its flags:
//
//	go test ./internal/server -run Screenshot -screenshot-url http://127.0.0.1:8080 \
//		-screenshot-query q.png -screenshot-out docs/screenshot-fashion-mnist.png
func TestScreenshot(t *testing.T) {
	if *shotURL == "" || *shotQuery == "" || *shotOut == "" {
		t.Skip("needs -screenshot-url, -screenshot-query and -screenshot-out")
	}
	if _, err := os.Stat(chromium); err != nil {
		t.Skipf("no %s: %v", chromium, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(chromium), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1100, 900))
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(actx)
	defer cancelBrowser()
	err := chromedp.Do(bctx,
		chromedp.Navigate(*shotURL),
		chromedp.WaitReady(chromedp.CSS(`#method option`)),
		chromedp.SetUploadFiles(chromedp.ID("file"), []string{*shotQuery}),
		chromedp.WaitVisible(chromedp.CSS(`#results li.result`)),
		chromedp.Poll[chromedp.Void](`[...document.querySelectorAll('#results img')].every(i => i.complete && i.naturalWidth > 0)`,
			chromedp.WithPollingTimeout(20*time.Second)),
	)
	if err != nil {
		t.Fatal(err)
	}
	shot, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(*shotOut, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s (%d bytes)", *shotOut, len(shot))
}
