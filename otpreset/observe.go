package otpreset

import "time"

// Observer receives what the handler does, for metrics (see package
// otpreset/metrics for Prometheus). Methods are called on the request path:
// they must be fast and safe for concurrent use. They never receive a phone
// number, a code or a password.
type Observer interface {
	// Answered is called once per request: endpoint is "send", "reset" or
	// "other"; errorCode is the LoginRadius ErrorCode, 0 for a success.
	Answered(endpoint string, status, errorCode int, took time.Duration)
	// SMS is called per send request that reached the sending step, with
	// outcome "sent", "failed", "pending" (answered before the provider),
	// "unknown_phone" or "refused" (SMS pumping guard).
	SMS(tenantID, outcome string)
	// Lockout is called when a failed code locks a phone.
	Lockout(tenantID string)
	// CaptchaFailed is called for a refused captcha; reason is "missing",
	// "rejected" or "unavailable".
	CaptchaFailed(tenantID, reason string)
	// Hashed is called after each password hash with its duration
	// (including the wait for a hashing slot).
	Hashed(took time.Duration)
}

// nopObserver is the default Observer.
type nopObserver struct{}

func (nopObserver) Answered(string, int, int, time.Duration) {}
func (nopObserver) SMS(string, string)                       {}
func (nopObserver) Lockout(string)                           {}
func (nopObserver) CaptchaFailed(string, string)             {}
func (nopObserver) Hashed(time.Duration)                     {}
