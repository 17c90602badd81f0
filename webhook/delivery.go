package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/otpreset/go/webhook/signature"
)

// maxDrain is how much of an answer's body is read (and discarded) so that
// the connection can be reused.
const maxDrain = 64 << 10

// outcome is the result of one attempt.
type outcome struct {
	status        int   // 0 when no answer came
	err           error // nil on 2xx
	retryable     bool
	retryAfter    time.Duration
	hasRetryAfter bool
}

// attempt makes one signed POST of j.
func (s *HTTPSink) attempt(j *job) outcome {
	ctx, cancel := context.WithTimeout(s.baseCtx, s.attemptTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, j.ep.URL, bytes.NewReader(j.body))
	if err != nil {
		return outcome{err: fmt.Errorf("%w: request: %w", ErrInvalidEndpoint, err)}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", s.userAgent)
	// Standard Webhooks: the timestamp is the attempt's, so a retry an hour
	// later is not refused by the receiver's tolerance; the id stays the
	// event's.
	if err := signature.Sign(req.Header, j.ep.Secrets, j.eventID, s.clock.now(), j.body); err != nil {
		return outcome{err: err}
	}
	resp, err := s.client.Do(req)
	if err != nil {
		// Timeouts, refused and reset connections, DNS failures: all worth
		// another try; a destination that is not public is not. The
		// *url.Error is unwrapped because its text holds the whole URL,
		// which may carry a token.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = fmt.Errorf("%s %s: %w", ue.Op, j.host, ue.Err)
		}
		return outcome{err: err, retryable: !errors.Is(err, ErrForbiddenDestination)}
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxDrain))
	o := outcome{status: resp.StatusCode}
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		return o
	}
	o.err = &StatusError{StatusCode: resp.StatusCode}
	o.retryable = retryableStatus(resp.StatusCode)
	if o.retryable {
		o.retryAfter, o.hasRetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), s.clock.now())
	}
	return o
}

// retryableStatus: 408 Request Timeout, 429 Too Many Requests and every 5xx
// may succeed later. Other answers (3xx, 4xx) will not change by themselves.
func retryableStatus(code int) bool {
	return code == http.StatusRequestTimeout || code == http.StatusTooManyRequests ||
		(code >= 500 && code <= 599)
}

// parseRetryAfter reads a Retry-After value (RFC 9110 10.2.3): either
// delay-seconds or an HTTP-date, taken relative to now. A date in the past
// means no wait.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs < 0 {
			return 0, false
		}
		if secs > int64(365*24*time.Hour/time.Second) {
			secs = int64(365 * 24 * time.Hour / time.Second) // avoid overflow; capped later anyway
		}
		return time.Duration(secs) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return max(t.Sub(now), 0), true
}

// retryDelay is the wait before retry number attempt (the attempt that just
// failed): the answer's Retry-After capped at MaxBackoff, else full jitter
// over the exponential ceiling.
func (s *HTTPSink) retryDelay(attempt int, o outcome) time.Duration {
	if o.hasRetryAfter {
		return min(o.retryAfter, s.maxBackoff)
	}
	return s.jitter(backoffCeiling(attempt, s.baseBackoff, s.maxBackoff))
}

// backoffCeiling is min(maxB, base*2^(attempt-1)) without overflow.
func backoffCeiling(attempt int, base, maxB time.Duration) time.Duration {
	c := base
	for i := 1; i < attempt && c < maxB; i++ {
		c *= 2
	}
	return min(c, maxB)
}

// jitter returns a uniformly random duration in [0, d].
func (s *HTTPSink) jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	if s.rnd == nil {
		return time.Duration(rand.Int64N(int64(d) + 1))
	}
	s.randMu.Lock()
	defer s.randMu.Unlock()
	return time.Duration(s.rnd.Int64N(int64(d) + 1))
}
