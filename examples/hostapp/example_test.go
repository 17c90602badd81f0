package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/otpreset/go/otpreset"
	"github.com/otpreset/go/otpreset/otpresettest"
	"github.com/otpreset/go/store/sqlite"
)

// A reset ends the host's own sessions and gives the user a session the
// host can take up. The host's sessions table ends with the password: the
// trigger in schema deletes the user's rows when otpreset's UPDATE of the
// users table commits, in the same transaction (a failed reset ends none).
// otpreset's own sessions of the user are revoked by the store as well, and
// the new session's access_token is found with LookupSession on its hash.
//
// Two other ways fit other hosts: a store.Sessions over the host's session
// table (RevokeSessions deleting the host's rows), joined with
// store.Composite, which runs the steps one by one rather than in one
// transaction; or a receiver of the ResetPassword webhook that ends the
// sessions of the event's user (examples/webhookreceiver), after the fact.
func Example_sessions() {
	dir, err := os.MkdirTemp("", "hostapp")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	db, err := sqlite.Open(filepath.Join(dir, "app.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	a, err := newApp(ctx, db, time.Now)
	if err != nil {
		log.Fatal(err)
	}
	// The host's user, and a session from its own login.
	_, err = db.Exec(`INSERT INTO users (id, phone, password_hash) VALUES (7, '+14155550123', '$argon2id$old');
		INSERT INTO sessions (token_hash, user_id, expires_at) VALUES (x'01', 7, 4102444800)`)
	if err != nil {
		log.Fatal(err)
	}
	hostSessions := func() (n int) {
		_ = db.QueryRow(`SELECT count(*) FROM sessions WHERE user_id = 7`).Scan(&n)
		return n
	}

	sender := &otpresettest.Sender{} // captures the code instead of sending it
	h, err := otpreset.New(otpreset.Config{Store: a.store, Sender: sender, MinSendDuration: -1,
		Tenants: otpreset.Tenants{"key": {ID: tenantID}}, Secret: []byte("example secret: 32 bytes or more, random")})
	if err != nil {
		log.Fatal(err)
	}
	do := func(method, body string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, otpreset.Path+"?apikey=key", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	fmt.Println("host sessions before:", hostSessions())
	do(http.MethodPost, `{"phone":"+14155550123"}`)
	rec := do(http.MethodPut, `{"phone":"+14155550123","otp":"`+sender.Code("+14155550123")+`","Password":"new password 1"}`)
	fmt.Println("reset:", rec.Code)
	fmt.Println("host sessions after:", hostSessions())

	var answer resetAnswer
	_ = json.Unmarshal(rec.Body.Bytes(), &answer)
	sess, err := a.store.LookupSession(ctx, tenantID, otpreset.TokenHash(answer.Data.AccessToken), time.Now())
	fmt.Println("access_token is a session of user", sess.UserID, err)
	// Output:
	// host sessions before: 1
	// reset: 200
	// host sessions after: 0
	// access_token is a session of user 7 <nil>
}
