-- otpreset schema, version 4 (PostgreSQL): the counters that guard a phone's
-- codes (docs/contract.md, "Guessing and flooding"), and the
-- code's nonce. Applied also when the host keeps its own users: the counters
-- count per tenant and phone whether or not the phone has a user.
--
-- The old per-phone guessing budget (otpreset_guesses) is dropped: its
-- failures and lockouts are replaced by the per-network ladder and the
-- phone's budget below, which start from zero at this upgrade.

-- The random value the code was derived from (with a secret only the
-- handler holds), so that a send while the code lives sends the same code
-- again. NULL for codes saved before this version: a send replaces them.
ALTER TABLE otpreset_challenges ADD COLUMN nonce bytea;

DROP TABLE otpreset_guesses;

-- Per tenant, phone and client network (store.NetworkState): the send limit's
-- fixed window and the lockout ladder of wrong codes. From forget_at on the
-- row may be purged: its window has ended, its lockout too, and its last
-- wrong code is older than the policy's Retain (and MaxLockout), so that
-- nothing in it counts any more.
CREATE TABLE otpreset_network_counters (
    tenant_id    text        NOT NULL,
    phone        text        NOT NULL,             -- E.164, known or not
    network      text        NOT NULL,             -- the client's network key (IPv4 address, IPv6 /64)
    failures     integer     NOT NULL DEFAULT 0,   -- wrong codes since the phone's last success
    lockouts     integer     NOT NULL DEFAULT 0,   -- lockouts started since then
    locked_until timestamptz,                      -- end of the latest lockout; NULL: none
    seen_at      timestamptz,                      -- the last wrong code counted; NULL: none
    sends        integer     NOT NULL DEFAULT 0,   -- sends in the window ending at sends_reset
    sends_reset  timestamptz,                      -- NULL: no window
    forget_at    timestamptz NOT NULL,             -- nothing in the row counts from then on
    PRIMARY KEY (tenant_id, phone, network)
);
CREATE INDEX otpreset_network_counters_forget_at ON otpreset_network_counters (forget_at);

-- Per tenant and phone (store.PhoneState): the guessing budget, a GCRA whose
-- theoretical arrival time is budget_at. The budget is whole again once
-- budget_at has passed: the row is then purged.
CREATE TABLE otpreset_phone_budget (
    tenant_id text        NOT NULL,
    phone     text        NOT NULL,
    budget_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, phone)
);
CREATE INDEX otpreset_phone_budget_budget_at ON otpreset_phone_budget (budget_at);

-- Every step that changes more than one row of a phone (a send, a code
-- check, a reset, clearing the counters) first takes this transaction-level
-- advisory lock, so the steps of one phone run one after another on every
-- server, in one order, and never deadlock; inside the functions below each
-- statement then reads the rows as the previous holder committed them. The
-- reads take no row locks (the advisory lock is the serialisation), so a
-- check the counters refuse writes nothing. Two phones that share a key
-- only wait for each other.
CREATE FUNCTION otpreset_phone_key(tenant_id text, phone text) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT hashtextextended(length(tenant_id) || ':' || tenant_id || phone, 7263540191) $$;

-- A duration given in nanoseconds, as an interval (timestamptz keeps
-- microseconds: the rest is truncated).
CREATE FUNCTION otpreset_ns(ns bigint) RETURNS interval
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT (ns / 1000) * interval '1 microsecond' $$;

-- Deletes up to lim rows of each table that nothing needs any more at now:
-- expired challenges, forgotten network counters, whole budgets. Rows
-- another transaction holds are skipped, so it never waits. Called now and
-- then by the steps below (Go decides when), so the tables stay bounded
-- without the host calling anything.
CREATE FUNCTION otpreset_purge(p_now timestamptz, lim integer) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM otpreset_challenges WHERE ctid = ANY (ARRAY(
        SELECT ctid FROM otpreset_challenges WHERE expires_at <= p_now
        LIMIT lim FOR UPDATE SKIP LOCKED));
    DELETE FROM otpreset_network_counters WHERE ctid = ANY (ARRAY(
        SELECT ctid FROM otpreset_network_counters WHERE forget_at <= p_now
        LIMIT lim FOR UPDATE SKIP LOCKED));
    DELETE FROM otpreset_phone_budget WHERE ctid = ANY (ARRAY(
        SELECT ctid FROM otpreset_phone_budget WHERE budget_at <= p_now
        LIMIT lim FOR UPDATE SKIP LOCKED));
END $$;

-- Challenges.IssueChallenge (store.NextIssue, then store.Live): counts the
-- send from p_network when p_limit > 0 and, unless the limit refuses it or
-- p_store is false (no user), keeps the phone's live code or saves the new
-- one. o_stored tells whether a code is in effect; the o_ columns after it
-- are that code.
CREATE FUNCTION otpreset_issue(
    p_tenant_id text, p_phone text, p_network text, p_now timestamptz,
    p_limit integer, p_period bigint, p_store boolean,
    p_nonce bytea, p_code_hash bytea, p_expires_at timestamptz, p_max_attempts integer,
    p_purge integer,
    OUT o_limited boolean, OUT o_sends_left integer, OUT o_limit_resets timestamptz,
    OUT o_stored boolean, OUT o_nonce bytea, OUT o_code_hash bytea,
    OUT o_created_at timestamptz, OUT o_expires_at timestamptz, OUT o_max_attempts integer)
LANGUAGE plpgsql AS $$
DECLARE
    s integer;
    r timestamptz;
    c record;
BEGIN
    o_limited := false;
    o_sends_left := 0;
    o_stored := false;
    o_max_attempts := 0;
    PERFORM pg_advisory_xact_lock(otpreset_phone_key(p_tenant_id, p_phone));
    <<step>>
    BEGIN
        IF p_limit > 0 THEN
            SELECT n.sends, n.sends_reset INTO s, r FROM otpreset_network_counters n
            WHERE n.tenant_id = p_tenant_id AND n.phone = p_phone AND n.network = p_network;
            IF r IS NULL OR p_now >= r THEN -- a new window (a new row has none)
                s := 0;
                r := p_now + otpreset_ns(p_period);
            END IF;
            IF s >= p_limit THEN
                o_limited := true;
            ELSE
                s := s + 1;
                o_sends_left := p_limit - s;
            END IF;
            o_limit_resets := r;
            INSERT INTO otpreset_network_counters AS n
                (tenant_id, phone, network, sends, sends_reset, forget_at)
            VALUES (p_tenant_id, p_phone, p_network, s, r, r)
            ON CONFLICT (tenant_id, phone, network) DO UPDATE SET
                sends = excluded.sends, sends_reset = excluded.sends_reset,
                forget_at = greatest(n.forget_at, excluded.forget_at);
            IF o_limited THEN
                EXIT step;
            END IF;
        END IF;
        IF NOT p_store THEN
            EXIT step;
        END IF;
        SELECT ch.nonce, ch.code_hash, ch.created_at, ch.expires_at, ch.max_attempts,
            ch.used_at IS NULL AND p_now < ch.expires_at AND ch.attempts < ch.max_attempts
                AND ch.nonce IS NOT NULL AS live
        INTO c FROM otpreset_challenges ch
        WHERE ch.tenant_id = p_tenant_id AND ch.phone = p_phone;
        IF FOUND AND c.live THEN -- the owner's code survives anyone's send
            o_stored := true;
            o_nonce := c.nonce;
            o_code_hash := c.code_hash;
            o_created_at := c.created_at;
            o_expires_at := c.expires_at;
            o_max_attempts := c.max_attempts;
            EXIT step;
        END IF;
        INSERT INTO otpreset_challenges AS ch
            (tenant_id, phone, nonce, code_hash, created_at, expires_at, max_attempts, attempts, used_at)
        VALUES (p_tenant_id, p_phone, coalesce(p_nonce, '\x'::bytea), p_code_hash, p_now, p_expires_at,
            p_max_attempts, 0, NULL)
        ON CONFLICT (tenant_id, phone) DO UPDATE SET
            nonce = excluded.nonce, code_hash = excluded.code_hash, created_at = excluded.created_at,
            expires_at = excluded.expires_at, max_attempts = excluded.max_attempts, attempts = 0, used_at = NULL;
        o_stored := true;
        o_nonce := coalesce(p_nonce, '\x'::bytea);
        o_code_hash := p_code_hash;
        o_created_at := p_now;
        o_expires_at := p_expires_at;
        o_max_attempts := p_max_attempts;
    END step;
    IF p_purge > 0 THEN
        PERFORM otpreset_purge(p_now, p_purge);
    END IF;
END $$;

-- Challenges.CheckCode (store.NextAttempt): the network's lockout, then the
-- phone's budget, then the comparison, and a failed comparison counted
-- against the network's ladder, the budget and the code's tries, in one
-- call under the phone's lock. Durations are in nanoseconds: p_retain 0
-- keeps a network's count until cleared (or purged: MaxLockout after its
-- last wrong code and lockout, as memstore forgets it), p_interval is the
-- budget's emission interval (0: no budget), p_tolerance its burst times
-- the interval.
-- o_refused: 0 compared, 1 the network's lockout (o_until: its end), 2 the
-- budget (o_until: its theoretical arrival time). o_verdict: 0 the right,
-- usable code; 1 wrong; 2 no code; 3 expired; 4 the right code of a used
-- challenge; 5 too many wrong tries.
CREATE FUNCTION otpreset_check_code(
    p_tenant_id text, p_phone text, p_network text, p_now timestamptz, p_code_hash bytea,
    p_attempts integer, p_lockout bigint, p_max_lockout bigint, p_retain bigint,
    p_interval bigint, p_tolerance bigint, p_pass_lockout boolean, p_pass_budget boolean,
    p_purge integer,
    OUT o_refused integer, OUT o_until timestamptz, OUT o_verdict integer,
    OUT o_counted boolean, OUT o_started_lockout boolean, OUT o_lockouts integer)
LANGUAGE plpgsql AS $$
DECLARE
    failures_ integer;
    lockouts_ integer;
    locked_until_ timestamptz;
    seen_ timestamptz;
    tat timestamptz;
    c record;
    d bigint;
    i integer;
BEGIN
    o_refused := 0;
    o_verdict := 0;
    o_counted := false;
    o_started_lockout := false;
    PERFORM pg_advisory_xact_lock(otpreset_phone_key(p_tenant_id, p_phone));
    <<step>>
    BEGIN
        SELECT n.failures, n.lockouts, n.locked_until, n.seen_at
        INTO failures_, lockouts_, locked_until_, seen_
        FROM otpreset_network_counters n
        WHERE n.tenant_id = p_tenant_id AND n.phone = p_phone AND n.network = p_network;
        IF NOT FOUND OR (p_retain > 0 AND seen_ IS NOT NULL AND p_now >= seen_ + otpreset_ns(p_retain)) THEN
            failures_ := 0; -- a new key, or forgotten
            lockouts_ := 0;
            locked_until_ := NULL;
            seen_ := NULL;
        END IF;
        IF p_now >= locked_until_ THEN
            locked_until_ := NULL; -- that lockout has ended
        END IF;
        o_lockouts := lockouts_;
        IF locked_until_ IS NOT NULL AND NOT p_pass_lockout THEN
            o_refused := 1;
            o_until := locked_until_;
            EXIT step;
        END IF;

        SELECT b.budget_at INTO tat FROM otpreset_phone_budget b
        WHERE b.tenant_id = p_tenant_id AND b.phone = p_phone;
        tat := greatest(tat, p_now);
        IF p_interval > 0 AND tat >= p_now + otpreset_ns(p_tolerance) AND NOT p_pass_budget THEN
            o_refused := 2;
            o_until := tat;
            EXIT step;
        END IF;

        SELECT ch.code_hash = p_code_hash AS right_code, ch.used_at IS NOT NULL AS used,
            p_now >= ch.expires_at AS expired, ch.attempts >= ch.max_attempts AS too_many
        INTO c FROM otpreset_challenges ch
        WHERE ch.tenant_id = p_tenant_id AND ch.phone = p_phone;
        IF NOT FOUND THEN
            o_verdict := 2;
        ELSIF c.used THEN -- "used" only to the code that was used
            o_verdict := CASE WHEN c.right_code THEN 4 ELSE 1 END;
        ELSIF c.expired THEN
            o_verdict := 3;
        ELSIF c.too_many THEN
            o_verdict := 5;
        ELSIF NOT c.right_code THEN
            UPDATE otpreset_challenges SET attempts = attempts + 1
            WHERE tenant_id = p_tenant_id AND phone = p_phone;
            o_verdict := 1;
        END IF;
        IF o_verdict IN (0, 4) THEN -- the right code counts nothing
            EXIT step;
        END IF;

        o_counted := true;
        failures_ := failures_ + 1;
        seen_ := p_now;
        IF p_attempts > 0 AND failures_ % p_attempts = 0 THEN
            lockouts_ := lockouts_ + 1;
            -- GuessPolicy.LockoutFor(lockouts_), without overflowing.
            d := p_lockout;
            i := 1;
            WHILE i < lockouts_ AND d < p_max_lockout LOOP
                d := CASE WHEN d > p_max_lockout / 2 THEN p_max_lockout ELSE d * 2 END;
                i := i + 1;
            END LOOP;
            locked_until_ := p_now + otpreset_ns(least(d, p_max_lockout));
            o_started_lockout := true;
        END IF;
        o_lockouts := lockouts_;
        INSERT INTO otpreset_network_counters AS n
            (tenant_id, phone, network, failures, lockouts, locked_until, seen_at, forget_at)
        VALUES (p_tenant_id, p_phone, p_network, failures_, lockouts_, locked_until_, seen_,
            greatest(locked_until_, seen_ + otpreset_ns(greatest(p_retain, p_max_lockout))))
        ON CONFLICT (tenant_id, phone, network) DO UPDATE SET
            failures = excluded.failures, lockouts = excluded.lockouts,
            locked_until = excluded.locked_until, seen_at = excluded.seen_at,
            forget_at = greatest(n.forget_at, excluded.forget_at);
        IF p_interval > 0 THEN
            INSERT INTO otpreset_phone_budget AS b (tenant_id, phone, budget_at)
            VALUES (p_tenant_id, p_phone, tat + otpreset_ns(p_interval))
            ON CONFLICT (tenant_id, phone) DO UPDATE SET budget_at = excluded.budget_at;
        END IF;
    END step;
    IF p_purge > 0 THEN
        PERFORM otpreset_purge(p_now, p_purge);
    END IF;
END $$;

-- Challenges.ClearCounters, under the phone's lock.
CREATE FUNCTION otpreset_clear_counters(p_tenant_id text, p_phone text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(otpreset_phone_key(p_tenant_id, p_phone));
    DELETE FROM otpreset_network_counters WHERE tenant_id = p_tenant_id AND phone = p_phone;
    DELETE FROM otpreset_phone_budget WHERE tenant_id = p_tenant_id AND phone = p_phone;
END $$;
