package pgcat_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/irgen/irgen/api"
)

// ledger records what the replicas acknowledged during a storm.
type ledger struct {
	mu      sync.Mutex
	added   map[int][]byte // acknowledged adds: id → the uploaded file
	deleted map[int]bool   // acknowledged deletes
	unsure  map[int]bool   // deletes answered by no status or 503: done or not
	counts  map[string]int // answers by kind, for the log
	causes  map[string]int // the messages of 503 answers, for the log
	errs    []string       // answers that should not have happened
}

func newLedger() *ledger {
	return &ledger{added: map[int][]byte{}, deleted: map[int]bool{}, unsure: map[int]bool{}, counts: map[string]int{}, causes: map[string]int{}}
}

func (l *ledger) count(kind string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.counts[kind]++
}

func (l *ledger) fail(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.errs) < 20 {
		l.errs = append(l.errs, fmt.Sprintf(format, args...))
	}
}

// pick returns an acknowledged image not deleted (or being deleted), or
// false.
func (l *ledger) pick(rng *rand.Rand) (int, []byte, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for id, img := range l.added { // map order is random enough
		if !l.deleted[id] && !l.unsure[id] && rng.IntN(4) == 0 {
			return id, img, true
		}
	}
	return 0, nil, false
}

// faultOf names the fault that explains err: a replica killed (no
// answer) or PostgreSQL down (503); "" for none.
func faultOf(err error) string {
	var se *api.StatusError
	if errors.As(err, &se) {
		if se.StatusCode == http.StatusServiceUnavailable {
			return "503"
		}
		return ""
	}
	return "no answer" // a transport error: the replica was killed
}

// gist returns the end of a 503 answer's message (its cause), "" for
// another error.
func gist(err error) string {
	var se *api.StatusError
	if !errors.As(err, &se) {
		return ""
	}
	msg := se.Message
	if i := strings.LastIndex(msg, ": "); i >= 0 && len(msg)-i < 80 {
		msg = msg[i+2:]
	}
	return msg
}

// cause counts the cause of a 503 answer.
func (l *ledger) cause(err error) {
	if msg := gist(err); msg != "" {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.causes[msg]++
	}
}

func (l *ledger) add(ctx context.Context, c *api.Client, seed uint64) {
	class := int(seed % 4)
	img := pngOf(class, seed)
	r, err := c.Add(ctx, img, api.AddOptions{Label: strconv.Itoa(class)})
	switch {
	case err == nil:
		l.mu.Lock()
		l.added[r.ID] = img
		l.mu.Unlock()
		l.count("add 201")
	case ctx.Err() != nil:
	case faultOf(err) != "":
		l.count("add " + faultOf(err))
		l.cause(err)
	default:
		l.fail("add: %v", err)
	}
}

func (l *ledger) del(ctx context.Context, c *api.Client, rng *rand.Rand) {
	id, _, ok := l.pick(rng)
	if !ok {
		return
	}
	err := c.Delete(ctx, id)
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case err == nil:
		l.deleted[id] = true
		l.counts["delete 204"]++
	case faultOf(err) != "" || ctx.Err() != nil:
		l.unsure[id] = true
		l.counts["delete "+faultOf(err)]++
		if msg := gist(err); msg != "" {
			l.causes[msg]++
		}
	default:
		if len(l.errs) < 20 {
			l.errs = append(l.errs, fmt.Sprintf("delete %d: %v", id, err))
		}
	}
}

func (l *ledger) search(ctx context.Context, c *api.Client, rng *rand.Rand) {
	_, img, ok := l.pick(rng)
	if !ok {
		img = pngOf(rng.IntN(4), rng.Uint64())
	}
	method := []string{"knn", "irgen"}[rng.IntN(2)]
	_, err := c.Search(ctx, img, api.SearchOptions{Method: method, K: 10})
	switch {
	case err == nil:
		l.count("search 200")
	case ctx.Err() != nil:
	case faultOf(err) != "":
		l.count("search " + faultOf(err))
	default:
		l.fail("search %s: %v", method, err)
	}
}

// fault sends request i of a cycle of faulty requests to base and checks
// the answer's status.
func (l *ledger) fault(ctx context.Context, base string, i int) {
	faults := []struct {
		method, path, ctype, body string
		auth                      bool
		want                      []int
	}{
		{"POST", "/v1/images", "application/octet-stream", "not an image", true, []int{400, 415}},
		{"POST", "/v1/images", "application/octet-stream", string(pngOf(0, 1)), false, []int{401}},
		{"DELETE", "/v1/images/987654321", "", "", true, []int{404, 503}},
		{"DELETE", "/v1/images/007", "", "", true, []int{400}},
		{"GET", "/v1/images/x", "", "", false, []int{400}},
		{"POST", "/v1/search?k=0", "application/octet-stream", string(pngOf(1, 2)), false, []int{400}},
		{"POST", "/v1/search?method=nope", "application/octet-stream", string(pngOf(1, 2)), false, []int{400}},
		{"POST", "/v1/search", "image/png", "\x89PNG\r\n\x1a\ntruncated", false, []int{400, 415}},
	}
	f := faults[i%len(faults)]
	req, _ := http.NewRequestWithContext(ctx, f.method, base+f.path, strings.NewReader(f.body))
	if f.ctype != "" {
		req.Header.Set("Content-Type", f.ctype)
	}
	if f.auth {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		l.count("fault without an answer")
		return
	}
	resp.Body.Close()
	for _, w := range f.want {
		if resp.StatusCode == w {
			l.count("fault answered as expected")
			return
		}
	}
	if resp.StatusCode == http.StatusServiceUnavailable {
		l.count("fault answered 503")
		return
	}
	l.fail("%s %s: %d; want %v", f.method, f.path, resp.StatusCode, f.want)
}

// storm runs writers, searchers and faulty requests against the
// replicas in slots until ctx ends.
func (l *ledger) storm(ctx context.Context, slots []*slot) *sync.WaitGroup {
	var wg sync.WaitGroup
	run := func(worker int, fn func(rng *rand.Rand, i int)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(worker), 7))
			for i := 0; ctx.Err() == nil; i++ {
				fn(rng, i)
			}
		}()
	}
	for w := range 2 {
		run(w, func(rng *rand.Rand, i int) {
			l.add(ctx, slots[(i+w)%2].get().client, uint64(w)<<32|uint64(i))
		})
	}
	run(2, func(rng *rand.Rand, i int) {
		l.del(ctx, slots[i%2].get().client, rng)
		time.Sleep(40 * time.Millisecond)
	})
	run(3, func(rng *rand.Rand, i int) { l.search(ctx, slots[i%2].get().client, rng) })
	run(4, func(rng *rand.Rand, i int) {
		l.fault(ctx, slots[i%2].get().base, i)
		time.Sleep(10 * time.Millisecond)
	})
	return &wg
}
