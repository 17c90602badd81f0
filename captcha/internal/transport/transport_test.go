package transport

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otpreset/go/captcha"
)

func TestCodes(t *testing.T) {
	tests := []struct {
		name string
		in   []string
		want []string
	}{
		{"nil", nil, nil},
		{"documented codes kept", []string{"invalid-input-secret", "AuthFailure.SignatureFailure", "8-ticket-expired"}, []string{"invalid-input-secret", "AuthFailure.SignatureFailure", "8-ticket-expired"}},
		{"empty dropped", []string{"", "bad-request", ""}, []string{"bad-request"}},
		{"only empty", []string{""}, nil},
		{"spaces replaced", []string{"secret=abc def"}, []string{"unrecognised-code"}},
		{"markup replaced", []string{"<script>"}, []string{"unrecognised-code"}},
		{"too long replaced", []string{strings.Repeat("a", 65)}, []string{"unrecognised-code"}},
		{"64 is fine", []string{strings.Repeat("a", 64)}, []string{strings.Repeat("a", 64)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, Codes(tt.in))
		})
	}
}

func TestHide(t *testing.T) {
	tests := []struct {
		name    string
		codes   []string
		secrets []string
		want    []string
	}{
		{"no secret inside", []string{"invalid-input-response"}, []string{"s3cr3t-value"}, []string{"invalid-input-response"}},
		{"secret inside", []string{"bad-s3cr3t-value-here"}, []string{"s3cr3t-value"}, []string{"unrecognised-code"}},
		{"case-insensitive", []string{"bad-S3CR3T-VALUE"}, []string{"s3cr3t-value"}, []string{"unrecognised-code"}},
		{"token inside, second secret", []string{"ok", "x-tok12345678"}, []string{"s3cr3t-value", "tok12345678"}, []string{"ok", "unrecognised-code"}},
		{"short secrets ignored", []string{"bad-request"}, []string{"bad", ""}, []string{"bad-request"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, Hide(tt.codes, tt.secrets...))
		})
	}
}

func TestRedact(t *testing.T) {
	tests := map[string]string{
		"https://ssl.captcha.qq.com/ticket/verify?aid=1&AppSecretKey=s3cr3t": "https://ssl.captcha.qq.com/ticket/verify",
		"https://user:pw@example.com/x?y=1#frag":                             "https://example.com/x",
		"http://127.0.0.1:8080/siteverify":                                   "http://127.0.0.1:8080/siteverify",
		"http://[::1]:namedport/x?s=1":                                       "<unparseable url>",
	}
	for in, want := range tests {
		assert.Equal(t, want, Redact(in), in)
	}
}

func TestEndpoint(t *testing.T) {
	got, err := Endpoint("", "https://default.example/siteverify")
	require.NoError(t, err)
	assert.Equal(t, "https://default.example/siteverify", got)
	got, err = Endpoint("http://127.0.0.1:1/x", "https://default.example")
	require.NoError(t, err)
	assert.Equal(t, "http://127.0.0.1:1/x", got)
	for _, bad := range []string{"/relative", "example.com/siteverify", "ftp://example.com", "https://", "https://example.com/%zz"} {
		_, err := Endpoint(bad, "https://default.example")
		assert.ErrorIs(t, err, captcha.ErrInvalidConfig, bad)
	}
	_, err = Endpoint("ftp://h/x?AppSecretKey=s3cr3tvalue", "")
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "s3cr3tvalue")
}

func TestSlug(t *testing.T) {
	assert.Equal(t, "captcha-no-match", Slug("  captcha no match "))
	assert.Equal(t, "sequnce-repeat", Slug("Sequnce repeat"))
	assert.Equal(t, "", Slug(""))
}

func TestErrorsWrapSentinels(t *testing.T) {
	cause := context.DeadlineExceeded
	tests := []struct {
		name    string
		err     error
		is      []error
		isNot   []error
		message string
	}{
		{"missing", Missing("p"), []error{captcha.ErrMissing}, []error{captcha.ErrRejected, captcha.ErrUnavailable}, "p: captcha: missing"},
		{"rejected", Rejected("p", "a", "b"), []error{captcha.ErrRejected}, []error{captcha.ErrUnavailable, captcha.ErrMisconfigured}, "p: captcha: rejected (a, b)"},
		{"unavailable", Unavailable("p", nil, "http-500"), []error{captcha.ErrUnavailable}, []error{captcha.ErrRejected, captcha.ErrMisconfigured}, "p: captcha: provider unavailable (http-500)"},
		{"unavailable with cause", Unavailable("p", cause, "timeout"), []error{captcha.ErrUnavailable, context.DeadlineExceeded}, []error{captcha.ErrRejected}, "p: captcha: provider unavailable: context deadline exceeded (timeout)"},
		{"misconfigured", Misconfigured("p", "invalid-input-secret"), []error{captcha.ErrUnavailable, captcha.ErrMisconfigured}, []error{captcha.ErrRejected}, "p: captcha: provider unavailable: captcha: provider misconfigured (invalid-input-secret)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, target := range tt.is {
				assert.ErrorIs(t, tt.err, target)
			}
			for _, target := range tt.isNot {
				assert.NotErrorIs(t, tt.err, target)
			}
			assert.Equal(t, tt.message, tt.err.Error())
		})
	}
}

func TestDo(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		want   string // "" for success, else the code
	}{
		{"200", 200, `{"ok":true}`, ""},
		{"204", 204, ``, ""},
		{"301 not followed", 301, ``, "http-301"},
		{"404", 404, `not found`, "http-404"},
		{"500", 500, `{"success":true}`, "http-500"},
		{"exactly the limit", 200, strings.Repeat("a", MaxBody), ""},
		{"over the limit", 200, strings.Repeat("a", MaxBody+1), "response-too-large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tt.status == 301 {
					w.Header().Set("Location", "/elsewhere")
				}
				w.WriteHeader(tt.status)
				_, _ = w.Write([]byte(tt.body))
			}))
			defer srv.Close()
			c := &Caller{Provider: "p"}
			req, err := http.NewRequest(http.MethodGet, srv.URL, nil)
			require.NoError(t, err)
			body, err := c.Do(req)
			if tt.want == "" {
				require.NoError(t, err)
				assert.Equal(t, tt.body, string(body))
				return
			}
			require.ErrorIs(t, err, captcha.ErrUnavailable)
			var ce *captcha.Error
			require.ErrorAs(t, err, &ce)
			assert.Equal(t, []string{tt.want}, ce.Codes)
		})
	}
}

func TestDoRedactsTransportErrors(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	c := &Caller{Provider: "p"}
	req, err := http.NewRequest(http.MethodGet, url+"/verify?AppSecretKey=s3cr3tvalue&Ticket=t1ck3tvalue", nil)
	require.NoError(t, err)
	_, err = c.Do(req)
	require.ErrorIs(t, err, captcha.ErrUnavailable)
	assert.Contains(t, err.Error(), url+"/verify")
	assert.NotContains(t, err.Error(), "s3cr3tvalue")
	assert.NotContains(t, err.Error(), "t1ck3tvalue")
	var ce *captcha.Error
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, []string{CodeNetwork}, ce.Codes)
}

func TestLogLevels(t *testing.T) {
	tests := []struct {
		name  string
		err   error
		level string
	}{
		{"nil logs nothing", nil, ""},
		{"misconfigured", Misconfigured("p", "invalid-input-secret"), "level=ERROR"},
		{"unavailable", Unavailable("p", nil, "http-500"), "level=WARN"},
		{"rejected", Rejected("p", "timeout-or-duplicate"), "level=INFO"},
		{"missing", Missing("p"), "level=DEBUG"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			c := &Caller{Provider: "p", Logger: slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))}
			c.Log(context.Background(), tt.err, slog.String("request_id", "r-1"))
			if tt.level == "" {
				assert.Empty(t, buf.String())
				return
			}
			assert.Contains(t, buf.String(), tt.level)
			assert.Contains(t, buf.String(), "provider=p")
			assert.Contains(t, buf.String(), "request_id=r-1")
		})
	}
	// A nil Logger means slog.Default().
	var buf bytes.Buffer
	defer slog.SetDefault(slog.Default())
	slog.SetDefault(slog.New(slog.NewTextHandler(&buf, nil)))
	(&Caller{Provider: "p"}).Log(context.Background(), errors.New("x"))
	assert.Contains(t, buf.String(), "provider=p")
}
