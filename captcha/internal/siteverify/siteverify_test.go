package siteverify

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otpreset/go/captcha"
	pt "github.com/otpreset/go/captcha/internal/providertest"
	"github.com/otpreset/go/captcha/internal/transport"
)

var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func yes() *bool { b := true; return &b }
func no() *bool  { b := false; return &b }
func score(f float64) *float64 {
	return &f
}

func TestJudge(t *testing.T) {
	classes := map[string]Class{"cfg": Config, "tmp": Transient, "tok": Token}
	policy := Verifier{
		Caller:    transport.Caller{Provider: "p"},
		Classes:   classes,
		Hostnames: []string{"example.com", "com.example.app"},
		Action:    "reset",
		MaxAge:    2 * time.Minute,
		Clock:     pt.FixedClock(now),
		ScoreOK:   func(s *float64) bool { return s != nil && *s >= 0.5 },
	}
	good := func() Answer {
		return Answer{Success: yes(), ChallengeTS: now.Format(time.RFC3339), Hostname: "example.com", Action: "reset", Score: score(0.9)}
	}
	tests := []struct {
		name  string
		edit  func(*Answer)
		want  pt.Outcome
		codes []string
	}{
		{"accepted", func(*Answer) {}, pt.OK, nil},
		{"token code", func(a *Answer) { a.Success, a.ErrorCodes = no(), []string{"tok"} }, pt.Rejected, []string{"tok"}},
		{"unknown code", func(a *Answer) { a.Success, a.ErrorCodes = no(), []string{"zzz"} }, pt.Rejected, []string{"zzz"}},
		{"transient beats token", func(a *Answer) { a.Success, a.ErrorCodes = no(), []string{"tok", "tmp"} }, pt.Unavailable, []string{"tok", "tmp"}},
		{"config beats transient", func(a *Answer) { a.Success, a.ErrorCodes = no(), []string{"tmp", "cfg", "tok"} }, pt.Misconfigured, []string{"tmp", "cfg", "tok"}},
		{"android package as hostname", func(a *Answer) { a.Hostname, a.APKPackageName = "", "com.example.app" }, pt.OK, nil},
		{"no hostname at all", func(a *Answer) { a.Hostname = "" }, pt.Rejected, []string{CodeHostname}},
		{"hostname differs in case only", func(a *Answer) { a.Hostname = "Example.COM" }, pt.OK, nil},
		{"subdomain is another host", func(a *Answer) { a.Hostname = "evil.example.com" }, pt.Rejected, []string{CodeHostname}},
		{"action missing", func(a *Answer) { a.Action = "" }, pt.Rejected, []string{CodeAction}},
		{"exactly MaxAge old", func(a *Answer) { a.ChallengeTS = now.Add(-2 * time.Minute).Format(time.RFC3339) }, pt.OK, nil},
		{"one second too old", func(a *Answer) { a.ChallengeTS = now.Add(-2*time.Minute - time.Second).Format(time.RFC3339) }, pt.Rejected, []string{CodeStale}},
		{"within clock skew ahead", func(a *Answer) { a.ChallengeTS = now.Add(ClockSkew).Format(time.RFC3339) }, pt.OK, nil},
		{"beyond clock skew ahead", func(a *Answer) { a.ChallengeTS = now.Add(ClockSkew + time.Second).Format(time.RFC3339) }, pt.Rejected, []string{CodeStale}},
		{"fractional seconds and offset", func(a *Answer) { a.ChallengeTS = "2026-03-01T13:59:30.123456+02:00" }, pt.OK, nil},
		{"missing challenge_ts", func(a *Answer) { a.ChallengeTS = "" }, pt.Unavailable, []string{CodeBadChallengeTS}},
		{"low score", func(a *Answer) { a.Score = score(0.3) }, pt.Rejected, []string{CodeScore}},
		{"no score", func(a *Answer) { a.Score = nil }, pt.Rejected, []string{CodeMissingScore}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := good()
			tt.edit(&a)
			pt.Expect(t, policy.Judge(&a), tt.want, tt.codes)
		})
	}
}

func TestJudgeWithoutPolicyOnlyLooksAtSuccess(t *testing.T) {
	v := Verifier{Caller: transport.Caller{Provider: "p"}}
	assert.NoError(t, v.Judge(&Answer{Success: yes(), ChallengeTS: "garbage"}))
	pt.Expect(t, v.Judge(&Answer{Success: no()}), pt.Rejected, []string{"unspecified"})
}

func TestCheckRetries(t *testing.T) {
	tests := []struct {
		name    string
		retries int
		answers []http.HandlerFunc
		want    pt.Outcome
		calls   int
	}{
		{"no retries by default", 0, []http.HandlerFunc{pt.JSON(500, ""), pt.JSON(200, `{"success":true}`)}, pt.Unavailable, 1},
		{"transient code retried", 1, []http.HandlerFunc{pt.JSON(200, `{"success":false,"error-codes":["tmp"]}`), pt.JSON(200, `{"success":true}`)}, pt.OK, 2},
		{"malformed retried", 2, []http.HandlerFunc{pt.JSON(200, `nope`), pt.JSON(200, `nope`), pt.JSON(200, `{"success":true}`)}, pt.OK, 3},
		{"rejection not retried", 3, []http.HandlerFunc{pt.JSON(200, `{"success":false,"error-codes":["tok"]}`), pt.JSON(200, `{"success":true}`)}, pt.Rejected, 1},
		{"misconfiguration not retried", 3, []http.HandlerFunc{pt.JSON(200, `{"success":false,"error-codes":["cfg"]}`), pt.JSON(200, `{"success":true}`)}, pt.Misconfigured, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := pt.NewServer(t, pt.Sequence(tt.answers...))
			v := Verifier{
				Caller:   transport.Caller{Provider: "p"},
				Endpoint: srv.URL,
				Classes:  map[string]Class{"cfg": Config, "tmp": Transient},
				Retries:  tt.retries,
			}
			_, err := v.Check(context.Background(), "s3cr3t", captcha.Token{Response: "t0k3n"}, url.Values{"extra": {"x"}, "empty": {""}})
			pt.Expect(t, err, tt.want, nil)
			reqs := srv.Requests()
			require.Len(t, reqs, tt.calls)
			for _, r := range reqs {
				assert.Equal(t, url.Values{"secret": {"s3cr3t"}, "response": {"t0k3n"}, "extra": {"x"}}, r.Form, "empty extra values are not sent")
			}
		})
	}
}
