package qq

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otpreset/go/captcha"
	pt "github.com/otpreset/go/captcha/internal/providertest"
)

const (
	appID        = 199999164
	appSecretKey = "E4kwK9AcXQMHkktiItyMEyQPn-APPSECRET"
	secretID     = "AKIDz8krbsJ5yKBZQpn74WFkmLPx3-TESTID"
	secretKey    = "Gu5t9xGARNpq86cd98joQYCN3-TESTSECRETKEY"
	ticket       = "tr03XaCUZPAlPdIMqv17yvcfdXCzkqvLE09AbCA4gh-TICKET"
	randstr      = "@Vki-RANDSTR"
	ip           = "203.0.113.9"
)

var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// verifyTC3 checks a received request's TC3-HMAC-SHA256 Authorization the
// way Tencent's server would, written from the documentation's pseudocode
// independently of tc3Sign.
func verifyTC3(r pt.Request, key string, clock time.Time) error {
	m := regexp.MustCompile(`^TC3-HMAC-SHA256 Credential=([^/]+)/(\d{4}-\d{2}-\d{2})/([a-z]+)/tc3_request, SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$`).
		FindStringSubmatch(r.Header.Get("Authorization"))
	if m == nil {
		return fmt.Errorf("malformed Authorization %q", r.Header.Get("Authorization"))
	}
	date, service, signedHeaders, got := m[2], m[3], m[4], m[5]
	ts, err := strconv.ParseInt(r.Header.Get("X-TC-Timestamp"), 10, 64)
	if err != nil {
		return fmt.Errorf("X-TC-Timestamp: %w", err)
	}
	if d := clock.Unix() - ts; d > 300 || d < -300 {
		return fmt.Errorf("timestamp %d off by %ds", ts, d)
	}
	if time.Unix(ts, 0).UTC().Format("2006-01-02") != date {
		return fmt.Errorf("credential date %s does not match the timestamp", date)
	}
	names := strings.Split(signedHeaders, ";")
	if !sort.StringsAreSorted(names) || !strings.Contains(signedHeaders, "content-type") || !strings.Contains(signedHeaders, "host") {
		return fmt.Errorf("signed headers %q", signedHeaders)
	}
	canonical := ""
	for _, n := range names {
		v := r.Header.Get(n)
		if n == "host" {
			v = r.Host
		}
		canonical += n + ":" + strings.ToLower(strings.TrimSpace(v)) + "\n"
	}
	h := func(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }
	cr := strings.Join([]string{r.Method, "/", r.Query.Encode(), canonical, signedHeaders, h(r.Body)}, "\n")
	sts := strings.Join([]string{"TC3-HMAC-SHA256", strconv.FormatInt(ts, 10), date + "/" + service + "/tc3_request", h([]byte(cr))}, "\n")
	mac := func(k []byte, s string) []byte { x := hmac.New(sha256.New, k); x.Write([]byte(s)); return x.Sum(nil) }
	k := mac(mac(mac([]byte("TC3"+key), date), service), "tc3_request")
	if want := hex.EncodeToString(mac(k, sts)); want != got {
		return fmt.Errorf("signature %s, want %s", got, want)
	}
	return nil
}

// tencentCloud is a fake captcha.tencentcloudapi.com: it refuses requests
// whose signature does not verify with secretKey, as Tencent does, and
// otherwise answers with answer.
func tencentCloud(t *testing.T, answer string) *pt.Server {
	var srv *pt.Server
	srv = pt.NewServer(t, func(w http.ResponseWriter, r *http.Request) {
		reqs := srv.Requests()
		w.Header().Set("Content-Type", "application/json")
		if err := verifyTC3(reqs[len(reqs)-1], secretKey, now); err != nil {
			t.Logf("fake Tencent refuses the signature: %v", err)
			fmt.Fprint(w, `{"Response":{"Error":{"Code":"AuthFailure.SignatureFailure","Message":"The provided credentials could not be validated. Please check your signature is correct."},"RequestId":"ed93f3cb-f35e-473f-b9f3-0d451b8b79c6"}}`)
			return
		}
		fmt.Fprint(w, answer)
	})
	return srv
}

func cloudOK(code, evil int) string {
	return fmt.Sprintf(`{"Response":{"RequestId":"3b61a17b-cb38-470e-802c-b6242faf81ac","CaptchaCode":%d,"CaptchaMsg":"OK","EvilLevel":%d,"GetCaptchaTime":1583749870}}`, code, evil)
}

func apiError(code string) string {
	return `{"Response":{"Error":{"Code":"` + code + `","Message":"see code"},"RequestId":"ed93f3cb-f35e-473f-b9f3-0d451b8b79c6"}}`
}

func TestCloudVerify(t *testing.T) {
	tests := []struct {
		name   string
		config func(*Config)
		token  captcha.Token
		status int
		body   string
		want   pt.Outcome
		codes  []string
		calls  int
	}{
		{name: "ok", body: cloudOK(1, 0), want: pt.OK, calls: 1},
		{name: "ok without EvilLevel", body: `{"Response":{"CaptchaCode":1,"CaptchaMsg":"OK","RequestId":"r"}}`, want: pt.OK, calls: 1},
		{name: "ok but malicious", body: cloudOK(1, 100), want: pt.Rejected, codes: []string{"evil-level"}, calls: 1},
		{name: "malicious tolerated by configuration", config: func(c *Config) { c.MaxEvilLevel = 100 }, body: cloudOK(1, 100), want: pt.OK, calls: 1},
		{name: "high risk score", config: func(c *Config) { c.MaxScore = 50 }, body: `{"Response":{"CaptchaCode":1,"CaptchaMsg":"OK","EvilLevel":0,"Score":90,"RequestId":"r"}}`, want: pt.Rejected, codes: []string{"score-threshold"}, calls: 1},
		{name: "low risk score", config: func(c *Config) { c.MaxScore = 50 }, body: `{"Response":{"CaptchaCode":1,"CaptchaMsg":"OK","EvilLevel":0,"Score":10,"RequestId":"r"}}`, want: pt.OK, calls: 1},
		{name: "7 captcha no match", body: cloudOK(7, 0), want: pt.Rejected, codes: []string{"7-captcha-no-match"}, calls: 1},
		{name: "8 ticket expired", body: cloudOK(8, 0), want: pt.Rejected, codes: []string{"8-ticket-expired"}, calls: 1},
		{name: "9 ticket reused", body: cloudOK(9, 0), want: pt.Rejected, codes: []string{"9-ticket-reused"}, calls: 1},
		{name: "15 decrypt fail", body: cloudOK(15, 0), want: pt.Rejected, codes: []string{"15-decrypt-fail"}, calls: 1},
		{name: "16 appid-ticket mismatch", body: cloudOK(16, 0), want: pt.Rejected, codes: []string{"16-appid-ticket-mismatch"}, calls: 1},
		{name: "21 diff", body: cloudOK(21, 100), want: pt.Rejected, codes: []string{"21-diff"}, calls: 1},
		{name: "26 internal error", body: cloudOK(26, 0), want: pt.Unavailable, codes: []string{"26-system-internal-error"}, calls: 1},
		{name: "100 appid-secretkey-ticket mismatch", body: cloudOK(100, 0), want: pt.Misconfigured, codes: []string{"100-appid-secretkey-ticket-mismatch"}, calls: 1},
		{name: "undocumented code", body: cloudOK(42, 0), want: pt.Rejected, codes: []string{"captcha-code-42"}, calls: 1},
		{name: "wrong SecretKey", config: func(c *Config) { c.SecretKey = "not-the-key-TESTSECRET" }, body: cloudOK(1, 0), want: pt.Misconfigured, codes: []string{"AuthFailure.SignatureFailure"}, calls: 1},
		{name: "expired signature", body: apiError("AuthFailure.SignatureExpire"), want: pt.Misconfigured, codes: []string{"AuthFailure.SignatureExpire"}, calls: 1},
		{name: "unknown SecretId", body: apiError("AuthFailure.SecretIdNotFound"), want: pt.Misconfigured, codes: []string{"AuthFailure.SecretIdNotFound"}, calls: 1},
		{name: "no permission", body: apiError("UnauthorizedOperation.ErrAuth"), want: pt.Misconfigured, codes: []string{"UnauthorizedOperation.ErrAuth"}, calls: 1},
		{name: "missing parameter", body: apiError("MissingParameter"), want: pt.Misconfigured, codes: []string{"MissingParameter"}, calls: 1},
		{name: "internal error", body: apiError("InternalError"), want: pt.Unavailable, codes: []string{"InternalError"}, calls: 1},
		{name: "rate limited", body: apiError("RequestLimitExceeded"), want: pt.Unavailable, codes: []string{"RequestLimitExceeded"}, calls: 1},
		{name: "api error echoing the secret", body: apiError("InvalidParameter." + appSecretKey), want: pt.Unavailable, codes: []string{"unrecognised-code"}, calls: 1},
		{name: "response without CaptchaCode", body: `{"Response":{"RequestId":"r"}}`, want: pt.Unavailable, codes: []string{"malformed-response"}, calls: 1},
		{name: "no Response object", body: `{"CaptchaCode":1}`, want: pt.Unavailable, codes: []string{"malformed-response"}, calls: 1},
		{name: "malformed body", body: `{"Response":`, want: pt.Unavailable, codes: []string{"malformed-response"}, calls: 1},
		{name: "500", status: 500, body: `{"Response":{"CaptchaCode":1}}`, want: pt.Unavailable, codes: []string{"http-500"}, calls: 1},
		{name: "502", status: 502, body: `<html>Bad Gateway</html>`, want: pt.Unavailable, codes: []string{"http-502"}, calls: 1},
		{name: "no ticket", token: captcha.Token{Randstr: randstr, RemoteIP: ip}, body: cloudOK(1, 0), want: pt.Missing, calls: 0},
		{name: "no randstr", token: captcha.Token{Response: ticket, RemoteIP: ip}, body: cloudOK(1, 0), want: pt.Missing, calls: 0},
		{name: "disaster-recovery ticket", token: captcha.Token{Response: "terror_1001_199999164_1767225600", Randstr: "@abc", RemoteIP: ip}, body: cloudOK(1, 0), want: pt.Rejected, codes: []string{"disaster-recovery-ticket"}, calls: 0},
		{name: "trerror ticket", token: captcha.Token{Response: "trerror_1001_199999164_1767225600", Randstr: "@abc", RemoteIP: ip}, body: cloudOK(1, 0), want: pt.Rejected, codes: []string{"disaster-recovery-ticket"}, calls: 0},
		{name: "absurd ticket", token: captcha.Token{Response: strings.Repeat("t", MaxTicketLen+1), Randstr: randstr}, body: cloudOK(1, 0), want: pt.Rejected, codes: []string{"token-too-long"}, calls: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var srv *pt.Server
			if tt.status != 0 {
				srv = pt.NewServer(t, pt.JSON(tt.status, tt.body))
			} else {
				srv = tencentCloud(t, tt.body)
			}
			logger, logs := pt.NewLogger()
			cfg := Config{AppID: appID, AppSecretKey: appSecretKey, SecretID: secretID, SecretKey: secretKey,
				Endpoint: srv.URL, Logger: logger, Clock: pt.FixedClock(now)}
			if tt.config != nil {
				tt.config(&cfg)
			}
			v, err := New(cfg)
			require.NoError(t, err)
			tok := tt.token
			if tok == (captcha.Token{}) {
				tok = captcha.Token{Response: ticket, Randstr: randstr, RemoteIP: ip}
			}
			err = v.Verify(context.Background(), tok)
			pt.Expect(t, err, tt.want, tt.codes)
			pt.NoLeak(t, err, logs, appSecretKey, secretKey, cfg.SecretKey, ticket, randstr)
			assert.Len(t, srv.Requests(), tt.calls)
		})
	}
}

func TestCloudSendsSignedDescribeCaptchaResult(t *testing.T) {
	tests := []struct {
		name    string
		region  string
		token   string
		headers map[string]string
	}{
		{name: "plain", headers: map[string]string{"X-TC-Region": "", "X-TC-Token": ""}},
		{name: "region and session token", region: "ap-guangzhou", token: "sts-session-token", headers: map[string]string{"X-TC-Region": "ap-guangzhou", "X-TC-Token": "sts-session-token"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := tencentCloud(t, cloudOK(1, 0))
			v, err := New(Config{AppID: appID, AppSecretKey: appSecretKey, SecretID: secretID, SecretKey: secretKey,
				SessionToken: tt.token, Region: tt.region, Endpoint: srv.URL, Clock: pt.FixedClock(now)})
			require.NoError(t, err)
			require.NoError(t, v.Verify(context.Background(), captcha.Token{Response: ticket, Randstr: randstr, RemoteIP: ip}))

			reqs := srv.Requests()
			require.Len(t, reqs, 1)
			r := reqs[0]
			assert.Equal(t, http.MethodPost, r.Method)
			assert.Equal(t, "/", r.Path)
			assert.Empty(t, r.Query)
			assert.Equal(t, "application/json; charset=utf-8", r.Header.Get("Content-Type"))
			assert.Equal(t, "DescribeCaptchaResult", r.Header.Get("X-TC-Action"))
			assert.Equal(t, "2019-07-22", r.Header.Get("X-TC-Version"))
			assert.Equal(t, strconv.FormatInt(now.Unix(), 10), r.Header.Get("X-TC-Timestamp"))
			for h, want := range tt.headers {
				assert.Equal(t, want, r.Header.Get(h), h)
			}
			auth := r.Header.Get("Authorization")
			assert.True(t, strings.HasPrefix(auth, "TC3-HMAC-SHA256 Credential="+secretID+"/2026-03-01/captcha/tc3_request, SignedHeaders=content-type;host;x-tc-action, Signature="), auth)
			assert.NotContains(t, auth, secretKey)
			require.NoError(t, verifyTC3(r, secretKey, now))

			var body map[string]any
			require.NoError(t, json.Unmarshal(r.Body, &body))
			assert.Equal(t, map[string]any{
				"CaptchaType":  float64(9),
				"Ticket":       ticket,
				"UserIp":       ip,
				"Randstr":      randstr,
				"CaptchaAppId": float64(appID),
				"AppSecretKey": appSecretKey,
			}, body)
		})
	}
}

func TestLegacyVerify(t *testing.T) {
	tests := []struct {
		name   string
		config func(*Config)
		status int
		body   string
		want   pt.Outcome
		codes  []string
	}{
		{name: "ok", status: 200, body: `{"response":"1","evil_level":"0","err_msg":"OK"}`, want: pt.OK},
		{name: "ok with numbers", status: 200, body: `{"response":1,"evil_level":0,"err_msg":"OK"}`, want: pt.OK},
		{name: "ok without evil_level", status: 200, body: `{"response":"1","err_msg":""}`, want: pt.OK},
		{name: "suspicious", status: 200, body: `{"response":"1","evil_level":"70","err_msg":"OK"}`, want: pt.Rejected, codes: []string{"evil-level"}},
		{name: "suspicious tolerated", config: func(c *Config) { c.MaxEvilLevel = 80 }, status: 200, body: `{"response":"1","evil_level":"70","err_msg":"OK"}`, want: pt.OK},
		{name: "failed", status: 200, body: `{"response":"0","evil_level":"0","err_msg":"captcha no match"}`, want: pt.Rejected, codes: []string{"response-0", "captcha-no-match"}},
		{name: "failed without message", status: 200, body: `{"response":"9"}`, want: pt.Rejected, codes: []string{"response-9"}},
		{name: "AppSecretKey error", status: 200, body: `{"response":"100","evil_level":"0","err_msg":"appid-secretkey-ticket mismatch"}`, want: pt.Misconfigured, codes: []string{"response-100", "appid-secretkey-ticket-mismatch"}},
		{name: "message echoing the secret", status: 200, body: `{"response":"0","err_msg":"bad key ` + appSecretKey + `"}`, want: pt.Rejected, codes: []string{"response-0", "unrecognised-code"}},
		{name: "no response field", status: 200, body: `{"evil_level":"0"}`, want: pt.Unavailable, codes: []string{"malformed-response"}},
		{name: "garbage evil_level", status: 200, body: `{"response":"1","evil_level":"high"}`, want: pt.Unavailable, codes: []string{"malformed-response"}},
		{name: "malformed body", status: 200, body: `callback({"response":"1"})`, want: pt.Unavailable, codes: []string{"malformed-response"}},
		{name: "500", status: 500, body: ``, want: pt.Unavailable, codes: []string{"http-500"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := pt.NewServer(t, pt.JSON(tt.status, tt.body))
			logger, logs := pt.NewLogger()
			cfg := Config{API: LegacyAPI, AppID: appID, AppSecretKey: appSecretKey, Endpoint: srv.URL + "/ticket/verify", Logger: logger}
			if tt.config != nil {
				tt.config(&cfg)
			}
			v, err := New(cfg)
			require.NoError(t, err)
			err = v.Verify(context.Background(), captcha.Token{Response: ticket, Randstr: randstr, RemoteIP: ip})
			pt.Expect(t, err, tt.want, tt.codes)
			pt.NoLeak(t, err, logs, appSecretKey, ticket, randstr)
			assert.Len(t, srv.Requests(), 1)
		})
	}
}

func TestLegacySendsDocumentedQuery(t *testing.T) {
	srv := pt.NewServer(t, pt.JSON(200, `{"response":"1","evil_level":"0","err_msg":"OK"}`))
	v, err := New(Config{API: LegacyAPI, AppID: appID, AppSecretKey: appSecretKey, Endpoint: srv.URL + "/ticket/verify"})
	require.NoError(t, err)
	require.NoError(t, v.Verify(context.Background(), captcha.Token{Response: ticket, Randstr: randstr, RemoteIP: ip}))
	reqs := srv.Requests()
	require.Len(t, reqs, 1)
	assert.Equal(t, http.MethodGet, reqs[0].Method)
	assert.Equal(t, "/ticket/verify", reqs[0].Path)
	assert.Empty(t, reqs[0].Body)
	assert.Equal(t, map[string][]string{
		"aid":          {strconv.Itoa(appID)},
		"AppSecretKey": {appSecretKey},
		"Ticket":       {ticket},
		"Randstr":      {randstr},
		"UserIP":       {ip},
	}, map[string][]string(reqs[0].Query))
}

// The legacy API carries the AppSecretKey and the ticket in its URL; a
// transport error must show the URL without them.
func TestLegacyTransportErrorsHideTheURLQuery(t *testing.T) {
	release := make(chan struct{})
	hang := pt.NewServer(t, pt.Hang(release))
	t.Cleanup(func() { close(release) })
	closed := pt.NewServer(t, pt.JSON(200, `{}`))
	closedURL := closed.URL
	closed.Close()

	tests := []struct {
		name     string
		endpoint string
		code     string
	}{
		{"timeout", hang.URL + "/ticket/verify", "timeout"},
		{"connection refused", closedURL + "/ticket/verify", "network-error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logger, logs := pt.NewLogger()
			v, err := New(Config{API: LegacyAPI, AppID: appID, AppSecretKey: appSecretKey, Endpoint: tt.endpoint, Timeout: 50 * time.Millisecond, Logger: logger})
			require.NoError(t, err)
			err = v.Verify(context.Background(), captcha.Token{Response: ticket, Randstr: randstr, RemoteIP: ip})
			pt.Expect(t, err, pt.Unavailable, []string{tt.code})
			assert.Contains(t, err.Error(), "/ticket/verify", "the error still says where it failed")
			assert.NotContains(t, err.Error(), "AppSecretKey=")
			pt.NoLeak(t, err, logs, appSecretKey, ticket, randstr)
		})
	}
}

func TestCloudTimeoutAndCancellation(t *testing.T) {
	release := make(chan struct{})
	srv := pt.NewServer(t, pt.Hang(release))
	t.Cleanup(func() { close(release) })
	v, err := New(Config{AppID: appID, AppSecretKey: appSecretKey, SecretID: secretID, SecretKey: secretKey, Endpoint: srv.URL, Timeout: 50 * time.Millisecond})
	require.NoError(t, err)

	err = v.Verify(context.Background(), captcha.Token{Response: ticket, Randstr: randstr})
	pt.Expect(t, err, pt.Unavailable, []string{"timeout"})
	assert.ErrorIs(t, err, context.DeadlineExceeded)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err = v.Verify(ctx, captcha.Token{Response: ticket, Randstr: randstr})
	pt.Expect(t, err, pt.Unavailable, []string{"canceled"})
	assert.ErrorIs(t, err, context.Canceled)
}

func TestNewValidatesConfig(t *testing.T) {
	cloud := Config{AppID: appID, AppSecretKey: appSecretKey, SecretID: secretID, SecretKey: secretKey}
	tests := []struct {
		name   string
		mutate func(*Config)
		ok     bool
	}{
		{"cloud", func(*Config) {}, true},
		{"international", func(c *Config) { c.Endpoint = InternationalCloudEndpoint }, true},
		{"legacy without cloud credentials", func(c *Config) { c.API, c.SecretID, c.SecretKey = LegacyAPI, "", "" }, true},
		{"no app id", func(c *Config) { c.AppID = 0 }, false},
		{"no app secret", func(c *Config) { c.AppSecretKey = "" }, false},
		{"cloud without SecretKey", func(c *Config) { c.SecretKey = "" }, false},
		{"evil level above 100", func(c *Config) { c.MaxEvilLevel = 101 }, false},
		{"negative score", func(c *Config) { c.MaxScore = -1 }, false},
		{"unknown api", func(c *Config) { c.API = 7 }, false},
		{"bad endpoint", func(c *Config) { c.Endpoint = "captcha.tencentcloudapi.com" }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := cloud
			tt.mutate(&cfg)
			_, err := New(cfg)
			if tt.ok {
				assert.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, captcha.ErrInvalidConfig)
			assert.NotContains(t, err.Error(), appSecretKey)
			assert.NotContains(t, err.Error(), secretKey)
		})
	}
}
