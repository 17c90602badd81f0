package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"sync"

	"github.com/alexedwards/argon2id"

	"github.com/otpreset/go/otpreset"
)

// The memory scenario runs each measured side in a child process (this
// program again, with childEnv set), because a process's peak RSS cannot be
// taken back: the child's VmHWM is that side's alone. The parent drives the
// child's server over loopback, so the clients' memory is not counted.
const (
	childEnv       = "OTPRESET_LOADTEST_CHILD"
	childParamsEnv = "OTPRESET_LOADTEST_CHILD_PARAMS"
)

// childParams is what the parent tells a child.
type childParams struct {
	Inflight int              `json:"inflight"`
	Argon2id *argon2id.Params `json:"argon2id"`
}

// childReady is the child's first line: where to send requests, the codes
// it issued, and its RSS before the load.
type childReady struct {
	URL        string            `json:"url,omitempty"`
	Codes      map[string]string `json:"codes,omitempty"`
	BaseRSSKiB int64             `json:"base_rss_kib"`
	HWMReset   bool              `json:"hwm_reset"`
	GOMAXPROCS int               `json:"gomaxprocs"`
}

// childDone is the child's last line, written when its stdin closes (or,
// for the argon2id side, when its own goroutines are done).
type childDone struct {
	PeakRSSKiB int64   `json:"peak_rss_kib"`
	RSSKiB     int64   `json:"rss_kib"`
	Result     *result `json:"result,omitempty"`
}

// childMain is a child's whole life; it returns the exit code.
func childMain(mode string, stdin io.Reader, stdout io.Writer) int {
	if err := runChild(mode, stdin, stdout); err != nil {
		fmt.Fprintf(os.Stderr, "loadtest child %s: %v\n", mode, err)
		return 1
	}
	return 0
}

func runChild(mode string, stdin io.Reader, stdout io.Writer) error {
	var p childParams
	if err := json.Unmarshal([]byte(os.Getenv(childParamsEnv)), &p); err != nil || p.Inflight < 1 || p.Argon2id == nil {
		return fmt.Errorf("bad %s: %v", childParamsEnv, err)
	}
	enc := json.NewEncoder(stdout)
	ready := childReady{GOMAXPROCS: runtime.GOMAXPROCS(0)}
	var handler http.Handler
	switch mode {
	case kindOtpreset:
		tg, err := newTarget(p.Argon2id, p.Inflight)
		if err != nil {
			return err
		}
		ready.Codes = map[string]string{}
		for i := range p.Inflight {
			if ready.Codes[phoneFor(i)], err = tg.issue(phoneFor(i)); err != nil {
				return err
			}
		}
		handler = tg.handler
	case kindBare:
		handler = bareHandler(http.StatusOK, []byte(`{"IsPosted":true}`))
	case kindArgon2id:
	default:
		return fmt.Errorf("unknown mode %q", mode)
	}
	var srv *server
	if handler != nil {
		var err error
		if srv, err = startServer(handler); err != nil {
			return err
		}
		defer srv.close()
		ready.URL = srv.url
	}
	runtime.GC()
	debug.FreeOSMemory()
	ready.HWMReset = resetPeakRSS()
	_, ready.BaseRSSKiB = readProcStatus()
	if err := enc.Encode(ready); err != nil {
		return err
	}

	var done childDone
	if mode == kindArgon2id {
		// The hasher's discipline without the handler: every goroutine
		// started at once, at most GOMAXPROCS hashing.
		sem := make(chan struct{}, runtime.GOMAXPROCS(0))
		w := hashWorkload("in flight", p.Argon2id, p.Inflight)
		w.newOp = func(int) (op, error) {
			return op{do: func(context.Context) error {
				sem <- struct{}{}
				defer func() { <-sem }()
				_, err := argon2id.CreateHash(newPass, p.Argon2id)
				return err
			}}, nil
		}
		r, _, err := measure(context.Background(), w, limits{n: int64(p.Inflight)})
		if err != nil {
			return err
		}
		done.Result = &r
	} else if _, err := io.Copy(io.Discard, stdin); err != nil { // until the parent is done
		return err
	}
	done.PeakRSSKiB, done.RSSKiB = readProcStatus()
	return enc.Encode(done)
}

// memoryRunName names the memory scenario's runs; with a GOMEMLIMIT, the
// name says so.
func memoryRunName(gomemlimit string) string {
	if gomemlimit == "" {
		return "in flight"
	}
	return "in flight, GOMEMLIMIT=" + gomemlimit
}

// runMemory starts one child per side and puts -inflight resets in flight
// at once against the otpreset and bare children; with -gomemlimit, once
// more against an otpreset child with that soft memory limit.
func runMemory(ctx context.Context, o *options) ([]result, error) {
	runs := []struct{ kind, gomemlimit string }{{kindOtpreset, ""}, {kindBare, ""}, {kindArgon2id, ""}}
	if o.gomemlimit != "" {
		runs = append(runs, struct{ kind, gomemlimit string }{kindOtpreset, o.gomemlimit})
	}
	var out []result
	for _, run := range runs {
		r, err := memoryRun(ctx, o, run.kind, run.gomemlimit)
		if err != nil {
			return out, fmt.Errorf("memory, %s: %w", memoryRunName(run.gomemlimit), err)
		}
		out = append(out, r)
	}
	return out, nil
}

// memoryRun runs one child of the given kind; gomemlimit, when set, is its
// GOMEMLIMIT (otherwise the child has none, whatever the parent has).
func memoryRun(ctx context.Context, o *options, kind, gomemlimit string) (result, error) {
	self, err := os.Executable()
	if err != nil {
		return result{}, err
	}
	params, err := json.Marshal(childParams{Inflight: o.inflight, Argon2id: o.params})
	if err != nil {
		return result{}, err
	}
	cmd := exec.CommandContext(ctx, self)
	cmd.Env = append(os.Environ(), childEnv+"="+kind, childParamsEnv+"="+string(params), "GOMEMLIMIT="+gomemlimit)
	if gomemlimit == "" {
		cmd.Env[len(cmd.Env)-1] = "GOMEMLIMIT=off"
	}
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return result{}, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return result{}, err
	}
	if err := cmd.Start(); err != nil {
		return result{}, err
	}
	var closeStdin sync.Once
	defer func() {
		closeStdin.Do(func() { _ = stdin.Close() })
		_ = cmd.Wait()
	}()
	lines := bufio.NewScanner(stdout)
	lines.Buffer(make([]byte, 0, 64<<10), 16<<20)
	var ready childReady
	if err := readLine(lines, &ready); err != nil {
		return result{}, fmt.Errorf("child did not start: %w", err)
	}

	var r result
	if kind != kindArgon2id {
		client := newHTTPClient(o.inflight)
		defer client.CloseIdleConnections()
		url := ready.URL + otpreset.Path + "?apikey=" + apiKey
		r, _, err = measure(ctx, workload{
			name: memoryRunName(gomemlimit), kind: kind, clients: o.inflight,
			newOp: func(i int) (op, error) {
				body := resetBody(phoneFor(i), ready.Codes[phoneFor(i)])
				if kind == kindBare {
					body = resetBody(phoneFor(i), "123456")
				}
				return op{do: func(ctx context.Context) error { return doHTTP(ctx, client, http.MethodPut, url, body, http.StatusOK) }}, nil
			},
		}, limits{n: int64(o.inflight)})
		if err != nil {
			return result{}, err
		}
	}
	closeStdin.Do(func() { _ = stdin.Close() })
	var done childDone
	if err := readLine(lines, &done); err != nil {
		return result{}, fmt.Errorf("child did not report: %w", err)
	}
	if done.Result != nil {
		r = *done.Result
	}
	r.Name, r.Kind = memoryRunName(gomemlimit), kind
	r.PeakRSSKiB, r.HWMReset = done.PeakRSSKiB, ready.HWMReset
	r.RSSGrowthKiB = max(0, done.PeakRSSKiB-ready.BaseRSSKiB)
	r.BaseRSSKiB = ready.BaseRSSKiB
	r.GOMAXPROCS = ready.GOMAXPROCS
	return r, nil
}

// readLine decodes the next JSON line of a child's output.
func readLine(lines *bufio.Scanner, v any) error {
	if !lines.Scan() {
		if err := lines.Err(); err != nil {
			return err
		}
		return errors.New("no output (see its stderr above)")
	}
	return json.Unmarshal(lines.Bytes(), v)
}
