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
// real defect (an update of the wrong row, or of more rows than one, a lookup
// that takes a look-alike phone for the one asked, a lost hash, a tenant
// ignored by a store that claims tenants, a code used twice). The users it
// changes sit among users added before and after them (ids below and above,
// ids that begin with theirs) and users whose phones share the last 4 or 10
// digits or a prefix with theirs, and it checks that only they change:
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
// For an adapter over PostgreSQL, PostgresSchema gives each store a fresh
// schema on one database, so newStore is a few lines (see its example).
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
		t.Run("OnlyTheUser", h.testOnlyTheUser)
	})
	t.Run("Challenges", func(t *testing.T) {
		t.Run("NoChallenge", h.testNoChallenge)
		t.Run("LiveCodeKept", h.testLiveCodeKept)
		t.Run("ReplaceUsed", h.testReplaceUsed)
		t.Run("Expired", h.testExpired)
		t.Run("Consumed", h.testConsumed)
		t.Run("VerifyDoesNotConsume", h.testVerifyDoesNotConsume)
		t.Run("AttemptCounting", h.testAttemptCounting)
		t.Run("ConcurrentConsumeSingleUse", h.testConcurrentConsume)
		t.Run("ConcurrentWrongTries", h.testConcurrentWrongTries)
		t.Run("UsedAnswersOnlyItsCode", h.testUsedAnswersOnlyItsCode)
	})
	t.Run("Counters", h.runCounters)
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
		t.Run("OnlyTheUser", h.testResetOnlyTheUser)
	})
	t.Run("IssueCode", func(t *testing.T) {
		t.Run("FindsTheUser", h.testIssueCodeFindsTheUser)
		t.Run("CountsUnknownPhones", h.testIssueCodeCountsUnknownPhones)
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
		Nonce:       randomBytes(t, 16),
		CodeHash:    randomBytes(t, 32),
		CreatedAt:   now,
		ExpiresAt:   now.Add(5 * time.Minute),
		MaxAttempts: maxAttempts,
	}
}

func check(c store.Challenge, codeHash []byte, now time.Time) store.CodeCheck {
	return store.CodeCheck{TenantID: c.TenantID, Phone: c.Phone, CodeHash: codeHash, Now: now}
}

// saveChallenge issues c for a phone with a user, with no send limit: what
// SaveChallenge did, except that a live code is kept.
func saveChallenge(ctx context.Context, s store.Store, c store.Challenge) error {
	_, err := s.IssueChallenge(ctx, store.Issue{Challenge: c, Network: "storetest"})
	return err
}

// verifyChallenge compares a code with no lockout and no budget: the
// challenge's verdict alone, as VerifyChallenge gave it.
func verifyChallenge(ctx context.Context, s store.Store, chk store.CodeCheck) error {
	v, err := s.CheckCode(ctx, store.Attempt{Check: chk, Network: "storetest"})
	if err != nil {
		return err
	}
	return v.Code
}

// issue issues c from network under limit and fails the test on a fault.
func issue(t *testing.T, s store.Store, c store.Challenge, network string, limit store.SendLimit) store.Issued {
	t.Helper()
	got, err := s.IssueChallenge(ctxOf(t), store.Issue{Challenge: c, Network: network, SendLimit: limit})
	require.NoError(t, err)
	return got
}

// requireChallenge checks that got is want as stored: same code, same nonce.
func requireChallenge(t *testing.T, want, got store.Challenge) {
	t.Helper()
	assert.Equal(t, want.CodeHash, got.CodeHash, "CodeHash of the code in effect")
	assert.Equal(t, want.Nonce, got.Nonce, "Nonce of the code in effect")
	assert.Truef(t, want.ExpiresAt.Equal(got.ExpiresAt), "ExpiresAt: want %v, got %v", want.ExpiresAt, got.ExpiresAt)
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

// SessionLookup is what the bundled stores offer hosts that accept the
// access_token a reset issued (otpreset never calls it): the suite checks it
// where a store has it.
type SessionLookup interface {
	LookupSession(ctx context.Context, tenantID string, accessTokenHash []byte, now time.Time) (store.Session, error)
}

// lookup returns s as a SessionLookup, or nil when s is none: then
// requireLive and requireGone check nothing, and only RevokeSessions's
// counts (requireRevokes) tell which sessions are live.
func lookup(s store.Store) SessionLookup {
	l, _ := s.(SessionLookup)
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
	require.NoError(t, saveChallenge(ctx, s, c))
	err := verifyChallenge(ctx, s, store.CodeCheck{TenantID: tenantB, Phone: phone1, CodeHash: c.CodeHash, Now: now})
	require.ErrorIs(t, err, store.ErrNoChallenge)
	err = s.ConsumeChallenge(ctx, store.CodeCheck{TenantID: tenantB, Phone: phone1, CodeHash: c.CodeHash, Now: now})
	require.ErrorIs(t, err, store.ErrNoChallenge)
	require.NoError(t, verifyChallenge(ctx, s, check(c, c.CodeHash, now)), "tries from B must not touch A's code")

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
	require.NoError(t, saveChallenge(ctx, s, c))
	other := store.CodeCheck{TenantID: tenantA, Phone: phone2, CodeHash: c.CodeHash, Now: now}
	require.ErrorIs(t, verifyChallenge(ctx, s, other), store.ErrNoChallenge)
	require.ErrorIs(t, s.ConsumeChallenge(ctx, other), store.ErrNoChallenge)
}

// A send while the phone holds a live code keeps that code (docs/contract.md:
// anyone's send never spoils the owner's code): same nonce, same hash, its
// count of wrong tries as it was. Once it expires, is used or has used up
// its tries, a send replaces it with a fresh count.
func (h harness) testLiveCodeKept(t *testing.T) {
	s, now := h.fresh(t)
	ctx := ctxOf(t)
	c1 := newChallenge(t, tenantA, phone1, now, 3)
	got := issue(t, s, c1, "net-a", store.SendLimit{})
	requireChallenge(t, c1, got.Challenge)
	wrong := randomBytes(t, 32)
	require.ErrorIs(t, verifyChallenge(ctx, s, check(c1, wrong, now)), store.ErrCodeMismatch)

	c2 := newChallenge(t, tenantA, phone1, now.Add(time.Minute), 3)
	got = issue(t, s, c2, "net-b", store.SendLimit{})
	requireChallenge(t, c1, got.Challenge) // kept, with its nonce: the owner's code still works
	require.ErrorIs(t, verifyChallenge(ctx, s, check(c2, c2.CodeHash, now)), store.ErrCodeMismatch, "the new code was not saved")
	// The kept code's count went on: 2 wrong tries so far, one left.
	require.NoError(t, verifyChallenge(ctx, s, check(c1, c1.CodeHash, now)))
	require.ErrorIs(t, verifyChallenge(ctx, s, check(c1, wrong, now)), store.ErrCodeMismatch)
	require.ErrorIs(t, verifyChallenge(ctx, s, check(c1, wrong, now)), store.ErrTooManyAttempts)

	// Tries used up: the next send replaces it, with a fresh count.
	c3 := newChallenge(t, tenantA, phone1, now.Add(2*time.Minute), 3)
	got = issue(t, s, c3, "net-a", store.SendLimit{})
	requireChallenge(t, c3, got.Challenge)
	require.ErrorIs(t, verifyChallenge(ctx, s, check(c3, c1.CodeHash, c3.CreatedAt)), store.ErrCodeMismatch)
	require.NoError(t, verifyChallenge(ctx, s, check(c3, c3.CodeHash, c3.CreatedAt)))

	// Expired: replaced.
	c4 := newChallenge(t, tenantA, phone1, c3.ExpiresAt, 3)
	got = issue(t, s, c4, "net-a", store.SendLimit{})
	requireChallenge(t, c4, got.Challenge)
	require.NoError(t, verifyChallenge(ctx, s, check(c4, c4.CodeHash, c4.CreatedAt)))
}

func (h harness) testReplaceUsed(t *testing.T) {
	s, now := h.fresh(t)
	ctx := ctxOf(t)
	c1 := newChallenge(t, tenantA, phone1, now, 3)
	require.NoError(t, saveChallenge(ctx, s, c1))
	require.NoError(t, s.ConsumeChallenge(ctx, check(c1, c1.CodeHash, now)))
	c2 := newChallenge(t, tenantA, phone1, now, 3)
	require.NoError(t, saveChallenge(ctx, s, c2))
	require.NoError(t, verifyChallenge(ctx, s, check(c2, c2.CodeHash, now)), "a new code replaces a used one")
	require.NoError(t, s.ConsumeChallenge(ctx, check(c2, c2.CodeHash, now)))
	require.ErrorIs(t, s.ConsumeChallenge(ctx, check(c2, c2.CodeHash, now)), store.ErrChallengeUsed)
}

func (h harness) testExpired(t *testing.T) {
	s, now := h.fresh(t)
	c := newChallenge(t, tenantA, phone1, now, 5)
	require.NoError(t, saveChallenge(ctxOf(t), s, c))
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
			err := verifyChallenge(ctxOf(t), s, check(c, c.CodeHash, tt.at))
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
	require.NoError(t, saveChallenge(ctx, s, c))
	require.NoError(t, s.ConsumeChallenge(ctx, check(c, c.CodeHash, now)))
	require.ErrorIs(t, s.ConsumeChallenge(ctx, check(c, c.CodeHash, now)), store.ErrChallengeUsed)
	require.ErrorIs(t, verifyChallenge(ctx, s, check(c, c.CodeHash, now)), store.ErrChallengeUsed)
}

func (h harness) testVerifyDoesNotConsume(t *testing.T) {
	s, now := h.fresh(t)
	ctx := ctxOf(t)
	c := newChallenge(t, tenantA, phone1, now, 2)
	require.NoError(t, saveChallenge(ctx, s, c))
	for i := range 5 {
		require.NoErrorf(t, verifyChallenge(ctx, s, check(c, c.CodeHash, now)), "verify #%d", i+1)
	}
	require.NoError(t, s.ConsumeChallenge(ctx, check(c, c.CodeHash, now)))
}

func (h harness) testAttemptCounting(t *testing.T) {
	type op func(store.Store, context.Context, store.CodeCheck) error
	verify := func(s store.Store, ctx context.Context, c store.CodeCheck) error { return verifyChallenge(ctx, s, c) }
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
			require.NoError(t, saveChallenge(ctx, s, c))
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
	require.NoError(t, saveChallenge(ctx, s, c))
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
	require.NoError(t, saveChallenge(ctx, s, c))
	wrong := randomBytes(t, 32)
	errs := concurrently(ConcurrentCallers, func(i int) error {
		if i%2 == 0 {
			return verifyChallenge(ctx, s, check(c, wrong, now))
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
	require.NoError(t, saveChallenge(ctx, s, f.challenge))
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

	require.ErrorIs(t, verifyChallenge(ctx, f.s, r.Check), store.ErrChallengeUsed)
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
	require.NoError(t, verifyChallenge(ctx, f.s, check(f.challenge, f.challenge.CodeHash, f.now)))
	require.ErrorIs(t, verifyChallenge(ctx, f.s, check(f.challenge, r.Check.CodeHash, f.now)), store.ErrCodeMismatch)
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
	require.NoError(t, verifyChallenge(ctx, f.s, r.Check))
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
			c := f.challenge
			require.NoError(t, f.s.ConsumeChallenge(ctxOf(t), check(c, c.CodeHash, f.now)))
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

// --- issuing with the user looked up (store.IssueCode) ---

func (h harness) testIssueCodeFindsTheUser(t *testing.T) {
	f := h.newResetFixture(t, 2)
	ctx := ctxOf(t)
	c := newChallenge(t, tenantA, phone1, f.now.Add(time.Second), 3)
	got, err := store.IssueCode(ctx, f.s, store.Issue{Challenge: c, Network: "net-a"})
	require.NoError(t, err)
	require.True(t, got.Found, "the phone's user")
	h.shape.requireUser(t, f.user, got.User)
	requireChallenge(t, f.challenge, got.Challenge) // the fixture's live code is kept
	f.requireUnchangedUsers(t)
}

// An unknown phone: no user, its send counted like any other (a limit must
// not tell known from unknown phones), and nothing stored.
func (h harness) testIssueCodeCountsUnknownPhones(t *testing.T) {
	s, now := h.fresh(t)
	ctx := ctxOf(t)
	limit := store.SendLimit{Limit: 2, Period: 15 * time.Minute}
	for i := range 3 {
		c := newChallenge(t, tenantA, "+15005550006", now, 2)
		got, err := store.IssueCode(ctx, s, store.Issue{Challenge: c, Network: "net-a", SendLimit: limit})
		require.NoError(t, err)
		assert.False(t, got.Found, "no user")
		assert.Equal(t, i == 2, got.Limited, "send %d of a limit of 2", i+1)
		assert.Empty(t, got.Challenge.CodeHash, "no code in effect")
		require.ErrorIs(t, verifyChallenge(ctx, s, check(c, c.CodeHash, now)), store.ErrNoChallenge, "nothing stored for an unknown phone")
	}
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
