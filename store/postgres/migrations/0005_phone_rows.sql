-- otpreset schema, version 5 (PostgreSQL): one row per tenant and phone.
--
-- A phone's counters move into its challenge row, so that a code check
-- (and a send) reads and writes that one row: a wrong code is one UPDATE
-- of one row, as cheap as a count can be made to survive a restart (issue
-- 23, "cost at the floor"). A phone that has counters but no code (an
-- unknown phone tried, or a send that stored nothing) has a row whose code
-- columns are NULL: to every step that row holds no challenge.
--
-- The rows' lock is the phone's lock: every step that writes a phone's row
-- takes it (SELECT ... FOR UPDATE, or the UPDATE itself), so the steps of
-- one phone run one after another on every server. The advisory lock of
-- version 4 is no longer taken.
--
-- The counters of version 4 are carried over, row for row.

ALTER TABLE otpreset_challenges
    ALTER COLUMN code_hash DROP NOT NULL,
    ALTER COLUMN created_at DROP NOT NULL,
    ALTER COLUMN expires_at DROP NOT NULL,
    -- Per client network (store.NetworkState), keyed by the network:
    -- [failures, lockouts, locked_until, seen_at, sends, sends_reset], the
    -- instants in microseconds since 1970 (0: none). At most 64 networks
    -- are kept; nets_n counts them.
    ADD COLUMN nets jsonb NOT NULL DEFAULT '{}',
    ADD COLUMN nets_n integer NOT NULL DEFAULT 0,
    -- The guessing budget's theoretical arrival time (store.PhoneState);
    -- NULL: never used, or cleared by a success.
    ADD COLUMN budget_at timestamptz,
    -- From then on nothing in the row counts (its code expired, every
    -- network forgotten, the budget whole): the row may be purged. It is
    -- moved an hour past what it must be, so that most writes leave it
    -- (and its index) unchanged and update the row in place (HOT).
    ADD COLUMN forget_at timestamptz;

UPDATE otpreset_challenges SET forget_at = expires_at;

-- Microseconds since 1970: the instants nets keeps (0: none).
CREATE FUNCTION pg_temp.us(t timestamptz) RETURNS bigint
LANGUAGE sql IMMUTABLE
AS $$ SELECT coalesce((extract(epoch FROM t) * 1000000)::bigint, 0) $$;

INSERT INTO otpreset_challenges AS ch (tenant_id, phone, max_attempts, nets, nets_n, forget_at)
SELECT n.tenant_id, n.phone, 0,
    jsonb_object_agg(n.network, jsonb_build_array(n.failures, n.lockouts,
        pg_temp.us(n.locked_until), pg_temp.us(n.seen_at), n.sends, pg_temp.us(n.sends_reset))),
    count(*), max(n.forget_at)
FROM otpreset_network_counters n
GROUP BY n.tenant_id, n.phone
ON CONFLICT (tenant_id, phone) DO UPDATE SET
    nets = excluded.nets, nets_n = excluded.nets_n, forget_at = greatest(ch.forget_at, excluded.forget_at);

INSERT INTO otpreset_challenges AS ch (tenant_id, phone, max_attempts, budget_at, forget_at)
SELECT b.tenant_id, b.phone, 0, b.budget_at, b.budget_at FROM otpreset_phone_budget b
ON CONFLICT (tenant_id, phone) DO UPDATE SET
    budget_at = excluded.budget_at, forget_at = greatest(ch.forget_at, excluded.forget_at);

ALTER TABLE otpreset_challenges ALTER COLUMN forget_at SET NOT NULL;
-- Room on each page for the next version of a row, so that updates stay
-- on the page (HOT).
ALTER TABLE otpreset_challenges SET (fillfactor = 80);
DROP INDEX otpreset_challenges_expires_at;
CREATE INDEX otpreset_challenges_forget_at ON otpreset_challenges (forget_at);

DROP FUNCTION otpreset_issue(text, text, text, timestamptz, integer, bigint, boolean, bytea, bytea,
    timestamptz, integer, integer);
DROP FUNCTION otpreset_check_code(text, text, text, timestamptz, bytea, integer, bigint, bigint, bigint,
    bigint, bigint, boolean, boolean, integer);
DROP FUNCTION otpreset_clear_counters(text, text);
DROP FUNCTION otpreset_purge(timestamptz, integer);
DROP FUNCTION otpreset_phone_key(text, text);
DROP FUNCTION otpreset_ns(bigint);
DROP TABLE otpreset_network_counters;
DROP TABLE otpreset_phone_budget;

-- nets with room for one more network: past 63 networks, those whose
-- counters stop mattering soonest (the least recent lockout end, wrong
-- code or send window) are dropped, as redisstore does past MaxNetworks.
-- Called only when a 65th network would be added.
CREATE FUNCTION otpreset_make_room(nets jsonb, keep integer) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT coalesce(jsonb_object_agg(e.key, e.value), '{}') FROM (
    SELECT key, value FROM jsonb_each(nets)
    ORDER BY greatest((value->>2)::bigint, (value->>3)::bigint, (value->>5)::bigint) DESC
    LIMIT keep) e $$;

-- Deletes up to lim rows that nothing needs any more at now, but the row
-- of the phone whose step calls it (which that step may be writing). Rows
-- another transaction holds are skipped, so it never waits. Called now and
-- then by the steps (Go decides when), so the table stays bounded without
-- the host calling anything.
CREATE FUNCTION otpreset_purge(p_now timestamptz, lim integer, p_tenant_id text, p_phone text) RETURNS void
LANGUAGE sql AS $$
    DELETE FROM otpreset_challenges WHERE ctid = ANY (ARRAY(
        SELECT ctid FROM otpreset_challenges
        WHERE forget_at <= p_now AND NOT (tenant_id = p_tenant_id AND phone = p_phone)
        LIMIT lim FOR UPDATE SKIP LOCKED))
$$;

-- Challenges.IssueChallenge (store.NextIssue, then store.Live): counts the
-- send from p_network when p_limit > 0 and, unless the limit refuses it or
-- p_store is false (no user), keeps the phone's live code or saves the new
-- one. o_stored tells whether a code is in effect; the o_ columns after it
-- are that code. Without a limit to count, a kept live code writes
-- nothing (IssueCode's statement reads such a code without calling this
-- function at all).
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
    r record;
    e jsonb;
    fresh boolean;
    live boolean;
    nowu bigint := (extract(epoch FROM p_now) * 1000000)::bigint;
    sends integer;
    reset_ bigint;
    need timestamptz; -- the row lasts until then at least
BEGIN
    o_limited := false;
    o_sends_left := 0;
    o_stored := false;
    o_max_attempts := 0;
    <<step>>
    LOOP
        IF p_limit <= 0 AND NOT p_store THEN
            EXIT step; -- no count to take, no code to save
        END IF;

        SELECT ch.nonce, ch.code_hash, ch.created_at, ch.expires_at, ch.max_attempts, ch.nets -> p_network AS e,
            ch.nets_n, ch.forget_at,
            ch.code_hash IS NOT NULL AND ch.used_at IS NULL AND p_now < ch.expires_at
                AND ch.attempts < ch.max_attempts AND ch.nonce IS NOT NULL AS live
        INTO r FROM otpreset_challenges ch
        WHERE ch.tenant_id = p_tenant_id AND ch.phone = p_phone
        FOR UPDATE;
        fresh := NOT FOUND;
        live := NOT fresh AND r.live;
        e := CASE WHEN fresh THEN NULL ELSE r.e END;
        need := NULL;

        IF p_limit > 0 THEN
            sends := coalesce((e->>4)::integer, 0);
            reset_ := coalesce((e->>5)::bigint, 0);
            IF nowu >= reset_ THEN -- a new window (a new network has none)
                sends := 0;
                reset_ := nowu + p_period / 1000;
            END IF;
            IF sends >= p_limit THEN
                o_limited := true;
            ELSE
                sends := sends + 1;
                o_sends_left := p_limit - sends;
            END IF;
            o_limit_resets := 'epoch'::timestamptz + reset_ * interval '1 microsecond';
            need := o_limit_resets;
            e := jsonb_build_array(coalesce((e->>0)::integer, 0), coalesce((e->>1)::integer, 0),
                coalesce((e->>2)::bigint, 0), coalesce((e->>3)::bigint, 0), sends, reset_);
        END IF;

        IF NOT o_limited AND p_store THEN
            IF live THEN
                o_stored := true;
                o_nonce := r.nonce;
                o_code_hash := r.code_hash;
                o_created_at := r.created_at;
                o_expires_at := r.expires_at;
                o_max_attempts := r.max_attempts;
            ELSE
                o_stored := true;
                o_nonce := coalesce(p_nonce, '\x'::bytea);
                o_code_hash := p_code_hash;
                o_created_at := p_now;
                o_expires_at := p_expires_at;
                o_max_attempts := p_max_attempts;
                need := greatest(need, p_expires_at);
            END IF;
        END IF;
        IF p_limit <= 0 AND NOT (o_stored AND NOT live) THEN
            EXIT step; -- nothing to write
        END IF;

        IF fresh THEN
            INSERT INTO otpreset_challenges
                (tenant_id, phone, nonce, code_hash, created_at, expires_at, max_attempts, attempts, used_at,
                 nets, nets_n, forget_at)
            VALUES (p_tenant_id, p_phone,
                CASE WHEN o_stored THEN o_nonce END, CASE WHEN o_stored THEN o_code_hash END,
                CASE WHEN o_stored THEN o_created_at END, CASE WHEN o_stored THEN o_expires_at END,
                o_max_attempts, 0, NULL,
                CASE WHEN e IS NULL THEN '{}'::jsonb ELSE jsonb_build_object(p_network, e) END,
                CASE WHEN e IS NULL THEN 0 ELSE 1 END, need + interval '1 hour')
            ON CONFLICT (tenant_id, phone) DO NOTHING;
            IF NOT FOUND THEN -- another step made the row first: take it from the top
                o_limited := false;
                o_sends_left := 0;
                o_stored := false;
                o_max_attempts := 0;
                CONTINUE step;
            END IF;
            EXIT step;
        END IF;
        UPDATE otpreset_challenges ch SET
            nets = CASE WHEN e IS NULL THEN ch.nets
                WHEN r.e IS NULL AND ch.nets_n >= 64 THEN otpreset_make_room(ch.nets, 63) || jsonb_build_object(p_network, e)
                ELSE jsonb_set(ch.nets, ARRAY[p_network], e) END,
            nets_n = CASE WHEN e IS NULL OR r.e IS NOT NULL THEN ch.nets_n
                WHEN ch.nets_n >= 64 THEN 64 ELSE ch.nets_n + 1 END,
            nonce = CASE WHEN o_stored AND NOT live THEN o_nonce ELSE ch.nonce END,
            code_hash = CASE WHEN o_stored AND NOT live THEN o_code_hash ELSE ch.code_hash END,
            created_at = CASE WHEN o_stored AND NOT live THEN o_created_at ELSE ch.created_at END,
            expires_at = CASE WHEN o_stored AND NOT live THEN o_expires_at ELSE ch.expires_at END,
            max_attempts = CASE WHEN o_stored AND NOT live THEN o_max_attempts ELSE ch.max_attempts END,
            attempts = CASE WHEN o_stored AND NOT live THEN 0 ELSE ch.attempts END,
            used_at = CASE WHEN o_stored AND NOT live THEN NULL ELSE ch.used_at END,
            forget_at = CASE WHEN ch.forget_at >= need THEN ch.forget_at ELSE need + interval '1 hour' END
        WHERE ch.tenant_id = p_tenant_id AND ch.phone = p_phone;
        EXIT step;
    END LOOP;
    IF p_purge > 0 THEN
        PERFORM otpreset_purge(p_now, p_purge, p_tenant_id, p_phone);
    END IF;
END $$;

-- Challenges.CheckCode (store.NextAttempt): the network's lockout, then the
-- phone's budget, then the comparison, and a failed comparison counted
-- against the network's ladder, the budget and the code's tries: one read
-- of the phone's row under its lock, and one write of it (or its insert,
-- for a phone that had none). A refusal or the right code writes nothing.
-- Durations are in nanoseconds: p_retain 0 keeps a network's count until
-- cleared (or dropped: p_keep), p_interval is the budget's emission
-- interval (0: no budget), p_tolerance its burst times the interval.
-- p_now_us is p_now in microseconds since 1970 (the unit of nets), p_keep
-- is p_now + max(Retain, MaxLockout): the row lasts until then at least
-- (a lockout started now ends by then; a send window was covered when it
-- began).
-- o_refused: 0 compared, 1 the network's lockout (o_until: its end), 2 the
-- budget (o_until: its theoretical arrival time). o_verdict: 0 the right,
-- usable code; 1 wrong; 2 no code; 3 expired; 4 the right code of a used
-- challenge; 5 too many wrong tries.
--
-- The logic is PL/pgSQL, whose expressions are prepared once per session;
-- the two statements are small. A single SQL statement (INSERT ... ON
-- CONFLICT DO UPDATE with the step in its expressions) measured 25% slower:
-- PostgreSQL builds a statement's expressions at every execution.
CREATE FUNCTION otpreset_check_code(
    p_tenant_id text, p_phone text, p_network text, p_now timestamptz, p_code_hash bytea,
    p_attempts integer, p_lockout bigint, p_max_lockout bigint, p_retain bigint,
    p_interval bigint, p_tolerance bigint, p_pass_lockout boolean, p_pass_budget boolean,
    p_purge integer, p_now_us bigint, p_keep timestamptz,
    OUT o_refused integer, OUT o_until timestamptz, OUT o_verdict integer,
    OUT o_counted boolean, OUT o_started_lockout boolean, OUT o_lockouts integer)
LANGUAGE plpgsql AS $$
DECLARE
    -- The row as read.
    e jsonb; -- p_network's counters: [failures, lockouts, locked_until, seen_at, sends, sends_reset]
    code_hash_ bytea;
    used boolean;
    expired boolean;
    tries_left boolean;
    budget_at_ timestamptz;
    forget_at_ timestamptz;
    -- p_network's counters as store.NetworkState (instants in microseconds).
    failures_ integer;
    lockouts_ integer;
    locked_until_ bigint;
    seen_ bigint;
    tat timestamptz;
    need timestamptz;
    wrong integer;
    d bigint;
    i integer;
BEGIN
    <<step>>
    LOOP
        o_refused := 0;
        o_verdict := 0;
        o_counted := false;
        o_started_lockout := false;
        SELECT ch.nets -> p_network, ch.code_hash, ch.used_at IS NOT NULL, p_now >= ch.expires_at,
            ch.attempts < ch.max_attempts, ch.budget_at, ch.forget_at
        INTO e, code_hash_, used, expired, tries_left, budget_at_, forget_at_
        FROM otpreset_challenges ch
        WHERE ch.tenant_id = p_tenant_id AND ch.phone = p_phone
        FOR UPDATE;
        -- Not found: every target is NULL (no code, no network, no budget).
        failures_ := coalesce((e ->> 0)::integer, 0);
        lockouts_ := coalesce((e ->> 1)::integer, 0);
        locked_until_ := coalesce((e ->> 2)::bigint, 0);
        seen_ := coalesce((e ->> 3)::bigint, 0);
        IF p_retain > 0 AND seen_ > 0 AND p_now_us >= seen_ + p_retain / 1000 THEN
            failures_ := 0; -- forgotten
            lockouts_ := 0;
            locked_until_ := 0;
            seen_ := 0;
        END IF;
        IF p_now_us >= locked_until_ THEN
            locked_until_ := 0; -- that lockout has ended (or there was none)
        END IF;
        o_lockouts := lockouts_;
        IF locked_until_ > 0 AND NOT p_pass_lockout THEN
            o_refused := 1;
            o_until := 'epoch'::timestamptz + locked_until_ * interval '1 microsecond';
            EXIT step;
        END IF;

        tat := greatest(budget_at_, p_now);
        IF p_interval > 0 AND tat >= p_now + (p_tolerance / 1000) * interval '1 microsecond' AND NOT p_pass_budget THEN
            o_refused := 2;
            o_until := tat;
            EXIT step;
        END IF;

        wrong := 0;
        IF code_hash_ IS NULL THEN -- no row, or a row without a code
            o_verdict := 2;
        ELSIF used THEN -- "used" only to the code that was used
            o_verdict := CASE WHEN code_hash_ = p_code_hash THEN 4 ELSE 1 END;
        ELSIF expired THEN
            o_verdict := 3;
        ELSIF NOT tries_left THEN
            o_verdict := 5;
        ELSIF code_hash_ <> p_code_hash THEN
            o_verdict := 1;
            wrong := 1;
        END IF;
        IF o_verdict IN (0, 4) THEN -- the right code counts nothing
            EXIT step;
        END IF;

        o_counted := true;
        failures_ := failures_ + 1;
        seen_ := p_now_us;
        IF p_attempts > 0 AND failures_ % p_attempts = 0 THEN
            lockouts_ := lockouts_ + 1;
            -- GuessPolicy.LockoutFor(lockouts_), without overflowing.
            d := p_lockout;
            i := 1;
            WHILE i < lockouts_ AND d < p_max_lockout LOOP
                d := CASE WHEN d > p_max_lockout / 2 THEN p_max_lockout ELSE d * 2 END;
                i := i + 1;
            END LOOP;
            locked_until_ := p_now_us + least(d, p_max_lockout) / 1000;
            o_started_lockout := true;
        END IF;
        o_lockouts := lockouts_;
        tat := CASE WHEN p_interval > 0 THEN tat + (p_interval / 1000) * interval '1 microsecond' ELSE budget_at_ END;
        need := greatest(p_keep, tat);
        e := jsonb_build_array(failures_, lockouts_, locked_until_, seen_,
            coalesce((e ->> 4)::integer, 0), coalesce((e ->> 5)::bigint, 0));
        IF forget_at_ IS NULL THEN -- no row yet
            INSERT INTO otpreset_challenges (tenant_id, phone, max_attempts, nets, nets_n, budget_at, forget_at)
            VALUES (p_tenant_id, p_phone, 0, jsonb_build_object(p_network, e), 1, tat, need + interval '1 hour')
            ON CONFLICT (tenant_id, phone) DO NOTHING;
            IF NOT FOUND THEN -- another step made the row first: take it from the top
                CONTINUE step;
            END IF;
            EXIT step;
        END IF;
        UPDATE otpreset_challenges ch SET
            nets = CASE WHEN ch.nets ? p_network OR ch.nets_n < 64 THEN ch.nets
                ELSE otpreset_make_room(ch.nets, 63) END || jsonb_build_object(p_network, e),
            nets_n = CASE WHEN ch.nets ? p_network THEN ch.nets_n ELSE least(ch.nets_n + 1, 64) END,
            attempts = ch.attempts + wrong,
            budget_at = tat,
            forget_at = CASE WHEN forget_at_ >= need THEN forget_at_ ELSE need + interval '1 hour' END
        WHERE ch.tenant_id = p_tenant_id AND ch.phone = p_phone;
        EXIT step;
    END LOOP;
    IF p_purge > 0 THEN
        PERFORM otpreset_purge(p_now, p_purge, p_tenant_id, p_phone);
    END IF;
END $$;

-- Challenges.ClearCounters: the phone's row keeps its code and forgets
-- every network and its budget.
CREATE FUNCTION otpreset_clear_counters(p_tenant_id text, p_phone text) RETURNS void
LANGUAGE sql AS $$
    UPDATE otpreset_challenges SET nets = '{}', nets_n = 0, budget_at = NULL
    WHERE tenant_id = p_tenant_id AND phone = p_phone AND (nets_n > 0 OR budget_at IS NOT NULL)
$$;
