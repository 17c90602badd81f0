// Package testsize sizes the tests' random and property runs: short by
// default, so that `go test -race ./...` fits a small machine, and long
// when OTPRESET_LONG=1 is set (CI sets it for its run of the same command).
// -short always means the short size.
package testsize

import (
	"os"
	"testing"
)

// Env is the environment variable that asks for the long runs.
const Env = "OTPRESET_LONG"

// Long reports whether the long runs were asked for: Env is "1" and -short
// was not given.
func Long() bool { return os.Getenv(Env) == "1" && !testing.Short() }

// Pick returns long in a long run and short otherwise.
func Pick(short, long int) int {
	if Long() {
		return long
	}
	return short
}
