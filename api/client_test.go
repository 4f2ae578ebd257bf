package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/irgen/irgen/api"
)

// fake answers like an irgen server mounted under /irgen, recording
// what it was sent.
func fake(t *testing.T) (*httptest.Server, *http.Request, *map[string]string) {
	var last http.Request
	form := map[string]string{}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /irgen/v1/search", func(w http.ResponseWriter, r *http.Request) {
		last = *r
		f, _, err := r.FormFile("image")
		if err != nil {
			w.WriteHeader(400)
			json.NewEncoder(w).Encode(api.Error{Error: "no image"})
			return
		}
		data, _ := io.ReadAll(f)
		form["image"] = string(data)
		json.NewEncoder(w).Encode(api.SearchResponse{Method: r.URL.Query().Get("method"), Results: []api.Result{{ID: 3, Key: "a", Score: 0.5}}})
	})
	mux.HandleFunc("POST /irgen/v1/images", func(w http.ResponseWriter, r *http.Request) {
		r.ParseMultipartForm(1 << 20)
		form["label"], form["key"] = r.FormValue("label"), r.FormValue("key")
		w.WriteHeader(201)
		json.NewEncoder(w).Encode(api.AddResponse{ID: 7, Key: form["key"], SemID: "1-2"})
	})
	mux.HandleFunc("DELETE /irgen/v1/images/{id}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("id") != "7" {
			w.WriteHeader(404)
			json.NewEncoder(w).Encode(api.Error{Error: "no such image"})
			return
		}
		w.WriteHeader(204)
	})
	mux.HandleFunc("GET /irgen/v1/images/{id}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/png")
		w.Write([]byte("png!"))
	})
	mux.HandleFunc("GET /irgen/healthz", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(503)
		w.Write([]byte("overloaded\n")) // not JSON
	})
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	return ts, &last, &form
}

func TestClient(t *testing.T) {
	ts, last, form := fake(t)
	c, err := api.NewClient(ts.URL+"/irgen/", nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	r, err := c.Search(ctx, []byte("img"), api.SearchOptions{K: 5, Method: "knn"})
	if err != nil {
		t.Fatal(err)
	}
	want := &api.SearchResponse{Method: "knn", Results: []api.Result{{ID: 3, Key: "a", Score: 0.5}}}
	if diff := cmp.Diff(want, r); diff != "" {
		t.Errorf("Search (-want +got):\n%s", diff)
	}
	if q := last.URL.RawQuery; q != "k=5&method=knn" || (*form)["image"] != "img" {
		t.Errorf("Search sent query %q, image %q", q, (*form)["image"])
	}

	a, err := c.Add(ctx, []byte("img"), api.AddOptions{Label: "Dress", Key: "mine"})
	if err != nil || a.ID != 7 || (*form)["label"] != "Dress" || (*form)["key"] != "mine" {
		t.Errorf("Add = %+v, %v; sent %v", a, err, *form)
	}
	if err := c.Delete(ctx, 7); err != nil {
		t.Errorf("Delete(7): %v", err)
	}
	data, typ, err := c.Image(ctx, 7)
	if err != nil || string(data) != "png!" || typ != "image/png" {
		t.Errorf("Image(7) = %q, %q, %v", data, typ, err)
	}

	tests := []struct {
		name string
		call func() error
		code int
		msg  string
	}{
		{"json error", func() error { return c.Delete(ctx, 8) }, 404, "no such image"},
		{"text error", func() error { _, err := c.Health(ctx); return err }, 503, "overloaded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			var se *api.StatusError
			if !errors.As(err, &se) || se.StatusCode != tt.code || se.Message != tt.msg {
				t.Errorf("got %v; want StatusError %d %q", err, tt.code, tt.msg)
			}
		})
	}

	if _, err := api.NewClient("ftp://x", nil); err == nil {
		t.Error("NewClient accepted an ftp URL")
	}
}
