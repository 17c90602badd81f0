package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otpreset/go/sms"
	"github.com/otpreset/go/store/postgres"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startQuickstart runs the command on a free port and returns its base URL
// and output.
func startQuickstart(t *testing.T, args ...string) (string, *syncBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out := &syncBuffer{}
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- run(ctx, append([]string{"-addr", "127.0.0.1:0"}, args...), out, ready) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})
	select {
	case addr := <-ready:
		return "http://" + addr, out
	case err := <-done:
		t.Fatalf("quickstart exited: %v\n%s", err, out)
	case <-time.After(20 * time.Second):
		t.Fatal("quickstart did not start")
	}
	return "", nil
}

var codeLine = codeLineFor("+919999999999")

// codeLineFor matches the development sender's line for a code sent to phone.
func codeLineFor(phone string) *regexp.Regexp {
	return regexp.MustCompile(`sms tenant=\S+ to=` + regexp.QuoteMeta(phone) + ` voice=false code=([0-9]+) `)
}

func call(t *testing.T, method, url, body string, header http.Header) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header[k] = v
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// The seed's curl command, replayed against the quickstart with a fresh code,
// answers 200 with the seed's shape; the new password then logs in and the old
// one does not.
func TestSeedCurlAgainstQuickstart(t *testing.T) {
	base, out := startQuickstart(t, "-apikey", "k1", "-password", "OldP@ssw0rd1")
	assert.Contains(t, out.String(), "apikey:   k1")

	status, body := call(t, "POST", base+"/identity/v2/auth/password/otp?apikey=k1", `{"phone":"+919999999999"}`, nil)
	require.Equal(t, 200, status, body)
	m := codeLine.FindStringSubmatch(out.String())
	require.NotNil(t, m, "the development sender prints the code with the phone:\n%s", out)

	seedQuery := "g-recaptcha-response=03AGdBq24e1a2b3c4d5e6f7g8h9i0j1k2l3m4n5o6p7q8r9s0t1u2v3w4x5y6z7a8b9c0d1e2f3g4h5i6j7k8l9m0n1o2p3q4r5s6t7u8v9w0x1y2z3a4b5c6d7e8f9g0h1i2j3k4l5m6n7o8p9q0r1s2t3u4v5w6x7y8z9&g_recaptcha_response=03AGdBq24e1a2b3c4d5e6f7g8h9i0j1k2l3m4n5o6p7q8r9s0t1u2v3w4x5y6z7a8b9c0d1e2f3g4h5i6j7k8l9m0n1o2p3q4r5s6t7u8v9w0x1y2z3a4b5c6d7e8f9g0h1i2j3k4l5m6n7o8p9q0r1s2t3u4v5w6x7y8z9&prevent_webhook=true&h-captcha-response=03AGdBq24e1a2b3c4d5e6f7g8h9i0j1k2l3m4n5o6p7q8r9s0t1u2v3w4x5y6z7a8b9c0d1e2f3g4h5i6j7k8l9m0n1o2p3q4r5s6t7u8v9w0x1y2z3a4b5c6d7e8f9g0h1i2j3k4l5m6n7o8p9q0r1s2t3u4v5w6x7y8z9&qq_captcha_ticket=03AGdBq24eJ9O8dpLsw0Pr0OTtWfkmK34K0jQde&qq_captcha_randstr=03AGdBq24eJ9O8dpLsw0Pr0OTtWfkmK34K0jQde"
	seedBody := `{ "Password": "StrongP@ssw0rd!", "otp": "` + m[1] + `", "phone": "+919999999999" }`
	status, body = call(t, "PUT", base+"/identity/v2/auth/password/otp?"+seedQuery+"&apikey=k1", seedBody, http.Header{"X-Preventwebhook": {"true"}})
	require.Equal(t, 200, status, body)
	for _, k := range []string{`"IsPosted":true`, `"Profile":{`, `"access_token":"`, `"refresh_token":"`, `"expires_in":"`, `"Password":"********"`} {
		assert.Contains(t, body, k)
	}

	status, _ = call(t, "POST", base+"/identity/v2/auth/login?apikey=k1", `{"phone":"+919999999999","password":"StrongP@ssw0rd!"}`, nil)
	assert.Equal(t, 200, status, "the new password logs in")
	status, body = call(t, "POST", base+"/identity/v2/auth/login?apikey=k1", `{"phone":"+919999999999","password":"OldP@ssw0rd1"}`, nil)
	assert.Equal(t, 401, status, "the old password does not")
	assert.JSONEq(t, authFailed, body)
}

func TestSenderChoice(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	s, err := newSender(options{}, env(nil), io.Discard)
	require.NoError(t, err)
	assert.IsType(t, &sms.LogSender{}, s, "no credentials: the development sender")

	s, err = newSender(options{}, env(map[string]string{
		"TWILIO_ACCOUNT_SID": "AC" + strings.Repeat("a", 32), "TWILIO_AUTH_TOKEN": "tok", "TWILIO_FROM": "+15005550006",
	}), io.Discard)
	require.NoError(t, err)
	assert.IsType(t, &sms.Retry{}, s, "credentials in the environment: Twilio")

	_, err = newSender(options{twilioAccount: "not-a-sid", twilioToken: "tok"}, env(nil), io.Discard)
	assert.Error(t, err, "flags are used and checked")
}

func TestQuickstartServesThePage(t *testing.T) {
	base, _ := startQuickstart(t, "-apikey", "page-key")
	status, body := call(t, "GET", base+"/", "", nil)
	require.Equal(t, 200, status)
	assert.Contains(t, body, `content="page-key"`)
}

// With -store sqlite:PATH the reset survives a restart.
func TestSQLiteStoreSurvivesRestart(t *testing.T) {
	path := t.TempDir() + "/demo.db"
	reset := func(base string, out *syncBuffer) {
		status, body := call(t, "POST", base+"/identity/v2/auth/password/otp?apikey=k", `{"phone":"+919999999999"}`, nil)
		require.Equal(t, 200, status, body)
		m := codeLine.FindStringSubmatch(out.String())
		require.NotNil(t, m)
		status, body = call(t, "PUT", base+"/identity/v2/auth/password/otp?apikey=k", `{"phone":"+919999999999","otp":"`+m[1]+`","Password":"survives restart"}`, nil)
		require.Equal(t, 200, status, body)
	}
	func() {
		ctx, cancel := context.WithCancel(context.Background())
		out := &syncBuffer{}
		ready := make(chan string, 1)
		done := make(chan error, 1)
		go func() {
			done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-apikey", "k", "-store", "sqlite:" + path}, out, ready)
		}()
		reset("http://"+<-ready, out)
		cancel()
		require.NoError(t, <-done)
	}()
	base, _ := startQuickstart(t, "-apikey", "k", "-store", "sqlite:"+path)
	status, _ := call(t, "POST", base+"/identity/v2/auth/login?apikey=k", `{"phone":"+919999999999","password":"survives restart"}`, nil)
	assert.Equal(t, 200, status, "the password set before the restart still works")
}

func TestStoreFlag(t *testing.T) {
	_, err := parseStore("mysql://x")
	assert.Error(t, err)
	open := func(url string) demoStore {
		spec, err := parseStore(url)
		require.NoError(t, err)
		st, closeFn, err := openStore(context.Background(), spec, io.Discard)
		require.NoError(t, err)
		t.Cleanup(closeFn)
		return st
	}
	if url := os.Getenv("OTPRESET_REDIS_URL"); url != "" {
		assert.IsType(t, composite{}, open(url))
	}
	if url := os.Getenv("OTPRESET_POSTGRES_URL"); url != "" {
		assert.IsType(t, &postgres.Store{}, open(url))
	}
}

// -h prints the usage to stdout and exits 0; a mistyped flag exits 2 with the
// error on stderr and nothing on stdout.
func TestHelpAndFlagErrors(t *testing.T) {
	var out, errOut bytes.Buffer
	code := exitCode(run(context.Background(), []string{"-h"}, &out, nil), &errOut)
	assert.Equal(t, 0, code, "usage asked for is not a failure")
	assert.Contains(t, out.String(), "Usage of quickstart")
	assert.Contains(t, out.String(), "-secret")
	assert.Empty(t, errOut.String())

	out.Reset()
	code = exitCode(run(context.Background(), []string{"-nope"}, &out, nil), &errOut)
	assert.Equal(t, 2, code, "a usage error, as the flag package exits")
	assert.Contains(t, errOut.String(), "flag provided but not defined: -nope")
	assert.Contains(t, errOut.String(), "-h lists the flags")
	assert.Empty(t, out.String())
}

// A store the quickstart cannot use stops it at start-up with a message
// naming the flag, instead of a server that fails on its first request.
func TestStartupRefusesUnusableStore(t *testing.T) {
	t.Setenv(secretEnv, "")
	secret := "9f3c1b7e42d85a06e1f4c93b7a2d5e8016b94c3fa7e2d1c05b8f6a4e3d2c1b0a" // 64 hex digits, none patterned (New refuses a patterned secret)
	for _, tc := range []struct {
		name string
		args []string
		want string
		exit int
	}{
		{"sqlite without a path", []string{"-store", "sqlite:"}, "-store sqlite: needs the database's file path", 2},
		{"redis not listening", []string{"-store", "redis://:hunter2@127.0.0.1:1/0", "-secret", secret}, "cannot reach Redis", 1},
		{"redis cluster not listening", []string{"-store", "redis-cluster://127.0.0.1:1,127.0.0.1:2", "-secret", secret}, "-store redis-cluster://127.0.0.1:1,127.0.0.1:2: cannot reach Redis", 1},
		{"postgres not listening", []string{"-store", "postgres://postgres:hunter2@127.0.0.1:1/x?sslmode=disable", "-secret", secret}, "-store postgres://postgres:xxxxx@127.0.0.1:1", 1},
		{"shared store without a secret", []string{"-store", "redis://127.0.0.1:1/0"}, "openssl rand -hex 32", 1},
		{"stray argument", []string{"sqlite:x.db"}, `unexpected argument "sqlite:x.db"`, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			ready := make(chan string, 1)
			done := make(chan error, 1)
			out := &syncBuffer{}
			go func() { done <- run(ctx, append([]string{"-addr", "127.0.0.1:0"}, tc.args...), out, ready) }()
			select {
			case addr := <-ready:
				cancel()
				<-done
				t.Fatalf("started on %s with %v", addr, tc.args)
			case err := <-done:
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.want)
				assert.NotContains(t, err.Error(), "hunter2", "the store's password is not echoed")
				assert.Equal(t, tc.exit, exitCode(err, io.Discard))
			}
		})
	}
}

// TestFullWidthPasswordLogsIn: a password set by a reset in full-width
// letters logs in at the quickstart's example login, typed either way,
// because the login verifies with the same normalisation (NFKC) the reset
// hashed with. Before, the login compared the raw bytes and refused it.
func TestFullWidthPasswordLogsIn(t *testing.T) {
	base, out := startQuickstart(t, "-apikey", "k2")
	status, body := call(t, "POST", base+"/identity/v2/auth/password/otp?apikey=k2", `{"phone":"+919999999999"}`, nil)
	require.Equal(t, 200, status, body)
	m := codeLine.FindStringSubmatch(out.String())
	require.NotNil(t, m, out.String())
	status, body = call(t, "PUT", base+"/identity/v2/auth/password/otp?apikey=k2", `{"Password":"ＳｔｒｏｎｇＰ＠ｓｓ","otp":"`+m[1]+`","phone":"+919999999999"}`, nil)
	require.Equal(t, 200, status, body)
	for _, typed := range []string{"ＳｔｒｏｎｇＰ＠ｓｓ", "StrongP@ss"} {
		status, _ = call(t, "POST", base+"/identity/v2/auth/login?apikey=k2", `{"phone":"+919999999999","password":"`+typed+`"}`, nil)
		assert.Equal(t, 200, status, typed)
	}
}
