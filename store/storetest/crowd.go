package storetest

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/otpreset/go/store"
)

// The crowd's phones: the target's, and phones a sloppy lookup takes for
// it: the same last 10 digits (so the same last 4 too), the same last 4
// only, a prefix of it, and one it is a prefix of.
const (
	crowdPhone     = "+919876543210"
	crowdLast10    = "+449876543210"
	crowdLast4     = "+14155553210"
	crowdPrefix    = "+91987654321"
	crowdExtension = "+9198765432109"
	// crowdAfter is how many users are added after the target: with ids
	// from 1, the target is 2 and ids 20 and 21 begin with its id.
	crowdAfter = 19
	// crowdLookAlikes is how many of crowd.others have phones like the
	// target's: the first ones.
	crowdLookAlikes = 4
)

// crowd is one user a test changes among users a sloppy query would change
// or find instead.
type crowd struct {
	target store.User
	others []store.User
}

// seedCrowd adds, in tenantA, the target among users that a query keyed
// too loosely would also update or find: one added before it (a lower id,
// where the database assigns ids; and its phone ends in the target's last
// 10 digits), then the target, then phones that end in the same 4 digits,
// that are a prefix of the target's or of which the target's is a prefix,
// and more users until ids that begin with the target's id exist (2: 20,
// 21). Ids the suite gives follow the same pattern ("crowd-1", "crowd-2",
// ... "crowd-21"). So an UPDATE with WHERE id <= @user_id, or WHERE
// CAST(id AS TEXT) LIKE @user_id || '%', changes more than the target, and
// a lookup by the last 4 or 10 digits, or by a prefix, finds another user
// for some phone of the crowd.
func (sh Shape) seedCrowd(t *testing.T, s store.Store) crowd {
	t.Helper()
	var c crowd
	n := 0
	add := func(phone string) store.User {
		n++
		u := newUser(tenantA, fmt.Sprint("crowd-", n), phone)
		u.PasswordHash += fmt.Sprint("-", n) // every hash its own
		return sh.addUser(t, s, u)
	}
	c.others = append(c.others, add(crowdLast10))
	c.target = add(crowdPhone)
	for _, p := range []string{crowdLast4, crowdPrefix, crowdExtension} {
		c.others = append(c.others, add(p))
	}
	for i := n; i < 1+crowdAfter; i++ {
		c.others = append(c.others, add(fmt.Sprintf("+1202555%04d", 100+i)))
	}
	return c
}

// requireEachFound checks that every user of the crowd is found by its
// phone, exactly as want holds it (the target as wantTarget), through
// UserByPhone and, for the target and its look-alikes, IssueCode too.
func (c crowd) requireEachFound(t *testing.T, sh Shape, s store.Store, wantTarget store.User) {
	t.Helper()
	ctx := ctxOf(t)
	for i, want := range append([]store.User{wantTarget}, c.others...) {
		got, err := s.UserByPhone(ctx, tenantA, want.Phone)
		require.NoErrorf(t, err, "UserByPhone(%s)", want.Phone)
		require.Equalf(t, want.ID, got.ID, "UserByPhone(%s) found another user", want.Phone)
		sh.requireUser(t, want, got)
		if i > crowdLookAlikes {
			continue // the rest only fill ids
		}
		// IssueCode finds the user with the code it issues (one step in a
		// CodeIssuer): the same user, not a look-alike.
		issued, err := store.IssueCode(ctx, s, store.Issue{Challenge: newChallenge(t, tenantA, want.Phone, base(), 5), Network: "crowd"})
		require.NoError(t, err)
		require.Truef(t, issued.Found, "IssueCode(%s) found no user", want.Phone)
		require.Equalf(t, want.ID, issued.User.ID, "IssueCode(%s) found another user", want.Phone)
		sh.requireUser(t, want, issued.User)
	}
}

// testOnlyTheUser: lookups find exactly the phone's user, and
// UpdatePassword changes the one user it names, among users that a query
// keyed too loosely would take for it.
func (h harness) testOnlyTheUser(t *testing.T) {
	s, now := h.fresh(t)
	sh := h.shape
	c := sh.seedCrowd(t, s)
	c.requireEachFound(t, sh, s, c.target)

	change := store.PasswordChange{TenantID: tenantA, UserID: c.target.ID, PasswordHash: "$argon2id$v=19$m=65536,t=1,p=2$bmV3$only",
		Profile: json.RawMessage(`{"Uid":"crowd-2","Changed":true}`), ChangedAt: now}
	require.NoError(t, s.UpdatePassword(ctxOf(t), change), "UpdatePassword of one user among look-alikes")
	want := c.target
	want.PasswordHash, want.Profile = change.PasswordHash, change.Profile
	c.requireEachFound(t, sh, s, want)
}

// testResetOnlyTheUser: a Reset changes the one user it names, among users
// that a query keyed too loosely would take for it, and nobody else.
func (h harness) testResetOnlyTheUser(t *testing.T) {
	s, now := h.fresh(t)
	sh := h.shape
	c := sh.seedCrowd(t, s)
	ch := newChallenge(t, tenantA, c.target.Phone, now, 5)
	require.NoError(t, saveChallenge(ctxOf(t), s, ch))
	r := store.Reset{
		Check: check(ch, ch.CodeHash, now),
		Change: store.PasswordChange{TenantID: tenantA, UserID: c.target.ID, PasswordHash: "$argon2id$v=19$m=65536,t=1,p=2$bmV3$reset-one",
			Profile: json.RawMessage(`{"Uid":"crowd-2","Reset":true}`), ChangedAt: now},
	}
	require.NoError(t, resetter(t, s).Reset(ctxOf(t), r), "Reset of one user among look-alikes")
	want := c.target
	want.PasswordHash, want.Profile = r.Change.PasswordHash, r.Change.Profile
	c.requireEachFound(t, sh, s, want)
}
