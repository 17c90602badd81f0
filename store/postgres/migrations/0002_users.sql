-- otpreset schema, version 2 (PostgreSQL): otpreset_users. Migrate skips this
-- file (and any NNNN_users_*.sql) when Config.HostUsers is set. IF NOT EXISTS:
-- databases migrated before the split already have the table from version 1.
CREATE TABLE IF NOT EXISTS otpreset_users (
    tenant_id           text        NOT NULL,
    id                  text        NOT NULL,
    phone               text        NOT NULL,          -- E.164
    password_hash       text        NOT NULL,          -- PHC string ($argon2id$...)
    profile             jsonb       NOT NULL DEFAULT '{}'::jsonb,
    password_changed_at timestamptz,
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT otpreset_users_phone_key UNIQUE (tenant_id, phone)
);
