package otpreset_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otpreset/go/captcha"
	"github.com/otpreset/go/otpreset"
	"github.com/otpreset/go/otpreset/otpresettest"
	"github.com/otpreset/go/sms"
	"github.com/otpreset/go/store"
	"github.com/otpreset/go/store/memstore"
)

// noRateLimits leaves the guessing budget as the only defence, as an
// attacker with many addresses and patience would find it.
func noRateLimits(c *otpreset.Config, tn *otpreset.Tenant) {
	tn.Limits.SendPerPhone, tn.Limits.SendPerIP, tn.Limits.SMSPerPhoneDay = "off", "off", "off"
	tn.Limits.ResetPerIP = "off"
	tn.MaxCodeAttempts = -1 // no per-code limit: the lockout and the budget alone
	c.MinSendDuration = -1
}

// resetFrom is a reset from its own client address.
func resetFrom(env *otpresettest.Env, ip, phone, otp, query string) *httptest.ResponseRecorder {
	body := fmt.Sprintf(`{"phone":%q,"otp":%q,"Password":"new password 1"}`, phone, otp)
	req := httptest.NewRequest(http.MethodPut, otpreset.Path+keyQuery+query, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.RemoteAddr = ip + ":443"
	rec := httptest.NewRecorder()
	env.Handler.ServeHTTP(rec, req)
	return rec
}

// TestGuessingBudget30Days plays the best attacker strategy against one
// phone for 30 simulated days: a new code before every burst, bursts of 20
// parallel guesses from 20 addresses, every moment the phone is not locked,
// no rate limits. It counts the codes actually compared (401s). At defaults
// the fixed 15-minute window allowed about 14,000 in 30 days; the escalating
// lockout allows at most 300 (docs/contract.md, "Guessing and flooding").
func TestGuessingBudget30Days(t *testing.T) {
	for _, tc := range []struct {
		name string
		opt  otpresettest.Option
	}{
		{"suspension", noRateLimits},
		{"captcha lockout", func(c *otpreset.Config, tn *otpreset.Tenant) {
			noRateLimits(c, tn)
			tn.Limits.LockoutType = otpreset.LockoutCaptcha
			tn.Captcha.Verifier = captcha.VerifierFunc(func(context.Context, captcha.Token) error { return captcha.ErrRejected })
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := otpresettest.New(t, tc.opt)
			env.AddUser(phone, oldPass)
			end := env.Clock.Now().Add(30 * 24 * time.Hour)
			compared, requests := 0, 0
			for env.Clock.Now().Before(end) {
				env.Send(phone) // a new code before every burst (refused while locked)
				var wg sync.WaitGroup
				var burst, locked atomic.Int32
				var until atomic.Value
				for i := range 20 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						// Without captcha solutions: a bad token, to no avail.
						rec := resetFrom(env, fmt.Sprintf("198.51.100.%d", i+1), phone, "000000", "&g-recaptcha-response=forged")
						switch errorCode(t, rec.Body.Bytes()) {
						case 1409:
							burst.Add(1)
						case 1198:
							locked.Add(1)
							until.Store(decode(t, rec.Body.Bytes())["Data"].(map[string]any)["LoginLockedTimeout"].(string))
						case 1132, 1218:
							locked.Add(1)
						default:
							t.Errorf("unexpected answer %d %s", rec.Code, rec.Body)
						}
					}()
				}
				wg.Wait()
				requests += 20
				compared += int(burst.Load())
				if burst.Load() > 0 {
					continue // try again at once: the lockout may not have started
				}
				// Locked: come back the moment it ends (the 1198 tells when;
				// the captcha type does not, so probe every 15 minutes).
				step := 15 * time.Minute
				if s, ok := until.Load().(string); ok {
					u, err := time.Parse(time.RFC3339, s)
					require.NoError(t, err)
					step = max(u.Sub(env.Clock.Now()), time.Second)
				}
				env.Clock.Advance(step)
			}
			t.Logf("%s: %d codes compared in 30 days (%d requests)", tc.name, compared, requests)
			assert.LessOrEqual(t, compared, 300)
			assert.Greater(t, compared, 0, "the test did compare codes")
			assert.True(t, env.PasswordWorks(phone, oldPass))
		})
	}
}

// TestLockoutDecidedAtomically: 40 parallel wrong codes from one network
// compare exactly LockoutAttempts codes (the check and the count were once
// separate steps, and 6 got past a lockout of 5); from 40 networks, exactly
// the budget's burst.
func TestLockoutDecidedAtomically(t *testing.T) {
	burst := func(c *otpreset.Config, tn *otpreset.Tenant) {
		noRateLimits(c, tn)
		tn.Limits.GuessBudget, tn.Limits.GuessBurst = "10-1D", 8
	}
	for _, tt := range []struct {
		name     string
		networks int
		want     int
	}{
		{"one network: its lockout", 1, otpreset.DefaultLockoutAttempts},
		{"40 networks: the phone's budget", 40, 8},
	} {
		t.Run(tt.name, func(t *testing.T) {
			env := otpresettest.New(t, burst)
			env.AddUser(phone, oldPass)
			env.Send(phone)
			var compared, locked atomic.Int32
			var wg sync.WaitGroup
			for i := range 40 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					switch resetFrom(env, fmt.Sprintf("203.0.113.%d", i%tt.networks+1), phone, "000000", "").Code {
					case 401:
						compared.Add(1)
					case 403:
						locked.Add(1)
					}
				}()
			}
			wg.Wait()
			assert.Equal(t, int32(tt.want), compared.Load())
			assert.Equal(t, int32(40-tt.want), locked.Load())
		})
	}
}

// TestConcurrentRightCodesDoNotLock: a double-click (here ten clicks) with
// the right code is one success and failures that are not counted as
// guesses, so the phone is not locked: four wrong codes later, the user's
// fifth try with a new code still gets through. (While the ten are in
// flight each holds a guess, so some may see the lockout their guesses
// start, 1198; none is counted once it has compared the right code.)
func TestConcurrentRightCodesDoNotLock(t *testing.T) {
	env := otpresettest.New(t, noRateLimits)
	env.AddUser(phone, oldPass)
	env.Send(phone)
	code := env.Code(phone)
	statuses := make(chan int, 10)
	var wg sync.WaitGroup
	for i := range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses <- resetFrom(env, fmt.Sprintf("192.0.2.%d", i+1), phone, code, "").Code
		}()
	}
	wg.Wait()
	close(statuses)
	count := map[int]int{}
	for s := range statuses {
		count[s]++
	}
	assert.Equal(t, 1, count[200], "one success: %v", count)
	assert.Equal(t, 9, count[401]+count[403], "the others are refused: %v", count)

	env.Send(phone)
	for range otpreset.DefaultLockoutAttempts - 1 {
		assert.Equal(t, 401, env.Reset(phone, "000000", "another password 1").Code)
	}
	rec := env.Reset(phone, env.Code(phone), "another password 1")
	assert.Equal(t, 200, rec.Code, "not locked: the nine were not guesses: %s", rec.Body)
}

// TestUnlock: an operator lifts a lockout through the library's API.
func TestUnlock(t *testing.T) {
	env := otpresettest.New(t, noRateLimits)
	env.AddUser(phone, oldPass)
	env.Send(phone)
	for range otpreset.DefaultLockoutAttempts {
		env.Reset(phone, "000000", newPass)
	}
	require.Equal(t, float64(1198), errorCode(t, env.Reset(phone, env.Code(phone), newPass).Body.Bytes()))
	require.NoError(t, env.Handler.Unlock(context.Background(), otpresettest.TenantID, "+91 99999 99999"))
	assert.Equal(t, 200, env.Reset(phone, env.Code(phone), newPass).Code)
	assert.ErrorIs(t, env.Handler.Unlock(context.Background(), otpresettest.TenantID, "not a phone"), otpreset.ErrInvalidPhone)
}

// observed records Observer calls.
type observed struct {
	mu  sync.Mutex
	sms []string
}

func (o *observed) Answered(string, int, int, time.Duration) {}
func (o *observed) SMS(_, outcome string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.sms = append(o.sms, outcome)
}
func (o *observed) Lockout(string)               {}
func (o *observed) CaptchaFailed(string, string) {}
func (o *observed) Hashed(time.Duration)         {}
func (o *observed) outcomes() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.sms...)
}

// sendShape is what a send answer shows: status, body keys and AccountSid.
func sendShape(t *testing.T, rec *httptest.ResponseRecorder) string {
	m := decode(t, rec.Body.Bytes())
	data, _ := m["Data"].(map[string]any)
	return fmt.Sprintf("%d %v %v %d", rec.Code, m["IsPosted"], data["AccountSid"], len(data))
}

// TestCapRefusalLooksLikeAnUnknownPhone: once the tenant's daily SMS cap is
// reached, a known phone is answered exactly as an unknown one (it got
// 429/1179 while an unknown one got 200); the refusal is logged at error
// level and counted; no code is stored, so the phone's earlier code still
// works.
func TestCapRefusalLooksLikeAnUnknownPhone(t *testing.T) {
	obs := &observed{}
	var logs syncBuffer
	env := otpresettest.New(t, func(c *otpreset.Config, tn *otpreset.Tenant) {
		noRateLimits(c, tn)
		tn.Limits.SMSPerTenantDay = "1-1D"
		c.Observer = obs
		c.Logger = newJSONLogger(&logs)
	})
	env.AddUser(phone, oldPass)
	other := "+14155550101"
	env.AddUser(other, oldPass)
	require.Equal(t, 200, env.Send(phone).Code)
	code := env.Code(phone)

	capped := env.Send(other)
	unknown := env.Send("+14155550199")
	assert.Equal(t, sendShape(t, unknown), sendShape(t, capped))
	assert.Len(t, env.Sender.Messages(), 1, "no SMS past the cap")
	assert.Contains(t, obs.outcomes(), "capped")
	assert.Contains(t, logs.String(), `"level":"ERROR"`)
	assert.Contains(t, logs.String(), "tenant daily SMS cap")

	// A capped resend stores nothing: the phone's earlier code still works.
	require.Equal(t, sendShape(t, unknown), sendShape(t, env.Send(phone)))
	assert.Equal(t, 200, env.Reset(phone, code, newPass).Code)
}

// TestPumpingRefusalKeepsTheEarlierCode: a send the SMS-pumping guard
// refuses stores no code, so it cannot replace the user's real one.
func TestPumpingRefusalKeepsTheEarlierCode(t *testing.T) {
	env := otpresettest.New(t, func(c *otpreset.Config, tn *otpreset.Tenant) {
		noRateLimits(c, tn)
		tn.Pumping.PrefixDailyCap = "1-1D"
	})
	env.AddUser(phone, oldPass)
	neighbour := "+919999999998" // same 6-digit prefix
	env.AddUser(neighbour, oldPass)
	require.Equal(t, 200, env.Send(neighbour).Code)
	code := env.Code(neighbour)
	require.Equal(t, 200, env.Send(phone).Code)
	assert.Empty(t, env.Code(phone), "the prefix cap refused the second phone")
	// The neighbour was counted already today: its resend goes out, with
	// the code it holds (a live code is sent again, never replaced).
	before := len(env.Sender.Messages())
	require.Equal(t, 200, env.Send(neighbour).Code)
	require.Len(t, env.Sender.Messages(), before+1, "the resend went out")
	assert.Equal(t, code, env.Code(neighbour))
	assert.Equal(t, 200, env.Reset(neighbour, env.Code(neighbour), newPass).Code)
}

// TestPrefixCapCountsDistinctPhones: 67 accounts sending 3 codes each in one
// number prefix (201 messages) once silenced the prefix for a day; the cap
// counts distinct phones, so the victim's code still goes out, while a
// pumping burst over many new numbers is still stopped at the cap.
func TestPrefixCapCountsDistinctPhones(t *testing.T) {
	env := otpresettest.New(t, noRateLimits)
	for i := range 67 {
		p := fmt.Sprintf("+9199999%05d", i)
		env.AddUser(p, oldPass)
		for range 3 {
			require.Equal(t, 200, env.Send(p).Code)
		}
	}
	victim := "+919999988888"
	env.AddUser(victim, oldPass)
	require.Equal(t, 200, env.Send(victim).Code)
	assert.NotEmpty(t, env.Code(victim), "the victim's code goes out")

	sent := 0
	for i := range 250 {
		p := fmt.Sprintf("+9198765%05d", i)
		env.AddUser(p, oldPass)
		require.Equal(t, 200, env.Send(p).Code)
		if env.Code(p) != "" {
			sent++
		}
	}
	assert.Equal(t, 200, sent, "the default cap: 200 distinct phones a prefix a day")
}

// countingStore records which store calls a request makes.
type countingStore struct {
	*memstore.Store
	mu    sync.Mutex
	calls []string
}

func (c *countingStore) record(op string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls = append(c.calls, op)
}

func (c *countingStore) take() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.calls
	c.calls = nil
	return out
}

func (c *countingStore) UserByPhone(ctx context.Context, tenant, phone string) (store.User, error) {
	c.record("UserByPhone")
	return c.Store.UserByPhone(ctx, tenant, phone)
}

func (c *countingStore) CheckCode(ctx context.Context, a store.Attempt) (store.Verdict, error) {
	c.record("CheckCode")
	return c.Store.CheckCode(ctx, a)
}

func (c *countingStore) IssueCode(ctx context.Context, iss store.Issue) (store.Issued, error) {
	c.record("IssueCode")
	return c.Store.IssueCode(ctx, iss)
}

func (c *countingStore) IssueChallenge(ctx context.Context, iss store.Issue) (store.Issued, error) {
	c.record("IssueChallenge")
	return c.Store.IssueChallenge(ctx, iss)
}

// TestUnknownPhoneSameStoreWork: a wrong-code reset for an unknown phone
// makes the same store calls as one for a known phone, and neither reads
// the user (its hash and profile would make a known phone slower); so does
// a send.
func TestUnknownPhoneSameStoreWork(t *testing.T) {
	cs := &countingStore{Store: memstore.New()}
	env := otpresettest.New(t, otpresettest.WithStore(cs), noRateLimits)
	env.AddUser(phone, oldPass)
	unknown := "+14155550177"
	env.Send(phone)
	env.Send(unknown)
	cs.take()

	env.Reset(phone, "000000", newPass)
	known := cs.take()
	env.Reset(unknown, "000000", newPass)
	assert.Equal(t, known, cs.take())
	assert.Equal(t, []string{"CheckCode"}, known, "a wrong code is one store call, and reads no user")

	env.Send(phone)
	knownSend := cs.take()
	env.Send(unknown)
	assert.Equal(t, knownSend, cs.take())
	assert.Equal(t, []string{"IssueCode"}, knownSend, "a send is one store call")
}

// plainSender is a custom sender with its provider's own AccountSid.
type plainSender struct{ sent atomic.Int32 }

func (p *plainSender) Send(context.Context, sms.Message) (sms.Receipt, error) {
	p.sent.Add(1)
	return sms.Receipt{AccountSid: "AC11111111111111111111111111111111", Sid: "SM" + strings.Repeat("2", 32)}, nil
}

// TestAccountSidOneValuePerTenant: every send answer of a tenant shows the
// same AccountSid whichever sender served it and whether or not the phone
// exists; a custom sender once showed a derived one for unknown phones until
// its first real send, and its own after.
func TestAccountSidOneValuePerTenant(t *testing.T) {
	for _, tc := range []struct {
		name   string
		sender sms.Sender
	}{
		{"custom sender", &plainSender{}},
		{"failover served by its second sender", &sms.Failover{Senders: []sms.Sender{
			sms.SenderFunc(func(context.Context, sms.Message) (sms.Receipt, error) { return sms.Receipt{}, fmt.Errorf("down") }),
			&plainSender{},
		}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := otpresettest.New(t, func(c *otpreset.Config, tn *otpreset.Tenant) {
				noRateLimits(c, tn)
				c.Sender = tc.sender
			})
			env.AddUser(phone, oldPass)
			sids := map[string]bool{}
			for _, p := range []string{"+14155550123", phone, "+14155550124", phone} {
				data := decode(t, env.Send(p).Body.Bytes())["Data"].(map[string]any)
				sids[data["AccountSid"].(string)] = true
			}
			assert.Len(t, sids, 1, "one AccountSid: %v", sids)
		})
	}
}

// TestResetNotice: after every successful reset the phone's owner gets an
// SMS saying the password was changed, worded by the tenant's notice
// (resetpasswordsmstemplate picks one), with no code in it; a tenant can
// turn it off; a failing notice never fails the reset.
func TestResetNotice(t *testing.T) {
	templates, err := sms.NewLocalizedTemplates(sms.TemplateConfig{
		Notice: map[string]map[string]string{
			"short": {"en": "{{.AppName}}: your password was changed at {{.Time.Format \"15:04\"}}. Not you? Call {{.Support}}."},
			"plain": {"en": "Your {{.AppName}} password was changed.", "fr": "Votre mot de passe {{.AppName}} a changé."},
		},
	})
	require.NoError(t, err)
	notices := func(env *otpresettest.Env) []sms.Message {
		var out []sms.Message
		for _, m := range env.Sender.Messages() {
			if m.Code == "" {
				out = append(out, m)
			}
		}
		return out
	}
	t.Run("sent, worded, no code", func(t *testing.T) {
		env := otpresettest.New(t, func(_ *otpreset.Config, tn *otpreset.Tenant) {
			tn.AppName, tn.Support, tn.SMSTemplates = "Acme", "+1 800 555 0100", templates
		})
		env.AddUser(phone, oldPass)
		env.Send(phone)
		code := env.Code(phone)
		rec := env.Do(http.MethodPut, otpreset.Path+keyQuery, map[string]string{"phone": phone, "otp": code, "Password": newPass, "resetPasswordSmsTemplate": "short"}, nil)
		require.Equal(t, 200, rec.Code, rec.Body.String())
		require.Eventually(t, func() bool { return len(notices(env)) == 1 }, 5*time.Second, 5*time.Millisecond)
		n := notices(env)[0]
		assert.Equal(t, phone, n.To)
		assert.Equal(t, "Acme: your password was changed at 12:00. Not you? Call +1 800 555 0100.", n.Body)
		assert.NotContains(t, n.Body, code)
	})
	t.Run("in the request's language", func(t *testing.T) {
		env := otpresettest.New(t, func(_ *otpreset.Config, tn *otpreset.Tenant) { tn.AppName, tn.SMSTemplates = "Acme", templates })
		env.AddUser(phone, oldPass)
		env.Send(phone)
		rec := env.Do(http.MethodPut, otpreset.Path+keyQuery, map[string]string{"phone": phone, "otp": env.Code(phone), "Password": newPass, "resetpasswordsmstemplate": "plain"},
			http.Header{"Accept-Language": {"fr-CA, en;q=0.5"}})
		require.Equal(t, 200, rec.Code)
		require.Eventually(t, func() bool { return len(notices(env)) == 1 }, 5*time.Second, 5*time.Millisecond)
		assert.Equal(t, "Votre mot de passe Acme a changé.", notices(env)[0].Body)
	})
	t.Run("off", func(t *testing.T) {
		env := otpresettest.New(t, func(_ *otpreset.Config, tn *otpreset.Tenant) { tn.NoResetNotice = true })
		env.AddUser(phone, oldPass)
		env.Send(phone)
		require.Equal(t, 200, env.Reset(phone, env.Code(phone), newPass).Code)
		assert.Never(t, func() bool { return len(notices(env)) > 0 }, 100*time.Millisecond, 5*time.Millisecond)
	})
	t.Run("a failing notice never fails the reset", func(t *testing.T) {
		env := otpresettest.New(t)
		env.AddUser(phone, oldPass)
		env.Send(phone)
		env.Sender.Err = fmt.Errorf("provider down")
		require.Equal(t, 200, env.Reset(phone, env.Code(phone), newPass).Code)
		assert.True(t, env.PasswordWorks(phone, newPass))
	})
	t.Run("failed resets send none", func(t *testing.T) {
		env := otpresettest.New(t)
		env.AddUser(phone, oldPass)
		env.Send(phone)
		require.Equal(t, 401, env.Reset(phone, "000000", newPass).Code)
		assert.Never(t, func() bool { return len(notices(env)) > 0 }, 100*time.Millisecond, 5*time.Millisecond)
	})
}

// TestCodeTemplateByAcceptLanguage: the code SMS is worded in the language
// that best matches the request's Accept-Language (issue 17).
func TestCodeTemplateByAcceptLanguage(t *testing.T) {
	templates, err := sms.NewLocalizedTemplates(sms.TemplateConfig{
		Language: "en",
		Code: map[string]map[string]string{
			"otp": {"en": "Your code is {{.Code}}", "de": "Ihr Code lautet {{.Code}}", "pt-BR": "Seu código é {{.Code}}"},
		},
		DefaultCode: "otp",
	})
	require.NoError(t, err)
	env := otpresettest.New(t, func(c *otpreset.Config, tn *otpreset.Tenant) { noRateLimits(c, tn); tn.SMSTemplates = templates })
	env.AddUser(phone, oldPass)
	for lang, want := range map[string]string{"de-AT,en;q=0.3": "Ihr Code lautet ", "pt-BR": "Seu código é ", "ja": "Your code is ", "": "Your code is "} {
		rec := env.Do(http.MethodPost, otpreset.Path+keyQuery, map[string]string{"phone": phone}, http.Header{"Accept-Language": {lang}})
		require.Equal(t, 200, rec.Code)
		msgs := env.Sender.Messages()
		last := msgs[len(msgs)-1]
		assert.Equal(t, want+last.Code, last.Body, "Accept-Language %q", lang)
	}
}

// TestWhatsAppWithSMSFallback: a tenant whose channel is WhatsApp has its
// code sent by WhatsApp; when WhatsApp fails the code goes by SMS; the
// answer is the same whichever channel served it (issue 17), and the caps
// count it like any SMS.
func TestWhatsAppWithSMSFallback(t *testing.T) {
	var mu sync.Mutex
	var channels []string
	whatsappDown := atomic.Bool{}
	record := func(ch string) sms.SenderFunc {
		return func(_ context.Context, m sms.Message) (sms.Receipt, error) {
			if ch == "whatsapp" && whatsappDown.Load() {
				return sms.Receipt{}, fmt.Errorf("%w: 63016 outside the 24 h window", sms.ErrSendFailed)
			}
			mu.Lock()
			channels = append(channels, ch)
			mu.Unlock()
			return sms.Receipt{AccountSid: "AC" + strings.Repeat("1", 32), Sid: "SM" + strings.Repeat("a", 32)}, nil
		}
	}
	sender := &sms.ChannelFallback{Sender: sms.ByChannel{sms.ChannelSMS: record("sms"), sms.ChannelWhatsApp: record("whatsapp")}}
	env := otpresettest.New(t, func(c *otpreset.Config, tn *otpreset.Tenant) {
		noRateLimits(c, tn)
		c.Sender = sender
		tn.Channel = sms.ChannelWhatsApp
		tn.Limits.SMSPerTenantDay = "2-1D"
	})
	env.AddUser(phone, oldPass)
	byWhatsApp := env.Send(phone)
	require.Equal(t, 200, byWhatsApp.Code)
	whatsappDown.Store(true)
	bySMS := env.Send(phone)
	require.Equal(t, 200, bySMS.Code)
	capped := env.Send(phone)
	mu.Lock()
	assert.Equal(t, []string{"whatsapp", "sms"}, channels, "WhatsApp, then SMS when WhatsApp failed; the third is over the cap")
	mu.Unlock()
	assert.Equal(t, sendShape(t, byWhatsApp), sendShape(t, bySMS))
	assert.Equal(t, sendShape(t, byWhatsApp), sendShape(t, capped))
}
