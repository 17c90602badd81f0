package qq

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"

	"github.com/otpreset/go/captcha"
	"github.com/otpreset/go/captcha/internal/transport"
)

// legacyResponse is the legacy API's answer, for example
// {"response":"1","evil_level":"0","err_msg":"OK"}. The values are strings
// in Tencent's documentation; numbers are accepted too.
type legacyResponse struct {
	Response  *flexInt `json:"response"`
	EvilLevel *flexInt `json:"evil_level"`
	ErrMsg    string   `json:"err_msg"`
}

// flexInt decodes an integer written as a JSON number or a JSON string.
type flexInt int64

func (f *flexInt) UnmarshalJSON(b []byte) error {
	b = bytes.Trim(b, `"`)
	n, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		return err
	}
	*f = flexInt(n)
	return nil
}

// legacySecretError is the legacy "response" value for an AppSecretKey
// that does not match the aid.
const legacySecretError = 100

func (v *Verifier) verifyLegacy(ctx context.Context, t captcha.Token, attrs *[]slog.Attr) error {
	q := url.Values{}
	q.Set("aid", strconv.FormatUint(v.cfg.AppID, 10))
	q.Set("AppSecretKey", v.cfg.AppSecretKey)
	q.Set("Ticket", t.Response)
	q.Set("Randstr", t.Randstr)
	q.Set("UserIP", t.RemoteIP)
	u, err := url.Parse(v.endpoint)
	if err != nil {
		return transport.Misconfigured(Provider, "bad-endpoint")
	}
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return transport.Misconfigured(Provider, "bad-endpoint")
	}
	req.Header.Set("Accept", "application/json")
	body, err := v.caller.Do(req)
	if err != nil {
		return err
	}
	var ans legacyResponse
	if err := json.Unmarshal(body, &ans); err != nil || ans.Response == nil {
		return transport.Unavailable(Provider, nil, transport.CodeMalformed)
	}
	if ans.EvilLevel != nil {
		*attrs = append(*attrs, slog.Int64("evil_level", int64(*ans.EvilLevel)))
	}
	if code := int64(*ans.Response); code != 1 {
		codes := transport.Hide([]string{"response-" + strconv.FormatInt(code, 10), transport.Slug(ans.ErrMsg)},
			v.cfg.AppSecretKey, t.Response, t.Randstr)
		if code == legacySecretError {
			return transport.Misconfigured(Provider, codes...)
		}
		return transport.Rejected(Provider, codes...)
	}
	if ans.EvilLevel != nil {
		return v.judgeEvil(int64(*ans.EvilLevel))
	}
	return nil
}
