-- otpreset schema, version 3 (SQLite): the guessing budget (CONTRACT.md,
-- "Security behaviour"). Applied also when the host keeps its own users: the
-- budget counts per tenant and phone whether or not the phone has a user.
-- Times are INTEGER Unix nanoseconds (UTC).

-- One row per tenant and phone that guessed a code wrong since its last
-- successful reset. Written by TakeGuess in one statement (an upsert that
-- decides and counts at once); deleted by ClearGuesses (a success, or an
-- operator lifting a lockout) and, once forgotten, by DeleteExpired.
CREATE TABLE otpreset_guesses (
    tenant_id    TEXT    NOT NULL,
    phone        TEXT    NOT NULL,                     -- E.164, known or not
    failures     INTEGER NOT NULL,                     -- guesses since the last success
    lockouts     INTEGER NOT NULL,                     -- lockouts started since then
    locked_until INTEGER,                              -- end of the latest lockout; NULL: none
    seen_at      INTEGER NOT NULL,                     -- the last guess counted
    forget_at    INTEGER,                              -- seen_at + the policy's Retain; NULL: kept
    last_allowed INTEGER NOT NULL,                     -- what the latest take answered (read back by it)
    PRIMARY KEY (tenant_id, phone)
) STRICT;
CREATE INDEX otpreset_guesses_forget_at ON otpreset_guesses (forget_at);
