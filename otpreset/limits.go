package otpreset

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ulule/limiter/v3"
	"github.com/ulule/limiter/v3/drivers/store/memory"
)

// rate is a parsed limit; off disables it.
type rate struct {
	limiter.Rate
	off bool
}

// parseRate parses "N-P" (P one of S, M, H, D, optionally preceded by a
// multiplier: "3-15M", "10000-1D"; ulule/limiter's own parser takes no
// multiplier), or "off". An empty s means def.
func parseRate(s, def string) (rate, error) {
	if s == "" {
		s = def
	}
	if strings.EqualFold(strings.TrimSpace(s), "off") {
		return rate{off: true}, nil
	}
	n, p, ok := strings.Cut(strings.TrimSpace(s), "-")
	if !ok {
		return rate{}, fmt.Errorf("rate %q: want N-P, e.g. 3-15M", s)
	}
	limit, err := strconv.ParseInt(n, 10, 64)
	if err != nil || limit < 1 {
		return rate{}, fmt.Errorf("rate %q: bad count", s)
	}
	p = strings.ToUpper(p)
	if p == "" {
		return rate{}, fmt.Errorf("rate %q: missing period", s)
	}
	unit := map[byte]time.Duration{'S': time.Second, 'M': time.Minute, 'H': time.Hour, 'D': 24 * time.Hour}[p[len(p)-1]]
	if unit == 0 {
		return rate{}, fmt.Errorf("rate %q: period must end in S, M, H or D", s)
	}
	mult := int64(1)
	if len(p) > 1 {
		mult, err = strconv.ParseInt(p[:len(p)-1], 10, 64)
		if err != nil || mult < 1 {
			return rate{}, fmt.Errorf("rate %q: bad period multiplier", s)
		}
	}
	return rate{Rate: limiter.Rate{Formatted: s, Period: time.Duration(mult) * unit, Limit: limit}}, nil
}

// limits counts requests and failed codes in a limiter.Store: in memory by
// default, or shared across instances (redisstore.NewLimiterStore).
type limits struct{ store limiter.Store }

func newLimits(s limiter.Store) limits {
	if s == nil {
		s = memory.NewStoreWithOptions(limiter.StoreOptions{Prefix: "otpreset", CleanUpInterval: time.Minute})
	}
	return limits{store: s}
}

// limitResult is the outcome of counting one request.
type limitResult struct {
	limit, remaining int64
	reset            time.Time
	reached          bool
}

// take counts one request against key under r.
func (l limits) take(ctx context.Context, key string, r rate) (limitResult, error) {
	if r.off {
		return limitResult{}, nil
	}
	c, err := l.store.Get(ctx, key, r.Rate)
	if err != nil {
		return limitResult{}, fmt.Errorf("otpreset: rate limit store: %w", err)
	}
	return limitResult{limit: c.Limit, remaining: c.Remaining, reset: time.Unix(c.Reset, 0), reached: c.Reached}, nil
}

// locked returns whether key has p.attempts failures in the window, and
// until when.
func (l limits) locked(ctx context.Context, key string, p lockoutPolicy) (bool, time.Time, error) {
	c, err := l.store.Peek(ctx, key, p.rate())
	if err != nil {
		return false, time.Time{}, fmt.Errorf("otpreset: lockout store: %w", err)
	}
	return c.Remaining == 0, time.Unix(c.Reset, 0), nil
}

// fail records one failed code for key; it reports whether the key is now
// locked.
func (l limits) fail(ctx context.Context, key string, p lockoutPolicy) (bool, error) {
	c, err := l.store.Get(ctx, key, p.rate())
	if err != nil {
		return false, fmt.Errorf("otpreset: lockout store: %w", err)
	}
	return c.Remaining == 0, nil
}

// clear forgets key's failures (after a successful reset).
func (l limits) clear(ctx context.Context, key string, p lockoutPolicy) error {
	_, err := l.store.Reset(ctx, key, p.rate())
	return err
}

func (p lockoutPolicy) rate() limiter.Rate {
	return limiter.Rate{Formatted: "lockout", Period: p.window, Limit: int64(p.attempts)}
}

func lockoutKey(tenantID, phone string) string { return "lock:" + tenantID + ":" + phone }

// limitIPAndPhone counts one request of endpoint against the client IP's
// rate and then the phone's, cheapest refusal first. It returns the IP's
// refusal (429) or the phone's (phoneLimited's answer), or nil.
func (h *Handler) limitIPAndPhone(x *exchange, endpoint string, ipRate, phoneRate rate, phoneLimited func(limitResult) *apiError) *apiError {
	res, err := h.limits.take(x.ctx, endpoint+":ip:"+x.t.id+":"+clientKey(x.ip, h.cfg.IPv6PrefixBits), ipRate)
	if err != nil {
		return h.fault(x, "rate limit", err)
	}
	x.rate = res
	if res.reached {
		x.log.Warn("refused", "reason", endpoint+" rate per IP")
		return errTooManyRequests(retryAfter(time.Now(), res.reset))
	}
	res, err = h.limits.take(x.ctx, endpoint+":phone:"+x.t.id+":"+x.phone, phoneRate)
	if err != nil {
		return h.fault(x, "rate limit", err)
	}
	if res.reached {
		x.rate = res
		x.log.Warn("refused", "reason", endpoint+" rate per phone")
		return phoneLimited(res)
	}
	return nil
}

// setRateHeaders writes X-RateLimit-* for the tightest limit seen.
func setRateHeaders(h http.Header, r limitResult) {
	if r.limit == 0 {
		return
	}
	h.Set("X-RateLimit-Limit", strconv.FormatInt(r.limit, 10))
	h.Set("X-RateLimit-Remaining", strconv.FormatInt(r.remaining, 10))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(r.reset.Unix(), 10))
}

func retryAfter(now, reset time.Time) int {
	s := int(reset.Sub(now).Seconds() + 0.999)
	if s < 1 {
		s = 1
	}
	return s
}
