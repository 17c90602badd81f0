package otpreset

import (
	"context"
	"crypto/sha256"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/otpreset/go/sms"
	"github.com/otpreset/go/store"
)

// exchange is one request on its way through an endpoint's pipeline: what
// every step reads, filled in as the steps learn it.
type exchange struct {
	r       *http.Request
	ctx     context.Context
	query   url.Values
	body    map[string]string // lower-cased keys; string values only
	t       *settings
	ip      string
	network string      // what per-network counters key on: clientKey of ip
	phone   string      // E.164, once readPhone has run
	rate    limitResult // the tightest rate limit seen, for X-RateLimit-*
	// logBase is the request's logger without the phone: the handler's, then
	// the tenant's for the endpoint once readPhone has run; logger adds the
	// phone.
	logBase *slog.Logger
	log     *slog.Logger // logger's, once built
}

// sending is a send request on its way: what the later steps share.
type sending struct {
	exchange
	start  time.Time
	voice  bool
	solved bool    // a captcha was verified for this request
	caps   capView // what the SMS caps said before the store was asked
	issued store.Issued
	code   string
	text   sms.Rendered // the worded SMS
}

// resetting is a reset request on its way: what the later steps share.
type resetting struct {
	exchange
	otp      string
	password string // normalised by the policy: the form to hash
	solved   bool   // a captcha was verified for this request
	check    store.CodeCheck
	user     store.User
	// codeHash holds check's CodeHash: the request's own memory, not an
	// allocation of its own.
	codeHash [sha256.Size]byte
}

// begin does what both endpoints do first: the API key, the tenant and the
// body. Refusals here cost no more than they must: nothing is allocated for
// the request until its body is known to be good.
func (f *flow) begin(r *http.Request) (*settings, url.Values, map[string]string, error) {
	q := r.URL.Query()
	key, ok := apiKey(r, q)
	if !ok {
		return nil, nil, nil, errUnknownAPIKey
	}
	if key == "" {
		return nil, nil, nil, errMissingAPIKey
	}
	t, err := f.tenants.resolve(r.Context(), key)
	if err != nil {
		if errors.Is(err, ErrUnknownAPIKey) {
			return nil, nil, nil, errUnknownAPIKey
		}
		return nil, nil, nil, faultAt("resolve tenant", err)
	}
	body, apiErr := decodeBody(r, f.cfg.MaxBodyBytes)
	if apiErr != nil {
		return nil, nil, nil, apiErr
	}
	return t, q, body, nil
}

// readPhone normalises the body's phone and names the request in the log
// (base is the tenant's logger for the endpoint).
func (f *flow) readPhone(x *exchange, base *slog.Logger) error {
	raw := x.body["phone"]
	if raw == "" {
		return errMissingPhone
	}
	phone, err := NormalizePhone(raw)
	if err != nil {
		return errBadPhone
	}
	x.phone = phone
	x.ip = f.cfg.ClientIP(x.r)
	x.network = clientKey(x.ip, f.cfg.IPv6PrefixBits)
	x.logBase, x.log = base, nil
	return nil
}

// logger is the request's logger: logBase with the masked phone once
// readPhone has run. It is built on first use, not in readPhone: most
// requests (a wrong code under a logger that drops Info, or discards
// everything) write no line, and With and the masking allocate. Call it
// before handing the logger to another goroutine.
func (x *exchange) logger() *slog.Logger {
	if x.log == nil {
		x.log = x.logBase
		if x.phone != "" {
			x.log = x.logBase.With("phone", maskPhone(x.phone))
		}
	}
	return x.log
}

// logEnabled reports whether logger would write a line at level, without
// building it (adding the phone does not change a handler's level).
func (x *exchange) logEnabled(level slog.Level) bool {
	return x.logBase.Enabled(context.Background(), level)
}

// apiKeyHeader is X-LoginRadius-ApiKey in the canonical form the server
// stores it under, so reading it allocates nothing.
var apiKeyHeader = http.CanonicalHeaderKey("X-LoginRadius-ApiKey")

// apiKey reads the key from the query (any casing: the v11 SDK sends apiKey)
// or the X-LoginRadius-ApiKey header. ok is false when the key is given more
// than once with different values: never pick one at random.
func apiKey(r *http.Request, q url.Values) (key string, ok bool) {
	for k, vs := range q {
		if !strings.EqualFold(k, "apikey") {
			continue
		}
		for _, v := range vs {
			if v == "" {
				continue
			}
			if key != "" && v != key {
				return "", false
			}
			key = v
		}
	}
	for _, v := range r.Header[apiKeyHeader] {
		if v == "" {
			continue
		}
		if key != "" && v != key {
			return "", false
		}
		key = v
	}
	return key, true
}

// param reads a parameter from the query (exact name, then any casing), or
// else from the body.
func (x *exchange) param(name string) string {
	if v := x.query.Get(name); v != "" {
		return v
	}
	for k, v := range x.query {
		if strings.EqualFold(k, name) && len(v) > 0 && v[0] != "" {
			return v[0]
		}
	}
	return x.body[strings.ToLower(name)]
}

// boolParam is a lenient boolean: true, 1, yes (any casing).
func boolParam(s string) bool {
	if s == "" { // the usual case: ParseBool's error for it allocates
		return false
	}
	if b, err := strconv.ParseBool(s); err == nil {
		return b
	}
	return strings.EqualFold(s, "yes")
}

// preventWebhook: the X-PreventWebhook header wins over the query.
func (x *exchange) preventWebhook() bool {
	if h := x.r.Header.Get("X-PreventWebhook"); h != "" {
		return boolParam(h)
	}
	return boolParam(x.param("prevent_webhook"))
}
