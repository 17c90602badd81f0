// Package storetest is the conformance suite for store.Store adapters. Every
// adapter in this module runs it, and a third party's adapter can too:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store {
//			return newEmptyStoreForTest(t) // fresh and empty on every call
//		})
//	}
//
// The store returned by newStore must be empty and must also implement
// UserSeeder, so the suite can create the users it needs. When an adapter
// reads users from a host's own table and cannot add them, wrap it in a small
// type that embeds the adapter (so its other methods, including Reset and the
// Outbox, are promoted) and adds AddUser writing to the host table.
//
// A store over a host's users table may not be able to give every guarantee
// of a full store: its table may have no tenant column, no profile column, or
// ids the database generates. The host declares that with a Shape, and
// Shape.Run tests exactly what that shape can give, and still fails on every
// real defect (an update of the wrong row, a lost hash, a tenant ignored by a
// store that claims tenants, a code used twice):
//
//	storetest.Shape{SingleTenantUsers: true, NoProfile: true, StoreAssignsIDs: true}.Run(t, newStore)
//
// When the store also implements store.Resetter and store.Outbox, the suite
// checks their contract as well (an atomic Reset, durable outbox messages),
// and likewise store.UserCodeVerifier and store.UserChallengeSaver.
//
// Times in the suite are whole seconds near the real clock, so adapters that
// keep second precision or rely on real-time TTLs (Redis) pass; expiry is
// always decided by the time passed in (CodeCheck.Now, the now of
// LookupSession), never by the adapter's own clock.
//
// Session lookup (store.SessionLookup) is optional: the suite looks sessions
// up when the store implements it, and otherwise checks revocation through
// the counts RevokeSessions reports. A challenge is expired at
// its ExpiresAt instant (Now >= ExpiresAt), and so is a session.
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otpreset/go/store"
)

// UserSeeder is implemented by the store under test so the suite can create
// users. AddUser adds u (keyed by TenantID and Phone, with ID unique within
// the tenant), replacing any user with the same tenant and phone.
type UserSeeder interface {
	AddUser(ctx context.Context, u store.User) error
}

// Tenants and phones used throughout the suite.
const (
	tenantA = "tenant-a"
	tenantB = "tenant-b"
	phone1  = "+919999999999"
	phone2  = "+14155550123"
)

// Shape is what a store's users can be, for a store over a host's own users
// table. The zero Shape is a full store (the built-in adapters, otpreset's
// own users table): tenants kept apart, the profile kept whole, the ids the
// suite gives kept. Challenges, sessions, resets and the outbox are tested
// in full whatever the shape.
type Shape struct {
	// SingleTenantUsers: users are found by phone alone and updated by id
	// alone (a table without a tenant column). The suite then adds users to
	// one tenant only and does not test that users of one tenant are
	// invisible from another. A store that keeps tenants must leave it false,
	// or the suite cannot catch a query that forgets the tenant.
	SingleTenantUsers bool
	// NoProfile: the store keeps no profile. UserByPhone must still return a
	// JSON object (an empty one is fine) and UpdatePassword must still
	// replace the hash; the profile's content is not compared.
	NoProfile bool
	// StoreAssignsIDs: AddUser ignores User.ID and the store (an INTEGER
	// PRIMARY KEY, an identity or uuid default) chooses it. The suite learns
	// each user's id from UserByPhone right after adding it, and from then
	// on requires that id back.
	StoreAssignsIDs bool
	// MissingUserID is an id that no user has, written as the store's ids
	// are, so that looking it up is a clean miss rather than a type error
	// (PostgreSQL refuses 'no-such-user' for an integer column). Empty means
	// "no-such-user", or "0" when StoreAssignsIDs (databases start their
	// integer ids at 1; set it for uuid ids).
	MissingUserID string
}

func (sh Shape) missingID() string {
	switch {
	case sh.MissingUserID != "":
		return sh.MissingUserID
	case sh.StoreAssignsIDs:
		return "0"
	}
	return "no-such-user"
}

// Run runs the whole conformance suite for a full store (the zero Shape).
// newStore is called once per subtest and must return a fresh, empty store
// that implements store.Store and UserSeeder; it registers its own cleanup
// with t.Cleanup.
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Helper()
	Shape{}.Run(t, newStore)
}

// Run runs the conformance suite for a store of this shape; see the
// package's Run for newStore.
func (sh Shape) Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Helper()
	h := harness{newStore: newStore, shape: sh}
	t.Run("Users", func(t *testing.T) {
		t.Run("TenantsIsolated", h.testTenantsIsolated)
		t.Run("UserByPhoneNotFound", h.testUserByPhoneNotFound)
		t.Run("ProfileKeptWhole", h.testProfileKeptWhole)
		t.Run("UpdatePasswordNotFound", h.testUpdatePasswordNotFound)
	})
	t.Run("Challenges", func(t *testing.T) {
		t.Run("NoChallenge", h.testNoChallenge)
		t.Run("SavedAndReplaced", h.testSavedAndReplaced)
		t.Run("ReplaceUsed", h.testReplaceUsed)
		t.Run("Expired", h.testExpired)
		t.Run("Consumed", h.testConsumed)
		t.Run("VerifyDoesNotConsume", h.testVerifyDoesNotConsume)
		t.Run("AttemptCounting", h.testAttemptCounting)
		t.Run("ConcurrentConsumeSingleUse", h.testConcurrentConsume)
		t.Run("ConcurrentWrongTries", h.testConcurrentWrongTries)
		t.Run("UsedAnswersOnlyItsCode", h.testUsedAnswersOnlyItsCode)
	})
	t.Run("Guesses", h.runGuesses)
	t.Run("Sessions", func(t *testing.T) {
		t.Run("CreateLookupExpiry", h.testSessionLookup)
		t.Run("Revoke", h.testSessionRevoke)
	})
	t.Run("Resetter", func(t *testing.T) {
		if _, ok := newStore(t).(store.Resetter); !ok {
			t.Skip("store does not implement store.Resetter")
		}
		t.Run("Success", h.testResetSuccess)
		t.Run("WithoutNewSession", h.testResetWithoutSession)
		t.Run("WrongCode", h.testResetWrongCode)
		t.Run("UnknownUser", h.testResetUnknownUser)
		t.Run("UnusableCode", h.testResetUnusableCode)
		t.Run("ConcurrentSingleUse", h.testResetConcurrent)
	})
	t.Run("UserCodeVerifier", func(t *testing.T) {
		if _, ok := newStore(t).(store.UserCodeVerifier); !ok {
			t.Skip("store does not implement store.UserCodeVerifier")
		}
		t.Run("Verdicts", h.testVerifyUserCode)
		t.Run("ConcurrentWrongTries", h.testVerifyUserCodeConcurrent)
	})
	t.Run("UserChallengeSaver", func(t *testing.T) {
		if _, ok := newStore(t).(store.UserChallengeSaver); !ok {
			t.Skip("store does not implement store.UserChallengeSaver")
		}
		t.Run("SavedAndFound", h.testSaveChallengeFindUser)
	})
	t.Run("Outbox", func(t *testing.T) {
		s := newStore(t)
		_, isOutbox := s.(store.Outbox)
		_, isResetter := s.(store.Resetter)
		if !isOutbox || !isResetter {
			t.Skip("store does not implement both store.Resetter and store.Outbox")
		}
		t.Run("PendingUntilDelivered", h.testOutbox)
	})
}

type harness struct {
	newStore func(t *testing.T) store.Store
	shape    Shape
}

// fresh returns a new store and the time base of the test.
func (h harness) fresh(t *testing.T) (store.Store, time.Time) {
	t.Helper()
	s := h.newStore(t)
	require.NotNil(t, s, "newStore returned nil")
	_, ok := s.(UserSeeder)
	require.Truef(t, ok, "%T does not implement storetest.UserSeeder (AddUser(ctx, store.User) error)", s)
	return s, base()
}

func base() time.Time { return time.Now().UTC().Truncate(time.Second) }

// ctxOf is the test's context, without a deadline of its own (see
// sqltest.Ctx): go test's -timeout bounds a test that hangs.
func ctxOf(t *testing.T) context.Context { return t.Context() }

// addUser seeds u and returns it as the store now holds it: with the id the
// store chose (StoreAssignsIDs) and the profile it keeps (NoProfile). It
// checks what a lookup right after must give in any shape: the phone's user,
// with the hash that was added.
func (sh Shape) addUser(t *testing.T, s store.Store, u store.User) store.User {
	t.Helper()
	require.NoError(t, s.(UserSeeder).AddUser(ctxOf(t), u), "AddUser")
	if !sh.StoreAssignsIDs && !sh.NoProfile {
		return u
	}
	got, err := s.UserByPhone(ctxOf(t), u.TenantID, u.Phone)
	require.NoError(t, err, "UserByPhone right after AddUser")
	require.NotEmpty(t, got.ID, "the store must give the user an id")
	require.NotEqual(t, sh.missingID(), got.ID, "the store gave a user the id Shape.MissingUserID names")
	assert.Equal(t, u.PasswordHash, got.PasswordHash, "PasswordHash right after AddUser")
	if sh.StoreAssignsIDs {
		u.ID = got.ID
	}
	if sh.NoProfile {
		u.Profile = got.Profile
	}
	return u
}

func randomBytes(t testing.TB, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return b
}

func profileOf(uid, phone string) json.RawMessage {
	return json.RawMessage(fmt.Sprintf(`{"Uid":%q,"FirstName":"Asha","PhoneId":%q,
		"Email":[{"Type":"Primary","Value":"asha@example.com"}],
		"CustomFields":{"plan":"gold","nested":{"deep":[1,2.5,{"x":null}],"flag":true}},
		"UnknownFutureField":"ünïcödé ✓","LastPasswordChangeDate":null}`, uid, phone))
}

func newUser(tenant, id, phone string) store.User {
	return store.User{
		TenantID:     tenant,
		ID:           id,
		Phone:        phone,
		PasswordHash: "$argon2id$v=19$m=65536,t=1,p=2$" + tenant + id + "$oldhash",
		Profile:      profileOf(id, phone),
	}
}

func newChallenge(t testing.TB, tenant, phone string, now time.Time, maxAttempts int) store.Challenge {
	return store.Challenge{
		TenantID:    tenant,
		Phone:       phone,
		CodeHash:    randomBytes(t, 32),
		CreatedAt:   now,
		ExpiresAt:   now.Add(5 * time.Minute),
		MaxAttempts: maxAttempts,
	}
}

func check(c store.Challenge, codeHash []byte, now time.Time) store.CodeCheck {
	return store.CodeCheck{TenantID: c.TenantID, Phone: c.Phone, CodeHash: codeHash, Now: now}
}

func newSession(t testing.TB, tenant, userID string, now time.Time) store.Session {
	return store.Session{
		ID:               fmt.Sprintf("sess-%x", randomBytes(t, 8)),
		TenantID:         tenant,
		UserID:           userID,
		AccessTokenHash:  randomBytes(t, 32),
		RefreshTokenHash: randomBytes(t, 32),
		CreatedAt:        now,
		ExpiresAt:        now.Add(time.Hour),
	}
}

func (sh Shape) requireUser(t *testing.T, want, got store.User) {
	t.Helper()
	assert.Equal(t, want.TenantID, got.TenantID, "TenantID")
	assert.Equal(t, want.ID, got.ID, "ID")
	assert.Equal(t, want.Phone, got.Phone, "Phone")
	assert.Equal(t, want.PasswordHash, got.PasswordHash, "PasswordHash")
	if sh.NoProfile {
		var obj map[string]any
		require.NoErrorf(t, json.Unmarshal(got.Profile, &obj), "Profile must be a JSON object, even without a profile column: %q", got.Profile)
		require.NotNil(t, obj, "Profile must be a JSON object, not null")
		return
	}
	require.JSONEq(t, string(want.Profile), string(got.Profile), "Profile")
}

func requireSession(t *testing.T, want, got store.Session) {
	t.Helper()
	assert.Equal(t, want.ID, got.ID, "ID")
	assert.Equal(t, want.TenantID, got.TenantID, "TenantID")
	assert.Equal(t, want.UserID, got.UserID, "UserID")
	assert.Equal(t, want.AccessTokenHash, got.AccessTokenHash, "AccessTokenHash")
	assert.Equal(t, want.RefreshTokenHash, got.RefreshTokenHash, "RefreshTokenHash")
	assert.Truef(t, want.CreatedAt.Equal(got.CreatedAt), "CreatedAt: want %v, got %v", want.CreatedAt, got.CreatedAt)
	assert.Truef(t, want.ExpiresAt.Equal(got.ExpiresAt), "ExpiresAt: want %v, got %v", want.ExpiresAt, got.ExpiresAt)
}

// lookup returns s as a store.SessionLookup, or nil when s is none: then
// requireLive and requireGone check nothing, and only RevokeSessions's
// counts (requireRevokes) tell which sessions are live.
func lookup(s store.Store) store.SessionLookup {
	l, _ := s.(store.SessionLookup)
	return l
}

func requireLive(t *testing.T, s store.Store, sess store.Session, now time.Time) {
	t.Helper()
	l := lookup(s)
	if l == nil {
		return
	}
	got, err := l.LookupSession(ctxOf(t), sess.TenantID, sess.AccessTokenHash, now)
	require.NoError(t, err, "session %s should be live", sess.ID)
	requireSession(t, sess, got)
}

func requireGone(t *testing.T, s store.Store, sess store.Session, now time.Time) {
	t.Helper()
	l := lookup(s)
	if l == nil {
		return
	}
	_, err := l.LookupSession(ctxOf(t), sess.TenantID, sess.AccessTokenHash, now)
	require.ErrorIsf(t, err, store.ErrNotFound, "session %s should be gone", sess.ID)
}

// requireRevokes revokes the user's sessions and checks how many were live:
// the check of revocation that needs no SessionLookup. It ends the user's
// sessions, so tests call it last.
func requireRevokes(t *testing.T, s store.Store, tenantID, userID string, want int, msg string) {
	t.Helper()
	n, err := s.RevokeSessions(ctxOf(t), tenantID, userID)
	require.NoError(t, err)
	assert.Equal(t, want, n, "live sessions of %s/%s: %s", tenantID, userID, msg)
}

// --- users ---

func (h harness) testTenantsIsolated(t *testing.T) {
	s, now := h.fresh(t)
	ctx := ctxOf(t)
	sh := h.shape
	ua := sh.addUser(t, s, newUser(tenantA, "user-1", phone1))
	if !sh.SingleTenantUsers {
		// Same phone and even the same user ID in two tenants: two users.
		ub := newUser(tenantB, "user-1", phone1)
		ub.Profile = json.RawMessage(`{"Uid":"user-1","FirstName":"Other tenant"}`)
		ub.PasswordHash += "-b"
		ub = sh.addUser(t, s, ub)

		got, err := s.UserByPhone(ctx, tenantA, phone1)
		require.NoError(t, err)
		sh.requireUser(t, ua, got)
		got, err = s.UserByPhone(ctx, tenantB, phone1)
		require.NoError(t, err)
		sh.requireUser(t, ub, got)

		// A password change in A leaves B alone.
		change := store.PasswordChange{TenantID: tenantA, UserID: ua.ID, PasswordHash: "$argon2id$new-a",
			Profile: json.RawMessage(`{"Uid":"user-1","Changed":true}`), ChangedAt: now}
		require.NoError(t, s.UpdatePassword(ctx, change))
		got, err = s.UserByPhone(ctx, tenantB, phone1)
		require.NoError(t, err)
		sh.requireUser(t, ub, got)
	}

	// A challenge in A is not visible from B (challenges are otpreset's,
	// kept per tenant whatever the users' shape).
	c := newChallenge(t, tenantA, phone1, now, 5)
	require.NoError(t, s.SaveChallenge(ctx, c))
	err := s.VerifyChallenge(ctx, store.CodeCheck{TenantID: tenantB, Phone: phone1, CodeHash: c.CodeHash, Now: now})
	require.ErrorIs(t, err, store.ErrNoChallenge)
	err = s.ConsumeChallenge(ctx, store.CodeCheck{TenantID: tenantB, Phone: phone1, CodeHash: c.CodeHash, Now: now})
	require.ErrorIs(t, err, store.ErrNoChallenge)
	require.NoError(t, s.VerifyChallenge(ctx, check(c, c.CodeHash, now)), "tries from B must not touch A's code")

	// A session in A is neither found nor revoked from B.
	sa := newSession(t, tenantA, ua.ID, now)
	require.NoError(t, s.CreateSession(ctx, sa))
	if l := lookup(s); l != nil {
		_, err = l.LookupSession(ctx, tenantB, sa.AccessTokenHash, now)
		require.ErrorIs(t, err, store.ErrNotFound)
	}
	n, err := s.RevokeSessions(ctx, tenantB, ua.ID)
	require.NoError(t, err)
	assert.Equal(t, 0, n, "revoking in B must not count A's sessions")
	requireLive(t, s, sa, now)
	requireRevokes(t, s, tenantA, ua.ID, 1, "revoking in B must leave A's session")
}

func (h harness) testUserByPhoneNotFound(t *testing.T) {
	s, _ := h.fresh(t)
	h.shape.addUser(t, s, newUser(tenantA, "user-1", phone1))
	tests := []struct {
		name, tenant, phone string
		needsTenants        bool
	}{
		{"unknown phone", tenantA, phone2, false},
		{"known phone, other tenant", tenantB, phone1, true},
		{"empty phone", tenantA, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.needsTenants && h.shape.SingleTenantUsers {
				t.Skip("Shape.SingleTenantUsers: users are not kept per tenant")
			}
			_, err := s.UserByPhone(ctxOf(t), tt.tenant, tt.phone)
			require.ErrorIs(t, err, store.ErrNotFound)
		})
	}
}

func (h harness) testProfileKeptWhole(t *testing.T) {
	s, now := h.fresh(t)
	ctx := ctxOf(t)
	sh := h.shape
	u := sh.addUser(t, s, newUser(tenantA, "user-1", phone1))
	got, err := s.UserByPhone(ctx, tenantA, phone1)
	require.NoError(t, err)
	sh.requireUser(t, u, got)

	newProfile := json.RawMessage(`{"Uid":"user-1","FirstName":"Asha",
		"CustomFields":{"plan":"gold","nested":{"deep":[1,2.5,{"x":null}],"flag":true}},
		"UnknownFutureField":"ünïcödé ✓","Another":{"a":{"b":{"c":["d"]}}},
		"LastPasswordChangeDate":"2026-05-01T10:00:00Z","Empty":{},"List":[]}`)
	change := store.PasswordChange{TenantID: tenantA, UserID: u.ID,
		PasswordHash: "$argon2id$v=19$m=65536,t=1,p=2$c2FsdA$bmV3aGFzaA", Profile: newProfile, ChangedAt: now}
	require.NoError(t, s.UpdatePassword(ctx, change))

	got, err = s.UserByPhone(ctx, tenantA, phone1)
	require.NoError(t, err)
	want := u
	want.PasswordHash = change.PasswordHash
	want.Profile = newProfile
	sh.requireUser(t, want, got)
}

func (h harness) testUpdatePasswordNotFound(t *testing.T) {
	s, now := h.fresh(t)
	sh := h.shape
	u := sh.addUser(t, s, newUser(tenantA, "user-1", phone1))
	tests := []struct {
		name, tenant, userID string
		needsTenants         bool
	}{
		{"unknown user", tenantA, sh.missingID(), false},
		{"known user, other tenant", tenantB, u.ID, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.needsTenants && sh.SingleTenantUsers {
				t.Skip("Shape.SingleTenantUsers: users are not kept per tenant")
			}
			err := s.UpdatePassword(ctxOf(t), store.PasswordChange{TenantID: tt.tenant, UserID: tt.userID,
				PasswordHash: "$argon2id$x", Profile: json.RawMessage(`{}`), ChangedAt: now})
			require.ErrorIs(t, err, store.ErrNotFound)
			got, err := s.UserByPhone(ctxOf(t), tenantA, phone1)
			require.NoError(t, err)
			sh.requireUser(t, u, got)
		})
	}
}

// --- challenges ---

func (h harness) testNoChallenge(t *testing.T) {
	s, now := h.fresh(t)
	ctx := ctxOf(t)
	c := newChallenge(t, tenantA, phone1, now, 5)
	require.NoError(t, s.SaveChallenge(ctx, c))
	other := store.CodeCheck{TenantID: tenantA, Phone: phone2, CodeHash: c.CodeHash, Now: now}
	require.ErrorIs(t, s.VerifyChallenge(ctx, other), store.ErrNoChallenge)
	require.ErrorIs(t, s.ConsumeChallenge(ctx, other), store.ErrNoChallenge)
}

func (h harness) testSavedAndReplaced(t *testing.T) {
	s, now := h.fresh(t)
	ctx := ctxOf(t)
	c1 := newChallenge(t, tenantA, phone1, now, 3)
	require.NoError(t, s.SaveChallenge(ctx, c1))
	require.NoError(t, s.VerifyChallenge(ctx, check(c1, c1.CodeHash, now)))
	wrong := randomBytes(t, 32)
	for range 2 {
		require.ErrorIs(t, s.VerifyChallenge(ctx, check(c1, wrong, now)), store.ErrCodeMismatch)
	}

	c2 := newChallenge(t, tenantA, phone1, now.Add(time.Second), 3)
	require.NoError(t, s.SaveChallenge(ctx, c2))
	// The old code no longer works: it is a wrong try against the new one.
	require.ErrorIs(t, s.VerifyChallenge(ctx, check(c2, c1.CodeHash, now)), store.ErrCodeMismatch)
	// Fresh count: with the 2 earlier wrong tries kept, this would be the 4th of 3.
	require.ErrorIs(t, s.VerifyChallenge(ctx, check(c2, wrong, now)), store.ErrCodeMismatch)
	require.NoError(t, s.ConsumeChallenge(ctx, check(c2, c2.CodeHash, now)))
}

func (h harness) testReplaceUsed(t *testing.T) {
	s, now := h.fresh(t)
	ctx := ctxOf(t)
	c1 := newChallenge(t, tenantA, phone1, now, 3)
	require.NoError(t, s.SaveChallenge(ctx, c1))
	require.NoError(t, s.ConsumeChallenge(ctx, check(c1, c1.CodeHash, now)))
	c2 := newChallenge(t, tenantA, phone1, now, 3)
	require.NoError(t, s.SaveChallenge(ctx, c2))
	require.NoError(t, s.VerifyChallenge(ctx, check(c2, c2.CodeHash, now)), "a new code replaces a used one")
	require.NoError(t, s.ConsumeChallenge(ctx, check(c2, c2.CodeHash, now)))
	require.ErrorIs(t, s.ConsumeChallenge(ctx, check(c2, c2.CodeHash, now)), store.ErrChallengeUsed)
}

func (h harness) testExpired(t *testing.T) {
	s, now := h.fresh(t)
	c := newChallenge(t, tenantA, phone1, now, 5)
	require.NoError(t, s.SaveChallenge(ctxOf(t), c))
	tests := []struct {
		name string
		at   time.Time
		want error
	}{
		{"just before ExpiresAt", c.ExpiresAt.Add(-time.Second), nil},
		{"at ExpiresAt", c.ExpiresAt, store.ErrChallengeExpired},
		{"after ExpiresAt", c.ExpiresAt.Add(time.Minute), store.ErrChallengeExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.VerifyChallenge(ctxOf(t), check(c, c.CodeHash, tt.at))
			if tt.want == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tt.want)
		})
	}
	err := s.ConsumeChallenge(ctxOf(t), check(c, c.CodeHash, c.ExpiresAt.Add(time.Second)))
	require.ErrorIs(t, err, store.ErrChallengeExpired)
	// The expired consume did not spend it: at an earlier Now it is still good.
	require.NoError(t, s.ConsumeChallenge(ctxOf(t), check(c, c.CodeHash, now)))
}

func (h harness) testConsumed(t *testing.T) {
	s, now := h.fresh(t)
	ctx := ctxOf(t)
	c := newChallenge(t, tenantA, phone1, now, 5)
	require.NoError(t, s.SaveChallenge(ctx, c))
	require.NoError(t, s.ConsumeChallenge(ctx, check(c, c.CodeHash, now)))
	require.ErrorIs(t, s.ConsumeChallenge(ctx, check(c, c.CodeHash, now)), store.ErrChallengeUsed)
	require.ErrorIs(t, s.VerifyChallenge(ctx, check(c, c.CodeHash, now)), store.ErrChallengeUsed)
}

func (h harness) testVerifyDoesNotConsume(t *testing.T) {
	s, now := h.fresh(t)
	ctx := ctxOf(t)
	c := newChallenge(t, tenantA, phone1, now, 2)
	require.NoError(t, s.SaveChallenge(ctx, c))
	for i := range 5 {
		require.NoErrorf(t, s.VerifyChallenge(ctx, check(c, c.CodeHash, now)), "verify #%d", i+1)
	}
	require.NoError(t, s.ConsumeChallenge(ctx, check(c, c.CodeHash, now)))
}

func (h harness) testAttemptCounting(t *testing.T) {
	type op func(store.Store, context.Context, store.CodeCheck) error
	verify := func(s store.Store, ctx context.Context, c store.CodeCheck) error { return s.VerifyChallenge(ctx, c) }
	consume := func(s store.Store, ctx context.Context, c store.CodeCheck) error { return s.ConsumeChallenge(ctx, c) }
	tests := []struct {
		name        string
		wrong       op // how the wrong tries are made
		final       op // how the right code is presented afterwards
		maxAttempts int
	}{
		{"verify then verify", verify, verify, 3},
		{"consume then consume", consume, consume, 3},
		{"mixed, one attempt", verify, consume, 1},
		{"mixed, five attempts", consume, verify, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, now := h.fresh(t)
			ctx := ctxOf(t)
			c := newChallenge(t, tenantA, phone1, now, tt.maxAttempts)
			require.NoError(t, s.SaveChallenge(ctx, c))
			wrong := randomBytes(t, 32)
			for i := range tt.maxAttempts {
				require.ErrorIsf(t, tt.wrong(s, ctx, check(c, wrong, now)), store.ErrCodeMismatch, "wrong try #%d", i+1)
			}
			require.ErrorIs(t, tt.wrong(s, ctx, check(c, wrong, now)), store.ErrTooManyAttempts)
			require.ErrorIs(t, tt.final(s, ctx, check(c, c.CodeHash, now)), store.ErrTooManyAttempts,
				"the right code must be refused once the tries are used up")
			require.ErrorIs(t, s.ConsumeChallenge(ctx, check(c, c.CodeHash, now)), store.ErrTooManyAttempts)
		})
	}
}

// concurrently runs f n times at once and returns every result.
func concurrently(n int, f func(i int) error) []error {
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = f(i)
		}()
	}
	close(start)
	wg.Wait()
	return errs
}

// ConcurrentCallers is how many goroutines the concurrency tests start at once.
const ConcurrentCallers = 200

func (h harness) testConcurrentConsume(t *testing.T) {
	s, now := h.fresh(t)
	ctx := ctxOf(t)
	c := newChallenge(t, tenantA, phone1, now, 5)
	require.NoError(t, s.SaveChallenge(ctx, c))
	errs := concurrently(ConcurrentCallers, func(int) error {
		return s.ConsumeChallenge(ctx, check(c, c.CodeHash, now))
	})
	ok, used := 0, 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, store.ErrChallengeUsed):
			used++
		default:
			t.Errorf("unexpected error: %v", err)
		}
	}
	assert.Equal(t, 1, ok, "exactly one consumer must win")
	assert.Equal(t, ConcurrentCallers-1, used)
}

func (h harness) testConcurrentWrongTries(t *testing.T) {
	s, now := h.fresh(t)
	ctx := ctxOf(t)
	const maxAttempts = 5
	c := newChallenge(t, tenantA, phone1, now, maxAttempts)
	require.NoError(t, s.SaveChallenge(ctx, c))
	wrong := randomBytes(t, 32)
	errs := concurrently(ConcurrentCallers, func(i int) error {
		if i%2 == 0 {
			return s.VerifyChallenge(ctx, check(c, wrong, now))
		}
		return s.ConsumeChallenge(ctx, check(c, wrong, now))
	})
	mismatch, tooMany := 0, 0
	for _, err := range errs {
		switch {
		case errors.Is(err, store.ErrCodeMismatch):
			mismatch++
		case errors.Is(err, store.ErrTooManyAttempts):
			tooMany++
		default:
			t.Errorf("unexpected result: %v", err)
		}
	}
	assert.Equal(t, maxAttempts, mismatch, "exactly MaxAttempts wrong tries may be counted")
	assert.Equal(t, ConcurrentCallers-maxAttempts, tooMany)
	require.ErrorIs(t, s.ConsumeChallenge(ctx, check(c, c.CodeHash, now)), store.ErrTooManyAttempts)
}

// --- sessions ---

func (h harness) testSessionLookup(t *testing.T) {
	s, now := h.fresh(t)
	ctx := ctxOf(t)
	l := lookup(s)
	if l == nil {
		t.Skip("store does not implement store.SessionLookup")
	}
	sess := newSession(t, tenantA, "user-1", now)
	require.NoError(t, s.CreateSession(ctx, sess))
	requireLive(t, s, sess, now)
	requireLive(t, s, sess, sess.ExpiresAt.Add(-time.Second))
	requireGone(t, s, sess, sess.ExpiresAt)
	requireGone(t, s, sess, sess.ExpiresAt.Add(time.Hour))

	_, err := l.LookupSession(ctx, tenantA, randomBytes(t, 32), now)
	require.ErrorIs(t, err, store.ErrNotFound, "unknown access token")
	_, err = l.LookupSession(ctx, tenantA, sess.RefreshTokenHash, now)
	require.ErrorIs(t, err, store.ErrNotFound, "the refresh token hash is not an access token")
}

func (h harness) testSessionRevoke(t *testing.T) {
	s, now := h.fresh(t)
	ctx := ctxOf(t)
	mine := []store.Session{
		newSession(t, tenantA, "user-1", now),
		newSession(t, tenantA, "user-1", now.Add(time.Second)),
		newSession(t, tenantA, "user-1", now.Add(2*time.Second)),
	}
	others := []store.Session{
		newSession(t, tenantA, "user-2", now),
		newSession(t, tenantB, "user-1", now),
	}
	for _, sess := range append(append([]store.Session(nil), mine...), others...) {
		require.NoError(t, s.CreateSession(ctx, sess))
	}
	n, err := s.RevokeSessions(ctx, tenantA, "user-1")
	require.NoError(t, err)
	assert.Equal(t, len(mine), n, "revoked count")
	for _, sess := range mine {
		requireGone(t, s, sess, now)
	}
	for _, sess := range others {
		requireLive(t, s, sess, now)
	}
	n, err = s.RevokeSessions(ctx, tenantA, "user-1")
	require.NoError(t, err)
	assert.Equal(t, 0, n, "nothing left to revoke")
	n, err = s.RevokeSessions(ctx, tenantA, "nobody")
	require.NoError(t, err)
	assert.Equal(t, 0, n)
	requireRevokes(t, s, tenantA, "user-2", 1, "another user's session is left")
	requireRevokes(t, s, tenantB, "user-1", 1, "the same user id in another tenant is left")
}

// --- reset ---

// resetFixture is a user with a live code and sessions, plus a bystander.
type resetFixture struct {
	shape     Shape
	s         store.Store
	now       time.Time
	user      store.User
	other     store.User
	challenge store.Challenge
	oldSess   []store.Session
	otherSess store.Session
}

func (h harness) newResetFixture(t *testing.T, maxAttempts int) resetFixture {
	s, now := h.fresh(t)
	return h.shape.seedReset(t, s, now, maxAttempts)
}

func (sh Shape) seedReset(t *testing.T, s store.Store, now time.Time, maxAttempts int) resetFixture {
	t.Helper()
	ctx := ctxOf(t)
	f := resetFixture{shape: sh, s: s, now: now}
	f.user = sh.addUser(t, s, newUser(tenantA, "user-1", phone1))
	f.other = sh.addUser(t, s, newUser(tenantA, "user-2", phone2))
	f.challenge = newChallenge(t, tenantA, phone1, now, maxAttempts)
	require.NoError(t, s.SaveChallenge(ctx, f.challenge))
	f.oldSess = []store.Session{newSession(t, tenantA, f.user.ID, now), newSession(t, tenantA, f.user.ID, now)}
	f.otherSess = newSession(t, tenantA, f.other.ID, now)
	for _, sess := range append(append([]store.Session(nil), f.oldSess...), f.otherSess) {
		require.NoError(t, s.CreateSession(ctx, sess))
	}
	return f
}

func (f resetFixture) reset(t testing.TB, codeHash []byte) store.Reset {
	ns := newSession(t, tenantA, f.user.ID, f.now)
	return store.Reset{
		Check: check(f.challenge, codeHash, f.now),
		Change: store.PasswordChange{
			TenantID:     tenantA,
			UserID:       f.user.ID,
			PasswordHash: "$argon2id$v=19$m=65536,t=1,p=2$bmV3$reset",
			Profile: json.RawMessage(`{"Uid":"user-1","FirstName":"Asha","LastPasswordChangeDate":"2026-05-01T10:00:00Z",
				"CustomFields":{"plan":"gold","nested":{"deep":[1,2.5,{"x":null}],"flag":true}},"UnknownFutureField":"ünïcödé ✓"}`),
			ChangedAt: f.now,
		},
		NewSession: &ns,
		Outbox: []store.OutboxMessage{
			{ID: fmt.Sprintf("evt-%x", randomBytes(t, 8)), TenantID: tenantA, CreatedAt: f.now,
				Payload: json.RawMessage(`{"HookName":"resetpassword","Data":{"Uid":"user-1"}}`)},
			{ID: fmt.Sprintf("evt-%x", randomBytes(t, 8)), TenantID: tenantA, CreatedAt: f.now.Add(time.Second),
				Payload: json.RawMessage(`{"HookName":"resetpassword","Data":{"Uid":"user-1","n":2}}`)},
		},
	}
}

// requireUnchanged checks that nothing of a failed reset r was applied.
func (f resetFixture) requireUnchanged(t *testing.T, r store.Reset) {
	t.Helper()
	ctx := ctxOf(t)
	got, err := f.s.UserByPhone(ctx, tenantA, f.user.Phone)
	require.NoError(t, err)
	f.shape.requireUser(t, f.user, got)
	got, err = f.s.UserByPhone(ctx, tenantA, f.other.Phone)
	require.NoError(t, err)
	f.shape.requireUser(t, f.other, got)
	for _, sess := range f.oldSess {
		requireLive(t, f.s, sess, f.now)
	}
	requireLive(t, f.s, f.otherSess, f.now)
	if r.NewSession != nil {
		requireGone(t, f.s, *r.NewSession, f.now)
	}
	if ob, ok := f.s.(store.Outbox); ok {
		pending, err := ob.PendingOutbox(ctx, 100)
		require.NoError(t, err)
		assert.Empty(t, pending, "a failed reset must write no outbox message")
	}
}

func resetter(t *testing.T, s store.Store) store.Resetter {
	t.Helper()
	rs, ok := s.(store.Resetter)
	require.Truef(t, ok, "%T does not implement store.Resetter", s)
	return rs
}

func (h harness) testResetSuccess(t *testing.T) {
	f := h.newResetFixture(t, 5)
	ctx := ctxOf(t)
	r := f.reset(t, f.challenge.CodeHash)
	require.NoError(t, resetter(t, f.s).Reset(ctx, r))

	got, err := f.s.UserByPhone(ctx, tenantA, f.user.Phone)
	require.NoError(t, err)
	want := f.user
	want.PasswordHash = r.Change.PasswordHash
	want.Profile = r.Change.Profile
	f.shape.requireUser(t, want, got)
	got, err = f.s.UserByPhone(ctx, tenantA, f.other.Phone)
	require.NoError(t, err)
	f.shape.requireUser(t, f.other, got)

	require.ErrorIs(t, f.s.VerifyChallenge(ctx, r.Check), store.ErrChallengeUsed)
	for _, sess := range f.oldSess {
		requireGone(t, f.s, sess, f.now)
	}
	requireLive(t, f.s, f.otherSess, f.now)
	requireLive(t, f.s, *r.NewSession, f.now)
	requireRevokes(t, f.s, tenantA, f.user.ID, 1, "only the new session is left")
	requireRevokes(t, f.s, tenantA, f.other.ID, 1, "another user's session is left")
}

func (h harness) testResetWithoutSession(t *testing.T) {
	f := h.newResetFixture(t, 5)
	ctx := ctxOf(t)
	r := f.reset(t, f.challenge.CodeHash)
	r.NewSession = nil
	r.Outbox = nil
	require.NoError(t, resetter(t, f.s).Reset(ctx, r))
	for _, sess := range f.oldSess {
		requireGone(t, f.s, sess, f.now)
	}
	requireLive(t, f.s, f.otherSess, f.now)
	n, err := f.s.RevokeSessions(ctx, tenantA, f.user.ID)
	require.NoError(t, err)
	assert.Equal(t, 0, n, "no session may be left or created for the user")
	requireRevokes(t, f.s, tenantA, f.other.ID, 1, "another user's session is left")
}

func (h harness) testResetWrongCode(t *testing.T) {
	f := h.newResetFixture(t, 2)
	ctx := ctxOf(t)
	r := f.reset(t, randomBytes(t, 32))
	require.ErrorIs(t, resetter(t, f.s).Reset(ctx, r), store.ErrCodeMismatch)
	f.requireUnchanged(t, r)

	// The wrong try was counted: one more wrong try uses up the two allowed.
	require.NoError(t, f.s.VerifyChallenge(ctx, check(f.challenge, f.challenge.CodeHash, f.now)))
	require.ErrorIs(t, f.s.VerifyChallenge(ctx, check(f.challenge, r.Check.CodeHash, f.now)), store.ErrCodeMismatch)
	right := f.reset(t, f.challenge.CodeHash)
	require.ErrorIs(t, resetter(t, f.s).Reset(ctx, right), store.ErrTooManyAttempts)
	f.requireUnchanged(t, right)
}

func (h harness) testResetUnknownUser(t *testing.T) {
	f := h.newResetFixture(t, 5)
	ctx := ctxOf(t)
	r := f.reset(t, f.challenge.CodeHash)
	r.Change.UserID = f.shape.missingID()
	r.NewSession.UserID = f.shape.missingID()
	err := resetter(t, f.s).Reset(ctx, r)
	require.ErrorIs(t, err, store.ErrNotFound)
	f.requireUnchanged(t, r)
	// The code was not spent: the user can still use it.
	require.NoError(t, f.s.VerifyChallenge(ctx, r.Check))
	require.NoError(t, resetter(t, f.s).Reset(ctx, f.reset(t, f.challenge.CodeHash)))
}

func (h harness) testResetUnusableCode(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, f *resetFixture) store.CodeCheck
		want  error
	}{
		{"no challenge", func(t *testing.T, f *resetFixture) store.CodeCheck {
			return store.CodeCheck{TenantID: tenantA, Phone: f.other.Phone, CodeHash: f.challenge.CodeHash, Now: f.now}
		}, store.ErrNoChallenge},
		{"expired", func(t *testing.T, f *resetFixture) store.CodeCheck {
			return check(f.challenge, f.challenge.CodeHash, f.challenge.ExpiresAt)
		}, store.ErrChallengeExpired},
		{"used", func(t *testing.T, f *resetFixture) store.CodeCheck {
			c := newChallenge(t, tenantA, phone1, f.now, 5)
			require.NoError(t, f.s.SaveChallenge(ctxOf(t), c))
			require.NoError(t, f.s.ConsumeChallenge(ctxOf(t), check(c, c.CodeHash, f.now)))
			f.challenge = c
			return check(c, c.CodeHash, f.now)
		}, store.ErrChallengeUsed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := h.newResetFixture(t, 5)
			r := f.reset(t, f.challenge.CodeHash)
			r.Check = tt.setup(t, &f)
			require.ErrorIs(t, resetter(t, f.s).Reset(ctxOf(t), r), tt.want)
			f.requireUnchanged(t, r)
		})
	}
}

func (h harness) testResetConcurrent(t *testing.T) {
	f := h.newResetFixture(t, 5)
	ctx := ctxOf(t)
	rs := resetter(t, f.s)
	const n = ConcurrentCallers / 4
	resets := make([]store.Reset, n)
	for i := range resets {
		resets[i] = f.reset(t, f.challenge.CodeHash)
	}
	errs := concurrently(n, func(i int) error { return rs.Reset(ctx, resets[i]) })
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil:
			require.Equal(t, -1, winner, "two resets succeeded with one code")
			winner = i
		case errors.Is(err, store.ErrChallengeUsed):
		default:
			t.Errorf("unexpected error: %v", err)
		}
	}
	require.NotEqual(t, -1, winner, "no reset succeeded")
	for i, r := range resets {
		if i == winner {
			requireLive(t, f.s, *r.NewSession, f.now)
		} else {
			requireGone(t, f.s, *r.NewSession, f.now)
		}
	}
	if ob, ok := f.s.(store.Outbox); ok {
		pending, err := ob.PendingOutbox(ctx, 10*n)
		require.NoError(t, err)
		assert.Len(t, pending, len(resets[winner].Outbox), "only the winner's events are written")
	}
}

// --- one-round-trip variants ---

func (h harness) testVerifyUserCode(t *testing.T) {
	f := h.newResetFixture(t, 2)
	ctx := ctxOf(t)
	v := f.s.(store.UserCodeVerifier)
	sh := h.shape
	verify := func(t *testing.T, c store.CodeCheck, wantFound bool, wantUser store.User, want error) {
		t.Helper()
		got, err := v.VerifyUserCode(ctx, c)
		require.NoError(t, err, "verdicts are not faults")
		require.Equal(t, wantFound, got.Found, "Found")
		if wantFound {
			sh.requireUser(t, wantUser, got.User)
		} else {
			assert.Equal(t, store.User{}, got.User, "no user when not found")
		}
		if want == nil {
			require.NoError(t, got.Verdict)
		} else {
			require.ErrorIs(t, got.Verdict, want)
		}
	}
	right := check(f.challenge, f.challenge.CodeHash, f.now)
	wrong := check(f.challenge, randomBytes(t, 32), f.now)

	verify(t, right, true, f.user, nil)
	verify(t, right, true, f.user, nil) // not consumed
	verify(t, store.CodeCheck{TenantID: tenantA, Phone: phone2, CodeHash: f.challenge.CodeHash, Now: f.now},
		true, f.other, store.ErrNoChallenge)
	verify(t, check(f.challenge, f.challenge.CodeHash, f.challenge.ExpiresAt), true, f.user, store.ErrChallengeExpired)

	// An unknown phone: no user, and its code is checked and counted all the same.
	unknown := newChallenge(t, tenantA, "+15005550006", f.now, 1)
	require.NoError(t, f.s.SaveChallenge(ctx, unknown))
	verify(t, check(unknown, unknown.CodeHash, f.now), false, store.User{}, nil)
	verify(t, check(unknown, randomBytes(t, 32), f.now), false, store.User{}, store.ErrCodeMismatch)
	verify(t, check(unknown, unknown.CodeHash, f.now), false, store.User{}, store.ErrTooManyAttempts)

	// Wrong tries are counted, and use the code up.
	verify(t, wrong, true, f.user, store.ErrCodeMismatch)
	require.NoError(t, f.s.VerifyChallenge(ctx, right), "one wrong try of two: still usable")
	verify(t, wrong, true, f.user, store.ErrCodeMismatch)
	verify(t, wrong, true, f.user, store.ErrTooManyAttempts)
	verify(t, right, true, f.user, store.ErrTooManyAttempts)

	// A used code.
	c := newChallenge(t, tenantA, phone1, f.now, 5)
	require.NoError(t, f.s.SaveChallenge(ctx, c))
	require.NoError(t, f.s.ConsumeChallenge(ctx, check(c, c.CodeHash, f.now)))
	verify(t, check(c, c.CodeHash, f.now), true, f.user, store.ErrChallengeUsed)
	f.requireUnchangedUsers(t)
}

func (h harness) testVerifyUserCodeConcurrent(t *testing.T) {
	const maxAttempts = 5
	f := h.newResetFixture(t, maxAttempts)
	ctx := ctxOf(t)
	v := f.s.(store.UserCodeVerifier)
	wrong := check(f.challenge, randomBytes(t, 32), f.now)
	verdicts := concurrently(ConcurrentCallers/4, func(int) error {
		got, err := v.VerifyUserCode(ctx, wrong)
		if err != nil {
			return err
		}
		return got.Verdict
	})
	mismatch, tooMany := 0, 0
	for _, err := range verdicts {
		switch {
		case errors.Is(err, store.ErrCodeMismatch):
			mismatch++
		case errors.Is(err, store.ErrTooManyAttempts):
			tooMany++
		default:
			t.Errorf("unexpected result: %v", err)
		}
	}
	assert.Equal(t, maxAttempts, mismatch, "exactly MaxAttempts wrong tries may be counted")
	assert.Equal(t, ConcurrentCallers/4-maxAttempts, tooMany)
}

func (h harness) testSaveChallengeFindUser(t *testing.T) {
	f := h.newResetFixture(t, 2)
	ctx := ctxOf(t)
	sv := f.s.(store.UserChallengeSaver)
	wrong := randomBytes(t, 32)
	require.ErrorIs(t, f.s.VerifyChallenge(ctx, check(f.challenge, wrong, f.now)), store.ErrCodeMismatch)

	// A known phone: its user, and a new code with a fresh count (with the
	// earlier wrong try kept, the right code would come after 3 of 3).
	c := newChallenge(t, tenantA, phone1, f.now, 3)
	got, err := sv.SaveChallengeFindUser(ctx, c)
	require.NoError(t, err)
	h.shape.requireUser(t, f.user, got)
	require.ErrorIs(t, f.s.VerifyChallenge(ctx, check(c, f.challenge.CodeHash, f.now)), store.ErrCodeMismatch, "the old code is replaced")
	require.ErrorIs(t, f.s.VerifyChallenge(ctx, check(c, wrong, f.now)), store.ErrCodeMismatch, "fresh count: 2 of 3")
	require.NoError(t, f.s.ConsumeChallenge(ctx, check(c, c.CodeHash, f.now)))

	// An unknown phone: ErrNotFound, and the code saved all the same.
	unknown := newChallenge(t, tenantA, "+15005550006", f.now, 2)
	_, err = sv.SaveChallengeFindUser(ctx, unknown)
	require.ErrorIs(t, err, store.ErrNotFound)
	require.NoError(t, f.s.VerifyChallenge(ctx, check(unknown, unknown.CodeHash, f.now)))
	f.requireUnchangedUsers(t)
}

// requireUnchangedUsers checks that both users of the fixture are as seeded.
func (f resetFixture) requireUnchangedUsers(t *testing.T) {
	t.Helper()
	for _, u := range []store.User{f.user, f.other} {
		got, err := f.s.UserByPhone(ctxOf(t), tenantA, u.Phone)
		require.NoError(t, err)
		f.shape.requireUser(t, u, got)
	}
}

// --- outbox ---

func (h harness) testOutbox(t *testing.T) {
	f := h.newResetFixture(t, 5)
	ctx := ctxOf(t)
	ob := f.s.(store.Outbox)
	pending, err := ob.PendingOutbox(ctx, 10)
	require.NoError(t, err)
	require.Empty(t, pending)

	r := f.reset(t, f.challenge.CodeHash)
	require.NoError(t, resetter(t, f.s).Reset(ctx, r))
	requirePending(t, ob, 10, r.Outbox)
	requirePending(t, ob, 1, r.Outbox[:1])

	require.NoError(t, ob.MarkDelivered(ctx, r.Outbox[0].ID))
	requirePending(t, ob, 10, r.Outbox[1:])
	require.NoError(t, ob.MarkDelivered(ctx, r.Outbox[1].ID))
	requirePending(t, ob, 10, nil)
}

func requirePending(t *testing.T, ob store.Outbox, limit int, want []store.OutboxMessage) {
	t.Helper()
	got, err := ob.PendingOutbox(ctxOf(t), limit)
	require.NoError(t, err)
	require.Len(t, got, len(want))
	for i := range want {
		assert.Equal(t, want[i].ID, got[i].ID, "ID (oldest first)")
		assert.Equal(t, want[i].TenantID, got[i].TenantID, "TenantID")
		assert.Truef(t, want[i].CreatedAt.Equal(got[i].CreatedAt), "CreatedAt: want %v, got %v", want[i].CreatedAt, got[i].CreatedAt)
		assert.JSONEq(t, string(want[i].Payload), string(got[i].Payload), "Payload")
	}
}
