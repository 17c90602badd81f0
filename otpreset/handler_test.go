package otpreset_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otpreset/go/otpreset"
	"github.com/otpreset/go/otpreset/otpresettest"
	"github.com/otpreset/go/store"
	"github.com/otpreset/go/store/storetest"
)

const (
	phone    = "+919999999999"
	oldPass  = "old password 1"
	newPass  = "StrongP@ssw0rd!"
	keyQuery = "?apikey=" + otpresettest.APIKey
)

var sidPattern = regexp.MustCompile(`^SM[0-9a-f]{32}$`)

// decode unmarshals a recorded body into a generic map.
func decode(t *testing.T, body []byte) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(body, &m), "body: %s", body)
	return m
}

func errorCode(t *testing.T, body []byte) float64 {
	t.Helper()
	m := decode(t, body)
	c, ok := m["ErrorCode"]
	require.True(t, ok, "every error answer carries ErrorCode (LoginRadius's Node.js and Python SDKs read only it): %s", body)
	return c.(float64)
}

// The seed's bodies, byte for byte in meaning.
const (
	seed908 = `{"ErrorCode":908,"Message":"A parameter is not formatted correctly","Description":"The apikey is a required parameter.","IsProviderError":false,"ProviderErrorResponse":null}`
	seed901 = `{"ErrorCode":901,"Message":"The API key is unauthorized","Description":"The provided LoginRadius API key is invalid or is not authorized, please use a valid or authorized LoginRadius API key or check the API key for your LoginRadius account.","IsProviderError":false,"ProviderErrorResponse":null}`
	// The seed's 1409 body plus LoginRadius's upper-case error keys with the
	// same values (the Node.js and Python SDKs read only ErrorCode).
	seed1409 = `{"errorCode":1409,"message":"Authentication failed","description":"The credentials provided could not be authenticated.",` +
		`"ErrorCode":1409,"Message":"Authentication failed","Description":"The credentials provided could not be authenticated.","IsProviderError":false,"ProviderErrorResponse":null}`
	seed950 = `{"ErrorCode":950,"Message":"Operation failed due to an unknown error","Description":"An unknown error has occurred, please try again in a few minutes or contact your system admin.","IsProviderError":false,"ProviderErrorResponse":null}`
)

func TestSendEndpoint(t *testing.T) {
	tests := []struct {
		name    string
		path    string
		header  http.Header
		body    any
		opts    []otpresettest.Option
		status  int
		code    float64 // ErrorCode; 0 for a 200
		exact   string  // whole body, when the contract fixes it
		sentSMS int
	}{
		{name: "key in query", path: otpreset.Path + "?apikey=" + otpresettest.APIKey, body: map[string]string{"phone": phone}, status: 200, sentSMS: 1},
		{name: "key in query as apiKey (v11 SDK)", path: otpreset.Path + "?apiKey=" + otpresettest.APIKey, body: map[string]string{"phone": phone}, status: 200, sentSMS: 1},
		{name: "key in query as APIKEY", path: otpreset.Path + "?APIKEY=" + otpresettest.APIKey, body: map[string]string{"phone": phone}, status: 200, sentSMS: 1},
		{name: "key in header (v12 SDK)", path: otpreset.Path, header: http.Header{"X-Loginradius-Apikey": {otpresettest.APIKey}}, body: map[string]string{"phone": phone}, status: 200, sentSMS: 1},
		{name: "body key Phone (v12 SDK)", path: otpreset.Path + keyQuery, body: map[string]string{"Phone": phone}, status: 200, sentSMS: 1},
		{name: "phone with spaces normalised", path: otpreset.Path + keyQuery, body: map[string]string{"phone": "+91 99999 99999"}, status: 200, sentSMS: 1},
		{name: "missing key", path: otpreset.Path, body: map[string]string{"phone": phone}, status: 400, code: 908, exact: seed908},
		{name: "unknown key", path: otpreset.Path + "?apikey=nope", body: map[string]string{"phone": phone}, status: 403, code: 901, exact: seed901},
		{name: "missing phone", path: otpreset.Path + keyQuery, body: map[string]string{}, status: 400, code: 1076},
		{name: "not a phone", path: otpreset.Path + keyQuery, body: map[string]string{"phone": "hello"}, status: 400, code: 1096},
		{name: "phone without country code", path: otpreset.Path + keyQuery, body: map[string]string{"phone": "9999999999"}, status: 400, code: 1096},
		{name: "unknown phone looks the same", path: otpreset.Path + keyQuery, body: map[string]string{"phone": "+14155550123"}, status: 200, sentSMS: 0},
		{name: "unknown phone, LoginRadius answer", path: otpreset.Path + keyQuery, body: map[string]string{"phone": "+14155550123"},
			opts: []otpresettest.Option{func(_ *otpreset.Config, t *otpreset.Tenant) { t.RevealUnknownPhone = true }}, status: 403, code: 1043},
		{name: "body not JSON", path: otpreset.Path + keyQuery, body: "phone=+919999999999", status: 400, code: 1090},
		{name: "body a JSON array", path: otpreset.Path + keyQuery, body: `["+919999999999"]`, status: 400, code: 1090},
		{name: "body truncated", path: otpreset.Path + keyQuery, body: `{"phone": "+91`, status: 400, code: 1090},
		{name: "body empty", path: otpreset.Path + keyQuery, body: "", status: 400, code: 1090},
		{name: "body too large", path: otpreset.Path + keyQuery, body: `{"phone":"` + strings.Repeat("9", 70<<10) + `"}`, status: 413, code: 1090},
		{name: "content type not JSON", path: otpreset.Path + keyQuery, header: http.Header{"Content-Type": {"text/plain"}}, body: map[string]string{"phone": phone}, status: 400, code: 1083},
		{name: "content type with charset", path: otpreset.Path + keyQuery, header: http.Header{"Content-Type": {"application/json; charset=utf-8"}}, body: map[string]string{"phone": phone}, status: 200, sentSMS: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := otpresettest.New(t, tt.opts...)
			env.AddUser(phone, oldPass)
			rec := env.Do(http.MethodPost, tt.path, tt.body, tt.header)
			require.Equal(t, tt.status, rec.Code, rec.Body.String())
			assert.Equal(t, "application/json", rec.Header().Get("Content-Type"))
			assert.Len(t, env.Sender.Messages(), tt.sentSMS)
			if tt.code != 0 {
				assert.Equal(t, tt.code, errorCode(t, rec.Body.Bytes()))
				m := decode(t, rec.Body.Bytes())
				assert.NotEmpty(t, m["Message"])
				assert.NotEmpty(t, m["Description"])
			}
			if tt.exact != "" {
				assert.JSONEq(t, tt.exact, rec.Body.String())
			}
			if tt.status == 200 {
				var got map[string]map[string]any
				require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &struct {
					IsPosted *bool
					Data     *map[string]any
				}{Data: &map[string]any{}}))
				m := decode(t, rec.Body.Bytes())
				assert.Equal(t, true, m["IsPosted"])
				data := m["Data"].(map[string]any)
				assert.Len(t, data, 2, "Data has exactly AccountSid and Sid")
				assert.Regexp(t, sidPattern, data["Sid"])
				assert.Regexp(t, `^AC[0-9a-f]{32}$`, data["AccountSid"])
				_ = got
			}
		})
	}
}

func TestSendUnknownPhoneAnswerHasTheKnownShape(t *testing.T) {
	env := otpresettest.New(t)
	env.AddUser(phone, oldPass)
	known := decode(t, env.Send(phone).Body.Bytes())
	unknown := decode(t, env.Send("+14155550123").Body.Bytes())
	kd, ud := known["Data"].(map[string]any), unknown["Data"].(map[string]any)
	assert.Equal(t, kd["AccountSid"], ud["AccountSid"], "the same AccountSid for known and unknown phones")
	assert.NotEqual(t, kd["Sid"], ud["Sid"])
	assert.Regexp(t, sidPattern, ud["Sid"])
	assert.Len(t, env.Sender.Messages(), 1, "no SMS for an unknown phone")
}

func TestSendProviderFailure(t *testing.T) {
	for _, exact := range []bool{false, true} {
		env := otpresettest.New(t, func(_ *otpreset.Config, tn *otpreset.Tenant) { tn.ReportSendFailure = exact })
		env.AddUser(phone, oldPass)
		env.Sender.Err = errors.New("provider down")
		rec := env.Send(phone)
		if exact {
			assert.Equal(t, 403, rec.Code)
			assert.Equal(t, float64(1072), errorCode(t, rec.Body.Bytes()))
		} else {
			assert.Equal(t, 200, rec.Code, "a provider failure must not reveal that the phone exists")
			assert.Regexp(t, sidPattern, decode(t, rec.Body.Bytes())["Data"].(map[string]any)["Sid"])
		}
	}
}

func TestSendCodeFormatAndVoice(t *testing.T) {
	env := otpresettest.New(t, func(_ *otpreset.Config, tn *otpreset.Tenant) { tn.CodeLength = 8; tn.Domain = "example.com" })
	env.AddUser(phone, oldPass)
	rec := env.Do(http.MethodPost, otpreset.Path+keyQuery+"&isvoiceotp=true", map[string]string{"phone": phone}, nil)
	require.Equal(t, 200, rec.Code)
	msgs := env.Sender.Messages()
	require.Len(t, msgs, 1)
	assert.Regexp(t, `^[0-9]{8}$`, msgs[0].Code)
	assert.True(t, msgs[0].Voice)
	assert.True(t, strings.HasSuffix(msgs[0].Body, "@example.com #"+msgs[0].Code), msgs[0].Body)
	assert.Regexp(t, `^CA[0-9a-f]{32}$`, decode(t, rec.Body.Bytes())["Data"].(map[string]any)["Sid"], "a voice call's Sid")
}

func TestNewCodeReplacesOld(t *testing.T) {
	env := otpresettest.New(t)
	env.AddUser(phone, oldPass)
	env.Send(phone)
	first := env.Code(phone)
	env.Send(phone)
	second := env.Code(phone)
	require.NotEmpty(t, first)
	if first == second {
		t.Skip("the two random codes happen to be equal")
	}
	assert.Equal(t, 401, env.Reset(phone, first, newPass).Code)
	assert.Equal(t, 200, env.Reset(phone, second, newPass).Code)
}

func TestResetSuccess(t *testing.T) {
	env := otpresettest.New(t)
	u := env.AddUser(phone, oldPass)
	// An existing session, which the reset must revoke.
	require.NoError(t, env.Store.CreateSession(context.Background(), store.Session{ID: "s1", TenantID: u.TenantID, UserID: u.ID,
		AccessTokenHash: otpreset.TokenHash("old-token"), ExpiresAt: otpresettest.Start.Add(24 * 60 * 60 * 1e9)}))
	env.Send(phone)
	rec := env.Reset(phone, env.Code(phone), newPass)
	require.Equal(t, 200, rec.Code, rec.Body.String())

	var resp otpreset.ResetResponse
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &resp))
	require.NotNil(t, resp.Data)
	assert.True(t, resp.IsPosted)
	assert.Equal(t, otpreset.MaskedPassword, resp.Data.Profile.Password)
	assert.Equal(t, u.ID, resp.Data.Profile.Uid)
	require.NotNil(t, resp.Data.Profile.LastPasswordChangeDate)
	assert.True(t, resp.Data.Profile.LastPasswordChangeDate.Equal(otpresettest.Start))
	assert.Equal(t, "blue", resp.Data.Profile.CustomFields["team"], "the profile is kept whole")
	assert.NotEmpty(t, resp.Data.AccessToken)
	assert.NotEqual(t, resp.Data.AccessToken, resp.Data.RefreshToken)

	raw := decode(t, rec.Body.Bytes())["Data"].(map[string]any)
	assert.Equal(t, "2026-11-24T13:00:00Z", raw["expires_in"], "expires_in is an RFC 3339 string")
	assert.NotContains(t, rec.Body.String(), "argon2", "no hash in the answer")

	assert.True(t, env.PasswordWorks(phone, newPass))
	assert.False(t, env.PasswordWorks(phone, oldPass))
	assert.ErrorIs(t, lookupSession(t, env.Store, u.TenantID, "old-token"), store.ErrNotFound, "old sessions are revoked")
	assert.NoError(t, lookupSession(t, env.Store, u.TenantID, resp.Data.AccessToken), "the new session exists")

	events := env.Webhooks.Events()
	require.Len(t, events, 1)
	assert.Equal(t, "resetpassword", events[0].Name)
	assert.Contains(t, string(events[0].Data), u.ID)

	// Single use.
	rec = env.Reset(phone, env.Code(phone), "another password")
	assert.Equal(t, 401, rec.Code)
	assert.JSONEq(t, seed1409, rec.Body.String())
}

// The seed's curl command, verbatim but for the code and the host.
func TestSeedCurlRequest(t *testing.T) {
	env := otpresettest.New(t)
	env.AddUser(phone, oldPass)
	env.Send(phone)
	q := "?g-recaptcha-response=03AGdBq24e1a2b3c4d5e6f7g8h9i0j1k2l3m4n5o6p7q8r9s0t1u2v3w4x5y6z7a8b9c0d1e2f3g4h5i6j7k8l9m0n1o2p3q4r5s6t7u8v9w0x1y2z3a4b5c6d7e8f9g0h1i2j3k4l5m6n7o8p9q0r1s2t3u4v5w6x7y8z9&g_recaptcha_response=03AGdBq24e1a2b3c4d5e6f7g8h9i0j1k2l3m4n5o6p7q8r9s0t1u2v3w4x5y6z7a8b9c0d1e2f3g4h5i6j7k8l9m0n1o2p3q4r5s6t7u8v9w0x1y2z3a4b5c6d7e8f9g0h1i2j3k4l5m6n7o8p9q0r1s2t3u4v5w6x7y8z9&prevent_webhook=true&h-captcha-response=03AGdBq24e1a2b3c4d5e6f7g8h9i0j1k2l3m4n5o6p7q8r9s0t1u2v3w4x5y6z7a8b9c0d1e2f3g4h5i6j7k8l9m0n1o2p3q4r5s6t7u8v9w0x1y2z3a4b5c6d7e8f9g0h1i2j3k4l5m6n7o8p9q0r1s2t3u4v5w6x7y8z9&qq_captcha_ticket=03AGdBq24eJ9O8dpLsw0Pr0OTtWfkmK34K0jQde&qq_captcha_randstr=03AGdBq24eJ9O8dpLsw0Pr0OTtWfkmK34K0jQde&apikey=" + otpresettest.APIKey
	body := `{ "Password": "StrongP@ssw0rd!", "otp": "` + env.Code(phone) + `", "phone": "+919999999999" }`
	rec := env.Do(http.MethodPut, otpreset.Path+q, body, http.Header{"X-Preventwebhook": {"true"}})
	require.Equal(t, 200, rec.Code, rec.Body.String())
	m := decode(t, rec.Body.Bytes())
	data := m["Data"].(map[string]any)
	for _, k := range []string{"Profile", "access_token", "refresh_token", "expires_in"} {
		assert.Contains(t, data, k)
	}
	assert.Empty(t, env.Webhooks.Events(), "prevent_webhook suppressed the event")
	assert.True(t, env.PasswordWorks(phone, "StrongP@ssw0rd!"))
}

func TestPreventWebhookHeaderWins(t *testing.T) {
	tests := []struct {
		query, header string
		events        int
	}{
		{"", "", 1},
		{"true", "", 0},
		{"false", "", 1},
		{"", "true", 0},
		{"true", "false", 1},
		{"false", "true", 0},
	}
	for _, tt := range tests {
		t.Run("query="+tt.query+",header="+tt.header, func(t *testing.T) {
			env := otpresettest.New(t)
			env.AddUser(phone, oldPass)
			env.Send(phone)
			path := otpreset.Path + keyQuery
			if tt.query != "" {
				path += "&prevent_webhook=" + tt.query
			}
			h := http.Header{}
			if tt.header != "" {
				h.Set("X-PreventWebhook", tt.header)
			}
			rec := env.Do(http.MethodPut, path, map[string]string{"phone": phone, "otp": env.Code(phone), "Password": newPass}, h)
			require.Equal(t, 200, rec.Code)
			assert.Len(t, env.Webhooks.Events(), tt.events)
		})
	}
}

func TestResetFailures(t *testing.T) {
	type step func(env *otpresettest.Env) (phone, otp string)
	sent := func(env *otpresettest.Env) { env.Send(phone) }
	tests := []struct {
		name     string
		setup    step
		detailed float64 // ErrorCode with DetailedErrors
	}{
		{"wrong code", func(env *otpresettest.Env) (string, string) { sent(env); return phone, wrong(env.Code(phone)) }, 1067},
		{"code already used", func(env *otpresettest.Env) (string, string) {
			sent(env)
			c := env.Code(phone)
			require.Equal(env.T, 200, env.Reset(phone, c, "first new password").Code)
			return phone, c
		}, 1068},
		{"code expired", func(env *otpresettest.Env) (string, string) {
			sent(env)
			env.Clock.Advance(otpreset.DefaultCodeTTL)
			return phone, env.Code(phone)
		}, 1069},
		{"no code issued", func(env *otpresettest.Env) (string, string) { return phone, "123456" }, 1070},
		{"unknown phone", func(env *otpresettest.Env) (string, string) {
			env.Send("+14155550123")
			return "+14155550123", "123456"
		}, 938},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := otpresettest.New(t)
			env.AddUser(phone, oldPass)
			p, otp := tt.setup(env)
			rec := env.Reset(p, otp, newPass)
			assert.Equal(t, 401, rec.Code)
			assert.Equal(t, seed1409, rec.Body.String(), "one answer, byte for byte, for every failing pair")
			assert.Equal(t, "application/json", rec.Header().Get("Content-Type"))

			env = otpresettest.New(t, func(_ *otpreset.Config, tn *otpreset.Tenant) { tn.DetailedErrors = true })
			env.AddUser(phone, oldPass)
			p, otp = tt.setup(env)
			rec = env.Reset(p, otp, newPass)
			assert.Equal(t, 403, rec.Code)
			assert.Equal(t, tt.detailed, errorCode(t, rec.Body.Bytes()), rec.Body.String())
		})
	}
}

// wrong returns a code that differs from c.
func wrong(c string) string {
	if strings.HasPrefix(c, "0") {
		return "1" + c[1:]
	}
	return "0" + c[1:]
}

func TestResetValidation(t *testing.T) {
	tests := []struct {
		name   string
		body   any
		status int
		code   float64
		desc   string
	}{
		{"missing password", map[string]string{"phone": phone, "otp": "123456"}, 400, 1089, "password"},
		{"missing phone", map[string]string{"Password": newPass, "otp": "123456"}, 400, 1076, "phone"},
		{"missing otp", map[string]string{"Password": newPass, "phone": phone}, 400, 908, "The otp is a required parameter."},
		{"bad phone", map[string]string{"Password": newPass, "phone": "12", "otp": "123456"}, 400, 1096, ""},
		{"password too short", map[string]string{"Password": "short", "phone": phone, "otp": "123456"}, 403, 1134, ""},
		{"body keys in any case", map[string]string{"PASSWORD": "short", "PHONE": phone, "OTP": "123456"}, 403, 1134, ""},
		{"not an object", `"hello"`, 400, 1090, ""},
		// Passwords are refused rather than silently changed, so that one set
		// here always logs in at the host (docs/contract.md, "Codes and passwords").
		{"invalid UTF-8 password", `{"Password":"new password ` + "\xff" + `1","phone":"` + phone + `","otp":"123456"}`, 403, 1134, ""},
		{"lone surrogate password", `{"Password":"new password \ud800","phone":"` + phone + `","otp":"123456"}`, 403, 1134, ""},
		{"U+FDFA is one character", map[string]string{"Password": "\uFDFA", "phone": phone, "otp": "123456"}, 403, 1134, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := otpresettest.New(t)
			env.AddUser(phone, oldPass)
			rec := env.Do(http.MethodPut, otpreset.Path+keyQuery, tt.body, nil)
			require.Equal(t, tt.status, rec.Code, rec.Body.String())
			assert.Equal(t, tt.code, errorCode(t, rec.Body.Bytes()))
			m := decode(t, rec.Body.Bytes())
			if tt.desc != "" {
				assert.Contains(t, m["Description"], tt.desc)
			}
			if tt.code == 1134 {
				errs := m["Errors"].([]any)
				require.NotEmpty(t, errs)
				e := errs[0].(map[string]any)
				assert.Equal(t, "password", e["FieldName"])
				assert.NotEmpty(t, e["ErrorMessage"])
			}
		})
	}
}

func TestResetPolicyFailureKeepsTheCode(t *testing.T) {
	env := otpresettest.New(t)
	env.AddUser(phone, oldPass)
	env.Send(phone)
	require.Equal(t, 403, env.Reset(phone, env.Code(phone), "short").Code)
	assert.Equal(t, 200, env.Reset(phone, env.Code(phone), newPass).Code)
}

func TestWrongMethodAndPath(t *testing.T) {
	env := otpresettest.New(t)
	for _, m := range []string{http.MethodGet, http.MethodDelete, http.MethodPatch, http.MethodOptions} {
		rec := env.Do(m, otpreset.Path+keyQuery, nil, nil)
		assert.Equal(t, 405, rec.Code, m)
		assert.Equal(t, "POST, PUT", rec.Header().Get("Allow"))
		assert.Equal(t, float64(405), errorCode(t, rec.Body.Bytes()))
	}
	rec := env.Do(http.MethodPost, "/identity/v2/auth/password/other"+keyQuery, map[string]string{"phone": phone}, nil)
	assert.Equal(t, 404, rec.Code)
	assert.Equal(t, "application/json", rec.Header().Get("Content-Type"))
}

func TestLegacyResetAnswer(t *testing.T) {
	env := otpresettest.New(t, func(_ *otpreset.Config, tn *otpreset.Tenant) { tn.LegacyResetAnswer = true })
	env.AddUser(phone, oldPass)
	env.Send(phone)
	rec := env.Reset(phone, env.Code(phone), newPass)
	require.Equal(t, 200, rec.Code)
	assert.JSONEq(t, `{"IsPosted":true}`, rec.Body.String())
	assert.True(t, env.PasswordWorks(phone, newPass))
}

func TestCodeAttemptLimit(t *testing.T) {
	// Lockout set high so the per-code limit is what stops the guesses.
	env := otpresettest.New(t, func(_ *otpreset.Config, tn *otpreset.Tenant) {
		tn.Limits.LockoutAttempts = 100
	})
	env.AddUser(phone, oldPass)
	env.Send(phone)
	code := env.Code(phone)
	for i := 0; i < otpreset.DefaultMaxCodeAttempts; i++ {
		require.Equal(t, 401, env.Reset(phone, wrong(code), newPass).Code)
	}
	assert.Equal(t, 401, env.Reset(phone, code, newPass).Code, "the right code after 5 wrong tries is refused")
	assert.True(t, env.PasswordWorks(phone, oldPass))
}

func TestConcurrentResetsOfOneCode(t *testing.T) {
	env := otpresettest.New(t, func(_ *otpreset.Config, tn *otpreset.Tenant) {
		tn.Limits.ResetPerIP = "1000-1M"
	})
	env.AddUser(phone, oldPass)
	env.Send(phone)
	code := env.Code(phone)
	const n = 100
	var wg sync.WaitGroup
	statuses := make([]int, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i] = env.Reset(phone, code, newPass).Code
		}()
	}
	wg.Wait()
	ok := 0
	for _, s := range statuses {
		if s == 200 {
			ok++
		} else {
			// The losers presented the right code: 1409, counted by nothing.
			assert.Equal(t, 401, s)
		}
	}
	assert.Equal(t, 1, ok, "exactly one of %d concurrent correct resets wins", n)
	assert.Len(t, env.Webhooks.Events(), 1)
}

// faultyStore fails chosen operations.
// lookupSession looks up the session of an access token in s, which must
// implement storetest.SessionLookup (the memstore otpresettest uses does).
func lookupSession(t *testing.T, s store.Store, tenantID, accessToken string) error {
	t.Helper()
	l, ok := s.(storetest.SessionLookup)
	require.Truef(t, ok, "%T does not implement storetest.SessionLookup", s)
	_, err := l.LookupSession(context.Background(), tenantID, otpreset.TokenHash(accessToken), otpresettest.Start)
	return err
}

type faultyStore struct {
	store.Store
	failOn string
	panics bool
}

// AddUser seeds through to the wrapped store (otpresettest seeds users into
// the handler's store).
func (f *faultyStore) AddUser(ctx context.Context, u store.User) error {
	return f.Store.(interface {
		AddUser(context.Context, store.User) error
	}).AddUser(ctx, u)
}

var errDown = errors.New("database is down")

func (f *faultyStore) fail(op string) error {
	if f.failOn == op {
		if f.panics {
			panic("bug in store")
		}
		return errDown
	}
	return nil
}
func (f *faultyStore) UserByPhone(ctx context.Context, t, p string) (store.User, error) {
	if err := f.fail("UserByPhone"); err != nil {
		return store.User{}, err
	}
	return f.Store.UserByPhone(ctx, t, p)
}
func (f *faultyStore) IssueChallenge(ctx context.Context, iss store.Issue) (store.Issued, error) {
	if err := f.fail("IssueChallenge"); err != nil {
		return store.Issued{}, err
	}
	return f.Store.IssueChallenge(ctx, iss)
}
func (f *faultyStore) CheckCode(ctx context.Context, a store.Attempt) (store.Verdict, error) {
	if err := f.fail("CheckCode"); err != nil {
		return store.Verdict{}, err
	}
	return f.Store.CheckCode(ctx, a)
}
func (f *faultyStore) ClearCounters(ctx context.Context, tenantID, phone string) error {
	if err := f.fail("ClearCounters"); err != nil {
		return err
	}
	return f.Store.ClearCounters(ctx, tenantID, phone)
}
func (f *faultyStore) UpdatePassword(ctx context.Context, c store.PasswordChange) error {
	if err := f.fail("UpdatePassword"); err != nil {
		return err
	}
	return f.Store.UpdatePassword(ctx, c)
}
func (f *faultyStore) RevokeSessions(ctx context.Context, t, u string) (int, error) {
	if err := f.fail("RevokeSessions"); err != nil {
		return 0, err
	}
	return f.Store.RevokeSessions(ctx, t, u)
}

func (f *faultyStore) CreateSession(ctx context.Context, sess store.Session) error {
	if err := f.fail("CreateSession"); err != nil {
		return err
	}
	return f.Store.CreateSession(ctx, sess)
}

func TestStoreFaults(t *testing.T) {
	for _, op := range []string{"UserByPhone", "IssueChallenge", "CheckCode", "UpdatePassword", "RevokeSessions", "CreateSession", "ClearCounters"} {
		for _, panics := range []bool{false, true} {
			t.Run(op+map[bool]string{true: " panics", false: " fails"}[panics], func(t *testing.T) {
				var fs *faultyStore
				env := otpresettest.New(t, func(c *otpreset.Config, _ *otpreset.Tenant) {
					fs = &faultyStore{Store: c.Store}
					c.Store = fs // not a Resetter: the steps run one by one
				})
				u := env.AddUser(phone, oldPass)
				require.NoError(t, env.Store.CreateSession(context.Background(), store.Session{ID: "s1", TenantID: u.TenantID, UserID: u.ID,
					AccessTokenHash: otpreset.TokenHash("old-token"), ExpiresAt: otpresettest.Start.Add(time.Hour)}))
				env.Send(phone)
				code := env.Code(phone)
				fs.failOn, fs.panics = op, panics
				if op == "UserByPhone" || op == "IssueChallenge" {
					rec := env.Send(phone)
					assert.Equal(t, 500, rec.Code)
					assert.JSONEq(t, seed950, rec.Body.String())
				}
				rec := env.Reset(phone, code, newPass)
				fs.failOn = ""
				switch op {
				case "IssueChallenge":
					// The failed send left the code issued before it intact.
					assert.Equal(t, 200, rec.Code, rec.Body.String())
					return
				case "ClearCounters":
					// The reset is done; only the counters were not cleared
					// (logged; they lapse on their own).
					assert.Equal(t, 200, rec.Code, rec.Body.String())
					assert.True(t, env.PasswordWorks(phone, newPass))
					return
				}
				assert.Equal(t, 500, rec.Code, rec.Body.String())
				assert.JSONEq(t, seed950, rec.Body.String())
				assert.True(t, env.PasswordWorks(phone, oldPass), "the old password still works")
				assert.False(t, env.PasswordWorks(phone, newPass))
				assert.Empty(t, env.Webhooks.Events(), "no event for a failed reset")
				if op != "CreateSession" { // revoking came before the failing step
					assert.NoError(t, lookupSession(t, fs.Store, u.TenantID, "old-token"), "no session was revoked")
				}
			})
		}
	}
}

func TestLogsHoldNoSecrets(t *testing.T) {
	var buf syncBuffer
	env := otpresettest.New(t, func(c *otpreset.Config, _ *otpreset.Tenant) { c.Logger = newJSONLogger(&buf) })
	env.AddUser(phone, oldPass)
	env.Send(phone)
	code := env.Code(phone)
	env.Reset(phone, wrong(code), newPass)
	env.Reset(phone, code, "short")
	require.Equal(t, 200, env.Reset(phone, code, newPass).Code)
	logs := buf.String()
	require.NotEmpty(t, logs)
	for _, secret := range []string{code, wrong(code), newPass, "short", oldPass, phone, "argon2id", "9999999999"} {
		assert.NotContains(t, logs, secret)
	}
	assert.Contains(t, logs, "+91******9999", "phones are logged masked")
}

// refusedLines are the "refused" lines of a JSON log, decoded.
func refusedLines(t *testing.T, logs string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &m), line)
		if m["msg"] == "refused" {
			out = append(out, m)
		}
	}
	return out
}

// TestRefusalLogLines: a refusal is logged once at its level with the
// request's tenant, endpoint and masked phone, also now that the request's
// logger is built only for a line that is written; a logger that drops the
// level gets no line.
func TestRefusalLogLines(t *testing.T) {
	var info, warn syncBuffer
	for _, c := range []struct {
		buf   *syncBuffer
		level slog.Level
	}{{&info, slog.LevelInfo}, {&warn, slog.LevelWarn}} {
		env := otpresettest.New(t, func(cfg *otpreset.Config, _ *otpreset.Tenant) {
			cfg.Logger = slog.New(slog.NewJSONHandler(c.buf, &slog.HandlerOptions{Level: c.level}))
		})
		env.AddUser(phone, oldPass)
		require.Equal(t, 200, env.Send(phone).Code)
		require.Equal(t, 401, env.Reset(phone, wrong(env.Code(phone)), newPass).Code)
		for env.Send(phone).Code == 200 { // until the per-phone send limit (429, logged at Warn)
		}
	}
	want := func(level, endpoint, reason string) map[string]any {
		return map[string]any{"level": level, "msg": "refused", "component": "otpreset", "tenant": otpresettest.TenantID,
			"endpoint": endpoint, "phone": "+91******9999", "reason": reason}
	}
	strip := func(lines []map[string]any) []map[string]any {
		for _, l := range lines {
			delete(l, "time")
		}
		return lines
	}
	assert.Equal(t, []map[string]any{want("INFO", "reset", "wrong code"), want("WARN", "send", "sends per phone and network")},
		strip(refusedLines(t, info.String())))
	assert.Equal(t, []map[string]any{want("WARN", "send", "sends per phone and network")}, strip(refusedLines(t, warn.String())))
}
