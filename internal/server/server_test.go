package server_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/png"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/irgen/irgen/api"
	"github.com/irgen/irgen/internal/catalog"
	"github.com/irgen/irgen/internal/dataset"
	"github.com/irgen/irgen/internal/engine"
	"github.com/irgen/irgen/internal/server"
	"github.com/irgen/irgen/internal/testmodel"
)

// fixture is a server over a private copy of the shared test model.
type fixture struct {
	dir    string
	e      *engine.Engine
	cat    *catalog.Catalog
	srv    *server.Server
	ts     *httptest.Server
	client *api.Client
}

// newLoopbackServer serves h on 127.0.0.1 until the test ends.
func newLoopbackServer(t testing.TB, h http.Handler) *httptest.Server {
	ts := httptest.NewUnstartedServer(h)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ts.Listener.Close()
	ts.Listener = ln
	ts.Start()
	t.Cleanup(ts.Close)
	return ts
}

// start serves a copy of the test model on 127.0.0.1 with cfg (zero
// fields take the defaults) and data set images from the test data.
func start(t testing.TB, cfg server.Config) *fixture {
	t.Helper()
	f := &fixture{dir: testmodel.Copy(t)}
	var err error
	if f.e, f.cat, err = testmodel.Attach(f.dir); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.cat.Close() })
	if cfg.Originals == nil {
		cfg.Originals = testOriginals(t)
	}
	f.srv = server.New(f.e, f.cat, cfg)
	f.ts = newLoopbackServer(t, f.srv.Handler())
	if f.client, err = api.NewClient(f.ts.URL, f.ts.Client()); err != nil {
		t.Fatal(err)
	}
	return f
}

// testOriginals loads gallery images from the test data set by key.
func testOriginals(t testing.TB) func(int, string) (image.Image, error) {
	ds, err := dataset.Open(testmodel.Data(t), dataset.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return func(id int, key string) (image.Image, error) {
		if id >= ds.Gallery.Len() || ds.Gallery.Key(id) != key {
			return nil, errors.New("not in the data set")
		}
		return ds.Gallery.Load(id)
	}
}

// pngOf returns a synthetic image of class c, PNG-encoded.
func pngOf(t testing.TB, c int, seed uint64) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, testmodel.Image(c, rand.New(rand.NewPCG(seed, seed)))); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func resultIDs(r *api.SearchResponse) []int {
	var out []int
	for _, x := range r.Results {
		out = append(out, x.ID)
	}
	return out
}

func TestSearchAddDelete(t *testing.T) {
	f := start(t, server.Config{})
	ctx := context.Background()
	h, err := f.client.Health(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if h.Status != "ok" || h.Images != 512 || !slices.Equal(h.Methods, []string{"irgen", "irgen-gen", "knn", "rqtree"}) || h.Default != "irgen" {
		t.Errorf("health %+v", h)
	}

	q := pngOf(t, 1, 42)
	for _, m := range h.Methods {
		r, err := f.client.Search(ctx, q, api.SearchOptions{K: 5, Method: m})
		if err != nil {
			t.Fatalf("%s: %v", m, err)
		}
		if r.Method != m || len(r.Results) != 5 || r.Ms.Total <= 0 {
			t.Errorf("%s: %+v", m, r)
		}
		// The classes are separable: every result has the query's class.
		for _, x := range r.Results {
			if x.Label != 1 || x.Class != "1" || !strings.HasPrefix(x.Key, "mnist/train/") {
				t.Errorf("%s: result %+v for a class-1 query", m, x)
			}
		}
	}

	added, err := f.client.Add(ctx, q, api.AddOptions{Label: "1"})
	if err != nil {
		t.Fatal(err)
	}
	if added.ID != 512 || added.Label != 1 || added.Class != "1" || added.SemID == "" || !strings.HasPrefix(added.Key, "api/") {
		t.Errorf("add: %+v", added)
	}
	r, err := f.client.Search(ctx, q, api.SearchOptions{K: 3, Method: "knn"})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Results) == 0 || r.Results[0].ID != added.ID || r.Results[0].Score < 0.999 {
		t.Errorf("knn for the added image: %+v", r.Results)
	}
	data, typ, err := f.client.Image(ctx, added.ID)
	if err != nil || typ != "image/png" || !bytes.Equal(data, q) {
		t.Errorf("GET the added image: %d bytes, %q, %v; want the uploaded %d bytes", len(data), typ, err, len(q))
	}
	// A data set image is served re-encoded as PNG.
	data, typ, err = f.client.Image(ctx, 0)
	if err != nil || typ != "image/png" {
		t.Fatalf("GET a data set image: %q, %v", typ, err)
	}
	if img, err := png.Decode(bytes.NewReader(data)); err != nil || img.Bounds().Dx() != 28 {
		t.Errorf("data set image: %v, %v", img.Bounds(), err)
	}

	if err := f.client.Delete(ctx, added.ID); err != nil {
		t.Fatal(err)
	}
	for _, m := range h.Methods {
		r, err := f.client.Search(ctx, q, api.SearchOptions{K: 600, Method: m})
		if err != nil {
			t.Fatal(err)
		}
		if slices.Contains(resultIDs(r), added.ID) {
			t.Errorf("%s returned the deleted image %d", m, added.ID)
		}
	}
	var se *api.StatusError
	if _, _, err := f.client.Image(ctx, added.ID); !errors.As(err, &se) || se.StatusCode != 404 {
		t.Errorf("GET a deleted image: %v; want 404", err)
	}
	if err := f.client.Delete(ctx, added.ID); !errors.As(err, &se) || se.StatusCode != 404 {
		t.Errorf("DELETE twice: %v; want 404", err)
	}
	if n, _ := f.cat.Count(); n != 512 {
		t.Errorf("catalog has %d images; want 512", n)
	}
}

// pngHeader returns a PNG signature and IHDR chunk declaring w × h pixels
// (the start of a decompression bomb).
func pngHeader(w, h uint32) []byte {
	var ihdr bytes.Buffer
	ihdr.WriteString("IHDR")
	binary.Write(&ihdr, binary.BigEndian, []uint32{w, h})
	ihdr.Write([]byte{8, 0, 0, 0, 0})
	var out bytes.Buffer
	out.WriteString("\x89PNG\r\n\x1a\n")
	binary.Write(&out, binary.BigEndian, uint32(13))
	out.Write(ihdr.Bytes())
	binary.Write(&out, binary.BigEndian, crc32.ChecksumIEEE(ihdr.Bytes()))
	return out.Bytes()
}

func TestBadInput(t *testing.T) {
	f := start(t, server.Config{MaxBodyBytes: 1 << 20})
	good := pngOf(t, 0, 1)
	multipartBody := func(field string, data []byte, extra map[string]string) (string, []byte) {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		for k, v := range extra {
			mw.WriteField(k, v)
		}
		w, _ := mw.CreateFormFile(field, "x.png")
		w.Write(data)
		mw.Close()
		return mw.FormDataContentType(), buf.Bytes()
	}
	ctMulti, bodyNoImage := multipartBody("file", good, nil)
	ctLabel, bodyBadLabel := multipartBody("image", good, map[string]string{"label": "cat"})
	ctLabel2, bodyLabelRange := multipartBody("image", good, map[string]string{"label": "10"})
	ctKey, bodyLongKey := multipartBody("image", good, map[string]string{"key": strings.Repeat("k", 1025)})
	tests := []struct {
		name, method, path, ctype string
		body                      []byte
		want                      int
	}{
		{"garbage", "POST", "/v1/search", "application/octet-stream", []byte("not an image"), 415},
		{"empty", "POST", "/v1/search", "", nil, 400},
		{"truncated png", "POST", "/v1/search", "image/png", good[:len(good)/2], 400},
		{"bomb header", "POST", "/v1/search", "image/png", pngHeader(100000, 100000), 413},
		{"body too large", "POST", "/v1/search", "image/png", append(bytes.Clone(good), make([]byte, 2<<20)...), 413},
		{"k zero", "POST", "/v1/search?k=0", "image/png", good, 400},
		{"k huge", "POST", "/v1/search?k=100000", "image/png", good, 400},
		{"k not a number", "POST", "/v1/search?k=ten", "image/png", good, 400},
		{"beam negative", "POST", "/v1/search?beam=-3", "image/png", good, 400},
		{"unknown method", "POST", "/v1/search?method=magic", "image/png", good, 400},
		{"multipart without image", "POST", "/v1/search", ctMulti, bodyNoImage, 400},
		{"broken multipart", "POST", "/v1/search", "multipart/form-data; boundary=zz", []byte("--zz\r\nbroken"), 400},
		{"add garbage", "POST", "/v1/images", "application/octet-stream", []byte("GIF89a"), 400},
		{"add unknown label", "POST", "/v1/images", ctLabel, bodyBadLabel, 400},
		{"add label out of range", "POST", "/v1/images", ctLabel2, bodyLabelRange, 400},
		{"add long key", "POST", "/v1/images", ctKey, bodyLongKey, 400},
		{"get bad id", "GET", "/v1/images/abc", "", nil, 400},
		{"get negative id", "GET", "/v1/images/-1", "", nil, 400},
		{"get missing id", "GET", "/v1/images/99999", "", nil, 404},
		{"delete missing id", "DELETE", "/v1/images/99999", "", nil, 404},
		{"delete huge id", "DELETE", "/v1/images/99999999999999999999", "", nil, 400},
		{"unknown route", "GET", "/v1/nothing", "", nil, 404},
		{"wrong method", "PUT", "/v1/search", "", nil, 405},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, f.ts.URL+tt.path, bytes.NewReader(tt.body))
			if tt.ctype != "" {
				req.Header.Set("Content-Type", tt.ctype)
			}
			resp, err := f.ts.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.want {
				t.Errorf("status %d; want %d (%s)", resp.StatusCode, tt.want, body)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" || !bytes.HasPrefix(body, []byte(`{"error":"`)) {
				t.Errorf("error body %q of type %q; want JSON {\"error\": ...}", body, ct)
			}
		})
	}
	// None of it changed the collection or broke the server.
	if h, err := f.client.Health(context.Background()); err != nil || h.Images != 512 {
		t.Errorf("health after bad input: %+v, %v", h, err)
	}
}

func TestMetrics(t *testing.T) {
	f := start(t, server.Config{})
	ctx := context.Background()
	f.client.Search(ctx, pngOf(t, 2, 3), api.SearchOptions{K: 3})
	f.client.Search(ctx, []byte("junk"), api.SearchOptions{})
	resp, err := f.ts.Client().Get(f.ts.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`irgen_http_requests_total{route="POST /v1/search",code="200"} 1`,
		`irgen_http_requests_total{route="POST /v1/search",code="415"} 1`,
		`irgen_http_request_duration_seconds_bucket{route="POST /v1/search",le="+Inf"} 2`,
		`irgen_http_request_duration_seconds_count{route="POST /v1/search"} 2`,
		"# TYPE irgen_http_request_duration_seconds histogram",
		"irgen_catalog_images 512",
		"irgen_search_inflight 0",
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %q:\n%s", want, body)
		}
	}
}

func TestWebPage(t *testing.T) {
	f := start(t, server.Config{})
	for _, p := range []struct{ path, ctype, has string }{
		{"/", "text/html", `<input id="file" type="file"`},
		{"/app.js", "text/javascript", "/v1/search"},
		{"/style.css", "text/css", "#results"},
	} {
		resp, err := f.ts.Client().Get(f.ts.URL + p.path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), p.ctype) || !strings.Contains(string(body), p.has) {
			t.Errorf("GET %s: %d %q, %d bytes", p.path, resp.StatusCode, resp.Header.Get("Content-Type"), len(body))
		}
		if resp.Header.Get("Content-Security-Policy") == "" {
			t.Errorf("GET %s: no Content-Security-Policy", p.path)
		}
	}
}

// TestShutdown stops a server while a search is in flight: the search
// completes and Serve returns without error.
func TestShutdown(t *testing.T) {
	f := start(t, server.Config{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.srv.Serve(ctx, ln) }()
	// A fresh connection per request: a request sent on an idle
	// keep-alive connection just as Shutdown closes it fails with EOF,
	// which is the client's race, not the server's.
	hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	client, _ := api.NewClient("http://"+ln.Addr().String(), hc)
	q := pngOf(t, 3, 9)
	if _, err := client.Search(context.Background(), q, api.SearchOptions{}); err != nil {
		t.Fatal(err)
	}
	const n = 4
	results := make(chan error, n)
	for range n {
		go func() {
			_, err := client.Search(context.Background(), q, api.SearchOptions{Method: "irgen", Beam: 100, K: 100})
			results <- err
		}()
	}
	// Shut down once a search is in flight.
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if metric(t, f.ts.URL, "irgen_search_inflight") != "0" {
			break
		}
	}
	cancel()
	ok := 0
	for range n {
		// Requests that reached a handler finish. One that had not
		// connected yet is refused, and one still in the listener's
		// accept queue when it closed is dropped by the kernel (EOF or
		// reset): no server can answer those.
		switch err := <-results; {
		case err == nil:
			ok++
		case !strings.Contains(err.Error(), "connection refused") && !strings.HasSuffix(err.Error(), "EOF") &&
			!strings.Contains(err.Error(), "connection reset"):
			t.Errorf("search during shutdown: %v", err)
		}
	}
	if ok == 0 {
		t.Error("no search in flight at shutdown completed")
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Serve did not return after its context ended")
	}
	if _, err := client.Health(context.Background()); err == nil {
		t.Error("the server still answers after shutdown")
	}
}

// TestBusy fills the only search slot and checks that a search waiting
// past the timeout gets 503 with Retry-After.
func TestBusy(t *testing.T) {
	f := start(t, server.Config{Concurrency: 1, Timeout: 50 * time.Millisecond})
	ctx := context.Background()
	q := pngOf(t, 0, 5)
	// Slow searches (large beams) keep the slot busy.
	errs := make(chan error, 8)
	for range 8 {
		go func() {
			_, err := f.client.Search(ctx, q, api.SearchOptions{Method: "irgen", Beam: 200, K: 1000})
			errs <- err
		}()
	}
	busy := 0
	for range 8 {
		var se *api.StatusError
		if err := <-errs; errors.As(err, &se) && se.StatusCode == 503 {
			busy++
		} else if err != nil {
			t.Errorf("search: %v", err)
		}
	}
	if busy == 0 {
		t.Skip("the machine ran 8 searches within the 50 ms timeout; nothing to check")
	}
	t.Logf("%d of 8 searches answered 503", busy)
	if h, err := f.client.Health(ctx); err != nil || h.Status != "ok" {
		t.Errorf("health after 503s: %+v, %v", h, err)
	}
}
