package otpreset

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ulule/limiter/v3"
	"github.com/ulule/limiter/v3/drivers/store/memory"
)

// Limits are a tenant's rate limits, each a readable rate "N-P" where P is S,
// M, H or D with an optional multiplier: "3-15M" is 3 per 15 minutes. Empty
// fields take the defaults below; "off" disables one limit.
type Limits struct {
	SendPerPhone    string // codes sent per phone; default "3-15M"
	SendPerIP       string // codes asked for per client IP; default "20-1H"
	SMSPerTenantDay string // SMS sent per tenant per day; default "10000-1D"
	ResetPerPhone   string // reset attempts per phone; default "10-15M"
	ResetPerIP      string // reset attempts per client IP; default "60-1H"

	// LockoutAttempts failed codes for one phone within LockoutWindow lock
	// it (whether or not the phone exists); default 5 within 15 minutes.
	LockoutAttempts int
	LockoutWindow   time.Duration
	// LockoutType: LockoutSuspend (1198, default) or LockoutCaptcha (1132).
	LockoutType LockoutType
}

// Default limits.
const (
	DefaultSendPerPhone    = "3-15M"
	DefaultSendPerIP       = "20-1H"
	DefaultSMSPerTenantDay = "10000-1D"
	DefaultResetPerPhone   = "10-15M"
	DefaultResetPerIP      = "60-1H"
	DefaultLockoutAttempts = 5
	DefaultLockoutWindow   = 15 * time.Minute
)

// ParseRate parses "N-P" (P one of S, M, H, D, optionally preceded by a
// multiplier: "3-15M", "10000-1D"). ulule/limiter's own parser takes no
// multiplier.
func ParseRate(s string) (limiter.Rate, error) {
	n, p, ok := strings.Cut(strings.TrimSpace(s), "-")
	if !ok {
		return limiter.Rate{}, fmt.Errorf("otpreset: rate %q: want N-P, e.g. 3-15M", s)
	}
	limit, err := strconv.ParseInt(n, 10, 64)
	if err != nil || limit < 1 {
		return limiter.Rate{}, fmt.Errorf("otpreset: rate %q: bad count", s)
	}
	p = strings.ToUpper(p)
	if p == "" {
		return limiter.Rate{}, fmt.Errorf("otpreset: rate %q: missing period", s)
	}
	unit := map[byte]time.Duration{'S': time.Second, 'M': time.Minute, 'H': time.Hour, 'D': 24 * time.Hour}[p[len(p)-1]]
	if unit == 0 {
		return limiter.Rate{}, fmt.Errorf("otpreset: rate %q: period must end in S, M, H or D", s)
	}
	mult := int64(1)
	if len(p) > 1 {
		mult, err = strconv.ParseInt(p[:len(p)-1], 10, 64)
		if err != nil || mult < 1 {
			return limiter.Rate{}, fmt.Errorf("otpreset: rate %q: bad period multiplier", s)
		}
	}
	return limiter.Rate{Formatted: s, Period: time.Duration(mult) * unit, Limit: limit}, nil
}

// Limiter counts requests against Limits in a limiter.Store: in memory by
// default, or shared across instances (redisstore.NewLimiterStore).
type Limiter struct {
	store limiter.Store
	mu    sync.Mutex
	rates map[string]limiter.Rate
}

// NewLimiter counts in s; nil means an in-memory store (one instance only).
func NewLimiter(s limiter.Store) *Limiter {
	if s == nil {
		s = memory.NewStoreWithOptions(limiter.StoreOptions{Prefix: "otpreset", CleanUpInterval: time.Minute})
	}
	return &Limiter{store: s, rates: map[string]limiter.Rate{}}
}

// rate parses and caches formatted; "off" gives ok=false.
func (l *Limiter) rate(formatted, def string) (limiter.Rate, bool, error) {
	if formatted == "" {
		formatted = def
	}
	if strings.EqualFold(formatted, "off") {
		return limiter.Rate{}, false, nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if r, ok := l.rates[formatted]; ok {
		return r, true, nil
	}
	r, err := ParseRate(formatted)
	if err != nil {
		return limiter.Rate{}, false, err
	}
	l.rates[formatted] = r
	return r, true, nil
}

// LimitResult is the outcome of counting one request.
type LimitResult struct {
	Limit, Remaining int64
	Reset            time.Time
	Reached          bool
}

// take counts one request against key under rate (formatted, default def).
func (l *Limiter) take(ctx context.Context, key, formatted, def string) (LimitResult, error) {
	r, on, err := l.rate(formatted, def)
	if err != nil || !on {
		return LimitResult{}, err
	}
	c, err := l.store.Get(ctx, key, r)
	if err != nil {
		return LimitResult{}, fmt.Errorf("otpreset: rate limit store: %w", err)
	}
	return LimitResult{Limit: c.Limit, Remaining: c.Remaining, Reset: time.Unix(c.Reset, 0), Reached: c.Reached}, nil
}

// lockout returns whether key has LockoutAttempts failures in the window,
// and until when.
func (l *Limiter) lockout(ctx context.Context, key string, lim Limits) (bool, time.Time, error) {
	r := lockoutRate(lim)
	c, err := l.store.Peek(ctx, key, r)
	if err != nil {
		return false, time.Time{}, fmt.Errorf("otpreset: lockout store: %w", err)
	}
	return c.Remaining == 0, time.Unix(c.Reset, 0), nil
}

// fail records one failed code for key; it reports whether the key is now
// locked.
func (l *Limiter) fail(ctx context.Context, key string, lim Limits) (bool, error) {
	c, err := l.store.Get(ctx, key, lockoutRate(lim))
	if err != nil {
		return false, fmt.Errorf("otpreset: lockout store: %w", err)
	}
	return c.Remaining == 0, nil
}

// clear forgets key's failures (after a successful reset or solved captcha).
func (l *Limiter) clear(ctx context.Context, key string, lim Limits) error {
	_, err := l.store.Reset(ctx, key, lockoutRate(lim))
	return err
}

func lockoutRate(lim Limits) limiter.Rate {
	n, w := int64(lim.LockoutAttempts), lim.LockoutWindow
	if n <= 0 {
		n = DefaultLockoutAttempts
	}
	if w <= 0 {
		w = DefaultLockoutWindow
	}
	return limiter.Rate{Formatted: "lockout", Period: w, Limit: n}
}

// setRateHeaders writes X-RateLimit-* for the tightest limit seen.
func setRateHeaders(h http.Header, r LimitResult) {
	if r.Limit == 0 {
		return
	}
	h.Set("X-RateLimit-Limit", strconv.FormatInt(r.Limit, 10))
	h.Set("X-RateLimit-Remaining", strconv.FormatInt(r.Remaining, 10))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(r.Reset.Unix(), 10))
}

func retryAfter(now, reset time.Time) int {
	s := int(reset.Sub(now).Seconds() + 0.999)
	if s < 1 {
		s = 1
	}
	return s
}

// TrustedProxies returns a ClientIP function that believes X-Forwarded-For
// and X-Real-IP only when the connection comes from one of the given networks
// (CIDRs or addresses), and then takes the right-most address that is not
// itself a trusted proxy. Any other request's client is its connection's
// address: a client cannot choose its own IP by sending a header.
func TrustedProxies(proxies ...string) (func(*http.Request) string, error) {
	var nets []netip.Prefix
	for _, p := range proxies {
		if !strings.Contains(p, "/") {
			a, err := netip.ParseAddr(p)
			if err != nil {
				return nil, fmt.Errorf("otpreset: trusted proxy %q: %w", p, err)
			}
			p = netip.PrefixFrom(a, a.BitLen()).String()
		}
		pf, err := netip.ParsePrefix(p)
		if err != nil {
			return nil, fmt.Errorf("otpreset: trusted proxy %q: %w", p, err)
		}
		nets = append(nets, pf.Masked())
	}
	trusted := func(s string) bool {
		a, err := netip.ParseAddr(strings.TrimSpace(s))
		if err != nil {
			return false
		}
		a = a.Unmap()
		for _, n := range nets {
			if n.Contains(a) {
				return true
			}
		}
		return false
	}
	return func(r *http.Request) string {
		peer := RemoteIP(r)
		if !trusted(peer) {
			return peer
		}
		if xff := r.Header.Values("X-Forwarded-For"); len(xff) > 0 {
			parts := strings.Split(strings.Join(xff, ","), ",")
			for i := len(parts) - 1; i >= 0; i-- {
				ip := strings.TrimSpace(parts[i])
				if a, err := netip.ParseAddr(ip); err == nil && !trusted(ip) {
					return a.Unmap().String()
				}
			}
		}
		if xr := strings.TrimSpace(r.Header.Get("X-Real-IP")); xr != "" {
			if a, err := netip.ParseAddr(xr); err == nil {
				return a.Unmap().String()
			}
		}
		return peer
	}, nil
}

// RemoteIP is the default ClientIP: the address of the connection.
func RemoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	if a, err := netip.ParseAddr(host); err == nil {
		return a.Unmap().String()
	}
	return host
}

// limits counts one request of endpoint against the client IP's rate and
// then the phone's, cheapest refusal first. It writes the refusal (429 for
// the IP; phoneLimited's answer for the phone) or a fault itself and reports
// whether the request may go on.
func (h *Handler) limits(ctx context.Context, w http.ResponseWriter, log *slog.Logger, tenantID, endpoint, ip, phone,
	ipRate, ipDefault, phoneRate, phoneDefault string, phoneLimited func(LimitResult) *APIError) bool {
	res, err := h.cfg.Limiter.take(ctx, endpoint+":ip:"+tenantID+":"+ip, ipRate, ipDefault)
	if err != nil {
		h.fault(w, log, "rate limit", err)
		return false
	}
	setRateHeaders(w.Header(), res)
	if res.Reached {
		log.Warn("refused", "reason", endpoint+" rate per IP")
		writeAPIError(w, errTooManyRequests(retryAfter(time.Now(), res.Reset)))
		return false
	}
	res, err = h.cfg.Limiter.take(ctx, endpoint+":phone:"+tenantID+":"+phone, phoneRate, phoneDefault)
	if err != nil {
		h.fault(w, log, "rate limit", err)
		return false
	}
	if res.Reached {
		setRateHeaders(w.Header(), res)
		log.Warn("refused", "reason", endpoint+" rate per phone")
		writeAPIError(w, phoneLimited(res))
		return false
	}
	return true
}
