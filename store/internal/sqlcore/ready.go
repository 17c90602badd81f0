package sqlcore

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/otpreset/go/store"
)

// hostField is one query of HostUsers, with what otpreset passes to it and
// what it cannot do without.
type hostField struct {
	name     string
	query    func(*HostUsers) string
	required bool
	params   []string          // the named parameters otpreset passes
	must     map[string]string // the parameters the query must use, and why
	columns  int               // result columns wanted; 0: any
}

var hostFields = []hostField{
	{"UserByPhone", func(h *HostUsers) string { return h.UserByPhone }, true,
		[]string{"tenant_id", "phone"}, map[string]string{"phone": "it cannot find the phone's user"}, 3},
	{"UpdatePassword", func(h *HostUsers) string { return h.UpdatePassword }, true,
		[]string{"tenant_id", "user_id", "password_hash", "profile", "changed_at"},
		map[string]string{"user_id": "it cannot tell the user's row from the others", "password_hash": "the new password would be lost"}, 0},
	{"AddUser", func(h *HostUsers) string { return h.AddUser }, false,
		[]string{"tenant_id", "user_id", "phone", "password_hash", "profile"},
		map[string]string{"phone": "the user could not be found by it", "password_hash": "the user would have no password"}, 0},
}

// CheckHost reports the required queries h lacks, naming each; nil h (the
// users in otpreset_users) lacks nothing. The error wraps
// store.ErrNotReady.
func CheckHost(h *HostUsers) error {
	if h == nil {
		return nil
	}
	var missing []string
	for _, f := range hostFields {
		if f.required && strings.TrimSpace(f.query(h)) == "" {
			missing = append(missing, "HostUsers."+f.name)
		}
	}
	switch len(missing) {
	case 0:
		return nil
	case 1:
		return fmt.Errorf("%w: %s is empty (UserByPhone and UpdatePassword are required)", store.ErrNotReady, missing[0])
	}
	return fmt.Errorf("%w: %s are empty (both are required)", store.ErrNotReady, strings.Join(missing, " and "))
}

// Describe prepares query on the database without running it (PREPARE on
// PostgreSQL, sqlite3_prepare on SQLite), so that a syntax error, a missing
// table or column or a type mismatch shows, and returns the number of
// columns it would return, or -1 when the database cannot tell without
// running it.
type Describe func(ctx context.Context, query string) (columns int, err error)

// Ready reports every reason s cannot serve, each error wrapping
// store.ErrNotReady and joined with errors.Join: the database unreachable
// (then nothing else is checked), required HostUsers queries missing, a
// schema not migrated or older than the embedded migrations, and host
// queries that use a parameter otpreset does not pass, leave out one they
// cannot do without, do not prepare (describe), or select the wrong number
// of columns. paramPrefixes are the characters that start a named
// parameter in the dialect ("@" with pgx; "@:$" in SQLite). Ready changes
// nothing and runs no host query.
func (s *Store) Ready(ctx context.Context, describe Describe, paramPrefixes string) error {
	var one int
	if err := s.DB.QueryRow(ctx, `SELECT 1`).Scan(&one); err != nil {
		return s.errf("%w: database unreachable: %w", store.ErrNotReady, err)
	}
	var errs []error
	if s.hostErr != nil {
		errs = append(errs, s.errf("%w", s.hostErr))
	}
	if err := s.schemaReady(ctx); err != nil {
		errs = append(errs, err)
	}
	if s.Host != nil {
		for _, f := range hostFields {
			errs = append(errs, s.hostQueryReady(ctx, f, describe, paramPrefixes)...)
		}
	}
	return errors.Join(errs...)
}

// schemaReady compares the migrations recorded in the database with the
// ones embedded in the code, and names those not applied.
func (s *Store) schemaReady(ctx context.Context) error {
	ms, err := Migrations(s.Dialect.Migrations)
	if err != nil {
		return s.errf("%w: %w", store.ErrNotReady, err)
	}
	done, err := appliedVersions(ctx, s.DB)
	if err != nil {
		return s.errf("%w: schema not migrated (reading otpreset_schema_migrations: %w): call Migrate", store.ErrNotReady, err)
	}
	var missing []string
	need, have := 0, 0
	for _, m := range ms {
		if m.Users && s.Host != nil {
			continue
		}
		need = m.Version
		if done[m.Version] {
			have = max(have, m.Version)
		} else {
			missing = append(missing, m.Name)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	return s.errf("%w: schema at version %d, this code needs version %d: %s not applied: call Migrate",
		store.ErrNotReady, have, need, strings.Join(missing, ", "))
}

// hostQueryReady checks one host query without running it.
func (s *Store) hostQueryReady(ctx context.Context, f hostField, describe Describe, paramPrefixes string) []error {
	q := f.query(s.Host)
	if strings.TrimSpace(q) == "" {
		return nil // a required one is reported by CheckHost
	}
	var errs []error
	notReady := func(format string, args ...any) {
		errs = append(errs, s.errf("%w: HostUsers.%s "+format, append([]any{store.ErrNotReady, f.name}, args...)...))
	}
	used := map[string]bool{}
	for _, p := range ParamNames(q, paramPrefixes) {
		name := p[1:]
		used[name] = true
		if !slices.Contains(f.params, name) {
			notReady("uses %s, which otpreset does not pass (it passes @%s): it would be NULL", p, strings.Join(f.params, ", @"))
		}
	}
	for _, name := range slices.Sorted(maps.Keys(f.must)) {
		if !used[name] {
			notReady("does not use @%s: %s", name, f.must[name])
		}
	}
	cols, err := describe(ctx, q)
	switch {
	case err != nil:
		notReady("does not prepare: %w", err)
	case f.columns > 0 && cols >= 0 && cols != f.columns:
		notReady("selects %d columns, want %d (id, password hash, profile)", cols, f.columns)
	}
	return errs
}

// ParamNames returns the named parameters of query in order of appearance,
// each once, with its prefix (one of prefixes, e.g. "@phone"). Quoted
// strings and identifiers, comments and (when '$' is not a prefix)
// PostgreSQL's dollar-quoted strings are skipped, as the drivers skip them.
func ParamNames(query, prefixes string) []string {
	var names []string
	isStart := func(c byte) bool { return c == '_' || c|0x20 >= 'a' && c|0x20 <= 'z' }
	isPart := func(c byte) bool { return isStart(c) || c >= '0' && c <= '9' }
	skipTo := func(i int, end string) int {
		if j := strings.Index(query[i:], end); j >= 0 {
			return i + j + len(end)
		}
		return len(query)
	}
	for i := 0; i < len(query); {
		c := query[i]
		switch {
		case c == '\'' || c == '"' || c == '`':
			i = skipTo(i+1, string(c)) // a doubled quote inside is two strings in a row
		case c == '[' && strings.ContainsRune(prefixes, ':'): // SQLite's [identifier]
			i = skipTo(i+1, "]")
		case strings.HasPrefix(query[i:], "--"):
			i = skipTo(i+2, "\n")
		case strings.HasPrefix(query[i:], "/*"):
			i = skipTo(i+2, "*/")
		case c == '$' && !strings.ContainsRune(prefixes, '$'):
			j := i + 1
			for j < len(query) && isPart(query[j]) && query[j] != '$' {
				j++
			}
			if j < len(query) && query[j] == '$' && (j == i+1 || isStart(query[i+1])) {
				tag := query[i : j+1]
				i = skipTo(j+1, tag)
			} else {
				i = j
			}
		case strings.IndexByte(prefixes, c) >= 0 && i+1 < len(query) && isStart(query[i+1]) &&
			!(c == ':' && i > 0 && query[i-1] == ':'):
			j := i + 1
			for j < len(query) && isPart(query[j]) {
				j++
			}
			if name := query[i:j]; !slices.Contains(names, name) {
				names = append(names, name)
			}
			i = j
		default:
			i++
		}
	}
	return names
}
