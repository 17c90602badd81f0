-- otpreset schema, version 1 (PostgreSQL): codes, sessions and the webhook outbox.
-- Users are in 0002_users.sql, skipped when the host keeps its own table.

-- At most one code per tenant and phone; a new code replaces the row.
CREATE TABLE otpreset_challenges (
    tenant_id    text        NOT NULL,
    phone        text        NOT NULL,
    code_hash    bytea       NOT NULL,                 -- HMAC-SHA256 of the code
    created_at   timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    max_attempts integer     NOT NULL CHECK (max_attempts >= 0),
    attempts     integer     NOT NULL DEFAULT 0,       -- wrong tries counted
    used_at      timestamptz,                          -- set when consumed
    PRIMARY KEY (tenant_id, phone)
);
CREATE INDEX otpreset_challenges_expires_at ON otpreset_challenges (expires_at);

CREATE TABLE otpreset_sessions (
    tenant_id          text        NOT NULL,
    id                 text        NOT NULL,
    user_id            text        NOT NULL,
    access_token_hash  bytea       NOT NULL,           -- SHA-256 of the token
    refresh_token_hash bytea       NOT NULL,
    created_at         timestamptz NOT NULL,
    expires_at         timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT otpreset_sessions_access_key UNIQUE (tenant_id, access_token_hash)
);
CREATE INDEX otpreset_sessions_user ON otpreset_sessions (tenant_id, user_id);
CREATE INDEX otpreset_sessions_expires_at ON otpreset_sessions (expires_at);

-- Webhook events written in the reset's transaction. payload is json, not
-- jsonb, so the bytes signed and sent are exactly the bytes written.
CREATE TABLE otpreset_outbox (
    seq          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id           text        NOT NULL,
    tenant_id    text        NOT NULL,
    payload      json        NOT NULL,
    created_at   timestamptz NOT NULL,
    delivered_at timestamptz,
    CONSTRAINT otpreset_outbox_id_key UNIQUE (id)
);
CREATE INDEX otpreset_outbox_pending ON otpreset_outbox (created_at, seq) WHERE delivered_at IS NULL;
