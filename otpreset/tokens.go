package otpreset

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"time"

	"github.com/google/uuid"

	"github.com/otpreset/go/store"
)

// Tokens are the credentials of a new session.
type Tokens struct {
	AccessToken  string
	RefreshToken string
	ExpiresAt    time.Time
}

// TokenIssuer issues the session a successful reset answers with. The
// default issues random opaque tokens in LoginRadius's UUID form (version 4,
// canonical 8-4-4-4-12 lower-case hex).
//
// Keep that form in an issuer of your own: LoginRadius's Java SDK types
// access_token and refresh_token as java.util.UUID, so a token that is not a
// UUID (a JWT, say) fails to decode there and the Java client reports the
// successful reset as an error. A host with its own session format issues
// UUIDs that name its sessions (looked up server-side), or accepts breaking
// Java clients.
//
// t is the tenant with every default applied (SessionLifetime included).
type TokenIssuer interface {
	Issue(ctx context.Context, t *Tenant, u store.User, now time.Time) (Tokens, error)
}

// randomTokens is the default TokenIssuer. The store keeps only the tokens'
// SHA-256 (TokenHash), so a database leak does not leak sessions.
type randomTokens struct {
	rand io.Reader
}

// Issue implements TokenIssuer.
func (rt randomTokens) Issue(_ context.Context, t *Tenant, _ store.User, now time.Time) (Tokens, error) {
	a, err := uuid.NewRandomFromReader(rt.rand)
	if err != nil {
		return Tokens{}, fmt.Errorf("otpreset: token: %w", err)
	}
	b, err := uuid.NewRandomFromReader(rt.rand)
	if err != nil {
		return Tokens{}, fmt.Errorf("otpreset: token: %w", err)
	}
	return Tokens{AccessToken: a.String(), RefreshToken: b.String(), ExpiresAt: now.Add(t.SessionLifetime).UTC().Truncate(time.Second)}, nil
}

// TokenHash is how a token is stored and looked up: its SHA-256. A host that
// accepts the access_token a reset issued finds its session with
// its store's LookupSession(ctx, tenantID, TokenHash(token), now).
func TokenHash(token string) []byte {
	s := sha256.Sum256([]byte(token))
	return s[:]
}

// newSession is the stored form of tokens: hashes only.
func newSession(t *settings, userID string, tokens Tokens, now time.Time) *store.Session {
	return &store.Session{
		ID: uuid.NewString(), TenantID: t.ID, UserID: userID,
		AccessTokenHash: TokenHash(tokens.AccessToken), RefreshTokenHash: TokenHash(tokens.RefreshToken),
		CreatedAt: now, ExpiresAt: tokens.ExpiresAt,
	}
}
