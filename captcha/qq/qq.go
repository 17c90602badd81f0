// Package qq verifies Tencent captcha (QQ captcha, 腾讯验证码) tickets.
//
// The page's TencentCaptcha widget hands the browser a ticket and a randstr
// (sent to otpreset as qq_captcha_ticket and qq_captcha_randstr); the server
// checks the pair with Tencent using the captcha app's CaptchaAppId and
// AppSecretKey. Two Tencent APIs are supported:
//
//   - CloudAPI (the default): Tencent Cloud API 3.0 DescribeCaptchaResult
//     (captcha.tencentcloudapi.com, version 2019-07-22), a JSON POST signed
//     with TC3-HMAC-SHA256 using a Tencent Cloud SecretId/SecretKey.
//     CaptchaCode 1 means the ticket is good.
//   - LegacyAPI: the older ticket verification, a GET of
//     https://ssl.captcha.qq.com/ticket/verify with aid, AppSecretKey,
//     Ticket, Randstr and UserIP, answering response "1" when good.
//
// Either way a ticket is accepted only when Tencent says so and its
// EvilLevel is at most MaxEvilLevel. Disaster-recovery tickets (the
// "terror_"/"trerror_" tickets the widget makes up when it cannot load) are
// refused without a call: otpreset fails closed.
//
// Failures to get a verdict wrap captcha.ErrUnavailable; refusals wrap
// captcha.ErrRejected; a wrong AppSecretKey or API credentials also wrap
// captcha.ErrMisconfigured. Neither the AppSecretKey, the SecretKey nor the ticket
// ever appears in an error or a log line (the legacy API carries the secret
// in its URL; the URL is shown without its query).
package qq

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/otpreset/go/captcha"
	"github.com/otpreset/go/captcha/internal/transport"
)

// Provider is the name used in errors and logs.
const Provider = "qq"

// Endpoints.
const (
	// DefaultCloudEndpoint is Tencent Cloud API 3.0's captcha endpoint.
	DefaultCloudEndpoint = "https://captcha.tencentcloudapi.com/"
	// InternationalCloudEndpoint is the endpoint of Tencent Cloud
	// International accounts.
	InternationalCloudEndpoint = "https://captcha.intl.tencentcloudapi.com/"
	// DefaultLegacyEndpoint is the legacy ticket verification URL.
	DefaultLegacyEndpoint = "https://ssl.captcha.qq.com/ticket/verify"
)

// MaxTicketLen is the longest ticket sent to Tencent; longer ones are
// refused without a call.
const MaxTicketLen = 8 << 10

// Codes of our own.
const (
	CodeDisasterTicket = "disaster-recovery-ticket" // a widget-made ticket, never verified
	CodeEvilLevel      = "evil-level"               // EvilLevel above MaxEvilLevel
	CodeScore          = "score-threshold"          // Score above MaxScore
)

// API selects the Tencent API that checks tickets.
type API int

const (
	// CloudAPI is Tencent Cloud API 3.0 DescribeCaptchaResult.
	CloudAPI API = iota
	// LegacyAPI is the ssl.captcha.qq.com/ticket/verify API.
	LegacyAPI
)

// Config configures a Verifier. AppID and AppSecretKey are always required;
// SecretID and SecretKey too with CloudAPI.
type Config struct {
	// API selects the Tencent API; the zero value is CloudAPI.
	API API
	// AppID is the captcha app's CaptchaAppId (the legacy API's aid).
	AppID uint64
	// AppSecretKey is the captcha app's secret key.
	AppSecretKey string
	// SecretID and SecretKey are the Tencent Cloud API credentials
	// (CloudAPI only).
	SecretID, SecretKey string
	// SessionToken is a temporary credential's token, sent as X-TC-Token
	// (CloudAPI only, optional).
	SessionToken string
	// Region is sent as X-TC-Region when set (CloudAPI only; the captcha API
	// does not need one).
	Region string
	// MaxEvilLevel is the highest EvilLevel accepted (0 benign ... 100
	// malicious); the default 0 accepts only tickets Tencent finds benign.
	MaxEvilLevel int
	// MaxScore (CloudAPI), when positive, is the highest risk Score (0-100,
	// higher is riskier) accepted; tickets whose answer carries a higher
	// score are refused. Zero means no score check.
	MaxScore int
	// Endpoint overrides the API's default endpoint
	// (InternationalCloudEndpoint, tests).
	Endpoint string
	// HTTPClient sends the requests; nil means a client that does not
	// follow redirects.
	HTTPClient *http.Client
	// Timeout bounds one Verify; zero means 5 s.
	Timeout time.Duration
	// Logger gets one line per refusal or failure, never a secret or the
	// ticket. Nil means slog.Default().
	Logger *slog.Logger
	// Clock tells the time for the request timestamp (CloudAPI): any value
	// with a Now method, such as an otpreset.Clock. Nil means the system
	// clock.
	Clock interface{ Now() time.Time }
}

// Verifier verifies Tencent captcha tickets; it implements captcha.Verifier
// and is safe for concurrent use.
type Verifier struct {
	cfg      Config
	endpoint string
	caller   transport.Caller
}

var _ captcha.Verifier = (*Verifier)(nil)

// New checks cfg and returns a Verifier, or an error wrapping
// captcha.ErrInvalidConfig.
func New(cfg Config) (*Verifier, error) {
	if cfg.AppID == 0 {
		return nil, fmt.Errorf("%w: qq: AppID is required", captcha.ErrInvalidConfig)
	}
	if cfg.AppSecretKey == "" {
		return nil, fmt.Errorf("%w: qq: AppSecretKey is required", captcha.ErrInvalidConfig)
	}
	if cfg.MaxEvilLevel < 0 || cfg.MaxEvilLevel > 100 || cfg.MaxScore < 0 || cfg.MaxScore > 100 {
		return nil, fmt.Errorf("%w: qq: MaxEvilLevel and MaxScore must be between 0 and 100", captcha.ErrInvalidConfig)
	}
	var def string
	switch cfg.API {
	case CloudAPI:
		if cfg.SecretID == "" || cfg.SecretKey == "" {
			return nil, fmt.Errorf("%w: qq: SecretID and SecretKey are required with CloudAPI", captcha.ErrInvalidConfig)
		}
		def = DefaultCloudEndpoint
	case LegacyAPI:
		def = DefaultLegacyEndpoint
	default:
		return nil, fmt.Errorf("%w: qq: unknown API", captcha.ErrInvalidConfig)
	}
	endpoint, err := transport.Endpoint(cfg.Endpoint, def)
	if err != nil {
		return nil, err
	}
	return &Verifier{
		cfg:      cfg,
		endpoint: endpoint,
		caller:   transport.Caller{Provider: Provider, HTTPClient: cfg.HTTPClient, Timeout: cfg.Timeout, Logger: cfg.Logger},
	}, nil
}

// Verify checks t.Response (the ticket) and t.Randstr with Tencent, passing
// t.RemoteIP as the user's IP. Both ticket and randstr are required.
func (v *Verifier) Verify(ctx context.Context, t captcha.Token) error {
	var attrs []slog.Attr
	err := v.verify(ctx, t, &attrs)
	v.caller.Log(ctx, err, attrs...)
	return err
}

func (v *Verifier) verify(ctx context.Context, t captcha.Token, attrs *[]slog.Attr) error {
	if t.Response == "" || t.Randstr == "" {
		return transport.Missing(Provider)
	}
	if strings.HasPrefix(t.Response, "terror_") || strings.HasPrefix(t.Response, "trerror_") {
		return transport.Rejected(Provider, CodeDisasterTicket)
	}
	if len(t.Response) > MaxTicketLen || len(t.Randstr) > MaxTicketLen {
		return transport.Rejected(Provider, transport.CodeTokenTooLong)
	}
	ctx, cancel := v.caller.WithTimeout(ctx)
	defer cancel()
	if v.cfg.API == LegacyAPI {
		return v.verifyLegacy(ctx, t, attrs)
	}
	return v.verifyCloud(ctx, t, attrs)
}

func (v *Verifier) now() time.Time {
	if v.cfg.Clock == nil {
		return time.Now()
	}
	return v.cfg.Clock.Now()
}

// judgeEvil applies MaxEvilLevel to an accepted ticket.
func (v *Verifier) judgeEvil(level int64) error {
	if level > int64(v.cfg.MaxEvilLevel) {
		return transport.Rejected(Provider, CodeEvilLevel)
	}
	return nil
}
