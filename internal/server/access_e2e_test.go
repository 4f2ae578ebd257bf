package server_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/irgen/irgen/api"
	"github.com/irgen/irgen/internal/catalog"
	"github.com/irgen/irgen/internal/server"
	"github.com/irgen/irgen/internal/testmodel"
)

// TestWriteAccess drives the access rules through a running server: a
// page on another origin cannot add, a raw text/plain body is refused, a
// foreign Host is refused, a token guards adds and deletes, and a
// read-only server refuses both.
func TestWriteAccess(t *testing.T) {
	f := start(t, server.Config{Access: server.Access{Loopback: true, Token: "s3cret"}})
	ctx := context.Background()
	img := pngOf(t, 1, 5)
	status := func(err error) int {
		var se *api.StatusError
		if errors.As(err, &se) {
			return se.StatusCode
		}
		return 0
	}
	if _, err := f.client.Add(ctx, img, api.AddOptions{}); status(err) != http.StatusUnauthorized {
		t.Errorf("add without the token: %v; want 401", err)
	}
	f.client.Token = "s3cret"
	added, err := f.client.Add(ctx, img, api.AddOptions{})
	if err != nil {
		t.Fatalf("add with the token: %v", err)
	}
	post := func(ctype string, h map[string]string) int {
		req, _ := http.NewRequest("POST", f.ts.URL+"/v1/images", bytes.NewReader(img))
		req.Header.Set("Content-Type", ctype)
		req.Header.Set("Authorization", "Bearer s3cret")
		for k, v := range h {
			req.Header.Set(k, v)
		}
		resp, err := f.ts.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := post("image/png", map[string]string{"Origin": "http://evil.example"}); got != http.StatusForbidden {
		t.Errorf("cross-origin add: %d; want 403", got)
	}
	if got := post("text/plain", nil); got != http.StatusUnsupportedMediaType {
		t.Errorf("text/plain add: %d; want 415", got)
	}
	req, _ := http.NewRequest("GET", f.ts.URL+"/healthz", nil)
	req.Host = "rebound.example:80"
	resp, err := f.ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("foreign Host: %d; want 403", resp.StatusCode)
	}
	if err := f.client.Delete(ctx, added.ID); err != nil {
		t.Errorf("delete with the token: %v", err)
	}

	ro := start(t, server.Config{Access: server.Access{ReadOnly: true}})
	if _, err := ro.client.Add(ctx, img, api.AddOptions{}); status(err) != http.StatusForbidden {
		t.Errorf("add to a read-only server: %v; want 403", err)
	}
	if err := ro.client.Delete(ctx, 0); status(err) != http.StatusForbidden {
		t.Errorf("delete on a read-only server: %v; want 403", err)
	}
	if _, err := ro.client.Search(ctx, img, api.SearchOptions{K: 3}); err != nil {
		t.Errorf("search on a read-only server: %v", err)
	}
}

// TestMethodsAndIDs checks that a known route with the wrong method
// answers 405 with Allow, and that image ids have one spelling.
func TestMethodsAndIDs(t *testing.T) {
	f := start(t, server.Config{})
	for _, tc := range []struct {
		method, path string
		want         int
		allow        string
	}{
		{"PUT", "/v1/images", http.StatusMethodNotAllowed, "POST"},
		{"GET", "/v1/search", http.StatusMethodNotAllowed, "POST"},
		{"POST", "/v1/images/3", http.StatusMethodNotAllowed, "GET, DELETE"},
		{"DELETE", "/healthz", http.StatusMethodNotAllowed, "GET"},
		{"GET", "/v2/nothing", http.StatusNotFound, ""},
		{"GET", "/v1/images/+5", http.StatusBadRequest, ""},
		{"GET", "/v1/images/05", http.StatusBadRequest, ""},
		{"DELETE", "/v1/images/-1", http.StatusBadRequest, ""},
		{"GET", "/v1/images/5", http.StatusOK, ""},
	} {
		req, _ := http.NewRequest(tc.method, f.ts.URL+tc.path, nil)
		resp, err := f.ts.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want || resp.Header.Get("Allow") != tc.allow {
			t.Errorf("%s %s: %d, Allow %q; want %d, %q", tc.method, tc.path, resp.StatusCode, resp.Header.Get("Allow"), tc.want, tc.allow)
		}
	}
}

// TestReadOnlyCatalog serves a model whose catalog file cannot be written:
// health says so at once and an add answers 503 with the cause, not 500.
func TestReadOnlyCatalog(t *testing.T) {
	// Tests run as root, who writes read-only files: the database is
	// opened read-only instead.
	dir := testmodel.Copy(t)
	e, cat, err := testmodel.Attach(dir)
	if err != nil {
		t.Fatal(err)
	}
	cat.Close()
	ro, err := catalog.OpenReadOnly(filepath.Join(dir, catalog.File))
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	e.SetJournal(ro)
	srv := server.New(e, ro, server.Config{})
	ts := newLoopbackServer(t, srv.Handler())
	client, _ := api.NewClient(ts.URL, ts.Client())
	ctx := context.Background()
	h, err := client.Health(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if h.Status != "degraded" || !strings.Contains(h.Storage, "read-only") {
		t.Errorf("health %+v; want degraded, read-only", h)
	}
	_, err = client.Add(ctx, pngOf(t, 2, 9), api.AddOptions{})
	var se *api.StatusError
	if !errors.As(err, &se) || se.StatusCode != http.StatusServiceUnavailable || !strings.Contains(se.Message, "read-only") {
		t.Errorf("add to a read-only catalog: %v; want 503 naming the cause", err)
	}
}

// TestStoredFiles checks that an upload padded with junk is stored at its
// image's size, and that the catalog's size bound refuses adds with 507.
func TestStoredFiles(t *testing.T) {
	img := pngOf(t, 3, 11)
	f := start(t, server.Config{MaxCatalogBytes: int64(3 * len(img))})
	ctx := context.Background()
	padded := append(append([]byte(nil), img...), bytes.Repeat([]byte{0xAB}, 1<<20)...)
	added, err := f.client.Add(ctx, padded, api.AddOptions{})
	if err != nil {
		t.Fatal(err)
	}
	data, _, err := f.client.Image(ctx, added.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(data, img) {
		t.Errorf("stored %d bytes of a %d-byte PNG padded to %d", len(data), len(img), len(padded))
	}
	var se *api.StatusError
	for i := range 10 {
		_, err = f.client.Add(ctx, pngOf(t, 1, uint64(20+i)), api.AddOptions{})
		if err != nil {
			break
		}
	}
	if !errors.As(err, &se) || se.StatusCode != http.StatusInsufficientStorage || !strings.Contains(se.Message, "--max-catalog") {
		t.Errorf("adds past the catalog bound: %v; want 507 naming --max-catalog", err)
	}
}
