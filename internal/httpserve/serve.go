// Package httpserve runs an http.Server until its context ends, for the
// project's commands (cmd/floorbench, cmd/scaleout).
package httpserve

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"
)

// ShutdownGrace is how long requests in flight get once the context ends.
const ShutdownGrace = 5 * time.Second

// Until serves srv on ln until ctx ends, then shuts srv down, giving the
// requests in flight ShutdownGrace. It returns Serve's error if serving
// stops first, and nil after a clean shutdown.
func Until(ctx context.Context, srv *http.Server, ln net.Listener) error {
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), ShutdownGrace)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	}
}
