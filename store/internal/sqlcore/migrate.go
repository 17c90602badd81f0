package sqlcore

import (
	"context"
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"strings"
)

// Migration is one numbered schema change.
type Migration struct {
	Version int
	Name    string
	SQL     string
	// Users marks a migration that only touches otpreset_users
	// (NNNN_users.sql or NNNN_users_*.sql); it is skipped while the host's
	// own table holds the users (HostUsers), and applied, in order, if the
	// host later moves its users into otpreset_users.
	Users bool
}

// Migrations returns the dialect's migrations, in order: the files
// NNNN_name.sql at the root of fsys.
func Migrations(fsys fs.FS) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	var ms []Migration
	for _, e := range entries {
		name := e.Name()
		num, rest, ok := strings.Cut(name, "_")
		if e.IsDir() || !ok || !strings.HasSuffix(name, ".sql") {
			return nil, fmt.Errorf("migration %s: want NNNN_name.sql", name)
		}
		v, err := strconv.Atoi(num)
		if err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s: bad version", name)
		}
		body, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("migration %s: %w", name, err)
		}
		users := rest == "users.sql" || strings.HasPrefix(rest, "users_")
		ms = append(ms, Migration{Version: v, Name: name, SQL: string(body), Users: users})
	}
	slices.SortFunc(ms, func(a, b Migration) int { return a.Version - b.Version })
	for i := 1; i < len(ms); i++ {
		if ms[i].Version == ms[i-1].Version {
			return nil, fmt.Errorf("migrations %s and %s share a version", ms[i-1].Name, ms[i].Name)
		}
	}
	return ms, nil
}

// appliedVersions reads the versions otpreset_schema_migrations records.
func appliedVersions(ctx context.Context, q Querier) (map[int]bool, error) {
	done := map[int]bool{}
	rows, err := q.Query(ctx, `SELECT version FROM otpreset_schema_migrations`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		done[v] = true
	}
	return done, rows.Err()
}

// Migrate brings the schema up to date: it applies, in order and in one
// transaction, the embedded migrations not yet recorded in
// otpreset_schema_migrations, and records them. Calling it again does
// nothing; concurrent calls from several processes are serialised (an
// advisory lock on PostgreSQL, the write lock on SQLite). The store never
// changes the schema unless Migrate is called. A HostUsers without a
// required query is refused before anything is changed.
func (s *Store) Migrate(ctx context.Context) error {
	if s.hostErr != nil {
		return s.errf("migrate: %w", s.hostErr) // before any change to the schema
	}
	ms, err := Migrations(s.Dialect.Migrations)
	if err != nil {
		return s.errf("%w", err)
	}
	var applied []string
	err = s.DB.InTx(ctx, func(q Querier) error {
		applied = nil // a retried transaction starts over
		if s.Dialect.LockMigrations != "" {
			if _, err := q.Exec(ctx, s.Dialect.LockMigrations); err != nil {
				return fmt.Errorf("lock: %w", err)
			}
		}
		if _, err := q.Exec(ctx, `CREATE TABLE IF NOT EXISTS otpreset_schema_migrations (
			version    INTEGER PRIMARY KEY,
			name       TEXT    NOT NULL,
			applied_at TEXT    NOT NULL
		)`); err != nil {
			return fmt.Errorf("create otpreset_schema_migrations: %w", err)
		}
		done, err := appliedVersions(ctx, q)
		if err != nil {
			return err
		}
		for _, m := range ms {
			if done[m.Version] || (m.Users && s.Host != nil) {
				continue
			}
			if _, err := q.Exec(ctx, m.SQL); err != nil {
				return fmt.Errorf("apply %s: %w", m.Name, err)
			}
			if _, err := q.Exec(ctx, `INSERT INTO otpreset_schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`,
				m.Version, m.Name, s.Now().UTC().Format("2006-01-02T15:04:05.000000Z07:00")); err != nil {
				return fmt.Errorf("record %s: %w", m.Name, err)
			}
			applied = append(applied, m.Name)
		}
		return nil
	})
	if err != nil {
		return s.errf("migrate: %w", err)
	}
	for _, name := range applied {
		s.Log.Info("otpreset: applied migration", "dialect", s.Dialect.Name, "migration", name)
	}
	return nil
}

// SchemaVersion reports the highest migration applied. Before the first
// Migrate the table is missing and it returns an error.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	err := s.DB.QueryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM otpreset_schema_migrations`).Scan(&v)
	if err != nil {
		return 0, s.errf("schema version: %w", err)
	}
	return v, nil
}

// LatestSchemaVersion is the version Migrate brings the schema to: the
// last migration it applies (with HostUsers, the users migrations are not
// counted).
func (s *Store) LatestSchemaVersion() int {
	ms, err := Migrations(s.Dialect.Migrations)
	if err != nil {
		return 0
	}
	latest := 0
	for _, m := range ms {
		if !(m.Users && s.Host != nil) {
			latest = m.Version
		}
	}
	return latest
}
