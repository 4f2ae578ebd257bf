package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"image/png"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/irgen/irgen/api"
	"github.com/irgen/irgen/internal/engine"
	"github.com/irgen/irgen/internal/imageproc"
	"github.com/irgen/irgen/internal/semid"
)

func (s *Server) handleSearch(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	key, err := s.searchKey(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var tk *ticket
	if s.batch != nil {
		tk = s.batch.expect()
		defer s.batch.cancel(tk)
	}
	up, err := s.readUpload(w, r)
	defer up.release()
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.Timeout)
	defer cancel()
	res, err := s.search(ctx, key, up, tk)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	resp := api.SearchResponse{Method: string(key.method), Results: make([]api.Result, 0, len(res.hits))}
	for _, h := range res.hits {
		// An image deleted since the search is dropped here.
		if ent, ok := s.e.Entry(h.Index); ok {
			resp.Results = append(resp.Results, api.Result{ID: ent.ID, Key: ent.Key, Label: ent.Label, Class: ent.Class, Score: h.Score})
		}
	}
	tm := res.tm
	resp.Ms = api.Timing{Decode: ms(res.decoded), Queue: ms(res.queued), Encode: ms(tm.Encode), Search: ms(tm.Search), Total: ms(time.Since(start))}
	writeJSON(w, http.StatusOK, resp)
}

// searchKey reads a search's method, k and beam from its query string.
func (s *Server) searchKey(r *http.Request) (batchKey, error) {
	q := r.URL.Query()
	k, err := intParam(q.Get("k"), s.cfg.DefaultK, 1, s.cfg.MaxK, "k")
	if err != nil {
		return batchKey{}, err
	}
	beamWidth, err := intParam(q.Get("beam"), 30, 1, s.cfg.MaxBeam, "beam")
	if err != nil {
		return batchKey{}, err
	}
	method := s.defaultMethod()
	if v := q.Get("method"); v != "" {
		method = engine.Method(v)
		if !slices.Contains(s.methods(), method) {
			return batchKey{}, fmt.Errorf("%w: method %q: this server has %v", errBadRequest, v, s.methods())
		}
	}
	return batchKey{method: method, k: k, beam: beamWidth}, nil
}

// searched is a search's hits and where its time went: Encode and Search
// are those of the engine call, shared with the other searches of its
// batch; queued is the wait for a slot and for the batch's turn.
type searched struct {
	hits            []engine.Hit
	tm              engine.Timing
	decoded, queued time.Duration
}

// search decodes the upload in a slot (a large image costs memory and
// CPU), so that a bad image fails alone, and searches it: in the same
// slot without batching (tk nil), else in a batch.
func (s *Server) search(ctx context.Context, key batchKey, up upload, tk *ticket) (searched, error) {
	var (
		x       []float32
		hits    [][]engine.Hit
		tm      engine.Timing
		decoded time.Duration
	)
	queued, err := s.run(ctx, func() error {
		t0 := time.Now()
		img, err := s.decode(up)
		if err != nil {
			return err
		}
		x = make([]float32, s.e.Transform.Len())
		if err := s.e.Transform.Eval(img, x); err != nil {
			return fmt.Errorf("%w: %v", errBadImage, err)
		}
		decoded = time.Since(t0)
		if tk != nil {
			return nil
		}
		hits, tm, err = s.e.Search(key.method, x, 1, engine.Options{K: key.k, Beam: key.beam})
		return err
	})
	if err != nil { // fn may still run: its variables are not read
		return searched{}, err
	}
	if tk == nil {
		return searched{hits: hits[0], tm: tm, decoded: decoded, queued: queued}, nil
	}
	r, err := s.batch.search(ctx, tk, key, x)
	if err != nil {
		return searched{}, err
	}
	return searched{hits: r.hits, tm: r.tm, decoded: decoded, queued: queued + r.wait}, nil
}

func (s *Server) handleAdd(w http.ResponseWriter, r *http.Request) {
	up, err := s.readUpload(w, r)
	defer up.release()
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	label, err := s.parseLabel(up.fields["label"])
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	key := up.fields["key"]
	if key == "" {
		sum := sha256.Sum256(up.data)
		key = "api/" + hex.EncodeToString(sum[:8])
	}
	if len(key) > 1024 {
		s.writeError(w, r, fmt.Errorf("%w: key of %d bytes, at most 1024", errBadRequest, len(key)))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.Timeout)
	defer cancel()
	// An add, once it has a slot, runs to the end even if the client
	// leaves, so a committed add is never answered with a timeout.
	if err := s.acquire(ctx); err != nil {
		s.writeError(w, r, err)
		return
	}
	defer s.release()
	id, err := s.add(up, engine.NewImage{Key: key, Label: label, Data: up.data, Type: up.mediaType})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.storage.Store(nil)
	ent, ok := s.e.Entry(id)
	if !ok { // deleted already by another request
		ent = engine.Entry{ID: id, Key: key, Label: label}
	}
	writeJSON(w, http.StatusCreated, api.AddResponse{ID: id, Key: ent.Key, Label: ent.Label, Class: ent.Class, SemID: semid.ID(ent.Code).String()})
}

func (s *Server) handleDelete(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.e.Delete(id); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.storage.Store(nil)
	if s.cat != nil {
		s.countStored()
	}
	w.WriteHeader(http.StatusNoContent)
}

// handleImage serves the uploaded file of an image, or for a data set
// image without one, the image re-encoded as PNG (when Config.Originals
// can load it).
func (s *Server) handleImage(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	ent, ok := s.e.Entry(id)
	if !ok {
		s.writeError(w, r, fmt.Errorf("%w: %d", engine.ErrNotFound, id))
		return
	}
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "private, max-age=60")
	if s.cat != nil {
		im, err := s.cat.Image(r.Context(), id)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if im.Data != nil {
			typ := im.Type
			if !strings.HasPrefix(typ, "image/") {
				typ = "application/octet-stream"
			}
			w.Header().Set("Content-Type", typ)
			w.Write(im.Data)
			return
		}
	}
	if s.cfg.Originals == nil {
		s.writeError(w, r, fmt.Errorf("%w: image %d (%s) has no stored file and the data set is not available", engine.ErrNotFound, id, ent.Key))
		return
	}
	img, err := s.cfg.Originals(id, ent.Key)
	if err != nil {
		s.writeError(w, r, fmt.Errorf("%w: image %d (%s): %v", engine.ErrNotFound, id, ent.Key, err))
		return
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Write(buf.Bytes())
}

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	st := s.e.Stats()
	h := api.Health{Status: "ok", Images: st.Images, IDs: st.IDs, Default: string(s.defaultMethod())}
	if msg := s.storage.Load(); msg != nil {
		h.Status, h.Storage = "degraded", *msg
	}
	for _, m := range s.methods() {
		h.Methods = append(h.Methods, string(m))
	}
	if g := s.e.Gallery(); g != nil {
		h.Classes = g.Classes // never changed after load
	}
	writeJSON(w, http.StatusOK, h)
}

func (s *Server) handleMetrics(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	s.metrics.write(w, s.e.Stats())
}

// add decodes the upload and adds it; the stored file is the upload
// without whatever follows the image in it.
func (s *Server) add(up upload, n engine.NewImage) (int, error) {
	img, kept, err := imageproc.DecodeTrimmed(up.data, s.cfg.Limits)
	if err != nil {
		return 0, err
	}
	if limit := s.cfg.MaxCatalogBytes; s.cat != nil && !s.bounded && limit > 0 && s.stored.Load()+int64(len(kept)) > limit {
		return 0, fmt.Errorf("%w: the catalog keeps %d bytes of images and may keep %d (serve --max-catalog); delete images first",
			errCatalogFull, s.stored.Load(), limit)
	}
	n.Data = kept
	id, err := s.e.AddImage(img, n)
	if err == nil {
		s.stored.Add(int64(len(kept)))
	}
	return id, err
}

// parseLabel reads a label field: "" (none), a class index, or a class
// name.
func (s *Server) parseLabel(v string) (int32, error) {
	if v == "" {
		return -1, nil
	}
	var classes []string
	if g := s.e.Gallery(); g != nil {
		classes = g.Classes
	}
	if n, err := strconv.ParseInt(v, 10, 32); err == nil {
		return int32(n), nil // the engine checks the range
	}
	if i := slices.Index(classes, v); i >= 0 {
		return int32(i), nil
	}
	return 0, fmt.Errorf("%w: label %q is neither a class index nor one of the %d class names", errBadRequest, v, len(classes))
}

// pathID parses the image id of the path: a decimal number in its
// canonical form ("5", not "+5" or "05"), so that one image has one URL.
func pathID(r *http.Request) (int, error) {
	v := r.PathValue("id")
	id, err := strconv.Atoi(v)
	if err != nil || id < 0 || strconv.Itoa(id) != v {
		return 0, fmt.Errorf("%w: image id %q is not a non-negative integer in canonical form", errBadRequest, v)
	}
	return id, nil
}

// intParam parses query parameter name (v): def when empty, else an
// integer in [lo, hi].
func intParam(v string, def, lo, hi int, name string) (int, error) {
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, fmt.Errorf("%w: %s=%q, want an integer in [%d, %d]", errBadRequest, name, v, lo, hi)
	}
	return n, nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
