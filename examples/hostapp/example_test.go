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
// host can take up. Config.AfterReset (app.afterReset) destroys the user's
// scs sessions and bumps the user's token_version, so a JWT issued before
// the reset is refused after it; the client asked for no webhook
// (prevent_webhook=true), which does not stop it. otpreset's own sessions
// of the user are revoked by the store, and the new session's access_token
// is found with LookupSession on its hash.
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
	// The host's user, logged in before the reset: a cookie session (scs)
	// and a JWT.
	if _, err := db.Exec(`INSERT INTO users (id, phone, password_hash) VALUES (7, '+14155550123', '$argon2id$old')`); err != nil {
		log.Fatal(err)
	}
	sctx, _ := a.sessions.Load(ctx, "")
	a.sessions.Put(sctx, sessionUserKey, int64(7))
	cookie, _, _ := a.sessions.Commit(sctx)
	jwt, _ := a.issueJWT(ctx, 7)
	loggedIn := func() string {
		sctx, _ := a.sessions.Load(ctx, cookie)
		return fmt.Sprintf("cookie session of user %d, JWT of user %d", a.sessions.GetInt64(sctx, sessionUserKey), a.jwtUser(ctx, jwt))
	}

	sender := &otpresettest.Sender{} // captures the code instead of sending it
	h, err := otpreset.New(otpreset.Config{Store: a.store, Sender: sender, MinSendDuration: -1,
		Tenants: otpreset.Tenants{"key": {ID: tenantID}}, Secret: []byte("example secret: 32 bytes or more, random"),
		AfterReset: a.afterReset})
	if err != nil {
		log.Fatal(err)
	}
	do := func(method, query, body string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, otpreset.Path+"?apikey=key"+query, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	fmt.Println("before:", loggedIn())
	do(http.MethodPost, "", `{"phone":"+14155550123"}`)
	rec := do(http.MethodPut, "&prevent_webhook=true", `{"phone":"+14155550123","otp":"`+sender.Code("+14155550123")+`","Password":"new password 1"}`)
	fmt.Println("reset:", rec.Code)
	fmt.Println("after:", loggedIn())

	var answer resetAnswer
	_ = json.Unmarshal(rec.Body.Bytes(), &answer)
	sess, err := a.store.LookupSession(ctx, tenantID, otpreset.TokenHash(answer.Data.AccessToken), time.Now())
	fmt.Println("access_token is a session of user", sess.UserID, err)
	// Output:
	// before: cookie session of user 7, JWT of user 7
	// reset: 200
	// after: cookie session of user 0, JWT of user 0
	// access_token is a session of user 7 <nil>
}
