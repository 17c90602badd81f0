package otpreset

import "time"

// limitIPAndPhone counts one request of endpoint against the client IP's
// rate and then the phone's, cheapest refusal first. It returns the IP's
// refusal (429) or the phone's (phoneLimited's answer), or nil.
func (f *flow) limitIPAndPhone(x *exchange, endpoint string, ipRate, phoneRate rate, phoneLimited func(limitResult) *apiError) error {
	res, err := f.counters.take(x.ctx, endpoint+":ip:"+x.t.id+":"+clientKey(x.ip, f.cfg.IPv6PrefixBits), ipRate)
	if err != nil {
		return faultAt("rate limit", err)
	}
	x.rate = res
	if res.reached {
		x.log.Warn("refused", "reason", endpoint+" rate per IP")
		return errTooManyRequests(retryAfter(time.Now(), res.reset))
	}
	res, err = f.counters.take(x.ctx, endpoint+":phone:"+x.t.id+":"+x.phone, phoneRate)
	if err != nil {
		return faultAt("rate limit", err)
	}
	if res.reached {
		x.rate = res
		x.log.Warn("refused", "reason", endpoint+" rate per phone")
		return phoneLimited(res)
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
