package otpreset

import (
	"strconv"

	"github.com/nyaruka/phonenumbers"
)

// The SMS caps and the pumping guard: what may stop an SMS from going out
// whatever the phone (README "Security model"). None of them depends on
// whether the phone has a user, so no answer tells which phones exist:
//
//   - the pumping guard refuses numbers of a calling code the tenant does not
//     serve, or that are not mobile;
//   - per phone, every network together: SMSPerPhoneDay, counted for every
//     phone asked for (known or not). It is how much a phone counts toward
//     the caps below, so that no cap can be exhausted by a few phones; a
//     phone over it is not silenced (that would let anyone silence the
//     owner): its SMS go out uncounted, after a captcha where the tenant
//     has a verifier;
//   - per tenant: SMSPerTenantDay, counted for each SMS that goes out;
//   - per number prefix: Pumping.PrefixDailyCap, counting distinct phones, so
//     a few accounts cannot exhaust it for their range.
//
// A send over a cap asks for a captcha (1132) where the tenant has a
// verifier, so a human always gets through; without one it is answered like
// a send to an unknown phone (200, no SMS), logged and counted.

// capView is what the caps said of a send before the store was asked.
type capView struct {
	// bypass: the send was over a cap and a captcha was solved: its SMS
	// goes out without counting toward the caps.
	bypass bool
	// quiet is why no SMS may go to the phone (pumping, a cap without a
	// verifier), or "": the send is then answered like one to an unknown
	// phone, without asking the store anything.
	quiet string
	// outcome is the Observer's word for a quiet send: "refused" (the
	// pumping guard) or "capped".
	outcome string
	// overDay: the phone's daily limit was reached by a concurrent send
	// after lookAtCaps looked (countPhoneDay): its SMS is not counted.
	overDay bool
}

// lookAtCaps applies the pumping guard and looks at the caps, before any
// store work.
func (f *flow) lookAtCaps(sd *sending) error {
	if reason := pumpingRefusal(sd.t, sd.phone); reason != "" {
		sd.caps.quiet, sd.caps.outcome = "sms pumping: "+reason, "refused"
		return nil
	}
	over, shared, err := f.overCap(sd)
	if err != nil || over == "" {
		return err
	}
	if sd.solved {
		sd.caps.bypass = true
		return nil
	}
	if sd.t.Captcha.Verifier == nil {
		if shared {
			sd.caps.quiet, sd.caps.outcome = over, "capped"
		} else {
			sd.caps.bypass = true // over its own limit: sent, not counted
		}
		return nil
	}
	if e := f.captchaFor(&sd.exchange, over); e != nil {
		return e
	}
	sd.caps.bypass = true
	return nil
}

// overCap names the first cap a send to the phone would pass, or "";
// shared tells a cap every phone shares (the tenant's, the prefix's) from
// the phone's own daily limit.
func (f *flow) overCap(sd *sending) (reason string, shared bool, err error) {
	t := sd.t
	for _, c := range []struct {
		key    string
		r      rate
		reason string
		shared bool
	}{
		{phoneDayKey(t.ID, sd.phone), t.smsPerPhoneDay, "SMS per phone per day", false},
		{tenantCapKey(t), t.smsPerTenantDay, refusedTenantCap, true},
	} {
		res, err := f.counters.peek(sd.ctx, c.key, c.r)
		if err != nil {
			return "", false, faultAt("rate limit", err)
		}
		if res.reached {
			return c.reason, c.shared, nil
		}
	}
	seen, err := f.counters.peek(sd.ctx, prefixPhoneKey(t, sd.phone), t.prefixMarker)
	if err != nil {
		return "", false, faultAt("rate limit", err)
	}
	if seen.limit > 0 && seen.reached { // counted in its prefix today already
		return "", false, nil
	}
	res, err := f.counters.peek(sd.ctx, prefixCapKey(t, sd.phone), t.prefixCap)
	if err != nil {
		return "", false, faultAt("rate limit", err)
	}
	if res.reached {
		return "sms pumping: prefix daily cap", true, nil
	}
	return "", false, nil
}

// countPhoneDay counts a send the store let through against the phone's
// daily SMS limit, known phone or not, so that the limit answers alike for
// every phone.
func (f *flow) countPhoneDay(sd *sending) error {
	if sd.caps.bypass || sd.caps.quiet != "" {
		return nil
	}
	res, err := f.counters.take(sd.ctx, phoneDayKey(sd.t.ID, sd.phone), sd.t.smsPerPhoneDay)
	if err != nil {
		return faultAt("rate limit", err)
	}
	sd.caps.overDay = res.reached
	return nil
}

// countCaps counts an SMS about to go to a known phone toward the tenant's
// and the prefix's caps. It names the cap a concurrent send reached first,
// or "" to send.
func (f *flow) countCaps(sd *sending) string {
	if sd.caps.bypass || sd.caps.overDay { // over its own limit: sent, not counted
		return ""
	}
	if reason := f.takeCaps(sd.exchange); reason != "" {
		return reason + ", reached meanwhile"
	}
	return ""
}

// takeCaps counts one SMS to x's phone toward the tenant's cap and its
// prefix's cap (a phone once a period), and names a cap already reached.
func (f *flow) takeCaps(x exchange) string {
	t := x.t
	res, err := f.counters.take(x.ctx, tenantCapKey(t), t.smsPerTenantDay)
	switch {
	case err != nil:
		x.logger().Error("counting the tenant's SMS cap", "err", err)
		return ""
	case res.reached:
		return refusedTenantCap
	}
	marker := prefixPhoneKey(t, x.phone)
	first, err := f.counters.take(x.ctx, marker, t.prefixMarker)
	if err != nil || first.reached || first.limit == 0 { // counted already this period, or no cap
		return ""
	}
	res, err = f.counters.take(x.ctx, prefixCapKey(t, x.phone), t.prefixCap)
	if err == nil && res.reached { // not one of this period's phones after all
		_ = f.counters.forget(x.ctx, marker, t.prefixMarker)
		return "sms pumping: prefix daily cap"
	}
	return ""
}

// countNotice counts the reset notice toward every cap; it is never refused
// by them (the owner must learn of the change).
func (f *flow) countNotice(rs *resetting) {
	if _, err := f.counters.take(rs.ctx, phoneDayKey(rs.t.ID, rs.phone), rs.t.smsPerPhoneDay); err != nil {
		rs.logger().Error("counting the notice toward the caps", "err", err)
	}
	f.takeCaps(rs.exchange)
}

func phoneDayKey(tenantID, phone string) string { return "sms:phone:" + tenantID + ":" + phone }

func tenantCapKey(t *settings) string { return "sms:tenant:" + t.ID }

func prefixCapKey(t *settings, phone string) string {
	return "sms:prefix:" + t.ID + ":" + phonePrefix(t.Pumping.PrefixDigits, phone)
}

// prefixPhoneKey marks a phone as counted in its prefix's cap for the cap's
// period.
func prefixPhoneKey(t *settings, phone string) string { return "sms:prefixphone:" + t.ID + ":" + phone }

// refusedTenantCap is the reason for the tenant's daily cap, the one
// refusal logged at error level: it stops every SMS of the tenant.
const refusedTenantCap = "tenant daily SMS cap"

// pumpingRefusal returns why e164 must not get an SMS, or "".
func pumpingRefusal(t *settings, e164 string) string {
	n, err := lookupPhone(e164)
	if err != nil {
		return "unparseable"
	}
	if len(t.Pumping.AllowedCallingCodes) > 0 {
		allowed := false
		for _, c := range t.Pumping.AllowedCallingCodes {
			if c == n.countryCode {
				allowed = true
				break
			}
		}
		if !allowed {
			return "calling code +" + strconv.Itoa(n.countryCode) + " not allowed"
		}
	}
	if !t.Pumping.AllowNonMobile {
		switch n.numberType {
		case phonenumbers.MOBILE, phonenumbers.FIXED_LINE_OR_MOBILE, phonenumbers.UNKNOWN:
		default:
			return "not a mobile number"
		}
	}
	return ""
}

// phonePrefix is the first digits of e164 ("+9199999...") used for the
// per-prefix cap.
func phonePrefix(n int, e164 string) string {
	if len(e164) > n+1 {
		return e164[:n+1]
	}
	return e164
}
