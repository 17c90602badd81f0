// Package httpx holds what the module's HTTP senders share: their default
// timeout and clock, reading a provider's Retry-After header and sorting
// HTTP statuses into retryable and permanent failures.
package httpx

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// DefaultTimeout bounds one Send of a network sender whose Config sets no
// Timeout.
const DefaultTimeout = 10 * time.Second

// Now is clock's time, or the system's when clock is nil.
func Now(clock interface{ Now() time.Time }) time.Time {
	if clock == nil {
		return time.Now()
	}
	return clock.Now()
}

// RetryableStatus reports whether an HTTP answer with this status may
// succeed if the request is sent again: 408, 425, 429 and every 5xx.
func RetryableStatus(status int) bool {
	switch {
	case status == http.StatusRequestTimeout, status == http.StatusTooEarly, status == http.StatusTooManyRequests:
		return true
	case status >= 500 && status <= 599:
		return true
	}
	return false
}

// RetryAfter reads a Retry-After header value, either delay-seconds or an
// HTTP-date (RFC 9110, section 10.2.3), as a wait from now. It returns 0 for
// an absent, malformed or past value.
func RetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		return time.Duration(min(secs, int64(24*time.Hour/time.Second))) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
