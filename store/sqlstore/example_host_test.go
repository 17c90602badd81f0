package sqlstore_test

import (
	"database/sql"

	_ "modernc.org/sqlite"
)

// hostSchema creates the host's users table the way a host's own migrations
// would, outside otpreset.
func hostSchema(path string) error {
	db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = db.Exec(`CREATE TABLE accounts (id INTEGER PRIMARY KEY, mobile TEXT UNIQUE NOT NULL, pw_hash TEXT NOT NULL, attrs TEXT);
		INSERT INTO accounts (id, mobile, pw_hash, attrs) VALUES (42, '+14155550123', '$argon2id$old', '{"name":"Lee"}')`)
	return err
}
