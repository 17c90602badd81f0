package twilio

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/otpreset/go/sms/internal/httpx"
)

// maxBody bounds how much of an answer is read; Twilio's resources are a
// few kilobytes.
const maxBody = 1 << 20

// transport is the RoundTripper of one Send. The SDK builds its requests
// without a context and leaves error bodies unclosed; transport gives each
// request the Send's context (so cancellation and the timeout reach the
// network), points it at the configured base URL, reads and closes every
// body, and keeps the status and headers the SDK drops from its errors.
type transport struct {
	ctx  context.Context
	base *url.URL // nil: leave the URL as the SDK built it
	next http.RoundTripper

	status int
	header http.Header
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	out := req.Clone(t.ctx)
	if t.base != nil {
		u := *out.URL
		u.Scheme, u.Host = t.base.Scheme, t.base.Host
		u.Path = t.base.Path + u.Path
		u.RawPath = ""
		out.URL, out.Host = &u, ""
	}
	res, err := t.next.RoundTrip(out)
	if err != nil {
		return nil, err
	}
	t.status, t.header = res.StatusCode, res.Header
	body, err := io.ReadAll(io.LimitReader(res.Body, maxBody))
	res.Body.Close()
	if err != nil {
		return nil, err
	}
	res.Body = io.NopCloser(bytes.NewReader(body))
	return res, nil
}

// retryAfter is the answer's Retry-After as a wait from now.
func (t *transport) retryAfter(now time.Time) time.Duration {
	if t.header == nil {
		return 0
	}
	return httpx.RetryAfter(t.header.Get("Retry-After"), now)
}
