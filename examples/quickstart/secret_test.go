package main

import (
	"context"
	"encoding/hex"
	"io"
	"os"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// runOnce starts the quickstart, hands its base URL and output to f, and
// stops it again, as an operator restarting the process would.
func runOnce(t *testing.T, args []string, f func(base string, out *syncBuffer)) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out := &syncBuffer{}
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- run(ctx, append([]string{"-addr", "127.0.0.1:0"}, args...), out, ready) }()
	select {
	case addr := <-ready:
		f("http://"+addr, out)
		cancel()
		require.NoError(t, <-done)
	case err := <-done:
		cancel()
		t.Fatalf("quickstart exited: %v\n%s", err, out)
	}
}

// A code sent before a restart resets the password after it: with
// -store sqlite:PATH and no -secret, the code secret is kept beside the
// database instead of being drawn afresh at each start.
func TestCodeSurvivesRestart(t *testing.T) {
	t.Setenv(secretEnv, "")
	path := t.TempDir() + "/demo.db"
	args := []string{"-apikey", "k", "-store", "sqlite:" + path}
	var code string
	runOnce(t, args, func(base string, out *syncBuffer) {
		status, body := call(t, "POST", base+"/identity/v2/auth/password/otp?apikey=k", `{"phone":"+919999999999"}`, nil)
		require.Equal(t, 200, status, body)
		m := codeLine.FindStringSubmatch(out.String())
		require.NotNil(t, m, out.String())
		code = m[1]
		assert.Contains(t, out.String(), "secret: generated and kept in "+path+".secret")
	})
	if runtime.GOOS != "windows" {
		fi, err := os.Stat(path + ".secret")
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), "only the owner reads the secret")
	}
	runOnce(t, args, func(base string, out *syncBuffer) {
		assert.Contains(t, out.String(), "secret: read from "+path+".secret")
		status, body := call(t, "PUT", base+"/identity/v2/auth/password/otp?apikey=k", `{"phone":"+919999999999","otp":"`+code+`","Password":"after the restart"}`, nil)
		require.Equal(t, 200, status, "the code sent before the restart still works: %s", body)
		status, _ = call(t, "POST", base+"/identity/v2/auth/login?apikey=k", `{"phone":"+919999999999","password":"after the restart"}`, nil)
		assert.Equal(t, 200, status)
	})
}

// Two processes given the same -secret accept each other's codes (the
// multi-instance case), here over one SQLite file in turn.
func TestSecretFlagSharedAcrossProcesses(t *testing.T) {
	t.Setenv(secretEnv, "")
	dir := t.TempDir()
	secret := "9f3c1b7e42d85a06e1f4c93b7a2d5e8016b94c3fa7e2d1c05b8f6a4e3d2c1b0a" // 64 hex digits, none patterned (New refuses a patterned secret)
	var code string
	runOnce(t, []string{"-apikey", "k", "-store", "sqlite:" + dir + "/a.db", "-secret", secret}, func(base string, out *syncBuffer) {
		status, body := call(t, "POST", base+"/identity/v2/auth/password/otp?apikey=k", `{"phone":"+919999999999"}`, nil)
		require.Equal(t, 200, status, body)
		m := codeLine.FindStringSubmatch(out.String())
		require.NotNil(t, m, out.String())
		code = m[1]
	})
	_, err := os.Stat(dir + "/a.db.secret")
	assert.ErrorIs(t, err, os.ErrNotExist, "a given secret is not written anywhere")

	t.Setenv(secretEnv, secret) // the same secret, from the environment this time
	runOnce(t, []string{"-apikey", "k", "-store", "sqlite:" + dir + "/a.db"}, func(base string, _ *syncBuffer) {
		status, body := call(t, "PUT", base+"/identity/v2/auth/password/otp?apikey=k", `{"phone":"+919999999999","otp":"`+code+`","Password":"shared secret"}`, nil)
		require.Equal(t, 200, status, body)
	})
}

func TestLoadSecret(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	good := strings.Repeat("ab", 32)

	b, err := loadSecret(good, env(map[string]string{secretEnv: strings.Repeat("cd", 32)}), "postgres://db", io.Discard)
	require.NoError(t, err)
	assert.Equal(t, good, hex.EncodeToString(b), "the flag wins over the environment")

	b, err = loadSecret("", env(map[string]string{secretEnv: " " + good + "\n"}), "redis://r", io.Discard)
	require.NoError(t, err)
	assert.Equal(t, good, hex.EncodeToString(b), "the environment is used, trimmed")

	for _, bad := range []string{"xyz", strings.Repeat("ab", 31)} {
		_, err = loadSecret(bad, env(nil), "memory", io.Discard)
		require.Error(t, err, bad)
		assert.Contains(t, err.Error(), "openssl rand -hex 32")
	}

	for _, spec := range []string{"postgres://u:hunter2@db/x", "redis://:hunter2@r:6379/0", "redis-cluster://a:1,b:2"} {
		_, err = loadSecret("", env(nil), spec, io.Discard)
		require.Error(t, err, "a shared store needs the operator's secret: %s", spec)
		assert.Contains(t, err.Error(), "openssl rand -hex 32")
		assert.NotContains(t, err.Error(), "hunter2", "the store's password is not echoed")
	}

	a, err := loadSecret("", env(nil), "memory", io.Discard)
	require.NoError(t, err)
	c, err := loadSecret("", env(nil), "sqlite::memory:", io.Discard)
	require.NoError(t, err)
	assert.Len(t, a, 32)
	assert.NotEqual(t, a, c, "stores that die with the process get a fresh random secret")
}

func TestSecretFileRefusedWhenOthersCanRead(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix permission bits")
	}
	path := t.TempDir() + "/demo.db"
	require.NoError(t, os.WriteFile(path+".secret", []byte(strings.Repeat("ab", 32)), 0o644))
	require.NoError(t, os.Chmod(path+".secret", 0o644)) // whatever the umask
	_, err := loadSecret("", func(string) string { return "" }, "sqlite:"+path, io.Discard)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "chmod 600")

	require.NoError(t, os.Chmod(path+".secret", 0o600))
	b, err := loadSecret("", func(string) string { return "" }, "sqlite:file:"+path+"?_pragma=x", io.Discard)
	require.NoError(t, err, "a file: URI with parameters names the same file")
	assert.Equal(t, strings.Repeat("ab", 32), hex.EncodeToString(b))
}
