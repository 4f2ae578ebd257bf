// Package server is irgen's HTTP service ('irgen serve'): search by image,
// live adds and deletes kept in the catalog, the stored images, health,
// Prometheus metrics and a web page. The wire types and a Go client are in
// package api.
package server

import (
	"context"
	"errors"
	"fmt"
	"image"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/irgen/irgen/internal/catalog"
	"github.com/irgen/irgen/internal/engine"
	"github.com/irgen/irgen/internal/imageproc"
)

// Config bounds what one request may cost.
type Config struct {
	// MaxBodyBytes is the largest request body accepted.
	MaxBodyBytes int64
	// MaxCatalogBytes bounds the image files the catalog keeps; an add
	// past it answers 507. 0 means no bound.
	MaxCatalogBytes int64
	// MaxBodyMemory bounds the request bodies held in memory at once: a
	// request reserves its Content-Length (MaxBodyBytes when unknown)
	// before reading its body and waits, within Timeout, for room.
	MaxBodyMemory int64
	// Limits bounds the decoding of uploaded images (pixels above all:
	// the header is checked before the body is decoded).
	Limits imageproc.Limits
	// Timeout is the longest a search or add may take, waiting for a slot
	// included; past it the request fails with 503.
	Timeout time.Duration
	// Concurrency is how many searches and adds run at once; the others
	// wait for a slot.
	Concurrency int
	// MaxK is the largest k a search may ask for.
	MaxK int
	// DefaultK is the k of a search that gives none.
	DefaultK int
	// MaxBeam is the largest beam width a search may ask for.
	MaxBeam int
	// ShutdownTimeout is how long Serve waits for requests in flight
	// after its context ends.
	ShutdownTimeout time.Duration
	// Originals, if set, loads a data set image that has no stored file
	// (images indexed from a data set rather than uploaded), so GET
	// /v1/images/{id} can serve it re-encoded as PNG.
	Originals func(id int, key string) (image.Image, error)
	// Access says who may change the collection.
	Access Access
	// BatchWindow is how long a search may wait for other searches of the
	// same method, k and beam to run in one engine call with it (they are
	// answered each with its own results). A search waits only while
	// others are on their way, never when it is alone, and its batch
	// keeps collecting while all slots are busy. 0 turns batching off:
	// each search runs alone.
	BatchWindow time.Duration
	// MaxBatch is the most searches one engine call answers.
	MaxBatch int
}

// DefaultConfig returns 32 MiB bodies (128 MiB of them at once),
// 40-megapixel images of at most 64 MiB decoded, 10 s
// requests, one search slot per CPU, k up to 1000 (default 20), beams
// up to 200, and searches batched within 2 ms, 16 at most.
func DefaultConfig() Config {
	return Config{
		MaxBodyBytes:    32 << 20,
		MaxBodyMemory:   128 << 20,
		MaxCatalogBytes: 4 << 30,
		Limits:          imageproc.Limits{MaxBytes: 32 << 20, MaxPixels: 40 << 20, MaxDecodedBytes: 64 << 20},
		Timeout:         10 * time.Second,
		Concurrency:     runtime.GOMAXPROCS(0),
		MaxK:            1000,
		DefaultK:        20,
		MaxBeam:         200,
		ShutdownTimeout: 30 * time.Second,
		BatchWindow:     2 * time.Millisecond,
		MaxBatch:        16,
	}
}

// resolved returns cfg with DefaultConfig's value for each limit left at
// zero or below (for Limits, left zero), and MaxBodyMemory at least
// MaxBodyBytes. MaxCatalogBytes and BatchWindow keep their zero: no
// bound, no batching.
func (cfg Config) resolved() Config {
	d := DefaultConfig()
	cfg.MaxBodyBytes = orDefault(cfg.MaxBodyBytes, d.MaxBodyBytes)
	if cfg.Limits == (imageproc.Limits{}) {
		cfg.Limits = d.Limits
	}
	if cfg.MaxBodyMemory < cfg.MaxBodyBytes {
		cfg.MaxBodyMemory = max(d.MaxBodyMemory, cfg.MaxBodyBytes)
	}
	cfg.Timeout = orDefault(cfg.Timeout, d.Timeout)
	cfg.Concurrency = orDefault(cfg.Concurrency, d.Concurrency)
	cfg.MaxK = orDefault(cfg.MaxK, d.MaxK)
	cfg.DefaultK = orDefault(cfg.DefaultK, min(d.DefaultK, cfg.MaxK))
	cfg.MaxBeam = orDefault(cfg.MaxBeam, d.MaxBeam)
	cfg.ShutdownTimeout = orDefault(cfg.ShutdownTimeout, d.ShutdownTimeout)
	cfg.MaxBatch = orDefault(cfg.MaxBatch, d.MaxBatch)
	return cfg
}

// orDefault returns v, or d where v is zero or below.
func orDefault[T int | int64 | time.Duration](v, d T) T {
	if v <= 0 {
		return d
	}
	return v
}

// Catalog is where the served collection is kept: a *catalog.Catalog
// (embedded SQLite, one server) or a *pgcat.Catalog (PostgreSQL, shared
// by replicas). Changes reach it through the engine (its journal); the
// server reads stored files and their size from it.
type Catalog interface {
	// Image returns an image's row with its stored file, if any.
	Image(ctx context.Context, id int) (catalog.Image, error)
	// StoredBytes is the size of the image files kept.
	StoredBytes() (int64, error)
	// Writable checks, by a write that is rolled back, that writes work.
	Writable() error
}

// A StoredBounder is a catalog that keeps the bound on its image files
// itself, in the transaction of each add (a catalog shared by replicas,
// whose adds this server does not see): an add past it fails with
// catalog.ErrQuota.
type StoredBounder interface {
	BoundStored(limit int64)
}

// Server serves one engine and its catalog.
type Server struct {
	e       *engine.Engine
	cat     Catalog // nil: changes are kept in memory only
	cfg     Config
	access  Access
	bodies  *budget
	storage atomic.Pointer[string] // the last storage error, nil once a write succeeds
	stored  atomic.Int64           // bytes of image files in the catalog
	bounded bool                   // the catalog keeps MaxCatalogBytes itself
	slots   chan struct{}
	batch   *batcher // nil: searches run alone
	metrics *metrics
	handler http.Handler
}

// New returns a server of e. cat is e's catalog (see catalog.Attach); nil
// serves without one, and adds and deletes then last until exit.
func New(e *engine.Engine, cat Catalog, cfg Config) *Server {
	cfg = cfg.resolved()
	s := &Server{e: e, cat: cat, cfg: cfg, access: cfg.Access, bodies: newBudget(cfg.MaxBodyMemory), slots: make(chan struct{}, cfg.Concurrency), metrics: newMetrics()}
	if cfg.BatchWindow > 0 {
		s.batch = newBatcher(s, cfg.BatchWindow, cfg.MaxBatch)
	}
	if e.OnePass() {
		slog.Info("server: irgen encodes each query once (the decoder's encoder is the tokenizer's)")
	}
	if sb, ok := cat.(StoredBounder); ok {
		sb.BoundStored(cfg.MaxCatalogBytes)
		s.bounded = true
	}
	if cat != nil {
		s.countStored()
		if err := cat.Writable(); err != nil {
			slog.Warn("server: the catalog takes no writes; adds and deletes will fail", "err", err)
			s.storageFailed(err)
		}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/search", s.handleSearch)
	mux.HandleFunc("POST /v1/images", s.handleAdd)
	mux.HandleFunc("GET /v1/images/{id}", s.handleImage)
	mux.HandleFunc("DELETE /v1/images/{id}", s.handleDelete)
	mux.HandleFunc("GET /healthz", s.handleHealth)
	mux.HandleFunc("GET /metrics", s.handleMetrics)
	web := webHandler()
	for _, p := range []string{"GET /{$}", "GET /app.js", "GET /style.css"} {
		mux.Handle(p, web)
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if allow := allowed(r.URL.Path); allow != "" {
			w.Header().Set("Allow", allow)
			s.writeError(w, r, fmt.Errorf("%w: %s %s (allowed: %s)", errMethod, r.Method, r.URL.Path, allow))
			return
		}
		s.writeError(w, r, fmt.Errorf("%w: no route %s %s", errNoRoute, r.Method, r.URL.Path))
	})
	s.handler = s.instrument(s.guard(mux))
	return s
}

// countStored reads the size of the catalog's image files.
func (s *Server) countStored() {
	n, err := s.cat.StoredBytes()
	if err != nil {
		slog.Warn("server: catalog size", "err", err)
		return
	}
	s.stored.Store(n)
}

// MemoryBound is the memory that requests may use at once under cfg's
// limits, beyond the idle server: the bodies held (MaxBodyMemory) and, in
// each slot, four times MaxDecodedBytes (the decoded image, its
// conversion, the file's copy and the garbage of the previous request
// that the collector has not reclaimed yet). 'irgen serve' sets the Go runtime's soft memory limit
// to the idle heap plus this, so that garbage is collected before the
// heap outgrows it.
func MemoryBound(cfg Config) int64 {
	return cfg.MaxBodyMemory + int64(cfg.Concurrency)*4*cfg.Limits.MaxDecodedBytes
}

// SetMemoryLimit sets the Go runtime's soft memory limit to the memory in
// use now plus MemoryBound(cfg) and returns it.
func SetMemoryLimit(cfg Config) int64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	limit := int64(ms.Sys-ms.HeapReleased) + MemoryBound(cfg)
	debug.SetMemoryLimit(limit)
	return limit
}

// storageFailed records a storage error for the health report.
func (s *Server) storageFailed(err error) {
	msg := err.Error()
	s.storage.Store(&msg)
}

// allowed returns the methods a route path answers, "" for no route.
func allowed(path string) string {
	switch {
	case path == "/v1/search" || path == "/v1/images":
		return "POST"
	case strings.HasPrefix(path, "/v1/images/") && !strings.Contains(path[len("/v1/images/"):], "/"):
		return "GET, DELETE"
	case path == "/healthz" || path == "/metrics" || path == "/" || path == "/app.js" || path == "/style.css":
		return "GET"
	}
	return ""
}

// Handler returns the server's HTTP handler.
func (s *Server) Handler() http.Handler { return s.handler }

// Serve answers requests on ln until ctx ends, then shuts down
// gracefully: it stops accepting, lets requests in flight finish (up to
// Config.ShutdownTimeout) and returns.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       s.cfg.Timeout + time.Minute,
		WriteTimeout:      s.cfg.Timeout + time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(slog.Default().Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("server: %w", err)
	case <-ctx.Done():
	}
	slog.Info("server: shutting down", "addr", ln.Addr().String())
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close()
		return fmt.Errorf("server: shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("server: %w", err)
	}
	return nil
}

// Warm runs one search by every method (default beam) on a blank image,
// and with batching, on batches of 2, 4, … up to MaxBatch blank images,
// so that the first requests do not pay for compiling the encoder and
// decoder graphs.
func (s *Server) Warm() error {
	sizes, opt := []int{1}, engine.Options{K: 1, Beam: 30}
	if s.batch != nil {
		opt.Batch = s.cfg.MaxBatch
		for n := 2; n < 2*s.cfg.MaxBatch; n *= 2 {
			sizes = append(sizes, min(n, s.cfg.MaxBatch))
		}
	}
	for _, m := range s.methods() {
		for _, n := range sizes {
			x := make([]float32, n*s.e.Transform.Len())
			if _, _, err := s.e.Search(m, x, n, opt); err != nil {
				return fmt.Errorf("server: warm up %s: %w", m, err)
			}
		}
	}
	return nil
}

// methods lists the methods /v1/search accepts: the built-in ones the
// model can serve. Registered methods keep their own index, which live
// adds and deletes do not reach, so they are not served.
func (s *Server) methods() []engine.Method {
	var out []engine.Method
	for _, m := range engine.Methods {
		if s.e.Available(m) {
			out = append(out, m)
		}
	}
	return out
}

// defaultMethod is irgen when the decoder is trained, else knn.
func (s *Server) defaultMethod() engine.Method {
	if slices.Contains(s.methods(), engine.IRGen) {
		return engine.IRGen
	}
	return engine.KNN
}

// acquire waits for a search slot until ctx ends; release frees it.
func (s *Server) acquire(ctx context.Context) error {
	select {
	case s.slots <- struct{}{}:
		s.metrics.inflight.Add(1)
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%w: no free search slot within %v", errBusy, s.cfg.Timeout)
	}
}

func (s *Server) release() {
	s.metrics.inflight.Add(-1)
	<-s.slots
}

// run runs fn in a slot, giving up (with errBusy) when ctx ends first; fn
// then finishes in the background and frees its slot. A panic in fn
// becomes an error.
func (s *Server) run(ctx context.Context, fn func() error) (queued time.Duration, err error) {
	start := time.Now()
	if err := s.acquire(ctx); err != nil {
		return time.Since(start), err
	}
	queued = time.Since(start)
	if err := ctx.Err(); err != nil { // the client left while waiting
		s.release()
		return queued, fmt.Errorf("%w: %v", errBusy, err)
	}
	done := make(chan error, 1)
	go func() {
		defer s.release()
		defer func() {
			if p := recover(); p != nil {
				slog.Error("server: panic", "panic", p)
				done <- fmt.Errorf("server: panic: %v", p)
			}
		}()
		done <- fn()
	}()
	select {
	case err := <-done:
		return queued, err
	case <-ctx.Done():
		return queued, fmt.Errorf("%w: the request took longer than %v", errBusy, s.cfg.Timeout)
	}
}
