package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"

	"github.com/irgen/irgen/api"
	"github.com/irgen/irgen/internal/catalog"
	"github.com/irgen/irgen/internal/engine"
	"github.com/irgen/irgen/internal/imageproc"
)

// Errors the handlers return for writeError to map.
var (
	errBadRequest  = errors.New("bad request")
	errBadImage    = errors.New("bad image")
	errBusy        = errors.New("server busy")
	errNoRoute     = errors.New("not found")
	errMethod      = errors.New("method not allowed")
	errCatalogFull = errors.New("catalog full")
)

// maxField bounds a multipart form field other than the image.
const maxField = 4 << 10

// upload is an image file read from a request, not decoded yet.
type upload struct {
	data      []byte
	mediaType string // image/<format>, from the file's header
	fields    map[string]string
	release   func() // returns the body's bytes to the budget
}

// readUpload reads the image of a request: the multipart field "image"
// (other fields go to upload.fields), or the raw body. The body is
// bounded by Config.MaxBodyBytes; the image's header is checked against
// Config.Limits.
//
// The bytes are reserved from the body budget first; the caller releases
// them with up.release once it no longer holds the data.
func (s *Server) readUpload(w http.ResponseWriter, r *http.Request) (upload, error) {
	up := upload{fields: map[string]string{}, release: func() {}}
	n := s.cfg.MaxBodyBytes
	if r.ContentLength > s.cfg.MaxBodyBytes {
		return up, fmt.Errorf("%w: body of %d bytes, at most %d", imageproc.ErrTooLarge, r.ContentLength, s.cfg.MaxBodyBytes)
	}
	if r.ContentLength >= 0 {
		n = r.ContentLength
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.Timeout)
	defer cancel()
	if err := s.bodies.acquire(ctx, n); err != nil {
		return up, err
	}
	up.release = func() { s.bodies.release(n) }
	r.Body = http.MaxBytesReader(w, r.Body, n)
	ctype, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ctype == "multipart/form-data" {
		mr, err := r.MultipartReader()
		if err != nil {
			return up, fmt.Errorf("%w: %v", errBadRequest, err)
		}
		if err := readParts(mr, &up, n); err != nil {
			return up, err
		}
		if up.data == nil {
			return up, fmt.Errorf("%w: no multipart field \"image\"", errBadRequest)
		}
	} else {
		// One allocation of the reserved size, not ReadAll's doublings.
		buf := bytes.NewBuffer(make([]byte, 0, n+bytes.MinRead))
		if _, err := buf.ReadFrom(r.Body); err != nil {
			return up, bodyError(err)
		}
		up.data = buf.Bytes()
	}
	if len(up.data) == 0 {
		return up, fmt.Errorf("%w: empty image", errBadRequest)
	}
	_, format, err := imageproc.DecodeConfig(bytes.NewReader(up.data), s.cfg.Limits)
	if err != nil {
		return up, err
	}
	up.mediaType = "image/" + format
	return up, nil
}

// readParts reads the parts of a multipart body of at most sizeHint
// bytes into up.
func readParts(mr *multipart.Reader, up *upload, sizeHint int64) error {
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return bodyError(err)
		}
		name := p.FormName()
		if name == "image" {
			if up.data != nil {
				return fmt.Errorf("%w: more than one image", errBadRequest)
			}
			buf := bytes.NewBuffer(make([]byte, 0, sizeHint+bytes.MinRead))
			_, err = buf.ReadFrom(p)
			if up.data = buf.Bytes(); err != nil {
				return bodyError(err)
			}
			if up.data == nil {
				up.data = []byte{}
			}
			continue
		}
		v, err := io.ReadAll(io.LimitReader(p, maxField+1))
		if err != nil {
			return bodyError(err)
		}
		if len(v) > maxField {
			return fmt.Errorf("%w: field %q longer than %d bytes", errBadRequest, name, maxField)
		}
		up.fields[name] = strings.TrimSpace(string(v))
	}
}

// bodyError wraps an error reading the body: too large, or malformed.
func bodyError(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return fmt.Errorf("%w: request body over %d bytes", imageproc.ErrTooLarge, mbe.Limit)
	}
	return fmt.Errorf("%w: reading the body: %v", errBadRequest, err)
}

// decode decodes an upload within Config.Limits.
func (s *Server) decode(up upload) (image.Image, error) {
	return imageproc.DecodeBytes(up.data, s.cfg.Limits)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	if err := json.NewEncoder(w).Encode(v); err != nil {
		slog.Debug("server: write response", "err", err)
	}
}

// writeError answers with the status that err maps to and an api.Error
// body. Server-side failures are logged and their details kept from the
// client.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	code := http.StatusInternalServerError
	switch {
	case errors.Is(err, errBadRequest), errors.Is(err, errBadImage),
		errors.Is(err, imageproc.ErrCorrupt), errors.Is(err, engine.ErrLabel),
		errors.Is(err, imageproc.ErrArg):
		code = http.StatusBadRequest
	case errors.Is(err, imageproc.ErrFormat), errors.Is(err, errMediaType):
		code = http.StatusUnsupportedMediaType
	case errors.Is(err, errCatalogFull), errors.Is(err, catalog.ErrQuota):
		code = http.StatusInsufficientStorage
		w.Header().Set("Retry-After", "3600")
		writeJSON(w, code, api.Error{Error: err.Error()})
		return
	case errors.Is(err, catalog.ErrFull):
		code = http.StatusInsufficientStorage
	case errors.Is(err, catalog.ErrReadOnly), errors.Is(err, catalog.ErrStorage):
		code = http.StatusServiceUnavailable
	case errors.Is(err, errMethod):
		code = http.StatusMethodNotAllowed
	case errors.Is(err, errUnauthorized):
		code = http.StatusUnauthorized
		w.Header().Set("WWW-Authenticate", `Bearer realm="irgen"`)
	case errors.Is(err, errForbidden):
		code = http.StatusForbidden
	case errors.Is(err, imageproc.ErrTooLarge):
		code = http.StatusRequestEntityTooLarge
	case errors.Is(err, engine.ErrNotFound), errors.Is(err, catalog.ErrNotFound), errors.Is(err, errNoRoute):
		code = http.StatusNotFound
	case errors.Is(err, engine.ErrNoDecoder), errors.Is(err, engine.ErrUnavailable), errors.Is(err, engine.ErrNoGallery):
		code = http.StatusConflict
	case errors.Is(err, errBusy):
		code = http.StatusServiceUnavailable
		w.Header().Set("Retry-After", "1")
	}
	msg := err.Error()
	if code == http.StatusInsufficientStorage || errors.Is(err, catalog.ErrReadOnly) || errors.Is(err, catalog.ErrStorage) {
		s.storageFailed(err)
		slog.Error("server: storage", "err", err)
	}
	if code == http.StatusInternalServerError {
		slog.Error("server: request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		msg = "internal error"
	}
	writeJSON(w, code, api.Error{Error: msg})
}
