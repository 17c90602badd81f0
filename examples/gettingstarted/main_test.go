package main

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// runMainEnv makes the test binary run main instead of the tests: the
// program is run as a process, as a reader would run it.
const runMainEnv = "GETTINGSTARTED_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(runMainEnv) == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// TestREADMEPrintsThisProgram: the README's program is this file, from
// "package main" to its end, so neither can change without the other.
func TestREADMEPrintsThisProgram(t *testing.T) {
	src, err := os.ReadFile("main.go")
	require.NoError(t, err)
	prog := src[bytes.Index(src, []byte("package main")):]
	readme, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	if !bytes.Contains(readme, append(append([]byte("```go\n"), prog...), "```\n"...)) {
		t.Errorf("README.md's Getting started does not print examples/gettingstarted/main.go (from \"package main\") as it is")
	}
}

// start runs the program with env and returns its stderr so far and a
// stop function.
func start(t *testing.T, env ...string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), append([]string{runMainEnv + "=1"}, env...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd, &stderr
}

// TestProgramServes: with a secret and an API key the program answers both
// endpoints; the code it sends is printed by the log sender.
func TestProgramServes(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	start(t, "OTPRESET_SECRET="+hex.EncodeToString(b), "OTPRESET_API_KEY=my-api-key", "ADDR="+addr)

	post := func(query string) (int, string) {
		resp, err := http.Post("http://"+addr+"/identity/v2/auth/password/otp"+query, "application/json",
			strings.NewReader(`{"phone":"+919999999999"}`))
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	var status int
	var body string
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if status, body = post("?apikey=my-api-key"); status != 0 {
			break
		}
	}
	require.Equal(t, http.StatusOK, status, body)
	assert.Contains(t, body, `"IsPosted":true`)
	status, body = post("")
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Contains(t, body, `"ErrorCode":908`)
}

// TestProgramRefusesToStartUnconfigured: without its variables the program
// stops at once and says what is missing, rather than serving 500s.
func TestProgramRefusesToStartUnconfigured(t *testing.T) {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	for _, tc := range []struct {
		name string
		env  []string
		want string
	}{
		{"no secret", []string{"OTPRESET_SECRET=", "OTPRESET_API_KEY=k"}, "Config.Secret must be at least 32 bytes"},
		{"no API key", []string{"OTPRESET_SECRET=" + hex.EncodeToString(b), "OTPRESET_API_KEY="}, `the API key is ""`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd, stderr := start(t, append(tc.env, "ADDR=127.0.0.1:1")...)
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case err := <-done:
				assert.Error(t, err, "the program exits with a failure")
			case <-time.After(20 * time.Second):
				t.Fatal("the program did not stop")
			}
			assert.Contains(t, stderr.String(), tc.want)
		})
	}
}
