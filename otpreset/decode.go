package otpreset

import (
	"bytes"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"strings"
	"sync"
	"unicode/utf8"
)

// decodeBody reads the request's JSON object and returns the members the
// endpoints read, by lower-case key (see requestBody). It is on the path of
// every request that gets past the API key, refusals included, so what it
// needs for reading is pooled.
func decodeBody(r *http.Request, limit int64) (map[string]string, *apiError) {
	// A body without a Content-Type is refused too: a web page can send one
	// from any origin without a CORS preflight, and so make its visitors'
	// browsers ask for codes.
	if !isJSONMediaType(r.Header.Get("Content-Type")) {
		return nil, errContentType
	}
	d := decoders.Get().(*decoder)
	defer d.release()
	d.limited = io.LimitedReader{R: r.Body, N: limit + 1}
	if _, err := d.buf.ReadFrom(&d.limited); err != nil {
		return nil, errNotJSON
	}
	if int64(d.buf.Len()) > limit {
		return nil, errBodyTooLarge
	}
	data := bytes.TrimSpace(d.buf.Bytes())
	// The first byte is checked because encoding/json takes a null for an
	// empty object.
	if len(data) == 0 || data[0] != '{' {
		return nil, errNotJSON
	}
	if err := json.Unmarshal(data, &d.body); err != nil {
		return nil, errNotJSON
	}
	return d.body.fields(), nil
}

// decoder is what decodeBody reads a body with, kept for the next request.
type decoder struct {
	buf     bytes.Buffer
	limited io.LimitedReader
	body    requestBody
}

var decoders = sync.Pool{New: func() any { return new(decoder) }}

// maxPooledBody bounds the buffers kept for reuse, so one large body does
// not stay in memory.
const maxPooledBody = 64 << 10

// release forgets the request and returns d to the pool.
func (d *decoder) release() {
	if d.buf.Cap() > maxPooledBody {
		return
	}
	d.buf.Reset()
	d.limited = io.LimitedReader{}
	d.body = requestBody{}
	decoders.Put(d)
}

// requestBody holds every body key the endpoints read. encoding/json fills
// it: it refuses anything but one JSON value, matches a key to a field
// without regard to case (as strings.EqualFold does: "Phone", "PHONE"), lets
// a key given again replace the earlier value, and steps over every other
// key without copying it, in time linear in the body whatever its shape.
type requestBody struct {
	Phone                      bodyValue `json:"phone"`
	OTP                        bodyValue `json:"otp"`
	Password                   bodyValue `json:"password"`
	SMSTemplate                bodyValue `json:"smstemplate"`
	ResetPasswordEmailTemplate bodyValue `json:"resetpasswordemailtemplate"`
	ResetPasswordSMSTemplate   bodyValue `json:"resetpasswordsmstemplate"`
	IsVoiceOTP                 bodyValue `json:"isvoiceotp"`
	PreventWebhook             bodyValue `json:"prevent_webhook"`
	// The captcha keys (captcha.ParamNames; a test keeps the two lists
	// equal).
	ReCAPTCHA           bodyValue `json:"g-recaptcha-response"`
	ReCAPTCHAUnderscore bodyValue `json:"g_recaptcha_response"`
	HCaptcha            bodyValue `json:"h-captcha-response"`
	Turnstile           bodyValue `json:"cf-turnstile-response"`
	QQTicket            bodyValue `json:"qq_captcha_ticket"`
	QQRandstr           bodyValue `json:"qq_captcha_randstr"`
}

// fields returns the members given with a value, by key.
func (b *requestBody) fields() map[string]string {
	out := make(map[string]string, 4)
	for _, f := range [...]struct {
		key string
		v   *bodyValue
	}{
		{"phone", &b.Phone}, {"otp", &b.OTP}, {"password", &b.Password},
		{"smstemplate", &b.SMSTemplate}, {"resetpasswordemailtemplate", &b.ResetPasswordEmailTemplate},
		{"resetpasswordsmstemplate", &b.ResetPasswordSMSTemplate}, {"isvoiceotp", &b.IsVoiceOTP},
		{"prevent_webhook", &b.PreventWebhook},
		{"g-recaptcha-response", &b.ReCAPTCHA}, {"g_recaptcha_response", &b.ReCAPTCHAUnderscore},
		{"h-captcha-response", &b.HCaptcha}, {"cf-turnstile-response", &b.Turnstile},
		{"qq_captcha_ticket", &b.QQTicket}, {"qq_captcha_randstr", &b.QQRandstr},
	} {
		if f.v.set {
			out[f.key] = f.v.s
		}
	}
	return out
}

// bodyValue is one member's value as the endpoints read it: a string
// decoded, a number or boolean in its JSON text (e.g. "otp": 123456), and a
// null, object or array as no value at all (no field of these endpoints takes
// one).
type bodyValue struct {
	s   string
	set bool
}

// UnmarshalJSON is called with the member's raw value.
func (v *bodyValue) UnmarshalJSON(data []byte) error {
	switch data[0] {
	case '"':
		s, err := stringValue(data)
		if err != nil {
			return err
		}
		*v = bodyValue{s: s, set: true}
	case '{', '[', 'n':
		*v = bodyValue{}
	default:
		*v = bodyValue{s: string(data), set: true}
	}
	return nil
}

// stringValue decodes a quoted JSON string. Where encoding/json would
// replace bytes with U+FFFD (invalid UTF-8, or a lone surrogate escape such
// as \ud800), the result is kept invalid UTF-8 instead, so that the password
// policy refuses it (1134) rather than two different byte strings hashing
// the same.
func stringValue(quoted []byte) (string, error) {
	raw := quoted[1 : len(quoted)-1]
	if !utf8.Valid(raw) {
		return string(raw), nil // escapes left undecoded: it is refused anyway
	}
	if bytes.IndexByte(raw, '\\') < 0 {
		return string(raw), nil
	}
	var s string
	if err := json.Unmarshal(quoted, &s); err != nil {
		return "", err
	}
	if strings.ContainsRune(s, utf8.RuneError) && !bytes.ContainsRune(raw, utf8.RuneError) && !bytes.Contains(bytes.ToLower(raw), []byte(`\ufffd`)) {
		return "\xff" + s, nil // a lone surrogate escape became U+FFFD
	}
	return s, nil
}

// isJSONMediaType accepts application/json and any +json type, with or
// without parameters.
func isJSONMediaType(ct string) bool {
	if strings.EqualFold(ct, "application/json") { // the usual case, without allocating
		return true
	}
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json"))
}
