package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"

	"github.com/alexedwards/argon2id"

	"github.com/otpreset/go/otpreset"
	"github.com/otpreset/go/otpreset/otpresettest"
	"github.com/otpreset/go/otpreset/password"
	"github.com/otpreset/go/store"
	"github.com/otpreset/go/store/memstore"
)

const (
	apiKey   = "loadtest-api-key"
	tenantID = "loadtest"
	oldPass  = "old password 1"
	newPass  = "StrongP@ssw0rd!"
)

// phoneFor is client i's phone: Indian mobile numbers +91 99990 00000 on.
func phoneFor(i int) string { return fmt.Sprintf("+9199990%05d", i) }

// target is an otpreset handler with an in-memory store, users for the
// first n phones, every rate limit off and lockouts out of reach.
type target struct {
	handler *otpreset.Handler
	sender  *otpresettest.LastCodes
}

func newTarget(params *argon2id.Params, users int) (*target, error) {
	st := memstore.New()
	snd := &otpresettest.LastCodes{}
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return nil, err
	}
	tenant := &otpreset.Tenant{ID: tenantID, AppName: "Load test"}
	otpresettest.Unlimit(tenant)
	h, err := otpreset.New(otpreset.Config{
		Store:           st,
		Sender:          snd,
		Tenants:         otpreset.Tenants{apiKey: tenant},
		Secret:          secret,
		Hasher:          password.NewArgon2idHasher(params, 0),
		Logger:          slog.New(slog.DiscardHandler),
		MinSendDuration: -1,
	})
	if err != nil {
		return nil, err
	}
	// One seed hash for every user (cheap parameters: only new passwords
	// are hashed under test).
	seed, err := argon2id.CreateHash(oldPass, &argon2id.Params{Memory: 1024, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32})
	if err != nil {
		return nil, err
	}
	for i := range users {
		phone := phoneFor(i)
		uid := fmt.Sprintf("uid-%05d", i)
		profile, _ := json.Marshal(map[string]any{"Uid": uid, "ID": uid, "PhoneId": phone, "PhoneIdVerified": true, "FirstName": "Load", "IsActive": true})
		u := store.User{TenantID: tenantID, ID: uid, Phone: phone, PasswordHash: seed, Profile: profile}
		if err := st.AddUser(context.Background(), u); err != nil {
			return nil, err
		}
	}
	return &target{handler: h, sender: snd}, nil
}

// issue asks for a code for phone in-process and returns it.
func (t *target) issue(phone string) (string, error) {
	req := httptest.NewRequest(http.MethodPost, otpreset.Path+"?apikey="+apiKey, bytes.NewReader(sendBody(phone)))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	t.handler.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		return "", fmt.Errorf("send to %s: %d %s", phone, rec.Code, rec.Body)
	}
	code := t.sender.Code(phone)
	if code == "" {
		return "", fmt.Errorf("send to %s: no SMS sent (not a mobile number?)", phone)
	}
	return code, nil
}

func sendBody(phone string) []byte {
	b, _ := json.Marshal(map[string]string{"phone": phone})
	return b
}

func resetBody(phone, code string) []byte {
	b, _ := json.Marshal(map[string]string{"phone": phone, "otp": code, "Password": newPass})
	return b
}

// wrongCode is a code of the same length that is not code.
func wrongCode(code string) string {
	return string('0'+(code[0]-'0'+1)%10) + code[1:]
}

// bareHandler is the baseline: a minimal net/http handler that decodes the
// same JSON body and answers fixed bytes.
func bareHandler(status int, answer []byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Phone    string `json:"phone"`
			OTP      string `json:"otp"`
			Password string `json:"password"`
		}
		_ = json.NewDecoder(io.LimitReader(r.Body, 64<<10)).Decode(&body) // otpreset's default MaxBodyBytes
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write(answer)
	})
}

// doHTTP sends one request and checks the status.
func doHTTP(ctx context.Context, c *http.Client, method, url string, body []byte, want int) error {
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := c.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	answer, err := io.ReadAll(res.Body)
	if err != nil {
		return err
	}
	if res.StatusCode != want {
		return fmt.Errorf("%s: status %d, want %d: %.200s", method, res.StatusCode, want, answer)
	}
	return nil
}

// capture returns otpreset's answer to one request, for the bare handler to
// repeat byte for byte.
func capture(h http.Handler, method, target string, body []byte) (int, []byte) {
	req := httptest.NewRequest(method, target, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code, rec.Body.Bytes()
}
