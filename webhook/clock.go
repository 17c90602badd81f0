package webhook

import "time"

// clock is how HTTPSink and Dispatcher tell the time and wait.
type clock struct {
	now   func() time.Time
	after func(d time.Duration) <-chan time.Time
}

// clockOf is c's Now and, when c also has a method
// After(d time.Duration) <-chan time.Time, its After; the system's time.Now
// and time.After otherwise.
func clockOf(c interface{ Now() time.Time }) clock {
	if c == nil {
		return clock{now: time.Now, after: time.After}
	}
	k := clock{now: c.Now, after: time.After}
	if a, ok := c.(interface {
		After(d time.Duration) <-chan time.Time
	}); ok {
		k.after = a.After
	}
	return k
}
