package server

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// Errors of the access checks, for writeError to map.
var (
	errUnauthorized = errors.New("unauthorized")
	errForbidden    = errors.New("forbidden")
	errMediaType    = errors.New("unsupported media type")
)

// Access says who may use the server and who may change its collection.
type Access struct {
	// Token, when set, must come as "Authorization: Bearer TOKEN" with
	// every request that adds or deletes an image.
	Token string
	// ReadOnly refuses every add and delete.
	ReadOnly bool
	// Loopback restricts the Host header to loopback names and addresses
	// and Hosts, against DNS rebinding; set it for a server listening on
	// loopback only.
	Loopback bool
	// Hosts are further host names (without port) accepted in the Host
	// header of a loopback server.
	Hosts []string
}

// CheckListen refuses an address beyond loopback that would take writes
// from anyone: such a server needs a token, or to be read-only, unless
// open is set.
func (a Access) CheckListen(addr net.Addr, open bool) error {
	if IsLoopback(addr) || a.Token != "" || a.ReadOnly || open {
		return nil
	}
	return fmt.Errorf("server: %s is reachable beyond this machine and anyone could add or delete images: "+
		"set a token (--token or IRGEN_TOKEN), or serve --read-only (--open-writes accepts writes from anyone)", addr)
}

// IsLoopback reports whether addr is a loopback TCP address.
func IsLoopback(addr net.Addr) bool {
	ta, ok := addr.(*net.TCPAddr)
	return ok && ta.IP.IsLoopback()
}

// guard applies the access checks before next: the Host of a loopback
// server, then, for requests that change the collection, read-only mode,
// the token, the Origin (no cross-origin writes: the server sends no CORS
// headers, but a browser delivers "simple" cross-origin requests all the
// same) and the media type.
func (s *Server) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := s.access.check(r); err != nil {
			s.writeError(w, r, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (a Access) check(r *http.Request) error {
	if a.Loopback && !a.allowedHost(r.Host) {
		return fmt.Errorf("%w: host %q is not this server's (a loopback server answers localhost and loopback addresses; add names with --allow-host)", errForbidden, r.Host)
	}
	if !writes(r) {
		return nil
	}
	if a.ReadOnly {
		return fmt.Errorf("%w: the server is read-only", errForbidden)
	}
	if a.Token != "" && !a.tokenOK(r.Header.Get("Authorization")) {
		return fmt.Errorf("%w: adding and deleting images needs \"Authorization: Bearer TOKEN\"", errUnauthorized)
	}
	if err := sameOrigin(r); err != nil {
		return err
	}
	return writeMediaType(r)
}

// writes reports whether r is an add or a delete; requests to no route
// are left to the router (404, 405).
func writes(r *http.Request) bool {
	switch r.Method {
	case http.MethodPost:
		return r.URL.Path == "/v1/images"
	case http.MethodDelete:
		return strings.HasPrefix(r.URL.Path, "/v1/images/")
	}
	return false
}

func (a Access) tokenOK(header string) bool {
	tok, ok := strings.CutPrefix(header, "Bearer ")
	return ok && subtle.ConstantTimeCompare([]byte(strings.TrimSpace(tok)), []byte(a.Token)) == 1
}

func (a Access) allowedHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.ToLower(strings.Trim(host, "[]"))
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return true
	}
	for _, h := range a.Hosts {
		if strings.EqualFold(h, host) {
			return true
		}
	}
	return false
}

// RequestHeader must come with every add and delete a browser sends (one
// with an Origin or Sec-Fetch-Site header): a custom header makes the
// request non-"simple", so a page of another origin cannot send it
// without a CORS preflight, which the server never grants. The web page
// sets it; clients other than browsers need not.
const RequestHeader = "X-Irgen-Request"

// sameOrigin refuses a request a browser sent from another origin, or
// without RequestHeader.
func sameOrigin(r *http.Request) error {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
		return fmt.Errorf("%w: cross-origin request (Sec-Fetch-Site %s)", errForbidden, site)
	}
	origin := r.Header.Get("Origin")
	if origin != "" {
		u, err := url.Parse(origin)
		if err != nil || !strings.EqualFold(u.Host, r.Host) {
			return fmt.Errorf("%w: cross-origin request from %q", errForbidden, origin)
		}
	}
	browser := origin != "" || r.Header.Get("Sec-Fetch-Site") != ""
	if browser && r.Header.Get(RequestHeader) == "" {
		return fmt.Errorf("%w: a browser's add or delete needs the %s header (the web page sends it)", errForbidden, RequestHeader)
	}
	return nil
}

// writeMediaType accepts an image upload as multipart/form-data or as a
// raw body of type image/* or application/octet-stream; a raw body of
// text/plain or form encoding is refused as a browser could send it from
// any page without asking.
func writeMediaType(r *http.Request) error {
	if r.Method != http.MethodPost {
		return nil
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "multipart/form-data" || ct == "application/octet-stream" || strings.HasPrefix(ct, "image/") {
		return nil
	}
	return fmt.Errorf("%w: content type %q: send the image as multipart/form-data, image/* or application/octet-stream", errMediaType, ct)
}
