package server

import (
	"errors"
	"net"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestAccessCheck(t *testing.T) {
	type req struct {
		method, path, host, ctype string
		headers                   map[string]string
	}
	add := func(h map[string]string) req {
		return req{"POST", "/v1/images", "127.0.0.1:8080", "multipart/form-data; boundary=x", h}
	}
	for _, tc := range []struct {
		name   string
		access Access
		req    req
		want   error
	}{
		{"add, loopback, no browser", Access{Loopback: true}, add(nil), nil},
		{"add from the page itself", Access{Loopback: true}, add(map[string]string{"Origin": "http://127.0.0.1:8080", "Sec-Fetch-Site": "same-origin", RequestHeader: "1"}), nil},
		{"same-origin add without the header", Access{Loopback: true}, add(map[string]string{"Origin": "http://127.0.0.1:8080", "Sec-Fetch-Site": "same-origin"}), errForbidden},
		{"browser add, no Origin, no header", Access{Loopback: true}, add(map[string]string{"Sec-Fetch-Site": "same-origin"}), errForbidden},
		{"add from another origin", Access{Loopback: true}, add(map[string]string{"Origin": "http://evil.example"}), errForbidden},
		{"add, no-cors from another site", Access{Loopback: true}, add(map[string]string{"Sec-Fetch-Site": "cross-site"}), errForbidden},
		{"add, null origin", Access{Loopback: true}, add(map[string]string{"Origin": "null"}), errForbidden},
		{"text/plain raw body", Access{Loopback: true}, req{"POST", "/v1/images", "127.0.0.1:8080", "text/plain", nil}, errMediaType},
		{"form-encoded body", Access{Loopback: true}, req{"POST", "/v1/images", "localhost:8080", "application/x-www-form-urlencoded", nil}, errMediaType},
		{"raw PNG body", Access{Loopback: true}, req{"POST", "/v1/images", "localhost", "image/png", nil}, nil},
		{"DNS rebinding: foreign Host", Access{Loopback: true}, req{"GET", "/healthz", "attacker.example:8080", "", nil}, errForbidden},
		{"foreign Host, even a search", Access{Loopback: true}, req{"POST", "/v1/search", "attacker.example", "image/png", nil}, errForbidden},
		{"allowed extra host", Access{Loopback: true, Hosts: []string{"irgen.internal"}}, req{"GET", "/", "IRGEN.internal:80", "", nil}, nil},
		{"IPv6 loopback host", Access{Loopback: true}, req{"GET", "/", "[::1]:8080", "", nil}, nil},
		{"any host beyond loopback", Access{Token: "s3cret"}, req{"GET", "/healthz", "search.example.com", "", nil}, nil},
		{"search needs no token", Access{Token: "s3cret"}, req{"POST", "/v1/search", "h", "image/png", nil}, nil},
		{"add without token", Access{Token: "s3cret"}, add(nil), errUnauthorized},
		{"add with a wrong token", Access{Token: "s3cret"}, add(map[string]string{"Authorization": "Bearer s3crex"}), errUnauthorized},
		{"add with the token", Access{Token: "s3cret"}, add(map[string]string{"Authorization": "Bearer s3cret"}), nil},
		{"delete without token", Access{Token: "s3cret"}, req{"DELETE", "/v1/images/3", "h", "", nil}, errUnauthorized},
		{"delete with the token", Access{Token: "s3cret"}, req{"DELETE", "/v1/images/3", "h", "", map[string]string{"Authorization": "Bearer s3cret"}}, nil},
		{"read-only add", Access{ReadOnly: true}, add(nil), errForbidden},
		{"read-only delete", Access{ReadOnly: true, Token: "t"}, req{"DELETE", "/v1/images/3", "h", "", map[string]string{"Authorization": "Bearer t"}}, errForbidden},
		{"read-only search", Access{ReadOnly: true}, req{"POST", "/v1/search", "h", "image/png", nil}, nil},
	} {
		r := httptest.NewRequest(tc.req.method, "http://x"+tc.req.path, nil)
		r.Host = tc.req.host
		if tc.req.ctype != "" {
			r.Header.Set("Content-Type", tc.req.ctype)
		}
		for k, v := range tc.req.headers {
			r.Header.Set(k, v)
		}
		err := tc.access.check(r)
		if (tc.want == nil) != (err == nil) || (tc.want != nil && !errors.Is(err, tc.want)) {
			t.Errorf("%s: check = %v; want %v", tc.name, err, tc.want)
		}
	}
}

func TestCheckListen(t *testing.T) {
	lo := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8080}
	any := &net.TCPAddr{Port: 8080}
	pub := &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 8080}
	for _, tc := range []struct {
		addr   *net.TCPAddr
		access Access
		open   bool
		ok     bool
	}{
		{lo, Access{}, false, true},
		{any, Access{}, false, false},
		{pub, Access{}, false, false},
		{any, Access{Token: "t"}, false, true},
		{pub, Access{ReadOnly: true}, false, true},
		{pub, Access{}, true, true},
	} {
		err := tc.access.CheckListen(tc.addr, tc.open)
		if (err == nil) != tc.ok {
			t.Errorf("CheckListen(%v, %+v, open %v) = %v; want ok %v", tc.addr, tc.access, tc.open, err, tc.ok)
		}
		if err != nil && !strings.Contains(err.Error(), "--token") {
			t.Errorf("error does not say how to fix it: %v", err)
		}
	}
}
