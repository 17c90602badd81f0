package postgres_test

import (
	"context"
	"log"
	"os"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/otpreset/go/store/postgres"
)

// Several servers share the database; Migrate is safe to run from each of
// them at start-up.
func ExampleOpen() {
	ctx := context.Background()
	s, err := postgres.Open(ctx, os.Getenv("DATABASE_URL"), postgres.Config{})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	if err := s.Migrate(ctx); err != nil {
		log.Fatal(err)
	}
	// Hand s to otpreset as its store.Store.
}

// A host with its own pool and its own users table (integer ids, one
// tenant, no profile column) gives both to the store. Migrate then creates
// only otpreset's tables of challenges, counters, sessions and outbox.
func ExampleNew() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close() // the pool stays the host's
	s := postgres.New(pool, postgres.Config{HostUsers: &postgres.HostUsers{
		UserByPhone:    `SELECT id, password_hash, NULL FROM users WHERE phone = @phone`,
		UpdatePassword: `UPDATE users SET password_hash = @password_hash WHERE id = @user_id`,
	}})
	if err := s.Migrate(ctx); err != nil {
		log.Fatal(err)
	}
	// Hand s to otpreset as its store.Store.
}
