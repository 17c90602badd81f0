package sqlite_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/otpreset/go/store"
	"github.com/otpreset/go/store/sqlite"
)

// A SQLite store: open the file (Open sets WAL, a busy timeout and one
// connection, explicitly), migrate, then a wrong and a right reset.
func Example() {
	dir, err := os.MkdirTemp("", "sqlite-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()

	db, err := sqlite.Open(filepath.Join(dir, "otpreset.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	s := sqlite.New(db, sqlite.Config{Logger: slog.New(slog.DiscardHandler)})
	if err := s.Migrate(ctx); err != nil {
		log.Fatal(err)
	}

	now := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	_ = s.AddUser(ctx, store.User{TenantID: "acme", ID: "u-1", Phone: "+919999999999",
		PasswordHash: "$argon2id$old", Profile: json.RawMessage(`{"Uid":"u-1","FirstName":"Asha"}`)})
	code := []byte("hmac-of-123456")
	_, _ = s.IssueChallenge(ctx, store.Issue{Challenge: store.Challenge{TenantID: "acme", Phone: "+919999999999",
		Nonce: []byte("nonce"), CodeHash: code, CreatedAt: now, ExpiresAt: now.Add(5 * time.Minute), MaxAttempts: 5}})

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

// A host that already has a users table and a *sql.DB keeps both: the
// store takes the host's database as it is, and reads and updates the
// host's table with the host's queries, inside the reset's transaction.
// This table has integer ids, no tenant and no profile column: its users
// read with a minimal profile built from the id and the phone.
func ExampleHostUsers() {
	dir, err := os.MkdirTemp("", "sqlite-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()

	// The host's database, opened with the host's own settings.
	db, err := sql.Open("sqlite", filepath.Join(dir, "app.db")+"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)")
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TABLE users (id INTEGER PRIMARY KEY, phone TEXT, password_hash TEXT);
		INSERT INTO users (id, phone, password_hash) VALUES (42, '+14155550123', '$argon2id$old')`); err != nil {
		log.Fatal(err)
	}

	s := sqlite.New(db, sqlite.Config{
		Logger: slog.New(slog.DiscardHandler),
		HostUsers: &sqlite.HostUsers{
			// Single tenant, no profile column: @tenant_id and @profile go unused.
			UserByPhone:    `SELECT id, password_hash, NULL FROM users WHERE phone = @phone`,
			UpdatePassword: `UPDATE users SET password_hash = @password_hash WHERE id = @user_id`,
		},
	})
	if err := s.Migrate(ctx); err != nil { // creates only otpreset_ tables, not otpreset_users
		log.Fatal(err)
	}

	u, err := s.UserByPhone(ctx, "default", "+14155550123")
	fmt.Println(u.ID, u.PasswordHash, string(u.Profile), err)
	err = s.UpdatePassword(ctx, store.PasswordChange{TenantID: "default", UserID: u.ID,
		PasswordHash: "$argon2id$new", Profile: json.RawMessage(`{}`)})
	fmt.Println(err)
	u, _ = s.UserByPhone(ctx, "default", "+14155550123")
	fmt.Println(u.ID, u.PasswordHash)
	// Output:
	// 42 $argon2id$old {"Uid":"42","ID":"42","PhoneId":"+14155550123","PhoneIdVerified":true,"IsActive":true,"LoginLockedType":"None"} <nil>
	// <nil>
	// 42 $argon2id$new
}
