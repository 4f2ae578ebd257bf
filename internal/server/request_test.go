package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/png"
	"mime/multipart"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/irgen/irgen/api"
	"github.com/irgen/irgen/internal/catalog"
	"github.com/irgen/irgen/internal/engine"
	"github.com/irgen/irgen/internal/imageproc"
)

func TestWriteError(t *testing.T) {
	s := &Server{}
	tests := []struct {
		err  error
		code int
		msg  string // "" means err.Error()
	}{
		{fmt.Errorf("%w: k", errBadRequest), 400, ""},
		{fmt.Errorf("x: %w", imageproc.ErrCorrupt), 400, ""},
		{fmt.Errorf("x: %w", imageproc.ErrFormat), 415, ""},
		{fmt.Errorf("x: %w", imageproc.ErrTooLarge), 413, ""},
		{fmt.Errorf("x: %w", engine.ErrNotFound), 404, ""},
		{fmt.Errorf("x: %w", catalog.ErrNotFound), 404, ""},
		{fmt.Errorf("x: %w", engine.ErrLabel), 400, ""},
		{engine.ErrNoDecoder, 409, ""},
		{fmt.Errorf("%w: slots", errBusy), 503, ""},
		{errors.New("disk on fire at /secret/path"), 500, "internal error"},
	}
	for _, tt := range tests {
		t.Run(tt.err.Error(), func(t *testing.T) {
			w := httptest.NewRecorder()
			s.writeError(w, httptest.NewRequest("GET", "/", nil), tt.err)
			if w.Code != tt.code {
				t.Errorf("status %d; want %d", w.Code, tt.code)
			}
			var body api.Error
			if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
				t.Fatalf("body %q: %v", w.Body.String(), err)
			}
			want := tt.msg
			if want == "" {
				want = tt.err.Error()
			}
			if body.Error != want {
				t.Errorf("error %q; want %q", body.Error, want)
			}
		})
	}
}

func TestRun(t *testing.T) {
	s := &Server{cfg: Config{Timeout: 20 * time.Millisecond}, slots: make(chan struct{}, 1), metrics: newMetrics()}
	ctx := context.Background()

	// A panic becomes an error and frees the slot.
	if _, err := s.run(ctx, func() error { panic("boom") }); err == nil {
		t.Error("run of a panicking func: no error")
	}
	if _, err := s.run(ctx, func() error { return nil }); err != nil {
		t.Errorf("run after a panic: %v", err)
	}

	// With the only slot held, a run waits for its context, then fails
	// with errBusy.
	s.slots <- struct{}{}
	tctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if _, err := s.run(tctx, func() error { return nil }); !errors.Is(err, errBusy) {
		t.Errorf("run with no free slot: %v; want errBusy", err)
	}
	<-s.slots

	// A run that outlives its context answers errBusy but finishes in
	// the background, holding its slot until then.
	release := make(chan struct{})
	tctx2, cancel2 := context.WithTimeout(ctx, 10*time.Millisecond)
	defer cancel2()
	if _, err := s.run(tctx2, func() error { <-release; return nil }); !errors.Is(err, errBusy) {
		t.Errorf("slow run: %v; want errBusy", err)
	}
	if n := s.metrics.inflight.Load(); n != 1 {
		t.Errorf("inflight %d while the slow run goes on; want 1", n)
	}
	close(release)
	if _, err := s.run(ctx, func() error { return nil }); err != nil {
		t.Errorf("run after the slow one: %v", err)
	}
	if n := s.metrics.inflight.Load(); n != 0 {
		t.Errorf("inflight %d at rest; want 0", n)
	}
}

func pngBytes(w, h int) []byte {
	var buf bytes.Buffer
	png.Encode(&buf, image.NewGray(image.Rect(0, 0, w, h)))
	return buf.Bytes()
}

// FuzzReadUpload feeds arbitrary bodies, as raw bodies and as multipart
// forms, to the upload reader: it must return an upload or an error that
// writeError maps to a 4xx, never panic.
func FuzzReadUpload(f *testing.F) {
	f.Add(pngBytes(4, 4), false)
	f.Add(pngBytes(4, 4), true)
	f.Add([]byte("GIF89a"), false)
	f.Add([]byte{}, true)
	f.Add([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xff\xff\xff\xff\xff\xff\xff\x08\x00\x00\x00\x00"), false)
	s := &Server{cfg: Config{MaxBodyBytes: 1 << 16, Limits: imageproc.Limits{MaxBytes: 1 << 16, MaxPixels: 1 << 12}, Timeout: time.Second},
		bodies: newBudget(1 << 20)}
	f.Fuzz(func(t *testing.T, data []byte, multi bool) {
		body, ctype := data, "application/octet-stream"
		if multi {
			var buf bytes.Buffer
			mw := multipart.NewWriter(&buf)
			mw.WriteField("label", string(data[:min(len(data), 8)]))
			w, _ := mw.CreateFormFile("image", "x")
			w.Write(data)
			mw.Close()
			body, ctype = buf.Bytes(), mw.FormDataContentType()
		}
		r := httptest.NewRequest("POST", "/v1/search", bytes.NewReader(body))
		r.Header.Set("Content-Type", ctype)
		rec := httptest.NewRecorder()
		up, err := s.readUpload(rec, r)
		if err == nil {
			if len(up.data) == 0 || up.mediaType == "" {
				t.Fatalf("upload without data or type: %d bytes, %q", len(up.data), up.mediaType)
			}
			if _, err = s.decode(up); err == nil {
				return
			}
		}
		s.writeError(rec, r, err)
		if rec.Code < 400 || rec.Code >= 500 {
			t.Errorf("error %v maps to %d; want 4xx", err, rec.Code)
		}
	})
}
