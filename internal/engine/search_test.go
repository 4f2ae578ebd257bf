package engine_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/irgen/irgen/internal/engine"
)

// lister is a method that ignores Request.Skip: every query gets the
// gallery images 0, 1, 2, … in order, req.K of them.
type lister struct {
	calls *[]engine.Request
	n     *[]int // queries per call
}

func (l lister) Search(images []float32, n int, req engine.Request) ([][]engine.Hit, time.Duration, error) {
	*l.calls = append(*l.calls, req)
	*l.n = append(*l.n, n)
	out := make([][]engine.Hit, n)
	for q := range out {
		for id := range req.K {
			out[q] = append(out[q], engine.Hit{Index: id, Score: -float32(id)})
		}
	}
	return out, time.Millisecond, nil
}

// miscount returns one result list too many.
type miscount struct{}

func (miscount) Search(images []float32, n int, req engine.Request) ([][]engine.Hit, time.Duration, error) {
	return make([][]engine.Hit, n+1), 0, nil
}

var (
	listerCalls []engine.Request
	listerN     []int
)

func init() {
	engine.Register("test-lister", func(*engine.Engine) (engine.Retriever, error) {
		return lister{&listerCalls, &listerN}, nil
	})
	engine.Register("test-miscount", func(*engine.Engine) (engine.Retriever, error) { return miscount{}, nil })
}

// TestSearchPolicy checks what Engine.Search does for every method: it
// drops deleted and excluded images from a method that returns them, asks
// again, for twice as many, only for the queries left short, and reports
// the method's encoding time.
func TestSearchPolicy(t *testing.T) {
	e := openTestEngine(t)
	size := e.Transform.Len()
	images := make([]float32, 3*size)
	listerCalls, listerN = nil, nil
	hits, tm, err := e.Search("test-lister", images, 3, engine.Options{K: 4})
	if err != nil {
		t.Fatal(err)
	}
	if len(listerCalls) != 1 || listerCalls[0].K != 4 || listerCalls[0].Beam != 30 || listerCalls[0].Skip != nil {
		t.Errorf("requests %+v; want one, K 4, the default beam 30, no Skip", listerCalls)
	}
	for q, hs := range hits {
		if got := ids(hs); !slices.Equal(got, []int{0, 1, 2, 3}) {
			t.Errorf("query %d: %v", q, got)
		}
	}
	if tm.Encode != time.Millisecond || tm.Search < 0 {
		t.Errorf("timing %+v; want the method's 1ms encoding", tm)
	}

	for _, id := range []int{1, 2, 5} {
		if err := e.Delete(id); err != nil {
			t.Fatal(err)
		}
	}
	listerCalls, listerN = nil, nil
	// Query 0 is short after the first request, query 1, which excludes
	// 0, 3 and 4, after the second too.
	exclude := func(q, id int) bool { return q == 1 && (id == 0 || id == 3 || id == 4) }
	hits, _, err = e.Search("test-lister", images[:2*size], 2, engine.Options{K: 2, Exclude: exclude})
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(hits[0]); !slices.Equal(got, []int{0, 3}) {
		t.Errorf("query 0: %v; want 0 3", got)
	}
	if got := ids(hits[1]); !slices.Equal(got, []int{6, 7}) {
		t.Errorf("query 1: %v; want 6 7", got)
	}
	var ks []int
	for _, r := range listerCalls {
		ks = append(ks, r.K)
		if r.Skip == nil {
			t.Errorf("request %+v without Skip", r)
		}
	}
	if !slices.Equal(ks, []int{2, 4, 8}) || !slices.Equal(listerN, []int{2, 2, 1}) {
		t.Fatalf("asked for K %v of %v queries; want 2 4 8 of 2 2 1", ks, listerN)
	}
	// Skip's query index is the caller's, in the third request too.
	if !listerCalls[2].Skip(0, 4) || listerCalls[2].Skip(0, 6) {
		t.Error("Skip of the third request does not name query 1")
	}

	// A method never asked for more than the gallery holds.
	g := e.Stats().Slots
	listerCalls = nil
	hits, _, err = e.Search("test-lister", images[:size], 1, engine.Options{K: g, Exclude: func(_, id int) bool { return id%2 == 0 }})
	if err != nil {
		t.Fatal(err)
	}
	if len(listerCalls) != 1 || len(hits[0]) != g/2-2 {
		t.Errorf("%d requests, %d hits; want 1, %d", len(listerCalls), len(hits[0]), g/2-2)
	}

	if _, _, err := e.Search("test-miscount", images[:size], 1, engine.Options{K: 1}); err == nil || !strings.Contains(err.Error(), "2 result lists for 1") {
		t.Errorf("a method returning too many lists: %v", err)
	}
}

// TestSearchChecks checks that every method, built in or registered, is
// refused the same bad options.
func TestSearchChecks(t *testing.T) {
	e := openTestEngine(t)
	size := e.Transform.Len()
	for _, m := range append(slices.Clone(engine.Methods), "test-lister") {
		for _, tc := range []struct {
			images []float32
			n      int
			k      int
			want   string
		}{
			{make([]float32, size), 1, 0, "k = 0"},
			{make([]float32, size), 1, -1, "k = -1"},
			{make([]float32, size+1), 1, 1, "values for 1 query images"},
			{make([]float32, size), 2, 1, "values for 2 query images"},
		} {
			_, _, err := e.Search(m, tc.images, tc.n, engine.Options{K: tc.k})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%s: %d values, n %d, k %d: got %v, want %q", m, len(tc.images), tc.n, tc.k, err, tc.want)
			}
		}
	}
	if _, _, err := e.Search("no-such-method", make([]float32, size), 1, engine.Options{K: 1}); err == nil {
		t.Error("unknown method accepted")
	}
}
