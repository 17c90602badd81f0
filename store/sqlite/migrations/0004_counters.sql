-- otpreset schema, version 4 (SQLite): the counters that guard a phone's
-- codes (docs/contract.md, "Guessing and flooding"), and the
-- code's nonce. Applied also when the host keeps its own users: the counters
-- count per tenant and phone whether or not the phone has a user.
-- Times are INTEGER Unix nanoseconds (UTC).
--
-- The old per-phone guessing budget (otpreset_guesses) is dropped: its
-- failures and lockouts are replaced by the per-network ladder and the
-- phone's budget below, which start from zero at this upgrade.

-- The random value the code was derived from (with a secret only the
-- handler holds), so that a send while the code lives sends the same code
-- again. NULL for codes saved before this version: a send replaces them.
ALTER TABLE otpreset_challenges ADD COLUMN nonce BLOB;

DROP TABLE otpreset_guesses;

-- Per tenant, phone and client network (store.NetworkState): the send limit's
-- fixed window and the lockout ladder of wrong codes. From forget_at on the
-- row may be purged: its window has ended, its lockout too, and its last
-- wrong code is older than the policy's Retain (and MaxLockout), so that
-- nothing in it counts any more.
CREATE TABLE otpreset_network_counters (
    tenant_id    TEXT    NOT NULL,
    phone        TEXT    NOT NULL,                     -- E.164, known or not
    network      TEXT    NOT NULL,                     -- the client's network key (IPv4 address, IPv6 /64)
    failures     INTEGER NOT NULL DEFAULT 0,           -- wrong codes since the phone's last success
    lockouts     INTEGER NOT NULL DEFAULT 0,           -- lockouts started since then
    locked_until INTEGER,                              -- end of the latest lockout; NULL: none
    seen_at      INTEGER,                              -- the last wrong code counted; NULL: none
    sends        INTEGER NOT NULL DEFAULT 0,           -- sends in the window ending at sends_reset
    sends_reset  INTEGER,                              -- NULL: no window
    forget_at    INTEGER NOT NULL,                     -- nothing in the row counts from then on
    PRIMARY KEY (tenant_id, phone, network)
) STRICT;
CREATE INDEX otpreset_network_counters_forget_at ON otpreset_network_counters (forget_at);

-- Per tenant and phone (store.PhoneState): the guessing budget, a GCRA whose
-- theoretical arrival time is budget_at. The budget is whole again once
-- budget_at has passed: the row is then purged.
CREATE TABLE otpreset_phone_budget (
    tenant_id TEXT    NOT NULL,
    phone     TEXT    NOT NULL,
    budget_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, phone)
) STRICT;
CREATE INDEX otpreset_phone_budget_budget_at ON otpreset_phone_budget (budget_at);
