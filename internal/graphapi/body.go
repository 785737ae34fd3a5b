package graphapi

import (
	"bytes"
	"fmt"
	"io"
	"net/http"

	khttp "github.com/microsoft/kiota-http-go"
)

// maxRequestBody bounds the request bodies sizedBodyHandler buffers; the
// service's bodies (a PATCH of a few fields, a request action) are far
// smaller.
const maxRequestBody = 1 << 20

// sizedBodyHandler is a Kiota middleware that sends request bodies with a
// Content-Length. Kiota hands net/http its content behind a reader net/http
// does not recognise, so every PATCH and POST would otherwise go out chunked,
// with its headers flushed ahead of the body: three writes instead of one.
type sizedBodyHandler struct{}

// Intercept implements khttp.Middleware.
func (sizedBodyHandler) Intercept(pipeline khttp.Pipeline, index int, req *http.Request) (*http.Response, error) {
	if req.Body == nil || req.Body == http.NoBody || req.ContentLength > 0 {
		return pipeline.Next(req, index)
	}
	b, err := io.ReadAll(io.LimitReader(req.Body, maxRequestBody+1))
	_ = req.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("graphapi: read request body: %w", err)
	}
	if len(b) > maxRequestBody {
		return nil, fmt.Errorf("graphapi: request body over %d bytes", maxRequestBody)
	}
	req.ContentLength = int64(len(b))
	req.Body = io.NopCloser(bytes.NewReader(b))
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	if len(b) == 0 {
		req.Body = http.NoBody
	}
	return pipeline.Next(req, index)
}
