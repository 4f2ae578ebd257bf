package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// maxResponse bounds the responses the client reads (images included).
const maxResponse = 256 << 20

// Client talks to an irgen server.
type Client struct {
	base *url.URL
	http *http.Client
	// Token, when set, is sent as "Authorization: Bearer Token" (a
	// server started with a token needs it for adds and deletes).
	Token string
}

// NewClient returns a client of the server at base (e.g.
// "http://127.0.0.1:8080"). hc nil means http.DefaultClient.
func NewClient(base string, hc *http.Client) (*Client, error) {
	u, err := url.Parse(base)
	if err != nil {
		return nil, fmt.Errorf("irgen api: base url: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("irgen api: base url %q: want http or https", base)
	}
	if hc == nil {
		hc = http.DefaultClient
	}
	return &Client{base: u, http: hc}, nil
}

// SearchOptions tunes a search; zero values mean the server's defaults.
type SearchOptions struct {
	K      int
	Beam   int
	Method string
}

// Search finds the images most like the encoded image file img.
func (c *Client) Search(ctx context.Context, img []byte, opt SearchOptions) (*SearchResponse, error) {
	q := url.Values{}
	if opt.K > 0 {
		q.Set("k", strconv.Itoa(opt.K))
	}
	if opt.Beam > 0 {
		q.Set("beam", strconv.Itoa(opt.Beam))
	}
	if opt.Method != "" {
		q.Set("method", opt.Method)
	}
	body, ctype, err := multipartImage(img, nil)
	if err != nil {
		return nil, err
	}
	var out SearchResponse
	if err := c.do(ctx, http.MethodPost, "/v1/search?"+q.Encode(), body, ctype, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// AddOptions describes an image to add.
type AddOptions struct {
	Label string // a class index or name; "" for none
	Key   string // a name for the image; "" lets the server choose
}

// Add adds the encoded image file img to the collection.
func (c *Client) Add(ctx context.Context, img []byte, opt AddOptions) (*AddResponse, error) {
	fields := map[string]string{}
	if opt.Label != "" {
		fields["label"] = opt.Label
	}
	if opt.Key != "" {
		fields["key"] = opt.Key
	}
	body, ctype, err := multipartImage(img, fields)
	if err != nil {
		return nil, err
	}
	var out AddResponse
	if err := c.do(ctx, http.MethodPost, "/v1/images", body, ctype, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Delete removes image id from the collection.
func (c *Client) Delete(ctx context.Context, id int) error {
	return c.do(ctx, http.MethodDelete, "/v1/images/"+strconv.Itoa(id), nil, "", nil)
}

// Image returns image id's file and media type.
func (c *Client) Image(ctx context.Context, id int) ([]byte, string, error) {
	resp, err := c.send(ctx, http.MethodGet, "/v1/images/"+strconv.Itoa(id), nil, "")
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return nil, "", fmt.Errorf("irgen api: image %d: %w", id, err)
	}
	return data, resp.Header.Get("Content-Type"), nil
}

// Health returns the server's status.
func (c *Client) Health(ctx context.Context) (*Health, error) {
	var out Health
	if err := c.do(ctx, http.MethodGet, "/healthz", nil, "", &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// do sends a request and decodes a JSON answer into out (unless nil).
func (c *Client) do(ctx context.Context, method, path string, body io.Reader, ctype string, out any) error {
	resp, err := c.send(ctx, method, path, body, ctype)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponse))
		return nil
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxResponse)).Decode(out); err != nil {
		return fmt.Errorf("irgen api: %s %s: decode answer: %w", method, path, err)
	}
	return nil
}

// send sends a request and turns an error status into a *StatusError.
func (c *Client) send(ctx context.Context, method, path string, body io.Reader, ctype string) (*http.Response, error) {
	rel, err := url.Parse(path)
	if err != nil {
		return nil, fmt.Errorf("irgen api: %w", err)
	}
	u := *c.base
	u.Path = strings.TrimSuffix(c.base.Path, "/") + rel.Path
	u.RawQuery = rel.RawQuery
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return nil, fmt.Errorf("irgen api: %w", err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	req.Header.Set("Accept", "application/json")
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("irgen api: %s %s: %w", method, path, err)
	}
	if resp.StatusCode < 300 {
		return resp, nil
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	var e Error
	if json.Unmarshal(data, &e) != nil || e.Error == "" {
		e.Error = strings.TrimSpace(string(data))
	}
	return nil, &StatusError{StatusCode: resp.StatusCode, Message: e.Error}
}

// multipartImage returns a multipart/form-data body with img as the
// "image" file and the given fields.
func multipartImage(img []byte, fields map[string]string) (io.Reader, string, error) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range fields {
		if err := mw.WriteField(k, v); err != nil {
			return nil, "", err
		}
	}
	fw, err := mw.CreateFormFile("image", "image")
	if err != nil {
		return nil, "", err
	}
	fw.Write(img)
	if err := mw.Close(); err != nil {
		return nil, "", err
	}
	return &buf, mw.FormDataContentType(), nil
}
