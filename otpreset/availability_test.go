package otpreset_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otpreset/go/otpreset"
	"github.com/otpreset/go/otpreset/otpresettest"
)

// The availability tests (docs/contract.md and README "Availability: the owner gets
// through") replay, on the fake clock, the attacks that once kept a phone's
// owner from resetting, in each of the three ways a tenant can be set up.
// The owner asks from its own network, solves a captcha only when asked
// (where the tenant has a verifier) and must get through every time.

const ownerIP = "198.18.7.7"

// simulatedSpan is how long the attacks run on the fake clock: the 30 days
// the guarantees are stated over where OTPRESET_LONG is set (.ci/run sets
// it), a week otherwise, so the plain test command stays quick.
func simulatedSpan() time.Duration {
	if os.Getenv("OTPRESET_LONG") != "" {
		return 30 * 24 * time.Hour
	}
	return 7 * 24 * time.Hour
}

// availabilityMode is one way a tenant can be set up.
type availabilityMode struct {
	name string
	opt  otpresettest.Option
	// verifier: the tenant has a captcha verifier (the owner can solve one);
	// always: every request must carry one.
	verifier, always bool
}

var availabilityModes = []availabilityMode{
	{"default", simulated, false, false},
	{"captcha lockout", func(c *otpreset.Config, tn *otpreset.Tenant) {
		simulated(c, tn)
		tn.Limits.LockoutType = otpreset.LockoutCaptcha
		tn.Captcha.Verifier = fakeCaptcha
	}, true, false},
	{"captcha always", func(c *otpreset.Config, tn *otpreset.Tenant) {
		simulated(c, tn)
		tn.Captcha = otpreset.CaptchaPolicy{Mode: otpreset.CaptchaAlways, Verifier: fakeCaptcha}
	}, true, true},
}

// simulated sets up a tenant for days on the fake clock: no send floor, and
// the per-address flood limits off. Those live in the rate-limit store,
// which counts on the wall clock (a simulated month passes in seconds), and
// the attacks stay under them anyway; every counter of the phone (the
// lockout and send limit per network, the budget) is in the store, on the
// handler's clock, at its default.
func simulated(c *otpreset.Config, tn *otpreset.Tenant) {
	c.MinSendDuration = -1
	tn.Limits.SendPerIP, tn.Limits.ResetPerIP = "off", "off"
}

// sendFrom asks for a code for phone from ip.
func sendFrom(env *otpresettest.Env, ip, phone, query string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, otpreset.Path+keyQuery+query, strings.NewReader(fmt.Sprintf(`{"phone":%q}`, phone)))
	req.Header.Set("Content-Type", "application/json")
	req.RemoteAddr = ip + ":443"
	rec := httptest.NewRecorder()
	env.Handler.ServeHTTP(rec, req)
	return rec
}

// attackerQuery is what an attacker without captcha solutions sends: a
// forged token where one is always required, nothing otherwise.
func (m availabilityMode) attackerQuery() string {
	if m.always {
		return "&g-recaptcha-response=forged"
	}
	return ""
}

// ownerResets plays the owner: a send and a reset from its own network,
// with a solved captcha from the start where every request needs one, and
// otherwise only when asked (1132). It reports whether the reset succeeded,
// and the last refusal when it did not.
func (m availabilityMode) ownerResets(t *testing.T, env *otpresettest.Env, phone string) (bool, string) {
	t.Helper()
	solved := "&g-recaptcha-response=good"
	q := ""
	if m.always {
		q = solved
	}
	before := len(env.Sender.Messages())
	rec := sendFrom(env, ownerIP, phone, q)
	if m.verifier && rec.Code == http.StatusForbidden && errorCode(t, rec.Body.Bytes()) == 1132 {
		rec = sendFrom(env, ownerIP, phone, solved)
	}
	if rec.Code != http.StatusOK {
		return false, "send: " + rec.Body.String()
	}
	if len(env.Sender.Messages()) == before {
		return false, "send: no SMS reached the owner"
	}
	rec = resetFrom(env, ownerIP, phone, env.Code(phone), q)
	if m.verifier && rec.Code == http.StatusForbidden && errorCode(t, rec.Body.Bytes()) == 1132 {
		rec = resetFrom(env, ownerIP, phone, env.Code(phone), solved)
	}
	if rec.Code != http.StatusOK {
		return false, "reset: " + rec.Body.String()
	}
	return true, ""
}

// lockedUntil reads LoginLockedTimeout from a 1198 answer.
func lockedUntil(t *testing.T, rec *httptest.ResponseRecorder) (time.Time, bool) {
	t.Helper()
	if rec.Code != http.StatusForbidden || errorCode(t, rec.Body.Bytes()) != 1198 {
		return time.Time{}, false
	}
	u, err := time.Parse(time.RFC3339, decode(t, rec.Body.Bytes())["Data"].(map[string]any)["LoginLockedTimeout"].(string))
	require.NoError(t, err)
	return u, true
}

// (a) One address, just under the per-IP limits: 3 sends and 10 wrong
// resets every 15 minutes for 30 days. It once kept the owner out 240 times
// of 240; the owner, every 3 hours from its own network, must succeed every
// time.
func TestOwnerGetsThroughOneAddress(t *testing.T) {
	for _, m := range availabilityModes {
		t.Run(m.name, func(t *testing.T) {
			env := otpresettest.New(t, m.opt)
			env.AddUser(phone, oldPass)
			const attacker = "203.0.113.9"
			end := env.Clock.Now().Add(simulatedSpan())
			ok, tries := 0, 0
			for i := 0; env.Clock.Now().Before(end); i++ {
				for range 3 {
					sendFrom(env, attacker, phone, m.attackerQuery())
				}
				for range 10 {
					resetFrom(env, attacker, phone, "000000", m.attackerQuery())
				}
				if i%12 == 0 { // every 3 hours
					tries++
					if got, why := m.ownerResets(t, env, phone); got {
						ok++
					} else if tries-ok <= 3 {
						t.Logf("owner kept out at %v: %s", env.Clock.Now(), why)
					}
				}
				env.Clock.Advance(15 * time.Minute)
			}
			assert.Equal(t, tries, ok, "the owner got through %d times of %d", ok, tries)
		})
	}
}

// (b) 5 wrong codes at each unlock: the attacker comes back the moment its
// lockout ends (LoginLockedTimeout tells when; every 15 minutes where a
// captcha is asked instead), for 30 days.
func TestOwnerGetsThroughWrongCodesAtEachUnlock(t *testing.T) {
	for _, m := range availabilityModes {
		t.Run(m.name, func(t *testing.T) {
			env := otpresettest.New(t, m.opt)
			env.AddUser(phone, oldPass)
			const attacker = "203.0.113.10"
			start := env.Clock.Now()
			end := start.Add(simulatedSpan())
			attackAt, ownerAt := start, start.Add(time.Minute)
			ok, tries := 0, 0
			for env.Clock.Now().Before(end) {
				if !attackAt.After(ownerAt) {
					env.Clock.Advance(attackAt.Sub(env.Clock.Now()))
					next := env.Clock.Now().Add(15 * time.Minute)
					for range otpreset.DefaultLockoutAttempts {
						if u, locked := lockedUntil(t, resetFrom(env, attacker, phone, "000000", m.attackerQuery())); locked {
							next = u
						}
					}
					attackAt = next
					continue
				}
				env.Clock.Advance(ownerAt.Sub(env.Clock.Now()))
				tries++
				if got, why := m.ownerResets(t, env, phone); got {
					ok++
				} else if tries-ok <= 3 {
					t.Logf("owner kept out at %v: %s", env.Clock.Now(), why)
				}
				ownerAt = ownerAt.Add(3 * time.Hour)
			}
			assert.Equal(t, tries, ok, "the owner got through %d times of %d", ok, tries)
		})
	}
}

// (c) 50 attacker networks without captcha solutions, each coming back the
// moment it may: at most 300 comparisons in 30 days (the budget), or between
// two of the owner's successful resets (which clear the count, as docs/contract.md
// says); the owner gets through every time where the tenant has a verifier.
// Without one the budget, once spent, refuses everyone until it allows
// again: the test reports how long the owner was kept out.
func TestOwnerGetsThroughFiftyNetworks(t *testing.T) {
	for _, m := range availabilityModes {
		t.Run(m.name, func(t *testing.T) {
			env := otpresettest.New(t, m.opt)
			env.AddUser(phone, oldPass)
			start := env.Clock.Now()
			end := start.Add(simulatedSpan())
			next := make([]time.Time, 50)
			for i := range next {
				next[i] = start
			}
			ownerAt := start.Add(time.Hour)
			compared, window, maxWindow, ok, tries := 0, 0, 0, 0, 0
			var keptOut time.Duration
			var outSince time.Time
			for env.Clock.Now().Before(end) {
				first := 0
				for i := range next {
					if next[i].Before(next[first]) {
						first = i
					}
				}
				if next[first].Before(ownerAt) {
					env.Clock.Advance(next[first].Sub(env.Clock.Now()))
					ip := fmt.Sprintf("192.0.2.%d", first+1)
					retry := env.Clock.Now().Add(15 * time.Minute)
					for range otpreset.DefaultLockoutAttempts {
						rec := resetFrom(env, ip, phone, "000000", m.attackerQuery())
						if rec.Code == http.StatusUnauthorized {
							compared++
							window++
							maxWindow = max(maxWindow, window)
							continue
						}
						if u, locked := lockedUntil(t, rec); locked {
							retry = env.Clock.Now().Add(time.Second)
							if u.After(retry) {
								retry = u
							}
						}
						break
					}
					next[first] = retry
					continue
				}
				env.Clock.Advance(ownerAt.Sub(env.Clock.Now()))
				tries++
				got, why := m.ownerResets(t, env, phone)
				switch {
				case got:
					ok++
					window = 0
					if !outSince.IsZero() {
						keptOut += env.Clock.Now().Sub(outSince)
						outSince = time.Time{}
					}
				case outSince.IsZero():
					outSince = env.Clock.Now()
					if m.verifier {
						t.Logf("owner kept out at %v: %s", env.Clock.Now(), why)
					}
				}
				ownerAt = ownerAt.Add(3 * time.Hour)
			}
			if !outSince.IsZero() {
				keptOut += env.Clock.Now().Sub(outSince)
			}
			t.Logf("%s: %d codes compared in %v from 50 networks, at most %d between two successes; the owner got through %d times of %d, kept out %v in all",
				m.name, compared, simulatedSpan(), maxWindow, ok, tries, keptOut.Round(time.Minute))
			assert.LessOrEqual(t, maxWindow, 300, "the phone's budget bounds every attacker together")
			if m.verifier {
				assert.Equal(t, tries, ok, "with a verifier the owner gets through every time")
			} else {
				assert.LessOrEqual(t, compared, 300, "no success: 300 in all")
			}
			if !m.always {
				assert.Greater(t, maxWindow, 100, "the test did spend the budget")
			}
		})
	}
}

// (d) 35 phones against the tenant's daily cap: 3 sends each per 15 minutes
// for a day, from 30 addresses, once used the whole 10,000 and silenced
// every user of the tenant. Each phone now counts toward the cap at most its
// own daily limit (10): a bystander still gets its SMS.
func TestOwnerGetsThroughTheTenantCap(t *testing.T) {
	for _, m := range availabilityModes {
		t.Run(m.name, func(t *testing.T) {
			env := otpresettest.New(t, m.opt)
			phones := make([]string, 35)
			for i := range phones {
				phones[i] = fmt.Sprintf("+9197000%05d", i)
				env.AddUser(phones[i], oldPass)
			}
			bystander := "+919812345678"
			env.AddUser(bystander, oldPass)
			sends := 0
			for q := range 96 { // one day of quarter hours
				for p, ph := range phones {
					for s := range 3 {
						rec := sendFrom(env, fmt.Sprintf("203.0.113.%d", (q*105+p*3+s)%30+1), ph, m.attackerQuery())
						if rec.Code == http.StatusOK {
							sends++
						}
					}
				}
				env.Clock.Advance(15 * time.Minute)
			}
			if !m.verifier {
				require.Greater(t, sends, 10000, "the attack's sends went out: it once exhausted the default cap")
			}
			got, why := m.ownerResets(t, env, bystander)
			assert.True(t, got, "a bystander still gets its SMS and resets: %s", why)
		})
	}
}

// (e) A spray over a number range: every known phone of a prefix gets a
// code, which once filled the prefix's cap of distinct phones and silenced
// the range. Where the tenant has a verifier, a bystander of the range gets
// its SMS after a captcha. Without one the cap holds (it is the guard
// against SMS pumping): the bystander's send is answered like any other
// and sends nothing, as README "Security model" says; size the cap to the
// range's real users.
func TestOwnerGetsThroughAPrefixSpray(t *testing.T) {
	for _, m := range availabilityModes {
		t.Run(m.name, func(t *testing.T) {
			env := otpresettest.New(t, m.opt)
			for i := range 250 {
				ph := fmt.Sprintf("+9198765%05d", i)
				env.AddUser(ph, oldPass)
				sendFrom(env, fmt.Sprintf("203.0.113.%d", i%60+1), ph, m.attackerQuery())
			}
			bystander := "+919876599999"
			env.AddUser(bystander, oldPass)
			got, why := m.ownerResets(t, env, bystander)
			if m.verifier {
				assert.True(t, got, "after a captcha the bystander gets its SMS: %s", why)
				return
			}
			assert.False(t, got, "without a verifier the prefix cap holds")
			assert.Contains(t, why, "no SMS reached the owner")
		})
	}
}

// (f) Concurrent resets with the right code: one wins, the others (401) are
// counted by nothing, and the next reset with a fresh code succeeds (it
// once got 429 worded "Your account has been locked").
func TestOwnerGetsThroughAfterConcurrentRightCodes(t *testing.T) {
	for _, m := range availabilityModes {
		t.Run(m.name, func(t *testing.T) {
			env := otpresettest.New(t, m.opt)
			env.AddUser(phone, oldPass)
			q := ""
			if m.always {
				q = "&g-recaptcha-response=good"
			}
			require.Equal(t, http.StatusOK, sendFrom(env, ownerIP, phone, q).Code)
			code := env.Code(phone)
			statuses := make([]int, 10)
			var wg sync.WaitGroup
			for i := range statuses {
				wg.Add(1)
				go func() {
					defer wg.Done()
					statuses[i] = resetFrom(env, ownerIP, phone, code, q).Code
				}()
			}
			wg.Wait()
			wins := 0
			for _, s := range statuses {
				if s == http.StatusOK {
					wins++
				} else {
					assert.Equal(t, http.StatusUnauthorized, s)
				}
			}
			require.Equal(t, 1, wins)
			got, why := m.ownerResets(t, env, phone)
			assert.True(t, got, "a fresh code works: %s", why)
		})
	}
}
