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

// Store keeps users, challenges and sessions in maps behind one mutex. It
// implements store.Store, store.Resetter, store.Outbox and store.Guesses. The zero value is
// not usable; call New.
type Store struct {
	Guesses // the guessing budget, behind its own mutex

	mu         sync.Mutex
	users      map[key]store.User // by tenant+phone
	challenges map[key]*challenge
	sessions   map[string]store.Session // by tenant + access token hash
	outbox     []outboxEntry
}

type key struct{ tenant, id string }

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

// SaveChallenge implements store.Challenges.
func (s *Store) SaveChallenge(_ context.Context, c store.Challenge) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c.CodeHash = append([]byte(nil), c.CodeHash...)
	s.challenges[key{c.TenantID, c.Phone}] = &challenge{Challenge: c}
	return nil
}

// VerifyChallenge implements store.Challenges.
func (s *Store) VerifyChallenge(_ context.Context, check store.CodeCheck) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, err := s.checkLocked(check)
	return err
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

var _ store.SessionLookup = (*Store)(nil)

// LookupSession implements store.SessionLookup.
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
	if r.ClearGuesses {
		_ = s.Guesses.ClearGuesses(context.Background(), store.GuessKey{TenantID: r.Check.TenantID, Phone: r.Check.Phone})
	}
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
