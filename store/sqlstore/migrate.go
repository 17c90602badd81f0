package sqlstore

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
)

// migrationFiles holds the schema, one numbered file per change and per
// dialect: migrations/<dialect>/NNNN_name.sql.
//
//go:embed migrations
var migrationFiles embed.FS

type migration struct {
	version int
	name    string
	sql     string
}

// migrationsFor returns the embedded migrations of a dialect, in order.
func migrationsFor(dialectName string) ([]migration, error) {
	dir := path.Join("migrations", dialectName)
	entries, err := fs.ReadDir(migrationFiles, dir)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: migrations: %w", err)
	}
	var ms []migration
	for _, e := range entries {
		name := e.Name()
		num, _, ok := strings.Cut(name, "_")
		if e.IsDir() || !ok || !strings.HasSuffix(name, ".sql") {
			return nil, fmt.Errorf("sqlstore: migration %s: want NNNN_name.sql", name)
		}
		v, err := strconv.Atoi(num)
		if err != nil || v <= 0 {
			return nil, fmt.Errorf("sqlstore: migration %s: bad version", name)
		}
		body, err := fs.ReadFile(migrationFiles, path.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("sqlstore: migration %s: %w", name, err)
		}
		ms = append(ms, migration{version: v, name: name, sql: string(body)})
	}
	slices.SortFunc(ms, func(a, b migration) int { return a.version - b.version })
	for i := 1; i < len(ms); i++ {
		if ms[i].version == ms[i-1].version {
			return nil, fmt.Errorf("sqlstore: migrations %s and %s share a version", ms[i-1].name, ms[i].name)
		}
	}
	return ms, nil
}

// Migrate brings the schema up to date: it applies, in order and in one
// transaction, the embedded migrations not yet recorded in
// otpreset_schema_migrations, and records them. Calling it again does
// nothing; concurrent calls from several processes are serialised (an
// advisory lock on PostgreSQL, the write lock on SQLite). The store never
// changes the schema unless Migrate is called.
func (s *Store) Migrate(ctx context.Context) error {
	ms, err := migrationsFor(s.dialect.name)
	if err != nil {
		return err
	}
	var applied []string
	err = s.db.inTx(ctx, func(q querier) error {
		applied = nil // a retried transaction starts over
		if s.dialect.lockMigrations != "" {
			if _, err := q.exec(ctx, s.dialect.lockMigrations); err != nil {
				return fmt.Errorf("lock: %w", err)
			}
		}
		if _, err := q.exec(ctx, `CREATE TABLE IF NOT EXISTS otpreset_schema_migrations (
			version    INTEGER PRIMARY KEY,
			name       TEXT    NOT NULL,
			applied_at TEXT    NOT NULL
		)`); err != nil {
			return fmt.Errorf("create otpreset_schema_migrations: %w", err)
		}
		done := map[int]bool{}
		rows, err := q.query(ctx, `SELECT version FROM otpreset_schema_migrations`)
		if err != nil {
			return err
		}
		for rows.Next() {
			var v int
			if err := rows.Scan(&v); err != nil {
				rows.Close()
				return err
			}
			done[v] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, m := range ms {
			if done[m.version] {
				continue
			}
			if _, err := q.exec(ctx, m.sql); err != nil {
				return fmt.Errorf("apply %s: %w", m.name, err)
			}
			if _, err := q.exec(ctx, `INSERT INTO otpreset_schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`,
				m.version, m.name, s.now().UTC().Format("2006-01-02T15:04:05.000000Z07:00")); err != nil {
				return fmt.Errorf("record %s: %w", m.name, err)
			}
			applied = append(applied, m.name)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlstore: migrate: %w", err)
	}
	for _, name := range applied {
		s.log.Info("sqlstore: applied migration", "dialect", s.dialect.name, "migration", name)
	}
	return nil
}

// SchemaVersion reports the highest migration applied. Before the first
// Migrate the table is missing and it returns an error.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	err := s.db.queryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM otpreset_schema_migrations`).Scan(&v)
	if err != nil {
		return 0, fmt.Errorf("sqlstore: schema version: %w", err)
	}
	return v, nil
}

// LatestSchemaVersion is the version Migrate brings the schema to.
func (s *Store) LatestSchemaVersion() int {
	ms, err := migrationsFor(s.dialect.name)
	if err != nil || len(ms) == 0 {
		return 0
	}
	return ms[len(ms)-1].version
}
