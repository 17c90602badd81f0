package redisstore

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/otpreset/go/store"
)

// DefaultPrefix is the key prefix used when Config.Prefix is empty.
const DefaultPrefix = "otpreset:"

// DefaultRetention is how long a challenge is kept after its ExpiresAt when
// Config.Retention is zero.
const DefaultRetention = 10 * time.Minute

// ErrInvalidConfig is wrapped by New and NewLimiterStore when their arguments are
// unusable.
var ErrInvalidConfig = errors.New("redisstore: invalid configuration")

// Config configures a Store. The zero value is usable: default prefix, default
// retention, time.Now as the clock.
type Config struct {
	// Prefix starts every key the Store writes (DefaultPrefix when empty), so
	// several applications, or tests, can share one Redis database. It must
	// not contain '{' or '}': the tenant in braces is the Redis Cluster hash
	// tag of every key.
	Prefix string
	// Retention is how long a challenge stays in Redis after its ExpiresAt,
	// so that a late or repeated try is answered "expired" or "already used"
	// rather than "no code issued". Zero means DefaultRetention; a negative
	// value keeps nothing past ExpiresAt.
	Retention time.Duration
	// Now is the clock used only when a caller leaves a time zero (a
	// CodeCheck without Now, a Challenge or Session without CreatedAt).
	// Defaults to time.Now.
	Now func() time.Time
	// MaxNetworks is how many client networks' counters are kept per
	// phone (zero: 64; at most 1000). When a new network would pass it, the
	// networks whose counters no longer matter are dropped, then those that
	// stop mattering soonest: past it, a network's lockout and send count
	// may be forgotten early (the phone's guessing budget is not), so that
	// a phone's counters stay bounded (about 6 KB at 64) whatever the
	// number of networks that try it.
	MaxNetworks int
}

// Store keeps challenges, their counters (per client network and the
// phone's guessing budget) and sessions in Redis. It implements
// store.Challenges and store.Sessions and is safe for concurrent use by any
// number of goroutines and processes. Create it with New.
type Store struct {
	client      redis.UniversalClient
	prefix      string
	retention   time.Duration
	now         func() time.Time
	maxNetworks int
}

var (
	_ store.Challenges = (*Store)(nil)
	_ store.Sessions   = (*Store)(nil)
)

// New returns a Store over client, which may be a *redis.Client, a
// *redis.ClusterClient or a failover client. New does no I/O.
func New(client redis.UniversalClient, cfg Config) (*Store, error) {
	if client == nil {
		return nil, fmt.Errorf("%w: nil Redis client", ErrInvalidConfig)
	}
	prefix := cfg.Prefix
	if prefix == "" {
		prefix = DefaultPrefix
	}
	if strings.ContainsAny(prefix, "{}") {
		return nil, fmt.Errorf("%w: prefix %q contains '{' or '}'", ErrInvalidConfig, prefix)
	}
	retention := cfg.Retention
	switch {
	case retention == 0:
		retention = DefaultRetention
	case retention < 0:
		retention = 0
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	maxNetworks := cfg.MaxNetworks
	switch {
	case maxNetworks == 0:
		maxNetworks = 64
	case maxNetworks < 0 || maxNetworks > 1000:
		return nil, fmt.Errorf("%w: MaxNetworks %d is not between 1 and 1000", ErrInvalidConfig, maxNetworks)
	}
	return &Store{client: client, prefix: prefix, retention: retention, now: now, maxNetworks: maxNetworks}, nil
}

// Key layout (see README.md). Sessions are tagged with the tenant, escaped
// so that it never contains a brace: the session scripts touch a user's set
// and its sessions, all in the tenant's Redis Cluster slot. A phone's keys
// (its challenge and its counters) are tagged with the tenant and the phone,
// so each phone has one slot of its own, and the challenge scripts, which
// touch both, stay in it.

func (s *Store) tenantPart(tenantID string) string {
	return s.prefix + "{" + escapeTenant(tenantID) + "}:"
}

// phonePart is the prefix of a phone's keys: the tenant (with ':' escaped
// too, so the first ':' ends it) and the phone in braces.
func (s *Store) phonePart(tenantID, phone string) string {
	tenant := "%"
	if tenantID != "" {
		tenant = escape(tenantID, "%{}:")
	}
	return s.prefix + "{" + tenant + ":" + escape(phone, "%{}") + "}:"
}

func (s *Store) challengeKey(tenantID, phone string) string {
	return s.phonePart(tenantID, phone) + "code"
}

func (s *Store) countersKey(tenantID, phone string) string {
	return s.phonePart(tenantID, phone) + "counters"
}

func (s *Store) sessionKeyPrefix(tenantID string) string {
	return s.tenantPart(tenantID) + "session:"
}

func (s *Store) sessionKey(tenantID string, accessTokenHash []byte) string {
	return s.sessionKeyPrefix(tenantID) + hex.EncodeToString(accessTokenHash)
}

func (s *Store) userSessionsKey(tenantID, userID string) string {
	return s.tenantPart(tenantID) + "user-sessions:" + userID
}

// escapeTenant makes a tenant id safe inside the hash-tag braces: '%', '{'
// and '}' are percent-encoded, and the empty id is written "%" (which no
// non-empty id encodes to), so distinct ids give distinct keys.
func escapeTenant(id string) string {
	if id == "" {
		return "%"
	}
	return escape(id, "%{}")
}

// escape percent-encodes the bytes of s that are in special, which must
// hold '%'.
func escape(s, special string) string {
	if !strings.ContainsAny(s, special) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if c := s[i]; strings.IndexByte(special, c) >= 0 {
			fmt.Fprintf(&b, "%%%02X", c)
		} else {
			b.WriteByte(c)
		}
	}
	return b.String()
}

// lifetime is how long something created at createdAt and expiring at
// expiresAt lives, measured on the caller's clock. Redis is given this
// relative TTL (PX) rather than the absolute instant (PEXPIREAT), so a skew
// between the application's clock (or a test's fake clock) and the Redis
// server's does not cut a code short or keep it alive.
func (s *Store) lifetime(createdAt, expiresAt time.Time) time.Duration {
	if createdAt.IsZero() {
		createdAt = s.now()
	}
	return expiresAt.Sub(createdAt)
}

// ttlMillis rounds d up to whole milliseconds, at least 1.
func ttlMillis(d time.Duration) int64 {
	ms := (d + time.Millisecond - 1) / time.Millisecond
	if ms < 1 {
		ms = 1
	}
	return int64(ms)
}
