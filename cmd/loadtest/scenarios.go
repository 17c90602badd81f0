package main

import (
	"context"
	"fmt"
	"net/http"
	"runtime"

	"github.com/alexedwards/argon2id"

	"github.com/otpreset/go/otpreset"
)

// scenario is a named group of measurements.
type scenario struct {
	name  string
	about string
	run   func(ctx context.Context, o *options) ([]result, error)
}

var scenarios = []scenario{
	{"reject", "refusals that cost no hashing (bad key, malformed body, wrong code) vs the bare handler, at -c clients", runReject},
	{"reset1", "successful reset at 1 client vs argon2id.CreateHash alone (median latency)", runReset1},
	{"reset64", "successful resets at -c clients vs cores / hash time", runResetMany},
	{"memory", "peak RSS with -inflight resets in flight (child process) vs hash concurrency x argon2id memory + 64 MiB", runMemory},
}

func scenarioNamed(name string) (scenario, bool) {
	for _, s := range scenarios {
		if s.name == name {
			return s, true
		}
	}
	return scenario{}, false
}

// runReject measures each refusal against a bare handler answering the
// same status and bytes to the same request.
func runReject(ctx context.Context, o *options) ([]result, error) {
	tg, err := newTarget(o.params, o.concurrency)
	if err != nil {
		return nil, err
	}
	codes := make([]string, o.concurrency)
	for i := range codes {
		if codes[i], err = tg.issue(phoneFor(i)); err != nil {
			return nil, err
		}
	}
	srv, err := startServer(tg.handler)
	if err != nil {
		return nil, err
	}
	defer srv.close()

	paths := []struct {
		name, query string
		body        func(i int) []byte
		want        int
	}{
		{"bad key", "?apikey=not-a-key", func(i int) []byte { return resetBody(phoneFor(i), codes[i]) }, http.StatusForbidden},
		{"malformed body", "?apikey=" + apiKey, func(i int) []byte { return []byte(`{"phone":"` + phoneFor(i) + `","otp":`) }, http.StatusBadRequest},
		{"wrong code", "?apikey=" + apiKey, func(i int) []byte { return resetBody(phoneFor(i), wrongCode(codes[i])) }, http.StatusUnauthorized},
	}
	var ws []workload
	for _, p := range paths {
		status, answer := capture(tg.handler, http.MethodPut, otpreset.Path+p.query, p.body(0))
		if status != p.want {
			return nil, fmt.Errorf("%s: otpreset answers %d %s, want %d", p.name, status, answer, p.want)
		}
		bare, err := startServer(bareHandler(status, answer))
		if err != nil {
			return nil, err
		}
		defer bare.close()
		for _, side := range []struct {
			kind string
			url  string
		}{{kindOtpreset, srv.url}, {kindBare, bare.url}} {
			client := newHTTPClient(o.concurrency)
			defer client.CloseIdleConnections()
			ws = append(ws, workload{
				name: p.name, kind: side.kind, clients: o.concurrency,
				newOp: func(i int) (op, error) {
					url, body := side.url+otpreset.Path+p.query, p.body(i)
					return op{do: func(ctx context.Context) error { return doHTTP(ctx, client, http.MethodPut, url, body, p.want) }}, nil
				},
			})
		}
	}
	return measureRounds(ctx, ws, o.limits, o.rounds)
}

// resetWorkload is clients resetting their own phone's password again and
// again, each time with a fresh code asked for (untimed) just before.
func resetWorkload(tg *target, url string, clients int) workload {
	client := newHTTPClient(clients)
	return workload{
		name: "reset", kind: kindOtpreset, clients: clients,
		newOp: func(i int) (op, error) {
			phone := phoneFor(i)
			var body []byte
			return op{
				prepare: func(ctx context.Context) error {
					if err := doHTTP(ctx, client, http.MethodPost, url+otpreset.Path+"?apikey="+apiKey, sendBody(phone), http.StatusOK); err != nil {
						return err
					}
					body = resetBody(phone, tg.sender.Code(phone))
					return nil
				},
				do: func(ctx context.Context) error {
					return doHTTP(ctx, client, http.MethodPut, url+otpreset.Path+"?apikey="+apiKey, body, http.StatusOK)
				},
			}, nil
		},
	}
}

// hashWorkload is argon2id.CreateHash alone, from clients goroutines.
func hashWorkload(name string, params *argon2id.Params, clients int) workload {
	return workload{
		name: name, kind: kindArgon2id, clients: clients,
		newOp: func(int) (op, error) {
			return op{do: func(context.Context) error {
				_, err := argon2id.CreateHash(newPass, params)
				return err
			}}, nil
		},
	}
}

func runReset1(ctx context.Context, o *options) ([]result, error) {
	tg, err := newTarget(o.params, 1)
	if err != nil {
		return nil, err
	}
	srv, err := startServer(tg.handler)
	if err != nil {
		return nil, err
	}
	defer srv.close()
	return measureRounds(ctx, []workload{resetWorkload(tg, srv.url, 1), hashWorkload("CreateHash", o.params, 1)}, o.limits, o.rounds)
}

// runResetMany measures resets at -c clients, one hash at a time (the hash
// time), and hashes from as many goroutines as the handler's hasher allows
// (GOMAXPROCS): more would only add memory.
func runResetMany(ctx context.Context, o *options) ([]result, error) {
	tg, err := newTarget(o.params, o.concurrency)
	if err != nil {
		return nil, err
	}
	srv, err := startServer(tg.handler)
	if err != nil {
		return nil, err
	}
	defer srv.close()
	return measureRounds(ctx, []workload{
		resetWorkload(tg, srv.url, o.concurrency),
		hashWorkload("hash time", o.params, 1),
		hashWorkload("CreateHash", o.params, runtime.GOMAXPROCS(0)),
	}, o.limits, o.rounds)
}
