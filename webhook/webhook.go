// Package webhook defines the events otpreset emits and the Sink that
// receives them. HTTPSink delivers them to a host's endpoints, signed with
// LoginRadius's "signature" header and the Standard Webhooks headers
// (package signature); Verify checks those signatures in a receiver.
//
// # Delivery
//
// HTTPSink.Emit renders the event (Event.Payload) and queues one delivery
// per endpoint of the tenant; it never waits on the network. A pool of
// workers POSTs each delivery with Content-Type application/json, signed
// afresh on every attempt (the webhook-id is the event's id and never
// changes; webhook-timestamp is the attempt's time). A 2xx answer is
// success. Timeouts, connection errors, 408, 429 and 5xx are retried with
// exponential backoff and full jitter, or after the answer's Retry-After
// (seconds or HTTP date), capped; 3xx and other 4xx answers are not retried.
// A delivery that will not be tried again goes to the dead-letter callback
// and the log: no event is dropped silently. Close drains the queue.
//
// # Durable delivery
//
// A queue in memory dies with the process. For delivery that survives a
// crash, the reset writes the event (its Payload, as a store.OutboxMessage)
// into the store in the same transaction as the new password
// (store.Reset.Outbox), and a Dispatcher polls the store's outbox, delivers
// through an HTTPSink and marks each message delivered after every endpoint
// answered 2xx: at least once, with a stable webhook-id (the event's ID) for
// the receiver to de-duplicate.
//
// # Receiving
//
// A receiver reads the raw body and calls Verify (or a signature.Verifier,
// to set the tolerance and clock) before decoding it; see
// examples/webhookreceiver.
package webhook

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/otpreset/go/webhook/signature"
)

// Secrets are the keys an endpoint's deliveries are signed with (see
// package signature).
type Secrets = signature.Secrets

// Verify checks the signatures of a delivery in a receiver: h are its
// headers and body its raw body, exactly as received (before any JSON
// decoding), s the endpoint's secrets. Every scheme whose secret is set must
// verify, and a Standard Webhooks timestamp must be within 5 minutes of now.
// It is signature.Verify; errors wrap signature's ErrNoSecret,
// ErrMissingHeaders, ErrInvalid, ErrTimestampOutOfTolerance or ErrBadSecret.
func Verify(h http.Header, body []byte, s Secrets) error {
	return signature.Verify(h, body, s)
}

// HookResetPassword is LoginRadius's HookName for a password reset.
const HookResetPassword = "resetpassword"

// Event is one webhook event.
type Event struct {
	// ID is a UUID, stable across retries (the webhook-id / HookId), so a
	// receiver can de-duplicate.
	ID string
	// TenantID selects the endpoints and secret.
	TenantID string
	// Name is the LoginRadius HookName, e.g. HookResetPassword.
	Name string
	Time time.Time
	// Data is the event's data; for ResetPassword, the user's Profile.
	Data json.RawMessage
}

// payload is the JSON body LoginRadius sends.
type payload struct {
	HookName string          `json:"HookName"`
	Time     string          `json:"Time"`
	HookId   string          `json:"HookId"`
	Data     json.RawMessage `json:"Data"`
}

// Payload returns the event as the JSON body LoginRadius sends:
// {"HookName":"resetpassword","Time":"<RFC 3339>","HookId":"<uuid>","Data":{...}}.
func (e Event) Payload() ([]byte, error) {
	data := e.Data
	if len(data) == 0 {
		data = json.RawMessage("null")
	}
	return json.Marshal(payload{
		HookName: e.Name,
		Time:     e.Time.UTC().Format(time.RFC3339),
		HookId:   e.ID,
		Data:     data,
	})
}

// Sink receives events. Emit must not block on delivery: the reset answer
// never waits on a webhook. An error from Emit means the event was not
// accepted (for example a full queue under the reject policy); otpreset logs
// it and does not fail the reset.
type Sink interface {
	Emit(ctx context.Context, e Event) error
}

// SinkFunc adapts a function to Sink.
type SinkFunc func(ctx context.Context, e Event) error

// Emit calls f.
func (f SinkFunc) Emit(ctx context.Context, e Event) error { return f(ctx, e) }

// Discard is a Sink that drops every event; the default when a host
// configures none.
var Discard Sink = SinkFunc(func(context.Context, Event) error { return nil })
