package otpreset

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ulule/limiter/v3"
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

// limitIP counts one request of endpoint against the client network's rate:
// a flood from one address (an IPv4 address, an IPv6 /64) is answered 429
// with ErrorCode 429 on either endpoint, before anything of the phone is
// counted.
func (f *flow) limitIP(x *exchange, endpoint string, r rate) error {
	if r.off { // what take answers for it, without building the key
		x.rate = limitResult{}
		return nil
	}
	res, err := f.counters.take(x.ctx, endpoint+":ip:"+x.t.ID+":"+x.network, r)
	if err != nil {
		return faultAt("rate limit", err)
	}
	x.rate = res
	if res.reached {
		return refuse(errTooManyRequests(retryAfter(time.Now(), res.reset)), endpoint+" rate per IP")
	}
	return nil
}

func retryAfter(now, reset time.Time) int {
	s := int(reset.Sub(now).Seconds() + 0.999)
	if s < 1 {
		s = 1
	}
	return s
}
