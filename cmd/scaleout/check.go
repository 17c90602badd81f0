package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/alexedwards/argon2id"
	"github.com/jackc/pgx/v5"
)

// report is what a run measured and every invariant it broke.
type report struct {
	Backend, Fault string
	Instances      int
	Clients        int
	Duration       time.Duration

	Requests   int
	ByStatus   map[int]int // 0: no answer
	Sends      int
	Resets     int // 200 answers
	SMS        int
	Events     int // distinct webhook ids, delivered or in the outbox
	Delivered  int // distinct ids delivered
	Redelivers int // deliveries of an id already delivered (at least once)
	Pending    int // in the outbox, not yet delivered
	// LostWithKilled are webhook events of 200 resets answered by the killed
	// instance and never delivered: only a store without an outbox (Redis)
	// can lose them.
	LostWithKilled int

	// Fault figures: requests that overlapped it, the longest answer of
	// the run, how long after the server was back the last 950 came and the
	// first 200 reset was answered.
	FaultFor        time.Duration
	DuringFault     int
	Errors950       int
	MaxLatency      time.Duration
	Last950After    time.Duration
	First200After   time.Duration
	OthersAnswering int // answers from other instances after a kill

	Violations []string
}

// lockoutOvershoot starts the violation of a phone that had more wrong
// codes compared than its lockout allows: wrong codes in flight at the same
// time passed the lockout before any was counted (as they did while the
// handler checked the lockout first and counted after; the store's CheckCode
// decides and counts in one step), or each instance kept its own count.
const lockoutOvershoot = "lockout overshoot:"

// check holds the run to its invariants.
func (r *run) check(ctx context.Context) (*report, error) {
	rep := &report{
		Backend: r.cfg.Backend, Instances: r.cfg.Instances, Clients: r.cfg.Clients,
		Duration: r.cfg.Duration, ByStatus: map[int]int{}, Requests: len(r.ops),
	}
	violate := func(format string, args ...any) {
		if len(rep.Violations) < 50 {
			rep.Violations = append(rep.Violations, fmt.Sprintf(format, args...))
		}
	}
	attacked := map[string]bool{}
	for _, p := range r.phones[:max(1, len(r.phones)/10)] {
		attacked[p] = true
	}

	// Answers: only the contract's, a 500 is always 950, none too slow.
	successes := map[string]int{}              // phone+code -> 200s
	perPhone := map[string][]op{}              // phone -> its resets
	sendsOf := map[string][]op{}               // phone -> its sends
	outcomes := map[string]map[string]string{} // phone -> password -> "200", "none", "500", ...
	for _, o := range r.ops {
		rep.ByStatus[o.status]++
		rep.MaxLatency = max(rep.MaxLatency, o.end.Sub(o.start))
		if d := o.end.Sub(o.start); d > answerBound {
			violate("%c %s on instance %d took %s (bound %s)", o.kind, o.phone, o.inst, d.Round(time.Millisecond), answerBound)
		}
		switch o.status {
		case 0, 200, 401, 403, 429:
		case 500:
			if o.errCode != 950 {
				violate("500 with ErrorCode %d", o.errCode)
			}
			rep.Errors950++
		default:
			violate("unexpected status %d (ErrorCode %d)", o.status, o.errCode)
		}
		if o.kind == 's' {
			rep.Sends++
			sendsOf[o.phone] = append(sendsOf[o.phone], o)
			// 403/1198: the phone is locked out, sends too.
			if o.status != 200 && o.status != 429 && o.status != 500 && o.status != 0 && (o.status != 403 || o.errCode != 1198) {
				violate("send answered %d (ErrorCode %d)", o.status, o.errCode)
			}
			continue
		}
		perPhone[o.phone] = append(perPhone[o.phone], o)
		if outcomes[o.phone] == nil {
			outcomes[o.phone] = map[string]string{}
		}
		outcomes[o.phone][o.password] = fmt.Sprint(o.status)
		if o.status == 200 {
			rep.Resets++
			if o.kind == 'w' {
				violate("a code never sent succeeded for %s", o.phone)
			}
			successes[o.phone+" "+o.code]++
			if o.uid != r.phoneUID(o.phone) {
				violate("reset of %s answered the profile of %q", o.phone, o.uid)
			}
		}
	}
	for k, n := range successes {
		if n > 1 {
			violate("code %s succeeded %d times", k, n)
		}
	}

	// Limits, counted across all instances. A successful reset clears the
	// phone's counters, its send count too (store.Challenges.ClearCounters),
	// so a phone gets at most maxSMSPerPhone code SMS before its first reset
	// and as many again after each reset that may have succeeded (answered
	// 200, or unanswered; a refused one clears nothing): in all, and between
	// any two such resets (sends certainly inside the window: a send that
	// overlaps a reset may have been counted on either side). The attacked
	// phones are never reset: they are held to maxSMSPerPhone itself.
	clearsOf := map[string][]op{}
	for _, o := range r.ops {
		if o.kind == 'r' && (o.status == 200 || o.status == 0) {
			clearsOf[o.phone] = append(clearsOf[o.phone], o)
		}
	}
	for phone, n := range r.sms {
		rep.SMS += n
		if limit := maxSMSPerPhone * (1 + len(clearsOf[phone])); n > limit {
			violate("%s got %d SMS (limit %d: %d, and %d more after each of %d resets)", phone, n, limit, maxSMSPerPhone, maxSMSPerPhone, len(clearsOf[phone]))
		}
	}
	for phone, sends := range sendsOf {
		if n := mostBetweenClears(sends, clearsOf[phone], func(o op) bool { return o.status == 200 }); n > maxSMSPerPhone {
			violate("%s had %d sends answered 200 between two resets (limit %d)", phone, n, maxSMSPerPhone)
		}
	}
	// Wrong codes: the network's lockout (the harness's one network) stops
	// them after maxWrongPerPhone, for longer than the run, until a success
	// clears it; so at most that many between two resets. Nothing bounds
	// the right codes, nor how many codes are compared in all: the right
	// code of a spent challenge (401) is counted by nothing.
	for phone, ops := range perPhone {
		wrong := mostBetweenClears(ops, clearsOf[phone], func(o op) bool { return o.kind == 'w' && o.status == 401 })
		if wrong > maxWrongPerPhone {
			who := phone
			if attacked[phone] {
				who = "attacked " + phone
			}
			violate("%s %s had %d wrong codes refused with 401 between two resets (lockout after %d)", lockoutOvershoot, who, wrong, maxWrongPerPhone)
		}
	}

	// Passwords: each user's final password is the one of a 200, or of a
	// request whose answer was lost (its outcome is unknown); the initial
	// one only if no reset answered 200. Never one of a refused request.
	st, err := openUsers(ctx, r.pgURL)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	for _, phone := range r.phones {
		u, err := st.UserByPhone(ctx, r.tenant, phone)
		if err != nil {
			return nil, fmt.Errorf("read user %s: %w", phone, err)
		}
		candidates := map[string]string{initialPassword: "initial"}
		for pw, outcome := range outcomes[phone] {
			candidates[pw] = outcome
		}
		found := ""
		for pw, outcome := range candidates {
			if ok, _ := argon2id.ComparePasswordAndHash(pw, u.PasswordHash); ok {
				found = outcome
				break
			}
		}
		had200 := false
		for _, o := range perPhone[phone] {
			had200 = had200 || o.status == 200
		}
		switch {
		case found == "":
			violate("%s: no password known to the clients works (half-applied reset?)", phone)
		case found == "initial" && had200:
			violate("%s: a reset answered 200 but the old password still works", phone)
		case found != "initial" && found != "200" && found != "0":
			violate("%s: the password of a request answered %s was set", phone, found)
		}
	}

	// Webhook events: per user, at least one distinct id per 200 and at most
	// one per 200 or unanswered request.
	perUID := map[string]int{}
	ids := map[string]bool{}
	r.mu.Lock()
	for id, n := range r.events {
		ids[id] = true
		perUID[r.eventUID[id]]++
		rep.Redelivers += n - 1
	}
	rep.Delivered = len(r.events)
	r.mu.Unlock()
	if r.cfg.Store == "postgres" {
		pending, err := outboxEvents(ctx, r.pgURL, ids, perUID)
		if err != nil {
			return nil, err
		}
		rep.Pending = pending
	}
	rep.Events = len(ids)
	for _, phone := range r.phones {
		uid := r.phoneUID(phone)
		ok, unknown, onKilled := 0, 0, 0
		for _, o := range perPhone[phone] {
			switch o.status {
			case 200:
				ok++
				if o.inst == r.killed && r.cfg.Store != "postgres" {
					onKilled++
				}
			case 0:
				unknown++
			}
		}
		n := perUID[uid]
		if n < ok {
			if ok-n <= onKilled {
				rep.LostWithKilled += ok - n
			} else {
				violate("%s: %d resets answered 200 but %d webhook events", phone, ok, n)
			}
		}
		if n > ok+unknown {
			violate("%s: %d webhook events for %d resets answered 200 (%d unanswered)", phone, n, ok, unknown)
		}
	}

	if r.cfg.Fault != nil {
		r.faultFigures(rep, violate)
	}
	sort.Strings(rep.Violations)
	return rep, nil
}

// mostBetweenClears is the most ops that count and fell inside one gap
// between the clears' intervals (merged where they overlap): no clear can
// have happened between two ops of one gap.
func mostBetweenClears(ops, clears []op, counts func(op) bool) int {
	sort.Slice(clears, func(i, j int) bool { return clears[i].start.Before(clears[j].start) })
	most, from := 0, time.Time{} // zero: the run's start or end
	for i := 0; i <= len(clears); {
		to, end := time.Time{}, time.Time{}
		if i < len(clears) {
			to, end = clears[i].start, clears[i].end
			for i++; i < len(clears) && !clears[i].start.After(end); i++ {
				if clears[i].end.After(end) {
					end = clears[i].end
				}
			}
		} else {
			i++
		}
		n := 0
		for _, o := range ops {
			if counts(o) && !o.start.Before(from) && (to.IsZero() || !o.end.After(to)) {
				n++
			}
		}
		most, from = max(most, n), end
	}
	return most
}

func (r *run) phoneUID(phone string) string {
	for uid, p := range r.uidPhone {
		if p == phone {
			return uid
		}
	}
	return ""
}

// faultFigures: the service answered during the fault (950 or a normal
// answer, within answerBound, checked above) and resumed by itself.
func (r *run) faultFigures(rep *report, violate func(string, ...any)) {
	rep.Fault = r.cfg.Fault.Name
	rep.FaultFor = r.faultEnd.Sub(r.faultStart)
	var last950, first200 time.Time
	for _, o := range r.ops {
		if o.end.After(r.faultStart) && o.start.Before(r.faultEnd) {
			rep.DuringFault++
		}
		if o.status == 500 && o.end.After(last950) {
			last950 = o.end
		}
		if o.kind == 'r' && o.status == 200 && o.start.After(r.faultEnd) && (first200.IsZero() || o.end.Before(first200)) {
			first200 = o.end
		}
		if r.killed >= 0 && o.inst != r.killed && o.start.After(r.faultEnd) && o.status != 0 {
			rep.OthersAnswering++
		}
	}
	if last950.After(r.faultEnd) {
		rep.Last950After = last950.Sub(r.faultEnd)
		if rep.Last950After > recoveryBound {
			violate("950 answered %s after the server was back (bound %s)", rep.Last950After.Round(time.Millisecond), recoveryBound)
		}
	}
	if first200.IsZero() {
		violate("no reset succeeded after the fault")
	} else {
		rep.First200After = first200.Sub(r.faultEnd)
	}
	if r.killed >= 0 && rep.OthersAnswering == 0 {
		violate("no instance answered after the kill")
	}
}

// outboxEvents adds the outbox's events to ids and perUID and answers how
// many are still pending.
func outboxEvents(ctx context.Context, pgURL string, ids map[string]bool, perUID map[string]int) (int, error) {
	conn, err := pgx.Connect(ctx, pgURL)
	if err != nil {
		return 0, err
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT id, payload::text, delivered_at IS NULL FROM otpreset_outbox`)
	if err != nil {
		return 0, fmt.Errorf("read the outbox: %w", err)
	}
	defer rows.Close()
	pending := 0
	for rows.Next() {
		var id, payload string
		var isPending bool
		if err := rows.Scan(&id, &payload, &isPending); err != nil {
			return 0, err
		}
		if isPending {
			pending++
		}
		if ids[id] {
			continue
		}
		var ev struct{ Data struct{ Uid string } }
		if err := json.Unmarshal([]byte(payload), &ev); err != nil {
			return 0, fmt.Errorf("outbox payload: %w", err)
		}
		ids[id] = true
		perUID[ev.Data.Uid]++
	}
	return pending, rows.Err()
}

// print writes the report.
func (rep *report) print(w io.Writer) {
	fault := rep.Fault
	if fault == "" {
		fault = "none"
	}
	fmt.Fprintf(w, "backend=%s fault=%s instances=%d clients=%d duration=%s\n", rep.Backend, fault, rep.Instances, rep.Clients, rep.Duration)
	var st []string
	for _, code := range []int{200, 401, 403, 429, 500, 0} {
		if n := rep.ByStatus[code]; n > 0 {
			name := fmt.Sprint(code)
			if code == 0 {
				name = "no-answer"
			}
			st = append(st, fmt.Sprintf("%s=%d", name, n))
		}
	}
	fmt.Fprintf(w, "  requests=%d (%.0f/s) sends=%d answers: %s\n", rep.Requests, float64(rep.Requests)/rep.Duration.Seconds(), rep.Sends, strings.Join(st, " "))
	fmt.Fprintf(w, "  successful resets=%d sms=%d webhook events=%d (delivered=%d redelivered=%d pending in outbox=%d lost with the killed process=%d)\n",
		rep.Resets, rep.SMS, rep.Events, rep.Delivered, rep.Redelivers, rep.Pending, rep.LostWithKilled)
	if rep.Fault != "" {
		fmt.Fprintf(w, "  fault lasted %s, %d requests overlapped it, 950 answers=%d, longest answer=%s, last 950 %s and first 200 reset %s after the server was back",
			rep.FaultFor.Round(time.Millisecond), rep.DuringFault, rep.Errors950, rep.MaxLatency.Round(time.Millisecond),
			rep.Last950After.Round(time.Millisecond), rep.First200After.Round(time.Millisecond))
		if rep.OthersAnswering > 0 {
			fmt.Fprintf(w, ", %d answers by the other instances after the kill", rep.OthersAnswering)
		}
		fmt.Fprintln(w)
	} else {
		fmt.Fprintf(w, "  longest answer=%s\n", rep.MaxLatency.Round(time.Millisecond))
	}
	fmt.Fprintf(w, "  invariants: each code succeeded at most once; <= %d SMS and <= %d wrong codes per phone between resets, across instances; every password set by a 200 (or an unanswered request); one webhook event per 200 (outbox or delivered, by id)\n",
		maxSMSPerPhone, maxWrongPerPhone)
	fmt.Fprintf(w, "  violations=%d\n", len(rep.Violations))
	for _, v := range rep.Violations {
		fmt.Fprintf(w, "    %s\n", v)
	}
}
