//go:build !race

package otpreset

const raceEnabled = false
