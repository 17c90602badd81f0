package webhook

import "time"

// Clock tells the time and waits. HTTPSink uses it to stamp each attempt
// (webhook-timestamp) and to wait between retries; Dispatcher uses it to wait
// between polls. Tests pass a fake whose After fires at once so that hours of
// backoff take no real time.
type Clock interface {
	Now() time.Time
	// After returns a channel that receives once d has passed, like
	// time.After.
	After(d time.Duration) <-chan time.Time
}

// SystemClock is the Clock of the machine: time.Now and time.After.
var SystemClock Clock = systemClock{}

type systemClock struct{}

func (systemClock) Now() time.Time                         { return time.Now() }
func (systemClock) After(d time.Duration) <-chan time.Time { return time.After(d) }
