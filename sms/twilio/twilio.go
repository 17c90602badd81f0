// Package twilio sends one-time codes with Twilio: text messages through the
// Messages API, by SMS or, for a message whose Channel is sms.ChannelWhatsApp,
// by WhatsApp ("whatsapp:" addresses, an approved authentication template
// for codes); and, when a user asks for a voice code, a phone call through
// the Calls API whose TwiML reads the digits one by one, twice.
//
// It uses the official SDK (github.com/twilio/twilio-go) and adds what an
// authentication flow needs around it: the caller's context and a timeout on
// every request, a per-tenant sender (messaging service or from-number),
// Twilio's errors as a typed *Error that says whether a retry may help, and
// no secret, code or full phone number in any error or log line.
//
//	s, err := twilio.New(twilio.ConfigFromEnv(os.Getenv))
//
// Wrap it in sms.Retry to retry 429s and 5xx answers, in sms.ChannelFallback
// to send by SMS when WhatsApp fails, and in sms.Failover to fall back to
// another provider.
package twilio

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	twclient "github.com/twilio/twilio-go/client"
	twapi "github.com/twilio/twilio-go/rest/api/v2010"

	"github.com/otpreset/go/sms"
	"github.com/otpreset/go/sms/internal/httpx"
)

// DefaultBaseURL is Twilio's REST API.
const DefaultBaseURL = "https://api.twilio.com"

// DefaultVoiceIntro is what a voice call says before the digits.
const DefaultVoiceIntro = "Your verification code is"

// ErrInvalidConfig is wrapped by New's errors.
var ErrInvalidConfig = errors.New("twilio: invalid configuration")

// ErrNoRoute is wrapped (with sms.ErrSendFailed) by Send when the tenant has
// no sender configured for the kind of message: no route at all, or no
// phone number to call from for a voice code.
var ErrNoRoute = errors.New("twilio: no sender configured")

// Route says whom a tenant's messages come from.
type Route struct {
	// MessagingServiceSid ("MG..."), when set, sends texts through that
	// Messaging Service, which picks the number; From is then not sent.
	MessagingServiceSid string
	// From is the sending number in E.164 form (or an alphanumeric sender
	// id, or a short code) for texts.
	From string
	// VoiceFrom is the Twilio phone number voice codes are called from;
	// From when empty. A Messaging Service cannot place calls, and an
	// alphanumeric sender id cannot either.
	VoiceFrom string
	// WhatsAppFrom is the tenant's WhatsApp sender, a number in E.164
	// form: a message whose Channel is sms.ChannelWhatsApp goes from
	// "whatsapp:"+WhatsAppFrom to "whatsapp:"+To. When empty, WhatsApp
	// messages go through MessagingServiceSid (whose sender pool must hold
	// a WhatsApp sender); with neither, they fail with sms.ErrNoChannel,
	// and sms.ChannelFallback sends them by SMS.
	WhatsAppFrom string
	// WhatsAppContentSid ("HX" + 32 hex digits) is an approved WhatsApp
	// authentication template (Twilio's Content API) whose variable {{1}}
	// is the code. WhatsApp delivers free text only within 24 hours of the
	// user's last message to the sender (error 63016 otherwise), so codes
	// need one. A message without a Code (the reset notice), or every
	// message when this is empty, is sent as its Body.
	WhatsAppContentSid string
}

func (r Route) zero() bool { return r == Route{} }

// Config configures a Sender. Authenticate with AccountSid and AuthToken,
// or with an API key (APIKeySid and APIKeySecret) and AccountSid.
type Config struct {
	// AccountSid is the account ("AC" + 32 hex digits); always required.
	AccountSid string
	// AuthToken is the account's auth token.
	AuthToken string
	// APIKeySid ("SK...") and APIKeySecret are an API key, used instead of
	// the auth token when set.
	APIKeySid    string
	APIKeySecret string

	// Default is the route of every tenant not in Tenants. It may be empty
	// when Tenants is not; a tenant without a route then fails to send.
	Default Route
	// Tenants are routes by tenant id.
	Tenants map[string]Route

	// VoiceIntro is said before the digits of a voice code; default
	// DefaultVoiceIntro. Write it in the language of VoiceLanguage.
	VoiceIntro string
	// VoiceLanguage is the <Say> language, e.g. "en-IN"; Twilio's default
	// (en-US) when empty.
	VoiceLanguage string
	// Voice is the <Say> voice, e.g. "Polly.Aditi"; Twilio's default when
	// empty.
	Voice string

	// BaseURL replaces DefaultBaseURL, for tests or a proxy; the request
	// path (/2010-04-01/Accounts/...) is appended to it.
	BaseURL string
	// HTTPClient's Transport carries the requests; http.DefaultTransport
	// when nil. Its Timeout is ignored: see Timeout.
	HTTPClient *http.Client
	// Timeout bounds each Send; default 10 s. It includes
	// ConfirmWhatsApp.
	Timeout time.Duration
	// ConfirmWhatsApp, when positive, makes Send watch a WhatsApp message
	// for up to that long after Twilio accepted it, fetching the message
	// every ConfirmInterval: WhatsApp reports most failures (63016 outside
	// the 24-hour window, 63003 not a WhatsApp user) after the create was
	// answered 201, as the status "failed" or "undelivered". Send then
	// fails with an *Error holding that code (and sms.ChannelFallback sends
	// the text by SMS). A message still on its way when the time is up
	// counts as sent. 0, the default: only an error answer to the create
	// fails.
	ConfirmWhatsApp time.Duration
	// ConfirmInterval is the pause between two fetches of a watched
	// message; default 500ms.
	ConfirmInterval time.Duration
	// Clock tells the time for Retry-After dates: any value with a Now
	// method, such as an otpreset.Clock. Nil means the system clock.
	Clock interface{ Now() time.Time }
	// Logger receives a debug line per accepted message (phone masked, no
	// code). Nil means slog.Default().
	Logger *slog.Logger
}

// ConfigFromEnv reads the usual Twilio variables through getenv (pass
// os.Getenv): TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_API_KEY,
// TWILIO_API_SECRET, and the default route TWILIO_MESSAGING_SERVICE_SID,
// TWILIO_FROM, TWILIO_VOICE_FROM. Pass the result to New, after overriding
// any field from flags.
func ConfigFromEnv(getenv func(string) string) Config {
	return Config{
		AccountSid:   getenv("TWILIO_ACCOUNT_SID"),
		AuthToken:    getenv("TWILIO_AUTH_TOKEN"),
		APIKeySid:    getenv("TWILIO_API_KEY"),
		APIKeySecret: getenv("TWILIO_API_SECRET"),
		Default: Route{
			MessagingServiceSid: getenv("TWILIO_MESSAGING_SERVICE_SID"),
			From:                getenv("TWILIO_FROM"),
			VoiceFrom:           getenv("TWILIO_VOICE_FROM"),
		},
	}
}

// Sender sends codes through Twilio. It is safe for concurrent use.
type Sender struct {
	cfg        Config
	user, pass string
	base       *url.URL // nil: Twilio itself
	roundTrip  http.RoundTripper
	timeout    time.Duration
	log        *slog.Logger
	voiceIntro string

	confirmEvery time.Duration
}

var (
	accountSidRe = regexp.MustCompile(`^AC[0-9a-fA-F]{32}$`)
	keySidRe     = regexp.MustCompile(`^SK[0-9a-fA-F]{32}$`)
	serviceSidRe = regexp.MustCompile(`^MG[0-9a-fA-F]{32}$`)
	contentSidRe = regexp.MustCompile(`^HX[0-9a-fA-F]{32}$`)
	e164Re       = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)
	alnumRe      = regexp.MustCompile(`^[0-9A-Za-z]+$`)
)

// New checks cfg and returns a Sender. Errors wrap ErrInvalidConfig and never
// contain the auth token or the API key secret.
func New(cfg Config) (*Sender, error) {
	s := &Sender{
		cfg: cfg, roundTrip: http.DefaultTransport, timeout: cfg.Timeout, log: cfg.Logger,
		voiceIntro: cfg.VoiceIntro, confirmEvery: cfg.ConfirmInterval,
	}
	var err error
	if s.user, s.pass, err = credentials(cfg); err != nil {
		return nil, err
	}
	if err := checkRoutes(cfg); err != nil {
		return nil, err
	}
	if cfg.BaseURL != "" {
		u, err := url.Parse(strings.TrimRight(cfg.BaseURL, "/"))
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("%w: BaseURL must be an absolute http(s) URL", ErrInvalidConfig)
		}
		s.base = u
	}
	if cfg.HTTPClient != nil && cfg.HTTPClient.Transport != nil {
		s.roundTrip = cfg.HTTPClient.Transport
	}
	if s.timeout <= 0 {
		s.timeout = httpx.DefaultTimeout
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.voiceIntro == "" {
		s.voiceIntro = DefaultVoiceIntro
	}
	if cfg.ConfirmWhatsApp < 0 || cfg.ConfirmInterval < 0 {
		return nil, fmt.Errorf("%w: ConfirmWhatsApp and ConfirmInterval cannot be negative", ErrInvalidConfig)
	}
	if cfg.ConfirmWhatsApp >= s.timeout {
		return nil, fmt.Errorf("%w: ConfirmWhatsApp (%v) must be shorter than Timeout (%v)", ErrInvalidConfig, cfg.ConfirmWhatsApp, s.timeout)
	}
	if s.confirmEvery == 0 {
		s.confirmEvery = 500 * time.Millisecond
	}
	return s, nil
}

// credentials returns the basic-auth pair of cfg: the API key when one is
// set, else the account and its auth token.
func credentials(cfg Config) (user, pass string, err error) {
	if !accountSidRe.MatchString(cfg.AccountSid) {
		return "", "", fmt.Errorf("%w: AccountSid must be AC followed by 32 hex digits", ErrInvalidConfig)
	}
	switch {
	case cfg.APIKeySid != "" || cfg.APIKeySecret != "":
		if !keySidRe.MatchString(cfg.APIKeySid) {
			return "", "", fmt.Errorf("%w: APIKeySid must be SK followed by 32 hex digits", ErrInvalidConfig)
		}
		if !alnumRe.MatchString(cfg.APIKeySecret) {
			return "", "", fmt.Errorf("%w: APIKeySecret must be set, letters and digits only", ErrInvalidConfig)
		}
		return cfg.APIKeySid, cfg.APIKeySecret, nil
	case cfg.AuthToken != "":
		if !alnumRe.MatchString(cfg.AuthToken) {
			return "", "", fmt.Errorf("%w: AuthToken must be letters and digits only", ErrInvalidConfig)
		}
		return cfg.AccountSid, cfg.AuthToken, nil
	}
	return "", "", fmt.Errorf("%w: set AuthToken, or APIKeySid and APIKeySecret", ErrInvalidConfig)
}

// checkRoutes checks the default route and the tenants' routes; one of them
// must be set.
func checkRoutes(cfg Config) error {
	if cfg.Default.zero() && len(cfg.Tenants) == 0 {
		return fmt.Errorf("%w: set a default route (From or MessagingServiceSid) or tenant routes", ErrInvalidConfig)
	}
	for name, r := range cfg.Tenants {
		if err := checkRoute(r); err != nil {
			return fmt.Errorf("%w: tenant %q: %w", ErrInvalidConfig, name, err)
		}
	}
	if !cfg.Default.zero() {
		if err := checkRoute(cfg.Default); err != nil {
			return fmt.Errorf("%w: default route: %w", ErrInvalidConfig, err)
		}
	}
	return nil
}

func checkRoute(r Route) error {
	if r.MessagingServiceSid == "" && r.From == "" && r.VoiceFrom == "" && r.WhatsAppFrom == "" {
		return errors.New("set From, MessagingServiceSid, VoiceFrom or WhatsAppFrom")
	}
	if r.MessagingServiceSid != "" && !serviceSidRe.MatchString(r.MessagingServiceSid) {
		return errors.New("MessagingServiceSid must be MG followed by 32 hex digits")
	}
	if r.WhatsAppFrom != "" && !e164Re.MatchString(r.WhatsAppFrom) {
		return errors.New(`WhatsAppFrom must be a number in E.164 form ("+14155238886", without "whatsapp:")`)
	}
	if r.WhatsAppContentSid != "" && !contentSidRe.MatchString(r.WhatsAppContentSid) {
		return errors.New("WhatsAppContentSid must be HX followed by 32 hex digits")
	}
	if r.WhatsAppContentSid != "" && r.WhatsAppFrom == "" && r.MessagingServiceSid == "" {
		return errors.New("WhatsAppContentSid needs WhatsAppFrom or MessagingServiceSid")
	}
	return nil
}

// AccountSid returns the account the receipts name.
func (s *Sender) AccountSid() string { return s.cfg.AccountSid }

// route returns the tenant's route, or the default one.
func (s *Sender) route(tenant string) Route {
	if r, ok := s.cfg.Tenants[tenant]; ok {
		return r
	}
	return s.cfg.Default
}

// Send sends m as a text (Messages API) by SMS or, when m.Channel is
// sms.ChannelWhatsApp, by WhatsApp; or, when m.Voice, places a call that
// reads m.Code (Calls API). The Receipt holds Twilio's account and message
// (SM...) or call (CA...) SIDs, of the same form on either channel. Errors
// wrap sms.ErrSendFailed; Twilio's answers are an *Error. A channel the
// tenant's route cannot serve fails with sms.ErrNoChannel.
func (s *Sender) Send(ctx context.Context, m sms.Message) (sms.Receipt, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	route := s.route(m.TenantID)
	api, tr := s.api(ctx)

	what, create := "message", s.createMessage
	whatsApp := false
	switch {
	case m.Voice:
		what, create = "call", s.createCall
	case m.Channel == sms.ChannelWhatsApp:
		what, create, whatsApp = "WhatsApp message", s.createWhatsApp, true
	case !m.Channel.IsSMS():
		return sms.Receipt{}, fmt.Errorf("%w: %w: twilio: channel %q", sms.ErrSendFailed, sms.ErrNoChannel, m.Channel)
	}
	res, err := create(api, route, m)
	if err != nil {
		return sms.Receipt{}, s.mapError(what, err, tr)
	}
	if res.sid == nil || *res.sid == "" {
		return sms.Receipt{}, fmt.Errorf("%w: twilio: the %s resource Twilio returned has no sid", sms.ErrSendFailed, what)
	}
	r := sms.Receipt{AccountSid: s.cfg.AccountSid, Sid: *res.sid}
	if res.accountSid != nil && *res.accountSid != "" {
		r.AccountSid = *res.accountSid
	}
	if whatsApp {
		if err := s.confirm(ctx, r.Sid, deref(res.status)); err != nil {
			return sms.Receipt{}, err
		}
	}
	s.log.LogAttrs(ctx, slog.LevelDebug, "sms: twilio accepted the "+what,
		slog.String("to", sms.MaskPhone(m.To)), slog.String("tenant", m.TenantID),
		slog.String("sid", r.Sid), slog.String("status", deref(res.status)))
	return r, nil
}

// api returns an SDK client whose requests carry ctx, and the transport
// that keeps their answers' status and headers.
func (s *Sender) api(ctx context.Context) (*twapi.ApiService, *transport) {
	tr := &transport{ctx: ctx, base: s.base, next: s.roundTrip}
	c := &twclient.Client{
		Credentials: twclient.NewCredentials(s.user, s.pass),
		HTTPClient: &http.Client{
			Transport:     tr,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
	c.SetAccountSid(s.cfg.AccountSid)
	return twapi.NewApiServiceWithClient(c), tr
}

// resource is what Send keeps of a created message or call.
type resource struct{ accountSid, sid, status *string }

// createMessage sends a text through the route's Messaging Service, or
// from its number.
func (s *Sender) createMessage(api *twapi.ApiService, route Route, m sms.Message) (resource, error) {
	p := &twapi.CreateMessageParams{}
	p.SetTo(m.To).SetBody(m.Body)
	switch {
	case route.MessagingServiceSid != "":
		p.SetMessagingServiceSid(route.MessagingServiceSid)
	case route.From != "":
		p.SetFrom(route.From)
	default:
		return resource{}, fmt.Errorf("%w: %w for texts of tenant %q", sms.ErrSendFailed, ErrNoRoute, m.TenantID)
	}
	msg, err := api.CreateMessage(p)
	if err != nil {
		return resource{}, err
	}
	return resource{msg.AccountSid, msg.Sid, msg.Status}, nil
}

// createWhatsApp sends a WhatsApp message from the route's WhatsApp number
// or Messaging Service: a code through the route's authentication
// template, anything else as free text.
func (s *Sender) createWhatsApp(api *twapi.ApiService, route Route, m sms.Message) (resource, error) {
	p := &twapi.CreateMessageParams{}
	p.SetTo("whatsapp:" + m.To)
	switch {
	case route.WhatsAppFrom != "":
		p.SetFrom("whatsapp:" + route.WhatsAppFrom)
	case route.MessagingServiceSid != "":
		p.SetMessagingServiceSid(route.MessagingServiceSid)
	default:
		return resource{}, fmt.Errorf("%w: %w: %w for WhatsApp messages of tenant %q", sms.ErrSendFailed, sms.ErrNoChannel, ErrNoRoute, m.TenantID)
	}
	if route.WhatsAppContentSid != "" && m.Code != "" {
		// Twilio's Content API: the template and its variables, no Body
		// (a Body beside a ContentSid is refused).
		vars, err := json.Marshal(map[string]string{"1": m.Code})
		if err != nil {
			return resource{}, fmt.Errorf("%w: twilio: content variables: %w", sms.ErrSendFailed, err)
		}
		p.SetContentSid(route.WhatsAppContentSid).SetContentVariables(string(vars))
	} else {
		p.SetBody(m.Body)
	}
	msg, err := api.CreateMessage(p)
	if err != nil {
		return resource{}, err
	}
	return resource{msg.AccountSid, msg.Sid, msg.Status}, nil
}

// createCall places a call from the route's voice number whose TwiML reads
// the code.
func (s *Sender) createCall(api *twapi.ApiService, route Route, m sms.Message) (resource, error) {
	from := route.VoiceFrom
	if from == "" {
		from = route.From
	}
	if from == "" {
		return resource{}, fmt.Errorf("%w: %w for voice codes of tenant %q (set VoiceFrom)", sms.ErrSendFailed, ErrNoRoute, m.TenantID)
	}
	if m.Code == "" {
		return resource{}, fmt.Errorf("%w: twilio: a voice code needs Message.Code", sms.ErrSendFailed)
	}
	p := &twapi.CreateCallParams{}
	p.SetTo(m.To).SetFrom(from).SetTwiml(s.voiceTwiML(m.Code))
	call, err := api.CreateCall(p)
	if err != nil {
		return resource{}, err
	}
	return resource{call.AccountSid, call.Sid, call.Status}, nil
}

// mapError turns what the SDK returned into an *Error for an HTTP answer,
// or a wrapped transport error.
func (s *Sender) mapError(what string, err error, tr *transport) error {
	if errors.Is(err, sms.ErrSendFailed) {
		return err // found before asking Twilio (no route, no code)
	}
	var te *twclient.TwilioRestError
	if errors.As(err, &te) {
		e := &Error{Status: te.Status, Code: te.Code, Message: redact(te.Message), MoreInfo: te.MoreInfo}
		if e.Status == 0 {
			e.Status = tr.status
		}
		if tr.status != 0 {
			e.Wait = tr.retryAfter(httpx.Now(s.cfg.Clock))
		}
		return e
	}
	if tr.status != 0 && (tr.status < 200 || tr.status > 299) {
		// An error answer whose body is not Twilio's JSON (a proxy's 502
		// page, an empty 429).
		return &Error{Status: tr.status, Wait: tr.retryAfter(httpx.Now(s.cfg.Clock))}
	}
	if tr.status != 0 {
		// Twilio accepted the request but its answer does not decode: the
		// message may be on its way, so this is not retryable (%v, not %w,
		// keeps a decoder's io.EOF from looking like a dropped connection).
		return fmt.Errorf("%w: twilio: unreadable %s resource (HTTP %d): %v", sms.ErrSendFailed, what, tr.status, err)
	}
	return fmt.Errorf("%w: twilio: create %s: %w", sms.ErrSendFailed, what, err)
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
