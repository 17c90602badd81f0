package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A command line that cannot work is refused with a message naming the flag
// and exit status 2, before a secret is asked for or a store reached, and
// never with a panic.
func TestFlagValuesRefused(t *testing.T) {
	t.Setenv(secretEnv, "")
	for _, tc := range []struct {
		name    string
		args    []string
		want    []string
		notWant string
	}{
		// An empty key used to reach the reset page's config and panic.
		{"empty api key", []string{"-apikey", ""}, []string{"-apikey is empty"}, ""},
		{"blank api key", []string{"-apikey", "  "}, []string{"-apikey is empty"}, ""},
		// Before, an unknown kind was first told it needed a secret.
		{"unknown store kind", []string{"-store", "mysql://x"},
			[]string{`-store "mysql://x" is not a store the quickstart offers`, "memory", "sqlite:PATH", "postgres://", "redis://", "redis-cluster://"}, "secret"},
		{"unknown store kind, password redacted", []string{"-store", "mysql://u:hunter2@db/x"}, []string{"mysql://u:xxxxx@db/x"}, "hunter2"},
		{"redis-cluster without nodes", []string{"-store", "redis-cluster://"}, []string{"needs some of the cluster's nodes"}, "secret"},
		// The library's own password policy (8 characters at least).
		{"short password", []string{"-password", "short"}, []string{"-password", "at least 8 characters"}, ""},
		{"password too long", []string{"-password", strings.Repeat("p", 129)}, []string{"-password", "at most 128 characters"}, ""},
		{"not a phone", []string{"-phone", "12"}, []string{`-phone "12"`}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, stderr bytes.Buffer
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			ready := make(chan string, 1)
			err := run(ctx, append([]string{"-addr", "127.0.0.1:0"}, tc.args...), &out, ready)
			require.Error(t, err)
			select {
			case addr := <-ready:
				t.Fatalf("started on %s", addr)
			default:
			}
			assert.Equal(t, 2, exitCode(err, &stderr))
			for _, w := range tc.want {
				assert.Contains(t, stderr.String(), w)
			}
			if tc.notWant != "" {
				assert.NotContains(t, stderr.String(), tc.notWant)
			}
			assert.NotContains(t, out.String(), "store:", "nothing was opened")
		})
	}
}

// A password of the policy's minimum length is accepted, and a full-width
// one is stored in the form a reset stores (NFKC), so it logs in typed
// either way.
func TestPasswordFlagAcceptedAndNormalised(t *testing.T) {
	base, out := startQuickstart(t, "-apikey", "k", "-password", "ＦｕｌｌＷｉｄｔｈ")
	assert.Contains(t, out.String(), "password: ＦｕｌｌＷｉｄｔｈ")
	for _, typed := range []string{"ＦｕｌｌＷｉｄｔｈ", "FullWidth"} {
		status, body := call(t, "POST", base+"/identity/v2/auth/login?apikey=k", `{"phone":"+919999999999","password":"`+typed+`"}`, nil)
		assert.Equal(t, 200, status, "%s: %s", typed, body)
	}
}

// After a restart on SQLite the banner does not print -password: the demo
// user is kept from the first run, and its password was reset there.
func TestBannerAfterSQLiteRestart(t *testing.T) {
	t.Setenv(secretEnv, "")
	path := t.TempDir() + "/demo.db"
	args := []string{"-apikey", "k", "-store", "sqlite:" + path, "-password", "first password"}
	runOnce(t, args, func(base string, out *syncBuffer) {
		assert.Contains(t, out.String(), "password: first password\n", "a new user: its password is shown")
		status, body := call(t, "POST", base+"/identity/v2/auth/password/otp?apikey=k", `{"phone":"+919999999999"}`, nil)
		require.Equal(t, 200, status, body)
		m := codeLine.FindStringSubmatch(out.String())
		require.NotNil(t, m, out.String())
		status, body = call(t, "PUT", base+"/identity/v2/auth/password/otp?apikey=k", `{"phone":"+919999999999","otp":"`+m[1]+`","Password":"second password"}`, nil)
		require.Equal(t, 200, status, body)
	})
	runOnce(t, args, func(base string, out *syncBuffer) {
		assert.NotContains(t, out.String(), "first password", "the banner does not show a password that no longer works")
		assert.Contains(t, out.String(), "password: "+keptPassword)
		status, _ := call(t, "POST", base+"/identity/v2/auth/login?apikey=k", `{"phone":"+919999999999","password":"first password"}`, nil)
		assert.Equal(t, 401, status, "indeed it does not work")
		status, _ = call(t, "POST", base+"/identity/v2/auth/login?apikey=k", `{"phone":"+919999999999","password":"second password"}`, nil)
		assert.Equal(t, 200, status)
	})
}
