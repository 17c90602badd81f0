package twilio

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/otpreset/go/sms"
	"github.com/otpreset/go/sms/internal/httpx"
)

// Twilio error codes worth telling apart (https://www.twilio.com/docs/api/errors).
const (
	CodeAuthentication   = 20003 // bad credentials
	CodeTooManyRequests  = 20429 // concurrency limit; never processed, safe to retry
	CodeInvalidTo        = 21211 // the 'To' number is not a valid phone number
	CodeInvalidFrom      = 21212 // the 'From' number is not valid
	CodeRegionNotEnabled = 21408 // no permission to send to that region
	CodeUnsubscribed     = 21610 // the recipient replied STOP
	CodeNotMobile        = 21614 // the 'To' number is not a mobile number

	CodeChannelToNotFound   = 63003 // WhatsApp: the 'To' number is not a WhatsApp user
	CodeChannelFromNotFound = 63007 // WhatsApp: no WhatsApp sender with the 'From' address
	CodeOutsideWindow       = 63016 // WhatsApp: free text outside the 24-hour window; use a template
)

// Error is an error answer from Twilio's REST API, as Twilio documents its
// body: {"code":21211,"message":"...","more_info":"...","status":400}; or a
// watched WhatsApp message that failed after Twilio accepted it (see
// Config.ConfirmWhatsApp), with MessageStatus set and Status 0. It
// wraps sms.ErrSendFailed, so errors.Is(err, sms.ErrSendFailed) holds, and
// errors.As(err, &twilioErr) gives the details.
type Error struct {
	// Status is the HTTP status.
	Status int
	// Code is Twilio's error code (see the Code constants); 0 when the
	// answer carried none, e.g. a proxy's 502 page.
	Code int
	// Message is Twilio's message with phone numbers masked (Twilio's own
	// names the 'To' number).
	Message string
	// MoreInfo is the documentation link for Code.
	MoreInfo string
	// Wait is the answer's Retry-After, 0 when it had none.
	Wait time.Duration
	// MessageStatus is the failed message's status ("failed",
	// "undelivered") when Twilio accepted it and it failed later; empty
	// for an error answer.
	MessageStatus string
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.MessageStatus != "" {
		fmt.Fprintf(&b, "twilio: message %s", e.MessageStatus)
	} else {
		fmt.Fprintf(&b, "twilio: HTTP %d", e.Status)
	}
	if e.Code != 0 {
		fmt.Fprintf(&b, ", error %d", e.Code)
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	if e.MoreInfo != "" {
		b.WriteString(" (" + e.MoreInfo + ")")
	}
	return b.String()
}

// Unwrap returns sms.ErrSendFailed.
func (e *Error) Unwrap() error { return sms.ErrSendFailed }

// Retryable reports whether sending again may succeed: HTTP 429 (or error
// 20429) and 5xx answers. sms.Retry and sms.IsRetryable ask this.
func (e *Error) Retryable() bool {
	return e.Code == CodeTooManyRequests || httpx.RetryableStatus(e.Status)
}

// Permanent reports whether sending the same message again is pointless: a
// bad number, bad credentials, an unsubscribed recipient.
func (e *Error) Permanent() bool { return !e.Retryable() }

// RetryAfter is the wait Twilio asked for; sms.Retry honours it.
func (e *Error) RetryAfter() time.Duration { return e.Wait }

// phoneLike is a run of digits long enough to be a phone number, possibly
// with a '+' and the separators people write.
var phoneLike = regexp.MustCompile(`\+?[0-9][0-9 ().-]{5,}[0-9]`)

// redact masks phone numbers in a Twilio message.
func redact(msg string) string {
	return phoneLike.ReplaceAllStringFunc(msg, sms.MaskPhone)
}
