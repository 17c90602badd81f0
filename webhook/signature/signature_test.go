package signature

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Secrets used throughout the tests. The Standard one is 32 random-looking
// bytes in whsec_ form.
var (
	testLRSecret  = "lr-secret-of-tenant-1"
	testStdSecret = "whsec_" + base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))
	testSecrets   = Secrets{LoginRadius: testLRSecret, Standard: testStdSecret}
	epoch         = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
)

// Independent implementations of both schemes, written from the specs
// (LoginRadius: upper-case hex HMAC-SHA256 of the body; Standard Webhooks:
// "v1," + base64 HMAC-SHA256 of "{id}.{timestamp}.{body}" keyed with the
// base64-decoded part of whsec_...). They share no code with the package.
func specLoginRadius(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return strings.ToUpper(hex.EncodeToString(m.Sum(nil)))
}

func specStandard(t testing.TB, secret, id string, unix int64, body []byte) string {
	t.Helper()
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	require.NoError(t, err)
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id + "." + strconv.FormatInt(unix, 10) + "."))
	m.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// specHeaders builds the headers a correct sender sets, by the spec
// implementations above.
func specHeaders(t testing.TB, s Secrets, id string, ts time.Time, body []byte) http.Header {
	h := http.Header{}
	if s.LoginRadius != "" {
		h.Set("signature", specLoginRadius(s.LoginRadius, body))
	}
	if s.Standard != "" {
		h.Set("webhook-id", id)
		h.Set("webhook-timestamp", strconv.FormatInt(ts.Unix(), 10))
		h.Set("webhook-signature", specStandard(t, s.Standard, id, ts.Unix(), body))
	}
	return h
}

// fixedClock tells one instant (a Verifier's Clock).
type fixedClock time.Time

func (c fixedClock) Now() time.Time { return time.Time(c) }

// RFC 4231 test case 2: HMAC-SHA256(key "Jefe", "what do ya want for
// nothing?"). LoginRadius's header is that MAC in upper-case hex.
func TestLoginRadiusKnownVector(t *testing.T) {
	h := http.Header{}
	require.NoError(t, Sign(h, Secrets{LoginRadius: "Jefe"}, "id", epoch, []byte("what do ya want for nothing?")))
	assert.Equal(t, "5BDCC146BF60754E6A042426089575C75A003F089D2739839DEC58B964EC3843", h.Get("signature"))
}

// The vector published with the Standard Webhooks reference libraries.
func TestStandardKnownVector(t *testing.T) {
	const (
		secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
		id     = "msg_p5jXN8AQM9LWM0D4loKWxJek"
		want   = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
	)
	ts := time.Unix(1614265330, 0)
	body := []byte(`{"test": 2432232314}`)

	signed := http.Header{}
	require.NoError(t, Sign(signed, Secrets{Standard: secret}, id, ts, body))
	assert.Equal(t, want, signed.Get("webhook-signature"))
	assert.Equal(t, want, specStandard(t, secret, id, ts.Unix(), body), "the test's own implementation agrees")

	h := http.Header{}
	h.Set("webhook-id", id)
	h.Set("webhook-timestamp", "1614265330")
	h.Set("webhook-signature", want)
	v := Verifier{Secrets: Secrets{Standard: secret}, Clock: fixedClock(ts.Add(time.Minute))}
	assert.NoError(t, v.Verify(h, body))
}

func TestSignMatchesSpec(t *testing.T) {
	body := []byte(`{"HookName":"resetpassword","Data":{"Uid":"u-1"}}`)
	h := http.Header{}
	require.NoError(t, Sign(h, testSecrets, "evt-1", epoch, body))

	assert.Equal(t, specLoginRadius(testLRSecret, body), h.Get("signature"))
	assert.Equal(t, "evt-1", h.Get("webhook-id"))
	assert.Equal(t, strconv.FormatInt(epoch.Unix(), 10), h.Get("webhook-timestamp"))
	assert.Equal(t, specStandard(t, testStdSecret, "evt-1", epoch.Unix(), body), h.Get("webhook-signature"))
}

func TestVerify(t *testing.T) {
	body := []byte(`{"HookName":"resetpassword","HookId":"evt-1","Data":{"Uid":"u-1"}}`)
	otherStd := "whsec_" + strings.Repeat("QUJD", 8) // a different, valid key
	lrOnly := Secrets{LoginRadius: testLRSecret}
	stdOnly := Secrets{Standard: testStdSecret}

	tests := []struct {
		name    string
		secrets Secrets // the receiver's
		headers func() http.Header
		body    []byte
		now     time.Time
		tol     time.Duration
		want    error
	}{
		{name: "both schemes good", secrets: testSecrets,
			headers: func() http.Header { return specHeaders(t, testSecrets, "evt-1", epoch, body) }},
		{name: "LoginRadius only", secrets: lrOnly,
			headers: func() http.Header { return specHeaders(t, lrOnly, "evt-1", epoch, body) }},
		{name: "LoginRadius lower-case hex accepted", secrets: lrOnly,
			headers: func() http.Header {
				h := http.Header{}
				h.Set("signature", strings.ToLower(specLoginRadius(testLRSecret, body)))
				return h
			}},
		{name: "Standard only", secrets: stdOnly,
			headers: func() http.Header { return specHeaders(t, stdOnly, "evt-1", epoch, body) }},
		{name: "receiver with one secret ignores the other scheme's headers", secrets: lrOnly,
			headers: func() http.Header { return specHeaders(t, testSecrets, "evt-1", epoch, body) }},
		{name: "tampered body", secrets: testSecrets, body: []byte(strings.Replace(string(body), "u-1", "u-2", 1)),
			headers: func() http.Header { return specHeaders(t, testSecrets, "evt-1", epoch, body) },
			want:    ErrInvalid},
		{name: "tampered body, Standard only", secrets: stdOnly, body: append([]byte(nil), append(body, ' ')...),
			headers: func() http.Header { return specHeaders(t, stdOnly, "evt-1", epoch, body) },
			want:    ErrInvalid},
		{name: "wrong LoginRadius secret", secrets: lrOnly,
			headers: func() http.Header { return specHeaders(t, Secrets{LoginRadius: "other"}, "evt-1", epoch, body) },
			want:    ErrInvalid},
		{name: "wrong Standard secret", secrets: stdOnly,
			headers: func() http.Header { return specHeaders(t, Secrets{Standard: otherStd}, "evt-1", epoch, body) },
			want:    ErrInvalid},
		{name: "webhook-id changed", secrets: stdOnly,
			headers: func() http.Header {
				h := specHeaders(t, stdOnly, "evt-1", epoch, body)
				h.Set("webhook-id", "evt-2")
				return h
			},
			want: ErrInvalid},
		{name: "timestamp changed", secrets: stdOnly,
			headers: func() http.Header {
				h := specHeaders(t, stdOnly, "evt-1", epoch, body)
				h.Set("webhook-timestamp", strconv.FormatInt(epoch.Unix()+1, 10))
				return h
			},
			want: ErrInvalid},
		{name: "old timestamp", secrets: stdOnly, now: epoch.Add(5*time.Minute + time.Second),
			headers: func() http.Header { return specHeaders(t, stdOnly, "evt-1", epoch, body) },
			want:    ErrTimestampOutOfTolerance},
		{name: "future timestamp", secrets: stdOnly, now: epoch.Add(-5*time.Minute - time.Second),
			headers: func() http.Header { return specHeaders(t, stdOnly, "evt-1", epoch, body) },
			want:    ErrTimestampOutOfTolerance},
		{name: "at the tolerance edge", secrets: stdOnly, now: epoch.Add(5 * time.Minute),
			headers: func() http.Header { return specHeaders(t, stdOnly, "evt-1", epoch, body) }},
		{name: "custom tolerance", secrets: stdOnly, now: epoch.Add(time.Hour), tol: 2 * time.Hour,
			headers: func() http.Header { return specHeaders(t, stdOnly, "evt-1", epoch, body) }},
		{name: "one of several signatures matches", secrets: stdOnly,
			headers: func() http.Header {
				h := specHeaders(t, stdOnly, "evt-1", epoch, body)
				good := h.Get("webhook-signature")
				bad := specStandard(t, otherStd, "evt-1", epoch.Unix(), body)
				h.Set("webhook-signature", bad+" v1a,bm90IGEgc2lnbmF0dXJl "+good+" v1,!!!")
				return h
			}},
		{name: "several signatures, none matches", secrets: stdOnly,
			headers: func() http.Header {
				bad := specStandard(t, otherStd, "evt-1", epoch.Unix(), body)
				h := specHeaders(t, stdOnly, "evt-1", epoch, body)
				h.Set("webhook-signature", bad+" "+bad)
				return h
			},
			want: ErrInvalid},
		{name: "right MAC under a non-v1 version", secrets: stdOnly,
			headers: func() http.Header {
				h := specHeaders(t, stdOnly, "evt-1", epoch, body)
				h.Set("webhook-signature", "v2,"+strings.TrimPrefix(h.Get("webhook-signature"), "v1,"))
				return h
			},
			want: ErrInvalid},
		{name: "both configured, Standard headers stripped", secrets: testSecrets,
			headers: func() http.Header { return specHeaders(t, lrOnly, "evt-1", epoch, body) },
			want:    ErrMissingHeaders},
		{name: "both configured, LoginRadius header stripped", secrets: testSecrets,
			headers: func() http.Header { return specHeaders(t, stdOnly, "evt-1", epoch, body) },
			want:    ErrMissingHeaders},
		{name: "no headers", secrets: stdOnly, headers: func() http.Header { return http.Header{} }, want: ErrMissingHeaders},
		{name: "missing webhook-id", secrets: stdOnly,
			headers: func() http.Header {
				h := specHeaders(t, stdOnly, "evt-1", epoch, body)
				h.Del("webhook-id")
				return h
			},
			want: ErrMissingHeaders},
		{name: "timestamp not an integer", secrets: stdOnly,
			headers: func() http.Header {
				h := specHeaders(t, stdOnly, "evt-1", epoch, body)
				h.Set("webhook-timestamp", epoch.Format(time.RFC3339))
				return h
			},
			want: ErrInvalid},
		{name: "LoginRadius header not hex", secrets: lrOnly,
			headers: func() http.Header {
				h := http.Header{}
				h.Set("signature", "zz"+specLoginRadius(testLRSecret, body)[2:])
				return h
			},
			want: ErrInvalid},
		{name: "receiver without secret", secrets: Secrets{},
			headers: func() http.Header { return specHeaders(t, testSecrets, "evt-1", epoch, body) },
			want:    ErrNoSecret},
		{name: "receiver with malformed Standard secret", secrets: Secrets{Standard: "not-whsec"},
			headers: func() http.Header { return specHeaders(t, stdOnly, "evt-1", epoch, body) },
			want:    ErrBadSecret},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := tt.now
			if now.IsZero() {
				now = epoch.Add(30 * time.Second)
			}
			b := tt.body
			if b == nil {
				b = body
			}
			v := Verifier{Secrets: tt.secrets, Tolerance: tt.tol, Clock: fixedClock(now)}
			err := v.Verify(tt.headers(), b)
			if tt.want == nil {
				assert.NoError(t, err)
				return
			}
			assert.ErrorIs(t, err, tt.want)
		})
	}
}

// The package-level Verify uses the real clock and a 5-minute tolerance.
func TestVerifyFunctionUsesWallClock(t *testing.T) {
	body := []byte(`{}`)
	fresh := specHeaders(t, testSecrets, "evt-9", time.Now(), body)
	assert.NoError(t, Verify(fresh, body, testSecrets))

	stale := specHeaders(t, testSecrets, "evt-9", time.Now().Add(-6*time.Minute), body)
	assert.ErrorIs(t, Verify(stale, body, testSecrets), ErrTimestampOutOfTolerance)
}

func TestSecretsValidate(t *testing.T) {
	assert.NoError(t, testSecrets.Validate())
	assert.NoError(t, Secrets{LoginRadius: "x"}.Validate())
	assert.NoError(t, Secrets{Standard: testStdSecret}.Validate())
	assert.ErrorIs(t, Secrets{}.Validate(), ErrNoSecret)
	assert.ErrorIs(t, Secrets{LoginRadius: "x", Standard: "whsec_***"}.Validate(), ErrBadSecret)
	assert.ErrorIs(t, Secrets{Standard: "whsec_"}.Validate(), ErrBadSecret)
	assert.ErrorIs(t, Sign(http.Header{}, Secrets{Standard: "not-whsec"}, "id", epoch, nil), ErrBadSecret)
}

func BenchmarkVerify(b *testing.B) {
	body := []byte(`{"HookName":"resetpassword","Time":"2026-05-01T12:00:00Z","HookId":"evt-1","Data":{"Uid":"u-1"}}`)
	h := specHeaders(b, testSecrets, "evt-1", epoch, body)
	v := Verifier{Secrets: testSecrets, Clock: fixedClock(epoch)}
	b.ReportAllocs()
	for b.Loop() {
		if err := v.Verify(h, body); err != nil {
			b.Fatal(err)
		}
	}
}
