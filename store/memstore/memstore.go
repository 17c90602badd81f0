// Package memstore is an in-memory store.Store for tests and the quickstart.
// It loses everything on restart and is not shared between processes: use
// store/postgres, store/sqlite or redisstore in production.
package memstore

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/otpreset/go/store"
)

// Store keeps users, challenges, counters and sessions in maps behind one
// mutex. It implements store.Store, store.CodeIssuer, store.Resetter and
// store.Outbox. Expired challenges and forgotten counters are swept as the
// maps grow, so its memory is bounded by what lives at once, not by what
// was ever sent. The zero value is not usable; call New.
type Store struct {
	mu         sync.Mutex
	users      map[key]store.User // by tenant+phone
	challenges map[key]*challenge
	networks   map[netKey]netEntry
	phones     map[key]store.PhoneState
	sessions   map[string]store.Session // by tenant + access token hash
	outbox     []outboxEntry
	// sweepAt is the size of the counted maps at which the next sweep
	// runs: twice what the last one left, so sweeping costs O(1) a write.
	sweepAt int
}

// netEntry is a network's counters and when nothing needs them any more:
// the end of the send window, or Retain after the last wrong code (and
// never before the lockout ends).
type netEntry struct {
	store.NetworkState
	forget time.Time
}

type key struct{ tenant, id string }

// netKey is a phone's counters for one client network.
type netKey struct{ tenant, phone, network string }

type challenge struct {
	store.Challenge
	attempts int
	used     bool
}

type outboxEntry struct {
	msg       store.OutboxMessage
	delivered bool
}

// New returns an empty Store.
func New() *Store {
	return &Store{
		users:      map[key]store.User{},
		challenges: map[key]*challenge{},
		networks:   map[netKey]netEntry{},
		phones:     map[key]store.PhoneState{},
		sessions:   map[string]store.Session{},
	}
}

// AddUser adds or replaces a user (keyed by TenantID and Phone). It never
// fails; the error is there to satisfy storetest.UserSeeder.
func (s *Store) AddUser(_ context.Context, u store.User) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u.Profile = cloneRaw(u.Profile)
	s.users[key{u.TenantID, u.Phone}] = u
	return nil
}

func cloneRaw(r json.RawMessage) json.RawMessage {
	if r == nil {
		return nil
	}
	return append(json.RawMessage(nil), r...)
}

// UserByPhone implements store.Users.
func (s *Store) UserByPhone(_ context.Context, tenantID, phone string) (store.User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[key{tenantID, phone}]
	if !ok {
		return store.User{}, fmt.Errorf("memstore: user %w", store.ErrNotFound)
	}
	u.Profile = cloneRaw(u.Profile)
	return u, nil
}

// UpdatePassword implements store.Users.
func (s *Store) UpdatePassword(_ context.Context, c store.PasswordChange) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.updatePasswordLocked(c)
}

func (s *Store) updatePasswordLocked(c store.PasswordChange) error {
	for k, u := range s.users {
		if u.TenantID == c.TenantID && u.ID == c.UserID {
			u.PasswordHash = c.PasswordHash
			if c.Profile != nil {
				u.Profile = cloneRaw(c.Profile)
			}
			s.users[k] = u
			return nil
		}
	}
	return fmt.Errorf("memstore: user %w", store.ErrNotFound)
}

// IssueCode implements store.CodeIssuer: the user looked up and the code
// issued under one lock.
func (s *Store) IssueCode(_ context.Context, iss store.Issue) (store.Issued, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, found := s.users[key{iss.Challenge.TenantID, iss.Challenge.Phone}]
	iss.NoUser = !found
	issued := s.issueLocked(iss)
	if found {
		u.Profile = cloneRaw(u.Profile)
		issued.User, issued.Found = u, true
	}
	return issued, nil
}

// IssueChallenge implements store.Challenges.
func (s *Store) IssueChallenge(_ context.Context, iss store.Issue) (store.Issued, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.issueLocked(iss), nil
}

func (s *Store) issueLocked(iss store.Issue) store.Issued {
	c, now := iss.Challenge, iss.Challenge.CreatedAt
	nk := netKey{c.TenantID, c.Phone, iss.Network}
	e := s.networks[nk]
	n, issued := store.NextIssue(e.NetworkState, iss)
	if iss.SendLimit.Limit > 0 {
		s.putNetworkLocked(nk, netEntry{n, latest(e.forget, n.SendsReset)}, now)
	}
	if issued.Limited || iss.NoUser {
		return issued
	}
	k := key{c.TenantID, c.Phone}
	if old, ok := s.challenges[k]; ok && store.Live(old.Challenge, old.used, old.attempts, now) {
		issued.Challenge = cloneChallenge(old.Challenge)
		return issued
	}
	c = cloneChallenge(c)
	s.challenges[k] = &challenge{Challenge: c}
	issued.Challenge = cloneChallenge(c)
	s.sweepLocked(now)
	return issued
}

func cloneChallenge(c store.Challenge) store.Challenge {
	c.Nonce = append([]byte(nil), c.Nonce...)
	c.CodeHash = append([]byte(nil), c.CodeHash...)
	return c
}

// CheckCode implements store.Challenges: store.NextAttempt under the lock.
func (s *Store) CheckCode(_ context.Context, a store.Attempt) (store.Verdict, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	nk := netKey{a.Check.TenantID, a.Check.Phone, a.Network}
	pk := key{a.Check.TenantID, a.Check.Phone}
	e := s.networks[nk]
	n, ph, v := store.NextAttempt(e.NetworkState, s.phones[pk], a, func() error {
		_, err := s.checkLocked(a.Check)
		return err
	})
	if v.Counted {
		forget := latest(e.forget, n.LockedUntil, n.Seen.Add(max(a.Policy.Retain, a.Policy.MaxLockout)))
		if !ph.BudgetAt.IsZero() {
			s.phones[pk] = ph
		}
		s.putNetworkLocked(nk, netEntry{n, forget}, a.Check.Now)
	}
	return v, nil
}

func (s *Store) putNetworkLocked(k netKey, e netEntry, now time.Time) {
	s.networks[k] = e
	s.sweepLocked(now)
}

// sweepLocked drops expired challenges and counters nothing can need any
// more, once the maps have doubled since the last sweep.
func (s *Store) sweepLocked(now time.Time) {
	if len(s.challenges)+len(s.networks)+len(s.phones) < max(s.sweepAt, 1024) {
		return
	}
	for k, c := range s.challenges {
		if !now.Before(c.ExpiresAt) {
			delete(s.challenges, k)
		}
	}
	for k, e := range s.networks {
		if !now.Before(e.forget) {
			delete(s.networks, k)
		}
	}
	for k, p := range s.phones {
		if !now.Before(p.BudgetAt) { // the budget is whole again
			delete(s.phones, k)
		}
	}
	s.sweepAt = 2 * (len(s.challenges) + len(s.networks) + len(s.phones))
}

func latest(ts ...time.Time) time.Time {
	var l time.Time
	for _, t := range ts {
		if t.After(l) {
			l = t
		}
	}
	return l
}

// Size reports how many challenges and counters the store holds (for the
// memory tests: it stays bounded by what is live).
func (s *Store) Size() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.challenges) + len(s.networks) + len(s.phones)
}

// ClearCounters implements store.Challenges.
func (s *Store) ClearCounters(_ context.Context, tenantID, phone string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clearCountersLocked(tenantID, phone)
	return nil
}

func (s *Store) clearCountersLocked(tenantID, phone string) {
	delete(s.phones, key{tenantID, phone})
	for k := range s.networks {
		if k.tenant == tenantID && k.phone == phone {
			delete(s.networks, k)
		}
	}
}

// ConsumeChallenge implements store.Challenges.
func (s *Store) ConsumeChallenge(_ context.Context, check store.CodeCheck) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.checkLocked(check)
	if err != nil {
		return err
	}
	c.used = true
	return nil
}

func (s *Store) checkLocked(check store.CodeCheck) (*challenge, error) {
	c, ok := s.challenges[key{check.TenantID, check.Phone}]
	switch {
	case !ok:
		return nil, fmt.Errorf("memstore: %w", store.ErrNoChallenge)
	case c.used:
		// Only the code that was used is told so (a concurrent success, not a
		// guess); any other code is simply wrong.
		if subtle.ConstantTimeCompare(c.CodeHash, check.CodeHash) == 1 {
			return nil, fmt.Errorf("memstore: %w", store.ErrChallengeUsed)
		}
		return nil, fmt.Errorf("memstore: %w", store.ErrCodeMismatch)
	case !check.Now.Before(c.ExpiresAt):
		return nil, fmt.Errorf("memstore: %w", store.ErrChallengeExpired)
	case c.attempts >= c.MaxAttempts:
		return nil, fmt.Errorf("memstore: %w", store.ErrTooManyAttempts)
	}
	if subtle.ConstantTimeCompare(c.CodeHash, check.CodeHash) != 1 {
		c.attempts++
		return nil, fmt.Errorf("memstore: %w", store.ErrCodeMismatch)
	}
	return c, nil
}

func sessionKey(tenantID string, accessHash []byte) string {
	return tenantID + "\x00" + string(accessHash)
}

// CreateSession implements store.Sessions.
func (s *Store) CreateSession(_ context.Context, sess store.Session) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sessions[sessionKey(sess.TenantID, sess.AccessTokenHash)] = sess
	return nil
}

// LookupSession finds a live session by the hash of its access token (for
// hosts that accept the access_token a reset issued; otpreset never calls
// it), or returns an error wrapping store.ErrNotFound.
func (s *Store) LookupSession(_ context.Context, tenantID string, accessHash []byte, now time.Time) (store.Session, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.sessions[sessionKey(tenantID, accessHash)]
	if !ok || !now.Before(sess.ExpiresAt) {
		return store.Session{}, fmt.Errorf("memstore: session %w", store.ErrNotFound)
	}
	return sess, nil
}

// RevokeSessions implements store.Sessions.
func (s *Store) RevokeSessions(_ context.Context, tenantID, userID string) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.revokeLocked(tenantID, userID), nil
}

func (s *Store) revokeLocked(tenantID, userID string) int {
	n := 0
	for k, sess := range s.sessions {
		if sess.TenantID == tenantID && sess.UserID == userID {
			delete(s.sessions, k)
			n++
		}
	}
	return n
}

// Reset implements store.Resetter: all of r under one lock, or nothing.
func (s *Store) Reset(_ context.Context, r store.Reset) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.checkLocked(r.Check)
	if err != nil {
		return err
	}
	if err := s.updatePasswordLocked(r.Change); err != nil {
		return err
	}
	c.used = true
	s.clearCountersLocked(r.Check.TenantID, r.Check.Phone)
	s.revokeLocked(r.Change.TenantID, r.Change.UserID)
	if r.NewSession != nil {
		s.sessions[sessionKey(r.NewSession.TenantID, r.NewSession.AccessTokenHash)] = *r.NewSession
	}
	for _, m := range r.Outbox {
		m.Payload = cloneRaw(m.Payload)
		s.outbox = append(s.outbox, outboxEntry{msg: m})
	}
	return nil
}

// PendingOutbox implements store.Outbox.
func (s *Store) PendingOutbox(_ context.Context, limit int) ([]store.OutboxMessage, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []store.OutboxMessage
	for _, e := range s.outbox {
		if len(out) >= limit {
			break
		}
		if !e.delivered {
			out = append(out, e.msg)
		}
	}
	return out, nil
}

// MarkDelivered implements store.Outbox.
func (s *Store) MarkDelivered(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.outbox {
		if s.outbox[i].msg.ID == id {
			s.outbox[i].delivered = true
			return nil
		}
	}
	return fmt.Errorf("memstore: outbox message %w", store.ErrNotFound)
}
