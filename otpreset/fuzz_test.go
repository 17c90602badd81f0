package otpreset_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/nyaruka/phonenumbers"

	"github.com/otpreset/go/otpreset"
	"github.com/otpreset/go/otpreset/otpresettest"
	"github.com/otpreset/go/sms"
	"github.com/otpreset/go/store"
)

// The fuzz targets build their handler once per target (not per input), with
// every rate limit off so the fuzzer is never throttled into testing only the
// 429 path. Their seed corpora are in testdata/fuzz/<FuzzName>/; `go test`
// runs those seeds as ordinary tests.
//
//	go test -run '^$' -fuzz '^FuzzHandler$' -fuzztime 60s ./otpreset/
//
// Identifiers here start with "fuzz" so they never collide with the other
// tests of the package.

const (
	fuzzPhone = "+919999999999"
	// fuzzCode is the code every send issues: fuzzRand makes it so, and the
	// seeds carry it, so the fuzzer reaches the successful reset too.
	fuzzCode = "314159"
)

// fuzzSecret is the handler's HMAC secret; no answer may ever contain it.
var fuzzSecret = []byte("fuzz-secret-7f3a9c2e5b8d4f1a6c0e")

// fuzzRand fills every read with the same bytes, so every code drawn is
// fuzzCode (newCode keeps bytes < 250 and takes them mod 10).
type fuzzRand struct{}

func (fuzzRand) Read(p []byte) (int, error) {
	pattern := []byte{3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9, 3}
	for i := range p {
		p[i] = pattern[i%len(pattern)]
	}
	return len(p), nil
}

// fuzzSender drops every message, remembering nothing (a long fuzz run sends
// millions), and answers a Twilio-shaped receipt.
type fuzzSender struct{}

func (fuzzSender) Send(_ context.Context, m sms.Message) (sms.Receipt, error) {
	return sms.Receipt{AccountSid: "AC00000000000000000000000000000000", Sid: sms.NewSid(sms.SidPrefix(m.Voice), nil)}, nil
}

// cryptoTokens issues tokens from crypto/rand, since the fuzz
// environment's Config.Rand is deterministic and sessions need distinct tokens.
type cryptoTokens struct{}

func (cryptoTokens) Issue(_ context.Context, _ *otpreset.Tenant, _ store.User, now time.Time) (otpreset.Tokens, error) {
	return otpreset.Tokens{AccessToken: rand.Text(), RefreshToken: rand.Text(), ExpiresAt: now.Add(time.Hour)}, nil
}

// fuzzEnv builds the handler the fuzz targets share: one tenant with a seeded
// user, no rate limits, no lockout, a deterministic code.
func fuzzEnv(tb testing.TB) *otpresettest.Env {
	tb.Helper()
	env := otpresettest.New(tb, func(c *otpreset.Config, tn *otpreset.Tenant) {
		c.Secret = fuzzSecret
		c.Rand = fuzzRand{}
		c.Tokens = cryptoTokens{}
		c.Sender = fuzzSender{}
		tn.Limits = otpreset.Limits{
			SendPerPhone: "off", SendPerIP: "off", SMSPerTenantDay: "off", ResetPerPhone: "off", ResetPerIP: "off",
			LockoutAttempts: 1 << 30,
		}
		tn.Pumping.PrefixDailyCap = "off"
	})
	env.AddUser(fuzzPhone, "old password 1")
	return env
}

var fuzzE164 = regexp.MustCompile(`^\+[1-9][0-9]{6,15}$`)

// fuzzCodeWord finds fuzzCode as a word of its own: inside a longer run of
// letters and digits (a Sid, a token, a phone number) it is a coincidence.
var fuzzCodeWord = regexp.MustCompile(`(^|[^0-9A-Za-z])` + fuzzCode + `([^0-9A-Za-z]|$)`)

// fuzzCheckAnswer asserts what holds for every answer whatever the request:
// no 5xx (the store is healthy), JSON with its Content-Type, an error code on
// every refusal, and nothing secret in the body.
func fuzzCheckAnswer(t *testing.T, rec *httptest.ResponseRecorder) {
	t.Helper()
	body := rec.Body.Bytes()
	if rec.Code >= 500 {
		t.Fatalf("status %d with a healthy store: %s", rec.Code, body)
	}
	switch rec.Code {
	case 200, 400, 401, 403, 404, 405, 413, 429:
	default:
		t.Fatalf("status %d is not one openapi.yaml documents: %s", rec.Code, body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Fatalf("status %d: Content-Type %q, want application/json", rec.Code, ct)
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("status %d: body is not a JSON object (%v): %q", rec.Code, err, body)
	}
	if rec.Code == 200 {
		if m["IsPosted"] != true {
			t.Fatalf("200 without IsPosted: %s", body)
		}
	} else {
		code, ok := m["ErrorCode"].(float64)
		if !ok {
			code, ok = m["errorCode"].(float64)
		}
		if !ok || code <= 0 {
			t.Fatalf("status %d without a numeric ErrorCode: %s", rec.Code, body)
		}
	}
	for _, secret := range [][]byte{fuzzSecret, []byte("$argon2id$"), []byte("goroutine ")} {
		if bytes.Contains(body, secret) {
			t.Fatalf("status %d: body contains %q: %s", rec.Code, secret, body)
		}
	}
	if fuzzCodeWord.Match(body) {
		t.Fatalf("status %d: body contains the code: %s", rec.Code, body)
	}
}

// fuzzMethods are the methods FuzzHandler picks from (besides its own).
var fuzzMethods = []string{http.MethodPost, http.MethodPut, http.MethodGet, http.MethodDelete, http.MethodPatch,
	http.MethodOptions, http.MethodHead, "post", "put", "PROPFIND"}

// fuzzHeaderName writes name in the casing selected by bits.
func fuzzHeaderName(name string, bits uint8) string {
	switch bits % 3 {
	case 1:
		return strings.ToLower(name)
	case 2:
		return strings.ToUpper(name)
	}
	return name
}

// FuzzHandler sends arbitrary requests, parsed from the wire the way a server
// does, and checks every answer's invariants.
func FuzzHandler(f *testing.F) {
	f.Add(uint8(0), "", "apikey="+otpresettest.APIKey, uint8(0), "application/json", []byte(`{"phone":"+919999999999"}`))
	f.Add(uint8(1), "", "apikey="+otpresettest.APIKey, uint8(0), "application/json",
		[]byte(`{"Password":"StrongP@ssw0rd!","otp":"`+fuzzCode+`","phone":"+919999999999"}`))
	env := fuzzEnv(f)
	doc, router := specDoc(f)
	notFound, methodNotAllowed := componentRoute(f, doc, 404, "NotFound"), componentRoute(f, doc, 405, "MethodNotAllowed")
	f.Fuzz(func(t *testing.T, methodIdx uint8, pathSuffix, rawQuery string, headerBits uint8, contentType string, body []byte) {
		method := fuzzMethods[int(methodIdx)%len(fuzzMethods)]
		target := otpreset.Path + pathSuffix
		if rawQuery != "" {
			target += "?" + rawQuery
		}
		var raw bytes.Buffer
		fmt.Fprintf(&raw, "%s %s HTTP/1.1\r\nHost: auth.example.com\r\n", method, target)
		// headerBits: 0-1 Content-Type casing (3: none), 2 API key header,
		// 3 X-PreventWebhook, 4-5 and 6-7 their casings.
		if headerBits&0x04 != 0 {
			fmt.Fprintf(&raw, "%s: %s\r\n", fuzzHeaderName("X-LoginRadius-ApiKey", headerBits>>4&0x03), otpresettest.APIKey)
		}
		if headerBits&0x08 != 0 {
			fmt.Fprintf(&raw, "%s: true\r\n", fuzzHeaderName("X-PreventWebhook", headerBits>>6&0x03))
		}
		if headerBits&0x03 != 0x03 { // 3: no Content-Type at all
			fmt.Fprintf(&raw, "%s: %s\r\n", fuzzHeaderName("Content-Type", headerBits&0x03), contentType)
		}
		fmt.Fprintf(&raw, "Content-Length: %d\r\n\r\n", len(body))
		raw.Write(body)
		req, err := http.ReadRequest(bufio.NewReader(&raw))
		if err != nil {
			t.Skip("not a request a server would hand to a handler")
		}
		req.RemoteAddr = "192.0.2.1:4711"
		rec := httptest.NewRecorder()
		env.Handler.ServeHTTP(rec, req)
		fuzzCheckAnswer(t, rec)

		// The answer is one openapi.yaml describes: for the operation of its
		// method (the handler serves any path ending in Path, so route on
		// Path itself), or the 404/405 of components.responses.
		route := notFound
		switch rec.Code {
		case http.StatusNotFound:
		case http.StatusMethodNotAllowed:
			route = methodNotAllowed
		default:
			canonical := httptest.NewRequest(req.Method, otpreset.Path, nil)
			var err error
			if route, _, err = router.FindRoute(canonical); err != nil {
				t.Fatalf("%s answered %d, but the spec has no such operation: %v", req.Method, rec.Code, err)
			}
		}
		in := &openapi3filter.ResponseValidationInput{
			RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, Route: route, Options: specOptions},
			Status:                 rec.Code,
			Header:                 rec.Header(),
			Options:                specOptions,
		}
		in.SetBodyBytes(rec.Body.Bytes())
		if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
			t.Fatalf("%s answered %d, which openapi.yaml does not allow: %v\nbody: %s", req.Method, rec.Code, err, rec.Body)
		}
	})
}

// TestFuzzEnvReachesReset: the shared handler issues fuzzCode, so the seeds
// (and the fuzzer) reach a successful reset, not only refusals.
func TestFuzzEnvReachesReset(t *testing.T) {
	env := fuzzEnv(t)
	rec := fuzzServe(env.Handler, http.MethodPost, []byte(`{"phone":"`+fuzzPhone+`"}`))
	if rec.Code != http.StatusOK {
		t.Fatalf("send: %d %s", rec.Code, rec.Body)
	}
	rec = fuzzServe(env.Handler, http.MethodPut, []byte(`{"Password":"StrongP@ssw0rd!","otp":"`+fuzzCode+`","phone":"`+fuzzPhone+`"}`))
	if rec.Code != http.StatusOK {
		t.Fatalf("reset with fuzzCode: %d %s", rec.Code, rec.Body)
	}
	fuzzCheckAnswer(t, rec)
	if !env.PasswordWorks(fuzzPhone, "StrongP@ssw0rd!") {
		t.Fatal("the reset did not change the password")
	}
	// Limits are off: many more sends are never throttled.
	for i := range 30 {
		if rec := fuzzServe(env.Handler, http.MethodPost, []byte(`{"phone":"`+fuzzPhone+`"}`)); rec.Code != http.StatusOK {
			t.Fatalf("send %d: %d %s", i, rec.Code, rec.Body)
		}
	}
}

// FuzzNormalizePhone: anything accepted comes out in E.164, and normalising
// the result again changes nothing.
func FuzzNormalizePhone(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		out, err := otpreset.NormalizePhone(s)
		if err != nil {
			if !errors.Is(err, otpreset.ErrInvalidPhone) {
				t.Fatalf("NormalizePhone(%q): error %v does not match ErrInvalidPhone", s, err)
			}
			if out != "" {
				t.Fatalf("NormalizePhone(%q) = %q with error %v", s, out, err)
			}
			return
		}
		again, againErr := otpreset.NormalizePhone(out)
		if fuzzE164.MatchString(out) && againErr == nil && again == out {
			return
		}
		// Found by this fuzzer and fixed: NormalizePhone used to accept
		// numbers IsValidNumber refuses ("+4900", "+490000"), and for
		// Bangladesh (+880, national prefix 0) its output was not a fixed
		// point ("+88000000000" -> "+8800000000"). The seeds named bug-* in
		// testdata/fuzz/FuzzNormalizePhone keep both as regression cases.
		if !fuzzValidNumber(out) {
			t.Fatalf("NormalizePhone(%q) = %q, accepted but not a valid number", s, out)
		}
		if againErr != nil || again != out {
			t.Fatalf("NormalizePhone(%q) = %q, but NormalizePhone(%q) = %q, %v", s, out, out, again, againErr)
		}
		t.Fatalf("NormalizePhone(%q) = %q, a valid number but not E.164", s, out)
	})
}

// fuzzValidNumber reports whether phonenumbers holds e164 for a valid
// number (not merely a possible one).
func fuzzValidNumber(e164 string) bool {
	n, err := phonenumbers.Parse(e164, "ZZ")
	return err == nil && phonenumbers.IsValidNumber(n)
}

// fuzzValue encodes v as the JSON type selected by kind.
func fuzzValue(v string, kind uint8) string {
	quoted, _ := json.Marshal(v)
	switch kind % 8 {
	case 1: // a number, when v is one
		if _, err := strconv.ParseFloat(v, 64); err == nil && json.Valid([]byte(v)) {
			return v
		}
		return string(quoted)
	case 2:
		return "true"
	case 3:
		return "null"
	case 4:
		return `{"value":` + string(quoted) + `}`
	case 5:
		return `[` + string(quoted) + `]`
	case 6: // v as raw JSON text, valid or not
		return v
	}
	return string(quoted)
}

// fuzzCase rewrites key in the casing selected bit by bit by mask.
func fuzzCase(key string, mask uint16) string {
	r := []rune(key)
	for i := range r {
		if mask&(1<<(i%16)) != 0 {
			r[i] = unicode.ToUpper(r[i])
		} else {
			r[i] = unicode.ToLower(r[i])
		}
	}
	return string(r)
}

// fuzzBodyModel is what a reset body means, worked out independently of the
// handler: the fields by lower-cased key, with the JSON decoder the contract
// names. ok is false when the body is not one JSON object; ambiguous when
// one field comes under several casings with different values.
func fuzzBodyModel(body []byte) (fields map[string]string, ok, ambiguous bool) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil || raw == nil {
		return nil, false, false
	}
	fields = map[string]string{}
	seen := map[string]string{}
	for k, v := range raw {
		lk := strings.ToLower(k)
		var val string
		var s string
		switch {
		case json.Unmarshal(v, &s) == nil && len(v) > 0 && v[0] == '"':
			val = s
		case len(v) > 0 && (v[0] == '{' || v[0] == '[' || v[0] == 'n'):
			continue
		default:
			val = string(v)
		}
		if prev, dup := seen[lk]; dup && prev != val {
			ambiguous = true
		}
		seen[lk] = val
		fields[lk] = val
	}
	return fields, true, ambiguous
}

// FuzzResetBody sends reset bodies built from fuzzed keys casings, value types
// and raw trailing text, and checks the answer against fuzzBodyModel.
func FuzzResetBody(f *testing.F) {
	f.Add(uint16(1), "StrongP@ssw0rd!", uint8(0), uint16(0), fuzzCode, uint8(0), uint16(0), fuzzPhone, uint8(0), "")
	env := fuzzEnv(f)
	if rec := env.Send(fuzzPhone); rec.Code != http.StatusOK {
		f.Fatalf("send: %d %s", rec.Code, rec.Body)
	}
	f.Fuzz(func(t *testing.T, passMask uint16, pass string, passKind uint8, otpMask uint16, otp string, otpKind uint8,
		phoneMask uint16, phone string, phoneKind uint8, extra string) {
		var b strings.Builder
		b.WriteString("{")
		fmt.Fprintf(&b, "%q:%s,", fuzzCase("password", passMask), fuzzValue(pass, passKind))
		fmt.Fprintf(&b, "%q:%s,", fuzzCase("otp", otpMask), fuzzValue(otp, otpKind))
		fmt.Fprintf(&b, "%q:%s", fuzzCase("phone", phoneMask), fuzzValue(phone, phoneKind))
		b.WriteString(extra)
		b.WriteString("}")
		body := []byte(b.String())

		rec := fuzzServe(env.Handler, http.MethodPut, body)
		fuzzCheckAnswer(t, rec)
		if rec.Code == http.StatusOK { // the code is spent: issue the next one
			if sent := fuzzServe(env.Handler, http.MethodPost, []byte(`{"phone":"`+fuzzPhone+`"}`)); sent.Code != http.StatusOK {
				t.Fatalf("send after a reset: %d %s", sent.Code, sent.Body)
			}
		}

		if len(body) > otpreset.DefaultMaxBodyBytes {
			if rec.Code != http.StatusRequestEntityTooLarge {
				t.Fatalf("a %d-byte body answered %d, want 413", len(body), rec.Code)
			}
			return
		}
		fields, ok, ambiguous := fuzzBodyModel(body)
		if !ok {
			if _, _, trimmedOK := fuzzBodyModel(bytes.TrimSpace(body)); !trimmedOK && rec.Code != http.StatusBadRequest {
				t.Fatalf("body is not a JSON object but answered %d: %s\nbody: %q", rec.Code, rec.Body, body)
			}
			return
		}
		got := fuzzErrorCode(rec)
		if got == 1090 || got == 1083 {
			t.Fatalf("a JSON object answered %d: %q", got, body)
		}
		if ambiguous {
			return // which casing wins is not specified
		}
		want := 0
		switch {
		case fields["password"] == "":
			want = 1089
		case fields["phone"] == "":
			want = 1076
		case fields["otp"] == "":
			want = 908
		default:
			if _, err := otpreset.NormalizePhone(fields["phone"]); err != nil {
				want = 1096
			}
		}
		switch {
		case want != 0 && got != want:
			t.Fatalf("answered %d (ErrorCode %d), want ErrorCode %d\nbody: %q", rec.Code, got, want, body)
		case want == 0 && rec.Code != 200 && rec.Code != 401 && rec.Code != 403:
			t.Fatalf("a well-formed reset answered %d: %s\nbody: %q", rec.Code, rec.Body, body)
		}
	})
}

// fuzzServe serves one request with a JSON body. (otpresettest.Env's
// helpers call the *testing.F's Helper, which must not be called inside the
// fuzz function.)
func fuzzServe(h http.Handler, method string, body []byte) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, otpreset.Path+"?apikey="+otpresettest.APIKey, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// fuzzErrorCode reads the answer's ErrorCode, which every error answer
// carries (1409 too); 0 for a 200, -1 for an error answer without it.
func fuzzErrorCode(rec *httptest.ResponseRecorder) int {
	var m struct {
		Upper *int `json:"ErrorCode"`
	}
	_ = json.Unmarshal(rec.Body.Bytes(), &m)
	switch {
	case m.Upper != nil:
		return *m.Upper
	case rec.Code != 200:
		return -1
	}
	return 0
}
