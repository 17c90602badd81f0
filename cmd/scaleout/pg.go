package main

import (
	"context"
	"fmt"

	"github.com/ulule/limiter/v3"

	"github.com/otpreset/go/store/postgres"
)

// limiterStore is where the rate limits are counted (Redis, shared).
type limiterStore = limiter.Store

// pgStore is the PostgreSQL store: the users in every run, and the codes,
// sessions and webhook outbox in the PostgreSQL runs.
type pgStore = postgres.Store

// openUsers opens the PostgreSQL store at pgURL with the connect timeout
// that bounds answers during an outage.
func openUsers(ctx context.Context, pgURL string) (*pgStore, error) {
	u, err := withConnectTimeout(pgURL)
	if err != nil {
		return nil, err
	}
	s, err := postgres.Open(ctx, u, postgres.Config{})
	if err != nil {
		return nil, fmt.Errorf("open PostgreSQL: %w", err)
	}
	return s, nil
}
