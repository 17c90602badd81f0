-- otpreset schema, version 1 (SQLite): codes, sessions and the webhook outbox.
-- Users are in 0002_users.sql, skipped when the host keeps its own table.
-- Times are INTEGER Unix nanoseconds (UTC); JSON is TEXT checked with json_valid.

-- At most one code per tenant and phone; a new code replaces the row.
CREATE TABLE otpreset_challenges (
    tenant_id    TEXT    NOT NULL,
    phone        TEXT    NOT NULL,
    code_hash    BLOB    NOT NULL,                     -- HMAC-SHA256 of the code
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    max_attempts INTEGER NOT NULL CHECK (max_attempts >= 0),
    attempts     INTEGER NOT NULL DEFAULT 0,           -- wrong tries counted
    used_at      INTEGER,                              -- set when consumed
    PRIMARY KEY (tenant_id, phone)
) STRICT;
CREATE INDEX otpreset_challenges_expires_at ON otpreset_challenges (expires_at);

CREATE TABLE otpreset_sessions (
    tenant_id          TEXT    NOT NULL,
    id                 TEXT    NOT NULL,
    user_id            TEXT    NOT NULL,
    access_token_hash  BLOB    NOT NULL,               -- SHA-256 of the token
    refresh_token_hash BLOB    NOT NULL,
    created_at         INTEGER NOT NULL,
    expires_at         INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, access_token_hash)
) STRICT;
CREATE INDEX otpreset_sessions_user ON otpreset_sessions (tenant_id, user_id);
CREATE INDEX otpreset_sessions_expires_at ON otpreset_sessions (expires_at);

-- Webhook events written in the reset's transaction.
CREATE TABLE otpreset_outbox (
    seq          INTEGER PRIMARY KEY,                  -- write order
    id           TEXT    NOT NULL UNIQUE,
    tenant_id    TEXT    NOT NULL,
    payload      TEXT    NOT NULL CHECK (json_valid(payload)),
    created_at   INTEGER NOT NULL,
    delivered_at INTEGER
) STRICT;
CREATE INDEX otpreset_outbox_pending ON otpreset_outbox (created_at, seq) WHERE delivered_at IS NULL;
