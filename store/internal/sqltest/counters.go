package sqltest

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otpreset/go/store"
	"github.com/otpreset/go/store/internal/sqlcore"
	"github.com/otpreset/go/store/memstore"
	"github.com/otpreset/go/store/storetest"
)

// The adapters' own tests of the counters (storetest holds every store to
// the same suite; these reach inside: purging, two handles, the schema).

// refPolicies are the guessing policies CountersMatchReference runs, at the
// edges of the ladder and the budget. Durations are whole microseconds, as
// timestamptz keeps them.
var refPolicies = []store.GuessPolicy{
	{Attempts: 3, Lockout: 15 * time.Minute, MaxLockout: time.Hour, Retain: 2 * time.Hour,
		Budget: 4, BudgetBurst: 2, BudgetWindow: time.Hour},
	// A lockout per wrong code, no budget.
	{Attempts: 1, Lockout: 15 * time.Minute, MaxLockout: 24 * time.Hour, Retain: 30 * 24 * time.Hour},
	// A lockout longer than the maximum; a burst below 1 counts as 1.
	{Attempts: 5, Lockout: 2 * time.Hour, MaxLockout: time.Hour, Retain: 3 * time.Hour,
		Budget: 10, BudgetWindow: 10 * time.Hour},
	// Milliseconds: the clock passes lockouts, windows and Retain often.
	{Attempts: 2, Lockout: 1500 * time.Microsecond, MaxLockout: 7 * time.Millisecond, Retain: 20 * time.Millisecond,
		Budget: 3, BudgetBurst: 3, BudgetWindow: 9 * time.Millisecond},
	// No lockout at all, only the budget.
	{Attempts: 0, Lockout: time.Minute, MaxLockout: time.Hour, Retain: time.Hour, Budget: 5, BudgetWindow: 50 * time.Minute},
	// Counts kept until cleared (Retain 0).
	{Attempts: 3, Lockout: time.Minute, MaxLockout: 10 * time.Minute},
}

// CountersMatchReference drives the adapter and memstore (the reference:
// store.NextIssue, store.Live and store.NextAttempt under a mutex) through
// the same seeded random sequences of sends (with and without a user),
// code checks, consumptions, resets, clears and clock moves, and requires
// the same answers, field by field. Each policy runs twice: with purging
// off and codes that expire; and with a purge at every step and codes that
// outlive the run, where purging forgotten counters must change no answer.
func CountersMatchReference(t *testing.T, b Backend) {
	t.Run("deep ladder", func(t *testing.T) {
		// 80 lockouts passed with captchas: past the doubling's cap at
		// MaxLockout, and past 64 (where a shift by n-1 would wrap).
		s, _ := b.Open(t, sqlcore.Config{}, "")
		ref := memstore.New()
		p := store.GuessPolicy{Attempts: 1, Lockout: time.Microsecond, MaxLockout: 24 * time.Hour}
		now := time.Now().UTC().Truncate(time.Second)
		a := store.Attempt{Check: store.CodeCheck{TenantID: "t", Phone: "+15550299", CodeHash: []byte("x"), Now: now},
			Network: "n", Policy: p, PassLockout: true}
		for i := range 80 {
			a.PassLockout = true
			want, err := ref.CheckCode(Ctx(t), a)
			require.NoError(t, err)
			got, err := s.CheckCode(Ctx(t), a)
			require.NoError(t, err)
			sameVerdict(t, fmt.Sprintf("lockout %d", i+1), want, got)
			a.PassLockout = false // the lockout's end
			want, err = ref.CheckCode(Ctx(t), a)
			require.NoError(t, err)
			got, err = s.CheckCode(Ctx(t), a)
			require.NoError(t, err)
			sameVerdict(t, fmt.Sprintf("lockout %d refused", i+1), want, got)
		}
		a.PassLockout = false
		want, err := ref.CheckCode(Ctx(t), a)
		require.NoError(t, err)
		got, err := s.CheckCode(Ctx(t), a)
		require.NoError(t, err)
		sameVerdict(t, "refused", want, got)
		require.Truef(t, got.Until.Equal(now.Add(24*time.Hour)), "the 80th lockout lasts MaxLockout: %v", got.Until)
	})
	steps := 300
	if testing.Short() {
		steps = 80
	}
	for i, p := range refPolicies {
		for _, purge := range []bool{false, true} {
			if purge && p.Retain == 0 {
				continue // memstore forgets them only when it sweeps
			}
			name := fmt.Sprintf("%d/purge=%v/attempts=%d,lockout=%v,max=%v,retain=%v,budget=%d/%v", i, purge,
				p.Attempts, p.Lockout, p.MaxLockout, p.Retain, p.Budget, p.BudgetWindow)
			t.Run(name, func(t *testing.T) {
				matchReference(t, b, p, purge, steps, uint64(i))
			})
		}
	}
}

func matchReference(t *testing.T, b Backend, p store.GuessPolicy, purge bool, steps int, seed uint64) {
	st, core := b.Open(t, sqlcore.Config{}, "")
	core.PurgeEvery = 0
	if purge {
		core.PurgeEvery = 1
	}
	ref := memstore.New()
	ctx := Ctx(t)
	rng := rand.New(rand.NewPCG(seed, 23))
	now := time.Now().UTC().Truncate(time.Second)
	step := max(p.Lockout, p.BudgetInterval(), time.Microsecond)
	ttl := 3 * step
	if purge {
		ttl = 1000 * 24 * time.Hour
	}
	type phone struct{ tenant, number string }
	phones := []phone{{"t", "+15550200"}, {"t", "+15550201"}, {"u", "+15550200"}}
	for _, s := range []storetest.UserSeeder{ref, st.(storetest.UserSeeder)} {
		require.NoError(t, s.AddUser(ctx, store.User{TenantID: "t", ID: "u1", Phone: "+15550200", PasswordHash: "h",
			Profile: json.RawMessage(`{"Uid":"u1"}`)}))
	}
	networks := []string{"n1", "n2", "n3"}
	limits := []store.SendLimit{{}, {Limit: 2, Period: 2 * step}, {Limit: 1, Period: step / 2}}
	codes := map[phone][][]byte{} // every code issued per phone, the latest last
	lockedUntil := time.Time{}    // of the last refusal or lockout seen, to move the clock there
	for i := range steps {
		ph := phones[rng.IntN(len(phones))]
		network := networks[rng.IntN(len(networks))]
		where := fmt.Sprintf("step %d: %s %s from %s at %v", i, ph.tenant, ph.number, network, now)
		pick := func() []byte { // the latest code, an older one or a wrong one
			cs := codes[ph]
			switch r := rng.IntN(4); {
			case len(cs) > 0 && r < 2:
				return cs[len(cs)-1]
			case len(cs) > 1 && r == 2:
				return cs[rng.IntN(len(cs))]
			}
			return []byte(fmt.Sprintf("wrong %d", rng.IntN(1000)))
		}
		switch op := rng.IntN(20); {
		case op < 5: // a send
			c := store.Challenge{TenantID: ph.tenant, Phone: ph.number, Nonce: []byte(fmt.Sprintf("nonce %d", i)),
				CodeHash: []byte(fmt.Sprintf("code %d", i)), CreatedAt: now, ExpiresAt: now.Add(ttl), MaxAttempts: 1 + rng.IntN(3)}
			if rng.IntN(5) == 0 {
				c.Nonce = nil // kept like any other code: only a code saved before 0004 has none stored
			}
			iss := store.Issue{Challenge: c, Network: network, SendLimit: limits[rng.IntN(len(limits))]}
			var want, got store.Issued
			var err error
			if rng.IntN(2) == 0 {
				want, err = store.IssueCode(ctx, ref, iss)
				require.NoError(t, err)
				got, err = store.IssueCode(ctx, st, iss)
				require.NoError(t, err, where)
				require.Equal(t, want.Found, got.Found, "Found: %s", where)
				require.Equal(t, want.User.ID, got.User.ID, "User: %s", where)
			} else {
				iss.NoUser = rng.IntN(4) == 0
				want, err = ref.IssueChallenge(ctx, iss)
				require.NoError(t, err)
				got, err = st.IssueChallenge(ctx, iss)
				require.NoError(t, err, where)
			}
			sameIssued(t, where, want, got)
			if len(got.Challenge.CodeHash) > 0 {
				codes[ph] = append(codes[ph], got.Challenge.CodeHash)
			}
		case op < 15: // a code check
			a := store.Attempt{Check: store.CodeCheck{TenantID: ph.tenant, Phone: ph.number, CodeHash: pick(), Now: now},
				Network: network, Policy: p, PassLockout: rng.IntN(6) == 0, PassBudget: rng.IntN(6) == 0}
			want, err := ref.CheckCode(ctx, a)
			require.NoError(t, err)
			got, err := st.CheckCode(ctx, a)
			require.NoError(t, err, where)
			sameVerdict(t, where, want, got)
			if !want.Until.IsZero() {
				lockedUntil = want.Until
			}
		case op < 16: // a consumption, as ApplyReset does without a Resetter
			chk := store.CodeCheck{TenantID: ph.tenant, Phone: ph.number, CodeHash: pick(), Now: now}
			sameKind(t, where+": consume", ref.ConsumeChallenge(ctx, chk), st.ConsumeChallenge(ctx, chk))
		case op < 17: // a reset of the phone with a user
			r := store.Reset{Check: store.CodeCheck{TenantID: "t", Phone: "+15550200", Now: now},
				Change: store.PasswordChange{TenantID: "t", UserID: "u1", PasswordHash: fmt.Sprint("h", i),
					Profile: json.RawMessage(`{"Uid":"u1"}`), ChangedAt: now}}
			ph = phones[0]
			r.Check.CodeHash = pick()
			sameKind(t, where+": reset", ref.Reset(ctx, r), st.(store.Resetter).Reset(ctx, r))
		case op < 18:
			require.NoError(t, ref.ClearCounters(ctx, ph.tenant, ph.number))
			require.NoError(t, st.ClearCounters(ctx, ph.tenant, ph.number), where)
		default: // move the clock: to the end of a refusal, just before it, past Retain, or a little
			switch m := rng.IntN(5); {
			case m == 0 && lockedUntil.After(now): // the first microsecond at or after it
				now = lockedUntil.Add(time.Microsecond - 1).Truncate(time.Microsecond)
			case m == 1 && lockedUntil.After(now): // the one before
				now = lockedUntil.Add(time.Microsecond - 1).Truncate(time.Microsecond).Add(-time.Microsecond)
			case m == 2 && p.Retain > 0:
				now = now.Add(p.Retain - time.Duration(rng.IntN(2))*time.Microsecond)
			default:
				now = now.Add(time.Duration(rng.Int64N(int64(step/time.Microsecond)+1)) * time.Microsecond)
			}
		}
	}
}

func sameIssued(t *testing.T, where string, want, got store.Issued) {
	t.Helper()
	require.Equal(t, want.Limited, got.Limited, "Limited: %s", where)
	require.Equal(t, want.SendsLeft, got.SendsLeft, "SendsLeft: %s", where)
	require.Truef(t, want.LimitResets.Equal(got.LimitResets), "LimitResets %v, got %v: %s", want.LimitResets, got.LimitResets, where)
	w, g := want.Challenge, got.Challenge
	require.Equal(t, w.TenantID, g.TenantID, "TenantID: %s", where)
	require.Equal(t, w.Phone, g.Phone, "Phone: %s", where)
	require.Equal(t, w.Nonce, g.Nonce, "Nonce: %s", where)
	require.Equal(t, w.CodeHash, g.CodeHash, "CodeHash: %s", where)
	require.Equal(t, w.MaxAttempts, g.MaxAttempts, "MaxAttempts: %s", where)
	require.Truef(t, w.CreatedAt.Equal(g.CreatedAt), "CreatedAt %v, got %v: %s", w.CreatedAt, g.CreatedAt, where)
	require.Truef(t, w.ExpiresAt.Equal(g.ExpiresAt), "ExpiresAt %v, got %v: %s", w.ExpiresAt, g.ExpiresAt, where)
}

func sameVerdict(t *testing.T, where string, want, got store.Verdict) {
	t.Helper()
	require.Equal(t, want.Refused, got.Refused, "Refused: %s", where)
	require.Truef(t, want.Until.Equal(got.Until), "Until %v, got %v: %s", want.Until, got.Until, where)
	sameKind(t, where, want.Code, got.Code)
	require.Equal(t, want.Counted, got.Counted, "Counted: %s", where)
	require.Equal(t, want.StartedLockout, got.StartedLockout, "StartedLockout: %s", where)
	require.Equal(t, want.Lockouts, got.Lockouts, "Lockouts: %s", where)
}

// sameKind requires the same outcome: nil, or the same store sentinel.
func sameKind(t *testing.T, where string, want, got error) {
	t.Helper()
	kind := func(err error) string {
		for _, s := range []error{store.ErrCodeMismatch, store.ErrNoChallenge, store.ErrChallengeExpired,
			store.ErrChallengeUsed, store.ErrTooManyAttempts, store.ErrNotFound} {
			if errors.Is(err, s) {
				return s.Error()
			}
		}
		if err != nil {
			return "fault: " + err.Error()
		}
		return "nil"
	}
	require.Equal(t, kind(want), kind(got), "outcome: %s", where)
}

// ConcurrentCounters runs concurrent steps on one phone through two handles
// on one database, as two servers would, and checks the counters are exact:
// 40 wrong codes from one network with Attempts 5 compare exactly 5; 60
// wrong codes from 60 networks never compare more than the budget allows;
// concurrent sends keep one code and count exactly the limit; and sends,
// checks, resets and clears of one phone at once never fail (no deadlock).
func ConcurrentCounters(t *testing.T, b Backend) {
	open := func(t *testing.T) [2]store.Store {
		h := b.Handles(t)
		s0, c0 := h(Quiet(sqlcore.Config{}))
		require.NoError(t, c0.Migrate(Ctx(t)))
		s1, _ := h(Quiet(sqlcore.Config{}))
		return [2]store.Store{s0, s1}
	}
	now := time.Now().UTC().Truncate(time.Second)
	code := store.Challenge{TenantID: "t", Phone: "+15550300", Nonce: []byte("n"), CodeHash: []byte("right"),
		CreatedAt: now, ExpiresAt: now.Add(time.Hour), MaxAttempts: 1000}
	run := func(n int, f func(i int) error) {
		t.Helper()
		var wg sync.WaitGroup
		errs := make([]error, n)
		start := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				<-start
				errs[i] = f(i)
			})
		}
		close(start)
		wg.Wait()
		for i, err := range errs {
			require.NoErrorf(t, err, "caller %d", i)
		}
	}
	t.Run("lockout", func(t *testing.T) {
		s := open(t)
		_, err := s[0].IssueChallenge(Ctx(t), store.Issue{Challenge: code})
		require.NoError(t, err)
		p := store.GuessPolicy{Attempts: 5, Lockout: time.Hour, MaxLockout: time.Hour, Retain: time.Hour}
		var mu sync.Mutex
		compared, started := 0, 0
		run(40, func(i int) error {
			v, err := s[i%2].CheckCode(Ctx(t), store.Attempt{Check: store.CodeCheck{TenantID: "t", Phone: code.Phone,
				CodeHash: []byte("wrong"), Now: now}, Network: "n", Policy: p})
			mu.Lock()
			defer mu.Unlock()
			if v.Refused == store.NotRefused {
				compared++
			}
			if v.StartedLockout {
				started++
			}
			return err
		})
		assert.Equal(t, 5, compared, "exactly Attempts comparisons")
		assert.Equal(t, 1, started, "one of them started the lockout")
	})
	t.Run("budget", func(t *testing.T) {
		s := open(t)
		_, err := s[0].IssueChallenge(Ctx(t), store.Issue{Challenge: code})
		require.NoError(t, err)
		p := store.GuessPolicy{Budget: 6, BudgetBurst: 3, BudgetWindow: time.Hour} // one per 10 minutes
		var mu sync.Mutex
		compared := 0
		const n = 60
		run(n, func(i int) error { // spread over the window: at most Budget + BudgetBurst may compare
			at := now.Add(time.Duration(i) * p.BudgetWindow / n)
			v, err := s[i%2].CheckCode(Ctx(t), store.Attempt{Check: store.CodeCheck{TenantID: "t", Phone: code.Phone,
				CodeHash: []byte("wrong"), Now: at}, Network: fmt.Sprint("n", i), Policy: p})
			mu.Lock()
			defer mu.Unlock()
			if v.Refused == store.NotRefused {
				compared++
			} else if v.Refused != store.RefusedBudget {
				return fmt.Errorf("refused by %v", v.Refused)
			}
			return err
		})
		t.Logf("%d of %d compared", compared, n)
		assert.LessOrEqual(t, compared, p.Budget+p.BudgetBurst, "never past the budget")
		assert.GreaterOrEqual(t, compared, p.BudgetBurst, "at least the burst")
	})
	t.Run("sends", func(t *testing.T) {
		s := open(t)
		limit := store.SendLimit{Limit: 7, Period: time.Hour}
		var mu sync.Mutex
		sent := 0
		inEffect := map[string]bool{}
		run(40, func(i int) error {
			c := code
			c.CodeHash, c.Nonce = []byte(fmt.Sprint("code ", i)), []byte(fmt.Sprint("nonce ", i))
			got, err := s[i%2].IssueChallenge(Ctx(t), store.Issue{Challenge: c, Network: "n", SendLimit: limit})
			mu.Lock()
			defer mu.Unlock()
			if !got.Limited {
				sent++
				inEffect[string(got.Challenge.CodeHash)+"/"+string(got.Challenge.Nonce)] = true
			}
			return err
		})
		assert.Equal(t, limit.Limit, sent, "exactly the limit")
		assert.Len(t, inEffect, 1, "the first code saved is kept by every later send, with its nonce")
	})
	t.Run("mixed", func(t *testing.T) {
		s := open(t)
		ctx := Ctx(t)
		require.NoError(t, s[0].(storetest.UserSeeder).AddUser(ctx, store.User{TenantID: "t", ID: "u", Phone: code.Phone, PasswordHash: "h"}))
		p := store.GuessPolicy{Attempts: 3, Lockout: time.Minute, MaxLockout: time.Hour, Retain: time.Hour,
			Budget: 100, BudgetBurst: 10, BudgetWindow: time.Hour}
		run(60, func(i int) error {
			st := s[i%2]
			c := code
			c.CodeHash = []byte(fmt.Sprint("code ", i%3))
			var err error
			switch i % 5 {
			case 0:
				_, err = store.IssueCode(ctx, st, store.Issue{Challenge: c, Network: fmt.Sprint("n", i%4),
					SendLimit: store.SendLimit{Limit: 3, Period: time.Hour}})
			case 1, 2:
				_, err = st.CheckCode(ctx, store.Attempt{Check: store.CodeCheck{TenantID: "t", Phone: c.Phone,
					CodeHash: c.CodeHash, Now: now}, Network: fmt.Sprint("n", i%4), Policy: p})
			case 3:
				err = st.(store.Resetter).Reset(ctx, store.Reset{Check: store.CodeCheck{TenantID: "t", Phone: c.Phone,
					CodeHash: c.CodeHash, Now: now}, Change: store.PasswordChange{TenantID: "t", UserID: "u",
					PasswordHash: fmt.Sprint("h", i), Profile: json.RawMessage(`{}`), ChangedAt: now}})
				if sqlcore.IsVerdict(err) {
					err = nil
				}
			case 4:
				err = st.ClearCounters(ctx, "t", c.Phone)
			}
			return err
		})
	})
}

// Purge checks the purge that sends and code checks carry: every
// PurgeEvery-th step deletes up to PurgeLimit rows of each table that
// nothing needs (expired codes, forgotten counters, whole budgets), and
// never a live one.
func Purge(t *testing.T, b Backend) {
	st, s := b.Open(t, sqlcore.Config{}, "")
	ctx := Ctx(t)
	s.PurgeEvery = 0
	now := time.Now().UTC().Truncate(time.Second)
	then := now.Add(-time.Hour - b.ForgetSlack)
	p := store.GuessPolicy{Attempts: 5, Lockout: time.Minute, MaxLockout: time.Minute, Retain: 10 * time.Minute,
		Budget: 60, BudgetWindow: time.Hour} // one a minute
	const lapsed = sqlcore.PurgeLimit + sqlcore.PurgeLimit/2
	for i := range lapsed + 10 { // lapsed rows, then 10 live ones
		at, ttl := then, time.Minute
		if i >= lapsed {
			at, ttl = now, time.Hour
		}
		phone := fmt.Sprintf("+1555%07d", i)
		_, err := st.IssueChallenge(ctx, store.Issue{Challenge: store.Challenge{TenantID: "t", Phone: phone,
			Nonce: []byte("n"), CodeHash: []byte("h"), CreatedAt: at, ExpiresAt: at.Add(ttl), MaxAttempts: 5},
			Network: "n", SendLimit: store.SendLimit{Limit: 3, Period: ttl}})
		require.NoError(t, err)
		v, err := st.CheckCode(ctx, store.Attempt{Check: store.CodeCheck{TenantID: "t", Phone: phone, CodeHash: []byte("x"), Now: at},
			Network: "n", Policy: p})
		require.NoError(t, err)
		require.True(t, v.Counted)
	}
	// rows counts the rows of each state table; want is each table's
	// count, the challenges' first.
	rows := func() (counts []int) {
		for _, table := range b.StateTables {
			var n int
			require.NoError(t, s.DB.QueryRow(ctx, `SELECT count(*) FROM `+table).Scan(&n))
			counts = append(counts, n)
		}
		return counts
	}
	want := func(challenges, others int) []int {
		w := []int{challenges}
		for range b.StateTables[1:] {
			w = append(w, others)
		}
		return w
	}
	all := lapsed + 10
	require.Equal(t, want(all, all), rows(), "nothing purged with PurgeEvery 0")

	s.PurgeEvery = 3
	steps := []func(){
		func() { // a send
			_, err := st.IssueChallenge(ctx, store.Issue{Challenge: store.Challenge{TenantID: "u", Phone: "+1", Nonce: []byte("n"),
				CodeHash: []byte("h"), CreatedAt: now, ExpiresAt: now.Add(time.Hour), MaxAttempts: 5}})
			require.NoError(t, err)
		},
		func() { // a right code: counts nothing, and carries the purge all the same
			v, err := st.CheckCode(ctx, store.Attempt{Check: store.CodeCheck{TenantID: "u", Phone: "+1", CodeHash: []byte("h"), Now: now}})
			require.NoError(t, err)
			require.NoError(t, v.Code)
		},
	}
	// Steps 1 and 2 purge nothing; step 3 purges PurgeLimit of each table.
	steps[0]()
	steps[1]()
	require.Equal(t, want(all+1, all), rows(), "no purge before the 3rd step")
	steps[0]()
	require.Equal(t, want(all+1-sqlcore.PurgeLimit, all-sqlcore.PurgeLimit), rows(),
		"the 3rd step purged PurgeLimit rows of each table")
	for range 3 {
		steps[1]()
	}
	require.Equal(t, want(11, 10), rows(), "only live rows are left")
	for i := lapsed; i < all; i++ {
		v, err := st.CheckCode(ctx, store.Attempt{Check: store.CodeCheck{TenantID: "t", Phone: fmt.Sprintf("+1555%07d", i),
			CodeHash: []byte("h"), Now: now}, Network: "n"})
		require.NoError(t, err)
		require.NoError(t, v.Code, "a live code survives the purges")
		assert.Equal(t, store.NotRefused, v.Refused)
	}
}

// MigrateUpTo migrates core's database to version only, as a server of
// that version would have (its Dialect keeps only those migrations).
func MigrateUpTo(t *testing.T, core *sqlcore.Store, version int) {
	t.Helper()
	ms, err := sqlcore.Migrations(core.Dialect.Migrations)
	require.NoError(t, err)
	upTo := fstest.MapFS{}
	for _, m := range ms {
		if m.Version <= version {
			upTo[m.Name] = &fstest.MapFile{Data: []byte(m.SQL)}
		}
	}
	require.Len(t, upTo, version, "migrations 1 to %d", version)
	core.Dialect.Migrations = upTo
	require.NoError(t, core.Migrate(Ctx(t)))
	v, err := core.SchemaVersion(Ctx(t))
	require.NoError(t, err)
	require.Equal(t, version, v)
}

// UpgradeFromV3 migrates a database at version 3 (with a user, a live code
// saved then, a session and an old guessing budget) in place: the code
// still verifies and resets, the old budget table is gone, and the first
// send replaces the code that has no nonce.
func UpgradeFromV3(t *testing.T, b Backend) {
	open := b.Handles(t)
	ctx := Ctx(t)
	_, old := open(Quiet(sqlcore.Config{}))
	MigrateUpTo(t, old, 3)
	now := time.Now().UTC().Truncate(time.Second)
	require.NoError(t, old.AddUser(ctx, store.User{TenantID: "t", ID: "u", Phone: "+15550400", PasswordHash: "old"}))
	// What a version-3 server wrote: a code without nonce, a budget row.
	_, err := old.DB.Exec(ctx, `INSERT INTO otpreset_challenges (tenant_id, phone, code_hash, created_at, expires_at, max_attempts)
		VALUES ('t', '+15550400', $1, $2, $3, 5)`, []byte("v3 code"), old.Dialect.Time(now), old.Dialect.Time(now.Add(time.Hour)))
	require.NoError(t, err)
	_, err = old.DB.Exec(ctx, `INSERT INTO otpreset_guesses (tenant_id, phone, failures, lockouts, seen_at, last_allowed)
		VALUES ('t', '+15550400', 3, 1, $1, true)`, old.Dialect.Time(now))
	require.NoError(t, err)

	s, core := open(Quiet(sqlcore.Config{}))
	require.NoError(t, core.Migrate(ctx))
	v, err := core.SchemaVersion(ctx)
	require.NoError(t, err)
	assert.Equal(t, core.LatestSchemaVersion(), v)
	assert.NotContains(t, b.tableNames(t, core), "otpreset_guesses")

	check := func(code string) store.Verdict {
		v, err := s.CheckCode(ctx, store.Attempt{Check: store.CodeCheck{TenantID: "t", Phone: "+15550400", CodeHash: []byte(code), Now: now},
			Network: "n", Policy: store.GuessPolicy{Attempts: 5, Lockout: time.Minute, MaxLockout: time.Hour}})
		require.NoError(t, err)
		return v
	}
	require.NoError(t, check("v3 code").Code, "a code saved before the upgrade still verifies")
	require.ErrorIs(t, check("wrong").Code, store.ErrCodeMismatch)

	issued, err := store.IssueCode(ctx, s, store.Issue{Challenge: store.Challenge{TenantID: "t", Phone: "+15550400",
		Nonce: []byte("nonce"), CodeHash: []byte("v4 code"), CreatedAt: now, ExpiresAt: now.Add(time.Hour), MaxAttempts: 5},
		Network: "n"})
	require.NoError(t, err)
	require.True(t, issued.Found)
	assert.Equal(t, []byte("v4 code"), issued.Challenge.CodeHash, "a live code without nonce cannot be sent again: replaced")
	assert.Equal(t, []byte("nonce"), issued.Challenge.Nonce)
	issued, err = store.IssueCode(ctx, s, store.Issue{Challenge: store.Challenge{TenantID: "t", Phone: "+15550400",
		Nonce: []byte("other"), CodeHash: []byte("other"), CreatedAt: now, ExpiresAt: now.Add(time.Hour), MaxAttempts: 5},
		Network: "n"})
	require.NoError(t, err)
	assert.Equal(t, []byte("v4 code"), issued.Challenge.CodeHash, "the new code, with its nonce, is kept")
	require.NoError(t, s.(store.Resetter).Reset(ctx, store.Reset{
		Check:  store.CodeCheck{TenantID: "t", Phone: "+15550400", CodeHash: []byte("v4 code"), Now: now},
		Change: store.PasswordChange{TenantID: "t", UserID: "u", PasswordHash: "new", Profile: json.RawMessage(`{}`), ChangedAt: now},
	}))
	u, err := s.UserByPhone(ctx, "t", "+15550400")
	require.NoError(t, err)
	assert.Equal(t, "new", u.PasswordHash)
}

// CheckCodeReadsNoUsers checks that a code check never reads a users table
// (so a wrong code costs the same whether or not the phone has a user): it
// works, with the same verdicts, after the users table is dropped.
func CheckCodeReadsNoUsers(t *testing.T, b Backend) {
	for _, host := range []bool{false, true} {
		t.Run(fmt.Sprintf("hostUsers=%v", host), func(t *testing.T) {
			cfg, setup, table := sqlcore.Config{}, "", "otpreset_users"
			if host {
				cfg, setup, table = sqlcore.Config{HostUsers: HostUsers()}, b.HostSetup(), "app_accounts"
			}
			s, core := b.Open(t, cfg, setup)
			ctx := Ctx(t)
			now := time.Now().UTC().Truncate(time.Second)
			require.NoError(t, core.AddUser(ctx, store.User{TenantID: "t", ID: "u", Phone: "+15550500", PasswordHash: "h"}))
			for _, phone := range []string{"+15550500", "+15550501"} { // known, unknown
				_, err := s.IssueChallenge(ctx, store.Issue{Challenge: store.Challenge{TenantID: "t", Phone: phone,
					Nonce: []byte("n"), CodeHash: []byte("right"), CreatedAt: now, ExpiresAt: now.Add(time.Hour), MaxAttempts: 5}})
				require.NoError(t, err)
			}
			_, err := core.DB.Exec(ctx, `DROP TABLE `+table)
			require.NoError(t, err)
			p := store.GuessPolicy{Attempts: 2, Lockout: time.Minute, MaxLockout: time.Hour, Retain: time.Hour,
				Budget: 10, BudgetBurst: 5, BudgetWindow: time.Hour}
			for _, phone := range []string{"+15550500", "+15550501"} {
				for i, want := range []error{store.ErrCodeMismatch, nil, store.ErrCodeMismatch} {
					v, err := s.CheckCode(ctx, store.Attempt{Check: store.CodeCheck{TenantID: "t", Phone: phone,
						CodeHash: []byte([]string{"wrong", "right", "wrong"}[i]), Now: now}, Network: "n", Policy: p})
					require.NoError(t, err, "a code check must not read "+table)
					if want == nil {
						require.NoError(t, v.Code)
					} else {
						require.ErrorIs(t, v.Code, want)
					}
				}
				v, err := s.CheckCode(ctx, store.Attempt{Check: store.CodeCheck{TenantID: "t", Phone: phone,
					CodeHash: []byte("right"), Now: now}, Network: "n", Policy: p})
				require.NoError(t, err)
				assert.Equal(t, store.RefusedLockout, v.Refused, "two wrong codes locked the network out")
			}
			_, err = s.UserByPhone(ctx, "t", "+15550500")
			require.Error(t, err, "the table is gone indeed")
			require.NotErrorIs(t, err, store.ErrNotFound, "a missing table is a fault")
		})
	}
}

// BenchCounters measures the steps of the hot paths: a send (IssueCode, a
// live code kept), a wrong code that is compared and counted, and one
// refused by the network's lockout (what an attacker's flood costs), each
// on one phone.
func BenchCounters(b *testing.B, be Backend) {
	st, _ := be.Open(b, sqlcore.Config{}, "")
	ctx := b.Context()
	now := time.Now().UTC().Truncate(time.Second)
	require.NoError(b, st.(storetest.UserSeeder).AddUser(ctx, store.User{TenantID: "t", ID: "u", Phone: "+15550700", PasswordHash: "h"}))
	c := store.Challenge{TenantID: "t", Phone: "+15550700", Nonce: []byte("n"), CodeHash: []byte("right"),
		CreatedAt: now, ExpiresAt: now.Add(time.Hour), MaxAttempts: 1 << 30}
	_, err := store.IssueCode(ctx, st, store.Issue{Challenge: c})
	require.NoError(b, err)
	wrong := func(network string, p store.GuessPolicy) store.Attempt {
		return store.Attempt{Check: store.CodeCheck{TenantID: "t", Phone: c.Phone, CodeHash: []byte("wrong"), Now: now},
			Network: network, Policy: p}
	}
	b.Run("IssueCode", func(b *testing.B) {
		for b.Loop() {
			_, err := store.IssueCode(ctx, st, store.Issue{Challenge: c, Network: "send",
				SendLimit: store.SendLimit{Limit: 1 << 30, Period: time.Hour}})
			require.NoError(b, err)
		}
	})
	b.Run("CheckCode/counted", func(b *testing.B) {
		p := store.GuessPolicy{Budget: 1 << 30, BudgetBurst: 1 << 30, BudgetWindow: time.Hour}
		for b.Loop() {
			v, err := st.CheckCode(ctx, wrong("counted", p))
			require.NoError(b, err)
			require.True(b, v.Counted)
		}
	})
	b.Run("CheckCode/refused", func(b *testing.B) {
		p := store.GuessPolicy{Attempts: 1, Lockout: time.Hour, MaxLockout: time.Hour, Retain: time.Hour}
		_, err := st.CheckCode(ctx, wrong("refused", p))
		require.NoError(b, err)
		for b.Loop() {
			v, err := st.CheckCode(ctx, wrong("refused", p))
			require.NoError(b, err)
			require.Equal(b, store.RefusedLockout, v.Refused)
		}
	})
}
