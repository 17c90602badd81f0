package otpreset

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/otpreset/go/captcha"
	"github.com/otpreset/go/store"
	"github.com/otpreset/go/webhook"
)

// Handler serves both endpoints of the flow. Create it with New; it is safe
// for concurrent use.
type Handler struct {
	cfg         Config
	log         *slog.Logger
	accountSids sync.Map // tenant ID -> last real AccountSid
	codes       *codeHasher
}

// New checks cfg, applies defaults and returns the handler.
func New(cfg Config) (*Handler, error) {
	switch {
	case cfg.Store == nil:
		return nil, errors.New("otpreset: Config.Store is required")
	case cfg.Sender == nil:
		return nil, errors.New("otpreset: Config.Sender is required")
	case cfg.Tenants == nil:
		return nil, errors.New("otpreset: Config.Tenants is required")
	case len(cfg.Secret) < 32:
		return nil, errors.New("otpreset: Config.Secret must be at least 32 bytes")
	}
	if cfg.WebhookOutbox {
		_, okR := cfg.Store.(store.Resetter)
		_, okO := cfg.Store.(store.Outbox)
		if !okR || !okO {
			return nil, store.ErrOutboxUnsupported
		}
	}
	if cfg.Hasher == nil {
		cfg.Hasher = NewArgon2idHasher(nil, 0)
	}
	if cfg.Tokens == nil {
		cfg.Tokens = RandomTokens{Rand: cfg.Rand}
	}
	if cfg.Webhooks == nil {
		cfg.Webhooks = webhook.Discard
	}
	if cfg.Clock == nil {
		cfg.Clock = SystemClock
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.Limiter == nil {
		cfg.Limiter = NewLimiter(nil)
	}
	if cfg.MinSendDuration == 0 {
		cfg.MinSendDuration = DefaultMinSendDuration
	}
	if cfg.SendTimeout <= 0 {
		cfg.SendTimeout = DefaultSendTimeout
	}
	if cfg.Observer == nil {
		cfg.Observer = nopObserver{}
	}
	if cfg.ClientIP == nil {
		cfg.ClientIP = RemoteIP
	}
	cfg.Secret = append([]byte(nil), cfg.Secret...)
	return &Handler{cfg: cfg, log: cfg.Logger.With("component", "otpreset"), codes: newCodeHasher(cfg.Secret)}, nil
}

// ServeHTTP routes POST (send a code) and PUT (reset the password) on any
// path that ends with Path, so the handler works at the root of a mux, under
// a gorilla/mux subrouter or behind http.StripPrefix alike.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if _, nop := h.cfg.Observer.(nopObserver); !nop {
		ow := &observedWriter{ResponseWriter: w}
		start := time.Now()
		endpoint := "other"
		switch r.Method {
		case http.MethodPost:
			endpoint = "send"
		case http.MethodPut:
			endpoint = "reset"
		}
		defer func() {
			status := ow.status
			if status == 0 {
				status = http.StatusOK
			}
			h.cfg.Observer.Answered(endpoint, status, ow.errorCode, time.Since(start))
		}()
		w = ow
	}
	defer func() {
		// A bug must never show a stack trace or an empty 500: log it and
		// answer 950. http.ErrAbortHandler keeps its meaning.
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			h.log.Error("panic serving request", "panic", fmt.Sprint(v))
			writeAPIError(w, errInternal)
		}
	}()
	if !strings.HasSuffix(strings.TrimSuffix(r.URL.Path, "/"), Path) {
		writeAPIError(w, errNotFound)
		return
	}
	switch r.Method {
	case http.MethodPost:
		h.serveSend(w, r)
	case http.MethodPut:
		h.serveReset(w, r)
	default:
		writeAPIError(w, errMethod)
	}
}

// begin does what both endpoints do first: the API key, the tenant and the
// body. It writes the error answer itself and returns nil on failure.
func (h *Handler) begin(w http.ResponseWriter, r *http.Request) (*Tenant, *request) {
	q := r.URL.Query()
	key := apiKey(r, q)
	if key == "" {
		writeAPIError(w, errMissingAPIKey)
		return nil, nil
	}
	t, err := h.cfg.Tenants.ResolveTenant(r.Context(), key)
	if err != nil {
		if errors.Is(err, ErrUnknownAPIKey) {
			writeAPIError(w, errUnknownAPIKey)
		} else {
			h.log.Error("resolving tenant", "err", err)
			writeAPIError(w, errInternal)
		}
		return nil, nil
	}
	body, apiErr := decodeBody(w, r, h.cfg.MaxBodyBytes)
	if apiErr != nil {
		writeAPIError(w, apiErr)
		return nil, nil
	}
	return t, &request{query: q, body: body}
}

// captchaToken collects the token under any of the seed's names.
func captchaToken(q *request, ip string) captcha.Token {
	tok := captcha.Token{RemoteIP: ip, Randstr: q.param("qq_captcha_randstr")}
	for _, name := range []string{"g-recaptcha-response", "g_recaptcha_response", "h-captcha-response", "cf-turnstile-response", "qq_captcha_ticket"} {
		if v := q.param(name); v != "" {
			tok.Response = v
			break
		}
	}
	return tok
}

// checkCaptcha verifies the request's captcha with the tenant's verifier.
// A missing verifier fails closed.
func (h *Handler) checkCaptcha(ctx context.Context, t *Tenant, q *request, ip string) error {
	if t.Captcha.Verifier == nil {
		return fmt.Errorf("otpreset: tenant %s asks for a captcha but has no verifier: %w", t.ID, captcha.ErrUnavailable)
	}
	tok := captchaToken(q, ip)
	if tok.Response == "" {
		return captcha.ErrMissing
	}
	return t.Captcha.Verifier.Verify(ctx, tok)
}

func writeJSON(w http.ResponseWriter, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeAPIError(w, errInternal)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}

func lockoutKey(t *Tenant, phone string) string { return "lock:" + t.ID + ":" + phone }
