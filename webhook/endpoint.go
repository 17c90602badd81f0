package webhook

import (
	"context"
	"errors"
	"fmt"
	"net/url"

	"github.com/otpreset/go/webhook/signature"
)

// ErrInvalidEndpoint is wrapped by Endpoint.Validate's errors.
var ErrInvalidEndpoint = errors.New("webhook: invalid endpoint")

// Endpoint is one receiver of a tenant's events.
type Endpoint struct {
	// URL is where events are POSTed: http or https. Redirects are not
	// followed (a 3xx answer is a failure), as Standard Webhooks advises.
	URL string
	// Secrets sign every delivery to this endpoint. At least one must be set.
	Secrets Secrets
}

// Validate reports whether e can be delivered to: an absolute http(s) URL
// and at least one well-formed secret. Errors wrap ErrInvalidEndpoint (and
// signature.ErrBadSecret for a malformed Standard Webhooks secret).
func (e Endpoint) Validate() error {
	u, err := url.Parse(e.URL)
	if err != nil {
		return fmt.Errorf("%w: URL does not parse", ErrInvalidEndpoint)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("%w: URL scheme must be http or https", ErrInvalidEndpoint)
	}
	if u.Host == "" {
		return fmt.Errorf("%w: URL has no host", ErrInvalidEndpoint)
	}
	switch err := e.Secrets.Validate(); {
	case errors.Is(err, signature.ErrNoSecret):
		return fmt.Errorf("%w: no secret: deliveries would be unsigned", ErrInvalidEndpoint)
	case err != nil:
		return fmt.Errorf("%w: %w", ErrInvalidEndpoint, err)
	}
	return nil
}

// host returns the URL's host[:port], the only part of an endpoint that is
// logged (a URL's path, query or user info may hold a token).
func (e Endpoint) host() string {
	u, err := url.Parse(e.URL)
	if err != nil {
		return ""
	}
	return u.Host
}

// EndpointSource tells which endpoints receive a tenant's events. HTTPSink
// calls it inside Emit, so it must answer quickly (from memory or a cache);
// it must not wait on the network.
type EndpointSource interface {
	// Endpoints returns the tenant's endpoints; none means the tenant has no
	// webhooks configured.
	Endpoints(ctx context.Context, tenantID string) ([]Endpoint, error)
}

// EndpointSourceFunc adapts a function to EndpointSource.
type EndpointSourceFunc func(ctx context.Context, tenantID string) ([]Endpoint, error)

// Endpoints calls f.
func (f EndpointSourceFunc) Endpoints(ctx context.Context, tenantID string) ([]Endpoint, error) {
	return f(ctx, tenantID)
}

// StaticEndpoints is a fixed EndpointSource: tenant id to its endpoints.
// NewHTTPSink validates every endpoint in it.
type StaticEndpoints map[string][]Endpoint

// Endpoints returns m[tenantID].
func (m StaticEndpoints) Endpoints(_ context.Context, tenantID string) ([]Endpoint, error) {
	return m[tenantID], nil
}
