package main

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Modules a host links only when it imports the package that needs them.
const (
	pgx        = "github.com/jackc/pgx/"
	sqliteDrv  = "modernc.org/sqlite"
	goRedis    = "github.com/redis/go-redis/"
	twilio     = "github.com/twilio/twilio-go"
	prometheus = "github.com/prometheus/client_golang"
	chromedp   = "github.com/chromedp/"
)

// TestHostLinksOnlyWhatItImports asks the go tool what a host's binary
// links (go list -deps over the packages it imports: the same set the
// linker gets), so importing otpreset with one store never drags in the
// drivers and clients of the others.
func TestHostLinksOnlyWhatItImports(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go tool is not on PATH (it is in CI)")
	}
	const mod = "github.com/otpreset/go/"
	tests := []struct {
		host      string
		imports   []string
		links     []string // must be linked: the test sees what it claims to
		forbidden []string
	}{
		{"memory store", []string{mod + "otpreset", mod + "store/memstore"},
			nil, []string{pgx, sqliteDrv, goRedis, twilio, prometheus, chromedp}},
		{"PostgreSQL only", []string{mod + "otpreset", mod + "store/postgres"},
			[]string{pgx}, []string{sqliteDrv, goRedis, twilio, prometheus, chromedp}},
		{"SQLite only", []string{mod + "otpreset", mod + "store/sqlite"},
			[]string{sqliteDrv}, []string{pgx, goRedis, twilio, prometheus, chromedp}},
		{"this host app", []string{mod + "examples/hostapp"},
			[]string{sqliteDrv, "github.com/gorilla/mux"}, []string{pgx, goRedis, twilio, prometheus, chromedp}},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			out, err := exec.Command(goTool, append([]string{"list", "-deps"}, tt.imports...)...).Output()
			var stderr []byte
			if ee, ok := err.(*exec.ExitError); ok {
				stderr = ee.Stderr
			}
			require.NoError(t, err, "go list: %s", stderr)
			deps := strings.Fields(string(out))
			linked := func(prefix string) string {
				for _, d := range deps {
					if strings.HasPrefix(d, prefix) {
						return d
					}
				}
				return ""
			}
			for _, p := range tt.links {
				assert.NotEmptyf(t, linked(p), "%s should link %s", tt.host, p)
			}
			for _, p := range tt.forbidden {
				assert.Emptyf(t, linked(p), "%s links %s", tt.host, p)
			}
		})
	}
}
