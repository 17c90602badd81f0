//go:build race

package otpreset

// raceEnabled: under the race detector sync.Pool drops a share of what it is
// given at random, so allocation counts vary.
const raceEnabled = true
