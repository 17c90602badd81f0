package otpreset_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/otpreset/go/otpreset"
	"github.com/otpreset/go/otpreset/otpresettest"
)

type recordingObserver struct {
	mu     sync.Mutex
	events []string
	hashes int
}

func (r *recordingObserver) add(s string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, s)
}
func (r *recordingObserver) Answered(ep string, status, code int, _ time.Duration) {
	r.add(fmt.Sprintf("answered %s %d %d", ep, status, code))
}
func (r *recordingObserver) SMS(tenant, outcome string)       { r.add("sms " + tenant + " " + outcome) }
func (r *recordingObserver) Lockout(tenant string)            { r.add("lockout " + tenant) }
func (r *recordingObserver) CaptchaFailed(tenant, why string) { r.add("captcha " + tenant + " " + why) }
func (r *recordingObserver) Hashed(time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.hashes++
}

func TestObserverSeesOutcomes(t *testing.T) {
	obs := &recordingObserver{}
	env := otpresettest.New(t, func(c *otpreset.Config, _ *otpreset.Tenant) { c.Observer = obs })
	env.AddUser(phone, oldPass)
	env.Send(phone)
	env.Send("+14155550123")
	code := env.Code(phone)
	for i := 0; i < 5; i++ {
		env.Reset(phone, wrong(code), newPass)
	}
	env.Do("GET", otpreset.Path, nil, nil)
	tn := otpresettest.TenantID
	assert.Equal(t, []string{
		"sms " + tn + " sent", "answered send 200 0",
		"sms " + tn + " unknown_phone", "answered send 200 0",
		"answered reset 401 1409", "answered reset 401 1409", "answered reset 401 1409", "answered reset 401 1409",
		"lockout " + tn, "answered reset 401 1409",
		"answered other 405 405",
	}, obs.events)
	assert.Zero(t, obs.hashes, "wrong codes cost no hash")
}
