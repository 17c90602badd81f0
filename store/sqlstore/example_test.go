package sqlstore_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/otpreset/go/store"
	"github.com/otpreset/go/store/sqlstore"
)

// A SQLite store: open, migrate, then a wrong and a right reset.
func Example() {
	dir, err := os.MkdirTemp("", "sqlstore-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()

	s, err := sqlstore.OpenSQLite(filepath.Join(dir, "otpreset.db"), sqlstore.Config{
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	if err := s.Migrate(ctx); err != nil {
		log.Fatal(err)
	}

	now := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	_ = s.AddUser(ctx, store.User{TenantID: "acme", ID: "u-1", Phone: "+919999999999",
		PasswordHash: "$argon2id$old", Profile: json.RawMessage(`{"Uid":"u-1","FirstName":"Asha"}`)})
	code := []byte("hmac-of-123456")
	_ = s.SaveChallenge(ctx, store.Challenge{TenantID: "acme", Phone: "+919999999999", CodeHash: code,
		CreatedAt: now, ExpiresAt: now.Add(5 * time.Minute), MaxAttempts: 5})

	reset := func(codeHash []byte) error {
		return s.Reset(ctx, store.Reset{
			Check: store.CodeCheck{TenantID: "acme", Phone: "+919999999999", CodeHash: codeHash, Now: now.Add(time.Minute)},
			Change: store.PasswordChange{TenantID: "acme", UserID: "u-1", PasswordHash: "$argon2id$new",
				Profile: json.RawMessage(`{"Uid":"u-1","FirstName":"Asha","LastPasswordChangeDate":"2026-05-01T10:01:00Z"}`)},
			Outbox: []store.OutboxMessage{{ID: "evt-1", TenantID: "acme", CreatedAt: now,
				Payload: json.RawMessage(`{"HookName":"resetpassword"}`)}},
		})
	}
	fmt.Println("wrong code:", errors.Is(reset([]byte("hmac-of-000000")), store.ErrCodeMismatch))
	fmt.Println("right code:", reset(code))
	fmt.Println("again:", errors.Is(reset(code), store.ErrChallengeUsed))

	u, _ := s.UserByPhone(ctx, "acme", "+919999999999")
	fmt.Println("hash:", u.PasswordHash)
	pending, _ := s.PendingOutbox(ctx, 10)
	fmt.Println("outbox:", len(pending), pending[0].ID, string(pending[0].Payload))
	// Output:
	// wrong code: true
	// right code: <nil>
	// again: true
	// hash: $argon2id$new
	// outbox: 1 evt-1 {"HookName":"resetpassword"}
}

// A host that already has a users table keeps it: otpreset reads and
// updates it with the host's queries, inside the reset's transaction.
func ExampleHostUsers() {
	dir, err := os.MkdirTemp("", "sqlstore-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()

	s, err := sqlstore.OpenSQLite(filepath.Join(dir, "app.db"), sqlstore.Config{
		Logger: slog.New(slog.DiscardHandler),
		HostUsers: &sqlstore.HostUsers{
			// Single-tenant host: @tenant_id is simply not used.
			UserByPhone:    `SELECT id, pw_hash, COALESCE(attrs, '{}') FROM accounts WHERE mobile = @phone`,
			UpdatePassword: `UPDATE accounts SET pw_hash = @password_hash, attrs = @profile WHERE id = @user_id`,
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	if err := s.Migrate(ctx); err != nil { // creates only otpreset_ tables
		log.Fatal(err)
	}
	// The host's own table, as it already exists.
	if err := hostSchema(filepath.Join(dir, "app.db")); err != nil {
		log.Fatal(err)
	}

	u, err := s.UserByPhone(ctx, "default", "+14155550123")
	fmt.Println(u.ID, u.PasswordHash, string(u.Profile), err)
	err = s.UpdatePassword(ctx, store.PasswordChange{TenantID: "default", UserID: u.ID,
		PasswordHash: "$argon2id$new", Profile: json.RawMessage(`{"name":"Lee","changed":true}`)})
	fmt.Println(err)
	u, _ = s.UserByPhone(ctx, "default", "+14155550123")
	fmt.Println(u.ID, u.PasswordHash, string(u.Profile))
	// Output:
	// 42 $argon2id$old {"name":"Lee"} <nil>
	// <nil>
	// 42 $argon2id$new {"name":"Lee","changed":true}
}

// On PostgreSQL, several servers share the database; Migrate is safe to run
// from each of them at start-up.
func ExampleOpenPostgres() {
	ctx := context.Background()
	s, err := sqlstore.OpenPostgres(ctx, os.Getenv("DATABASE_URL"), sqlstore.Config{})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	if err := s.Migrate(ctx); err != nil {
		log.Fatal(err)
	}
	// Hand s to otpreset as its store.Store.
}
