-- otpreset schema, version 2 (SQLite): otpreset_users. Migrate skips this
-- file (and any NNNN_users_*.sql) when Config.HostUsers is set. IF NOT EXISTS:
-- databases migrated before the split already have the table from version 1.
CREATE TABLE IF NOT EXISTS otpreset_users (
    tenant_id           TEXT    NOT NULL,
    id                  TEXT    NOT NULL,
    phone               TEXT    NOT NULL,              -- E.164
    password_hash       TEXT    NOT NULL,              -- PHC string ($argon2id$...)
    profile             TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(profile)),
    password_changed_at INTEGER,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, phone)
) STRICT;
