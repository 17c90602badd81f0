package postgres_test

import (
	"context"
	"database/sql"
	"log"
	"os"

	"github.com/jackc/pgx/v5/pgxpool"
	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"

	"github.com/otpreset/go/store/postgres"
)

// Several servers share the database; Migrate is safe to run from each of
// them at start-up. Check then refuses to go on with a database that is
// unreachable or not migrated.
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
	if err := s.Check(ctx); err != nil { // errors.Is(err, store.ErrNotReady)
		log.Fatal(err)
	}
	// Hand s to otpreset as its store.Store.
}

// A host with its own pool and its own users table (integer ids, one
// tenant, no profile column) gives both to the store. Migrate then creates
// only otpreset's tables of challenges, counters, sessions and outbox, and
// Check prepares the host's queries, naming the one at fault.
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
	if err := s.Check(ctx); err != nil {
		log.Fatal(err)
	}
	// Hand s to otpreset as its store.Store.
}

// A host on database/sql with pgx's driver hands over its *sql.DB; the
// store opens a pool of its own with the same connection settings.
func ExampleNewFromDB() {
	ctx := context.Background()
	db, err := sql.Open("pgx", os.Getenv("DATABASE_URL"))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close() // db stays the host's
	s, err := postgres.NewFromDB(ctx, db, postgres.Config{})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close() // closes the store's own pool
	if err := s.Migrate(ctx); err != nil {
		log.Fatal(err)
	}
	if err := s.Check(ctx); err != nil {
		log.Fatal(err)
	}
	// Hand s to otpreset as its store.Store.
}
