// Package api is irgen's HTTP interface: the JSON wire types of
// 'irgen serve' and a small Go client.
//
// Routes:
//
//	POST   /v1/search       image (multipart field "image", or the raw body);
//	                        query parameters k, beam, method → SearchResponse
//	POST   /v1/images       multipart "image", optional "label" (class index
//	                        or name) and "key" → AddResponse
//	GET    /v1/images/{id}  the stored file (for data set images: the image
//	                        re-encoded as PNG, when the data set is present)
//	DELETE /v1/images/{id}  → 204
//	GET    /healthz         → Health
//	GET    /metrics         Prometheus text format
//	GET    /                the web page
//
// Every error is a 4xx or 5xx status with an Error body.
package api

import "fmt"

// SearchResponse is the answer to POST /v1/search.
type SearchResponse struct {
	Method  string   `json:"method"`
	Results []Result `json:"results"`
	Ms      Timing   `json:"ms"`
}

// Result is one retrieved image, best first.
type Result struct {
	ID    int     `json:"id"`
	Key   string  `json:"key"`
	Label int32   `json:"label"`           // class index, -1 for none
	Class string  `json:"class,omitempty"` // class name
	Score float32 `json:"score"`           // method-specific, higher is better
}

// Timing splits a request's time in milliseconds.
type Timing struct {
	Decode float64 `json:"decode"` // reading, decoding and resizing the image
	Queue  float64 `json:"queue"`  // waiting for a free search slot
	Encode float64 `json:"encode"` // the encoder
	Search float64 `json:"search"` // the search proper
	Total  float64 `json:"total"`
}

// AddResponse is the answer to POST /v1/images.
type AddResponse struct {
	ID    int    `json:"id"`
	Key   string `json:"key"`
	Label int32  `json:"label"`
	Class string `json:"class,omitempty"`
	SemID string `json:"semid"` // the semantic ID, tokens joined by '-'
}

// Health is the answer to GET /healthz.
type Health struct {
	// Status is "ok", or "degraded" while the catalog takes no writes
	// (Storage says why); searches are answered either way.
	Status  string   `json:"status"`
	Storage string   `json:"storage,omitempty"`
	Images  int      `json:"images"`  // live images
	IDs     int      `json:"ids"`     // distinct semantic IDs
	Methods []string `json:"methods"` // methods /v1/search accepts
	Default string   `json:"default"` // the method used when none is given
	Classes []string `json:"classes"`
}

// Error is the body of every error response.
type Error struct {
	Error string `json:"error"`
}

// StatusError is an error response seen by Client.
type StatusError struct {
	StatusCode int
	Message    string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("irgen api: %d: %s", e.StatusCode, e.Message)
}
