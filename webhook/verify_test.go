package webhook

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// RFC 4231 test case 2: HMAC-SHA256(key "Jefe", "what do ya want for
// nothing?"). LoginRadius's header is that MAC in upper-case hex.
func TestLoginRadiusSignatureKnownVector(t *testing.T) {
	got := LoginRadiusSignature("Jefe", []byte("what do ya want for nothing?"))
	assert.Equal(t, "5BDCC146BF60754E6A042426089575C75A003F089D2739839DEC58B964EC3843", got)
}

// The vector published with the Standard Webhooks reference libraries.
func TestStandardSignatureKnownVector(t *testing.T) {
	const (
		secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
		id     = "msg_p5jXN8AQM9LWM0D4loKWxJek"
		want   = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
	)
	ts := time.Unix(1614265330, 0)
	body := []byte(`{"test": 2432232314}`)

	got, err := StandardSignature(secret, id, ts, body)
	require.NoError(t, err)
	assert.Equal(t, want, got)
	assert.Equal(t, want, specStandard(t, secret, id, ts.Unix(), body), "the test's own implementation agrees")

	h := http.Header{}
	h.Set("webhook-id", id)
	h.Set("webhook-timestamp", "1614265330")
	h.Set("webhook-signature", want)
	v := Verifier{Secrets: Secrets{Standard: secret}, Clock: fixedClock(ts.Add(time.Minute))}
	assert.NoError(t, v.Verify(h, body))
}

func TestSignHeadersMatchesSpec(t *testing.T) {
	body := []byte(`{"HookName":"resetpassword","Data":{"Uid":"u-1"}}`)
	h := http.Header{}
	require.NoError(t, SignHeaders(h, testSecrets, "evt-1", epoch, body))

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
			want:    ErrInvalidSignature},
		{name: "tampered body, Standard only", secrets: stdOnly, body: append([]byte(nil), append(body, ' ')...),
			headers: func() http.Header { return specHeaders(t, stdOnly, "evt-1", epoch, body) },
			want:    ErrInvalidSignature},
		{name: "wrong LoginRadius secret", secrets: lrOnly,
			headers: func() http.Header { return specHeaders(t, Secrets{LoginRadius: "other"}, "evt-1", epoch, body) },
			want:    ErrInvalidSignature},
		{name: "wrong Standard secret", secrets: stdOnly,
			headers: func() http.Header { return specHeaders(t, Secrets{Standard: otherStd}, "evt-1", epoch, body) },
			want:    ErrInvalidSignature},
		{name: "webhook-id changed", secrets: stdOnly,
			headers: func() http.Header {
				h := specHeaders(t, stdOnly, "evt-1", epoch, body)
				h.Set("webhook-id", "evt-2")
				return h
			},
			want: ErrInvalidSignature},
		{name: "timestamp changed", secrets: stdOnly,
			headers: func() http.Header {
				h := specHeaders(t, stdOnly, "evt-1", epoch, body)
				h.Set("webhook-timestamp", strconv.FormatInt(epoch.Unix()+1, 10))
				return h
			},
			want: ErrInvalidSignature},
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
			want: ErrInvalidSignature},
		{name: "right MAC under a non-v1 version", secrets: stdOnly,
			headers: func() http.Header {
				h := specHeaders(t, stdOnly, "evt-1", epoch, body)
				h.Set("webhook-signature", "v2,"+strings.TrimPrefix(h.Get("webhook-signature"), "v1,"))
				return h
			},
			want: ErrInvalidSignature},
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
			want: ErrInvalidSignature},
		{name: "LoginRadius header not hex", secrets: lrOnly,
			headers: func() http.Header {
				h := http.Header{}
				h.Set("signature", "zz"+specLoginRadius(testLRSecret, body)[2:])
				return h
			},
			want: ErrInvalidSignature},
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

// The package-level Verify uses the real clock and DefaultTolerance.
func TestVerifyFunctionUsesWallClock(t *testing.T) {
	body := []byte(`{}`)
	fresh := specHeaders(t, testSecrets, "evt-9", time.Now(), body)
	assert.NoError(t, Verify(fresh, body, testSecrets))

	stale := specHeaders(t, testSecrets, "evt-9", time.Now().Add(-DefaultTolerance-time.Minute), body)
	assert.ErrorIs(t, Verify(stale, body, testSecrets), ErrTimestampOutOfTolerance)
}
