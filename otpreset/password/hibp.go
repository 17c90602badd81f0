package password

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// HIBP defaults.
const (
	// DefaultHIBPEndpoint is the Pwned Passwords range API; the 5-character
	// hash prefix is appended to it.
	DefaultHIBPEndpoint = "https://api.pwnedpasswords.com/range/"
	// DefaultHIBPTimeout bounds one range request.
	DefaultHIBPTimeout = 3 * time.Second
	// DefaultHIBPUserAgent identifies otpreset to the API, which requires a
	// User-Agent describing the consumer.
	DefaultHIBPUserAgent = "otpreset-breach-check (+https://github.com/otpreset/go)"
)

// maxRangeBody bounds how much of a range response is read. A padded
// response holds 800 to 1,000 lines of about 40 bytes; 1 MiB leaves ample
// room for the corpus to grow.
const maxRangeBody = 1 << 20

// suffixLen is the length of the hash suffix in a range response line.
const suffixLen = 2*20 - 5

// HIBP checks passwords against Have I Been Pwned's Pwned Passwords with the
// k-anonymity range API: it sends GET {Endpoint}{first 5 hex of SHA-1} with
// "Add-Padding: true", and looks for the remaining 35 hex characters among
// the "SUFFIX:COUNT" lines of the answer. The password and its hash never
// leave the process but for the 5-character prefix in the request, and no
// part of either, the prefix included, appears in its logs or errors: they
// name the checker ("HIBP range API (host)") instead.
//
// The zero value asks the public API with a 3 s timeout and fails closed.
// Use it as a pointer (&HIBP{...}); it is safe for concurrent use as long as
// its fields are not changed.
type HIBP struct {
	// Endpoint is the range API's URL, to which the prefix is appended
	// ("/" is added if missing). Empty means DefaultHIBPEndpoint.
	Endpoint string
	// Client sends the request. Nil means http.DefaultClient. Its own
	// Timeout, if any, applies on top of Timeout.
	Client *http.Client
	// UserAgent is sent as User-Agent (the API rejects requests without
	// one). Empty means DefaultHIBPUserAgent.
	UserAgent string
	// Timeout bounds each request, including reading the answer. Zero or
	// negative means DefaultHIBPTimeout.
	Timeout time.Duration
	// MinCount is how many times a password must have been seen in breaches
	// to count as breached. Zero or negative means 1. Padding entries (count
	// 0) never count, whatever MinCount is.
	MinCount int
	// FailOpen, when true, answers "not breached" (false, nil) when the API
	// cannot be asked (timeout, network error, non-200 status, unreadable
	// answer) and logs a warning. When false (the default) such failures
	// return an error wrapping ErrUnavailable. A ctx that is cancelled or
	// past its deadline is always an error (wrapping ctx.Err()), never a
	// fail-open: the caller's request is over.
	FailOpen bool
	// Logger receives the fail-open warnings. Nil means slog.Default().
	Logger *slog.Logger
}

// Breached reports whether pw appears in Pwned Passwords at least MinCount
// times. See HIBP for the failure behaviour. An error names the checker and
// the API's host, and holds no part of the password's hash, not even the
// prefix sent to the API (it would narrow an offline search for the
// password 2^20 times).
func (h *HIBP) Breached(ctx context.Context, pw string) (bool, error) {
	sum := digest(pw)
	full := strings.ToUpper(hex.EncodeToString(sum[:]))
	prefix, suffix := full[:5], full[5:]

	found, err := h.lookup(ctx, prefix, suffix)
	if err == nil {
		return found, nil
	}
	if ctx.Err() != nil {
		// The caller gave up; its context error is the answer.
		return false, fmt.Errorf("%w: %s: %w", ErrUnavailable, h.name(), ctx.Err())
	}
	err = fmt.Errorf("%w: %s: %w", ErrUnavailable, h.name(), hidePrefix{err, prefix})
	if h.FailOpen {
		h.logger().WarnContext(ctx, "password: breach check unavailable, accepting password (fail open)",
			"checker", h.name(), "err", err)
		return false, nil
	}
	return false, err
}

// name names the checker in its errors and logs: "HIBP range API
// (api.pwnedpasswords.com)".
func (h *HIBP) name() string {
	host := "?"
	if u, err := url.Parse(h.endpoint()); err == nil && u.Host != "" {
		host = u.Host
	}
	return "HIBP range API (" + host + ")"
}

func (h *HIBP) endpoint() string {
	endpoint := h.Endpoint
	if endpoint == "" {
		endpoint = DefaultHIBPEndpoint
	}
	if !strings.HasSuffix(endpoint, "/") {
		endpoint += "/"
	}
	return endpoint
}

// hidePrefix is err without the range's prefix in its text (a client's
// transport may name the URL it was asked for), its chain kept for
// errors.Is and errors.As.
type hidePrefix struct {
	err    error
	prefix string
}

func (e hidePrefix) Error() string {
	msg := strings.ReplaceAll(e.err.Error(), e.prefix, "[range]")
	return strings.ReplaceAll(msg, strings.ToLower(e.prefix), "[range]")
}

func (e hidePrefix) Unwrap() error { return e.err }

// lookup asks for the range and scans it for suffix. Errors it returns never
// contain suffix; the caller hides prefix.
func (h *HIBP) lookup(ctx context.Context, prefix, suffix string) (bool, error) {
	timeout := h.Timeout
	if timeout <= 0 {
		timeout = DefaultHIBPTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, h.endpoint()+prefix, nil)
	if err != nil {
		return false, fmt.Errorf("building request: %w", err)
	}
	ua := h.UserAgent
	if ua == "" {
		ua = DefaultHIBPUserAgent
	}
	req.Header.Set("User-Agent", ua)
	req.Header.Set("Add-Padding", "true")

	client := h.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		// A *url.Error's text holds the URL, and so the prefix: keep its
		// operation and cause only (the host is in the checker's name).
		var ue *url.Error
		if errors.As(err, &ue) {
			err = fmt.Errorf("%s: %w", ue.Op, ue.Err)
		}
		return false, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxRangeBody+1))
	if err != nil {
		return false, fmt.Errorf("reading answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return false, fmt.Errorf("status %d", resp.StatusCode)
	}
	if len(body) > maxRangeBody {
		return false, fmt.Errorf("answer larger than %d bytes", maxRangeBody)
	}
	return scanRange(body, suffix, h.minCount())
}

func (h *HIBP) minCount() int {
	if h.MinCount <= 0 {
		return 1
	}
	return h.MinCount
}

func (h *HIBP) logger() *slog.Logger {
	if h.Logger != nil {
		return h.Logger
	}
	return slog.Default()
}

// errMalformed marks a range answer that is not "SUFFIX:COUNT" lines.
var errMalformed = errors.New("malformed range answer")

// scanRange reads a range answer: lines "SUFFIX:COUNT" separated by CRLF (LF
// alone is accepted), SUFFIX 35 hex characters, COUNT a decimal number (0 for
// padding). Every line is checked, so an unexpected answer (an HTML error
// page behind a proxy) is an error rather than "not breached".
func scanRange(body []byte, suffix string, minCount int) (bool, error) {
	found := false
	sc := bufio.NewScanner(bytes.NewReader(body))
	for line := 1; sc.Scan(); line++ {
		text := bytes.TrimSuffix(sc.Bytes(), []byte("\r"))
		if len(text) == 0 {
			continue
		}
		hashPart, countPart, ok := bytes.Cut(text, []byte(":"))
		if !ok || len(hashPart) != suffixLen || !isHex(hashPart) {
			return false, fmt.Errorf("%w: line %d", errMalformed, line)
		}
		count, err := strconv.ParseUint(string(countPart), 10, 63)
		if err != nil {
			return false, fmt.Errorf("%w: line %d: bad count", errMalformed, line)
		}
		if count > 0 && count >= uint64(minCount) && strings.EqualFold(string(hashPart), suffix) {
			found = true
		}
	}
	if err := sc.Err(); err != nil {
		return false, fmt.Errorf("%w: %w", errMalformed, err)
	}
	return found, nil
}

func isHex(b []byte) bool {
	for _, c := range b {
		switch {
		case c >= '0' && c <= '9', c >= 'a' && c <= 'f', c >= 'A' && c <= 'F':
		default:
			return false
		}
	}
	return true
}
