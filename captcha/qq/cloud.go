package qq

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/otpreset/go/captcha"
	"github.com/otpreset/go/captcha/internal/siteverify"
	"github.com/otpreset/go/captcha/internal/transport"
)

// Tencent Cloud API 3.0 constants for DescribeCaptchaResult.
const (
	cloudService     = "captcha"
	cloudAction      = "DescribeCaptchaResult"
	cloudVersion     = "2019-07-22"
	cloudContentType = "application/json; charset=utf-8"
	// cloudCaptchaType is the fixed CaptchaType the API requires.
	cloudCaptchaType = 9
)

// cloudSignedHeaders are the headers covered by the TC3 signature: the two
// the API requires plus the action, so a signature cannot be replayed
// against another action.
var cloudSignedHeaders = []string{"content-type", "host", "x-tc-action"}

// describeRequest is DescribeCaptchaResult's input.
type describeRequest struct {
	CaptchaType  int64  `json:"CaptchaType"`
	Ticket       string `json:"Ticket"`
	UserIP       string `json:"UserIp"`
	Randstr      string `json:"Randstr"`
	CaptchaAppID uint64 `json:"CaptchaAppId"`
	AppSecretKey string `json:"AppSecretKey"`
}

// describeResponse is DescribeCaptchaResult's output, or a Tencent Cloud API
// error ({"Response": {"Error": {"Code", "Message"}, "RequestId"}}).
type describeResponse struct {
	Response *describeResult `json:"Response"`
}

type describeResult struct {
	Error *struct {
		Code    string `json:"Code"`
		Message string `json:"Message"`
	} `json:"Error"`
	CaptchaCode *int64 `json:"CaptchaCode"`
	CaptchaMsg  string `json:"CaptchaMsg"`
	EvilLevel   *int64 `json:"EvilLevel"`
	Score       *int64 `json:"Score"`
	RequestID   string `json:"RequestId"`
}

// captchaCodes names DescribeCaptchaResult's documented CaptchaCode values
// (other than 1, OK) and says what each means.
var captchaCodes = map[int64]struct {
	name  string
	class siteverify.Class
}{
	7:  {"captcha-no-match", siteverify.Token},      // Randstr does not match the ticket
	8:  {"ticket-expired", siteverify.Token},        // tickets live 5 minutes
	9:  {"ticket-reused", siteverify.Token},         // already verified once
	15: {"decrypt-fail", siteverify.Token},          // not a ticket
	16: {"appid-ticket-mismatch", siteverify.Token}, // a ticket of another captcha app
	21: {"diff", siteverify.Token},                  // risk control flagged the request
	26: {"system-internal-error", siteverify.Transient},
	// CaptchaAppId and AppSecretKey do not match (the documentation also
	// lists a ticket of another app as a cause; the secret is the usual one).
	100: {"appid-secretkey-ticket-mismatch", siteverify.Config},
}

// codeName returns the reported code for a CaptchaCode: "<n>-<name>".
func codeName(code int64) (string, siteverify.Class) {
	n := strconv.FormatInt(code, 10)
	if c, ok := captchaCodes[code]; ok {
		return n + "-" + c.name, c.class
	}
	return "captcha-code-" + n, siteverify.Token
}

// apiErrorClass classifies a Tencent Cloud API error code: credentials,
// permissions and request-shape errors are the host's configuration;
// everything else (InternalError, RequestLimitExceeded, ...) is the
// provider failing.
func apiErrorClass(code string) siteverify.Class {
	for _, p := range []string{"AuthFailure", "UnauthorizedOperation", "MissingParameter", "UnknownParameter", "InvalidAction", "UnsupportedRegion", "UnsupportedProtocol"} {
		if code == p || strings.HasPrefix(code, p+".") {
			return siteverify.Config
		}
	}
	return siteverify.Transient
}

func (v *Verifier) verifyCloud(ctx context.Context, t captcha.Token, attrs *[]slog.Attr) error {
	req, err := v.cloudRequest(ctx, t)
	if err != nil {
		return err
	}
	body, err := v.caller.Do(req)
	if err != nil {
		return err
	}
	var ans describeResponse
	if err := json.Unmarshal(body, &ans); err != nil || ans.Response == nil {
		return transport.Unavailable(Provider, nil, transport.CodeMalformed)
	}
	return v.judgeCloud(ans.Response, t, attrs)
}

// cloudRequest is the DescribeCaptchaResult request for t, signed with
// TC3-HMAC-SHA256.
func (v *Verifier) cloudRequest(ctx context.Context, t captcha.Token) (*http.Request, error) {
	payload, err := json.Marshal(describeRequest{
		CaptchaType:  cloudCaptchaType,
		Ticket:       t.Response,
		UserIP:       t.RemoteIP,
		Randstr:      t.Randstr,
		CaptchaAppID: v.cfg.AppID,
		AppSecretKey: v.cfg.AppSecretKey,
	})
	if err != nil {
		return nil, transport.Unavailable(Provider, nil, "encode-request")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, v.endpoint, bytes.NewReader(payload))
	if err != nil {
		return nil, transport.Misconfigured(Provider, "bad-endpoint")
	}
	now := v.now()
	req.Header.Set("Content-Type", cloudContentType)
	req.Header.Set("X-TC-Action", cloudAction)
	req.Header.Set("X-TC-Version", cloudVersion)
	req.Header.Set("X-TC-Timestamp", strconv.FormatInt(now.Unix(), 10))
	if v.cfg.Region != "" {
		req.Header.Set("X-TC-Region", v.cfg.Region)
	}
	if v.cfg.SessionToken != "" {
		req.Header.Set("X-TC-Token", v.cfg.SessionToken)
	}
	sig := tc3Sign(req, payload, v.cfg.SecretID, v.cfg.SecretKey, cloudService, cloudSignedHeaders, now)
	req.Header.Set("Authorization", sig.Authorization)
	return req, nil
}

// judgeCloud turns DescribeCaptchaResult's answer about t into nil (the
// ticket is good) or an error, and adds what is worth logging to attrs.
func (v *Verifier) judgeCloud(r *describeResult, t captcha.Token, attrs *[]slog.Attr) error {
	if r.RequestID != "" {
		*attrs = append(*attrs, slog.String("request_id", r.RequestID))
	}
	if r.Error != nil {
		code := transport.Hide([]string{r.Error.Code}, v.cfg.AppSecretKey, v.cfg.SecretKey, t.Response, t.Randstr)
		if code[0] == "" {
			code[0] = "unspecified-api-error"
		}
		return classified(apiErrorClass(r.Error.Code), code[0])
	}
	if r.CaptchaCode == nil {
		return transport.Unavailable(Provider, nil, transport.CodeMalformed)
	}
	if r.EvilLevel != nil {
		*attrs = append(*attrs, slog.Int64("evil_level", *r.EvilLevel))
	}
	if r.Score != nil {
		*attrs = append(*attrs, slog.Int64("score", *r.Score))
	}
	if *r.CaptchaCode != 1 {
		name, class := codeName(*r.CaptchaCode)
		return classified(class, name)
	}
	if r.EvilLevel != nil {
		if err := v.judgeEvil(*r.EvilLevel); err != nil {
			return err
		}
	}
	if v.cfg.MaxScore > 0 && r.Score != nil && *r.Score > int64(v.cfg.MaxScore) {
		return transport.Rejected(Provider, CodeScore)
	}
	return nil
}

// classified is the error for a refusal with code of class.
func classified(class siteverify.Class, code string) error {
	switch class {
	case siteverify.Config:
		return transport.Misconfigured(Provider, code)
	case siteverify.Transient:
		return transport.Unavailable(Provider, nil, code)
	}
	return transport.Rejected(Provider, code)
}
