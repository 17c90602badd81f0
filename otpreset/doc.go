// Package otpreset lets the users of a host application reset a forgotten
// password with their phone number and a one-time code sent by SMS. It speaks
// LoginRadius's "Reset Password with Phone and OTP" API, so clients written
// for that API work unchanged against a host that mounts it (openapi.yaml at
// the repository's root describes both endpoints).
//
// New returns a Handler, an http.Handler that serves both endpoints on any
// path ending in Path:
//
//   - POST /identity/v2/auth/password/otp?apikey=... {"phone": "+919999999999"}
//     draws a code, stores its HMAC and texts it (sms.Sender). An unknown
//     phone, or one the SMS caps refuse, gets the same answer, in the same
//     time, and no SMS.
//   - PUT /identity/v2/auth/password/otp?apikey=...
//     {"phone": ..., "otp": ..., "Password": ...} takes a guess from the
//     phone's guessing budget, checks the code, hashes the new password
//     (argon2id), and in one step (store.ApplyReset) consumes the code,
//     replaces the password, revokes every session and creates a new one;
//     then it emits a ResetPassword webhook (webhook.Sink) and tells the
//     phone's owner by SMS.
//
// The host brings a store.Store (memstore for tests, store/postgres or
// store/sqlite, redisstore for codes and sessions in Redis, or its own tables
// checked with storetest), an sms.Sender, its tenants (API key -> Tenant) and
// a secret. New checks all of it once (ErrInvalidConfig), and Handler.Check,
// called before serving, reaches the store and the other parts that can tell
// whether they work (ErrCheckFailed). Everything else has
// a safe default: argon2id with bounded concurrency, random session tokens
// stored hashed, rate limits (ulule/limiter), an escalating lockout over a
// persistent guessing budget, captcha off, NIST password policy, one answer
// for every failing phone/code pair.
//
// Inside, each endpoint is a short pipeline of steps (send.go, reset.go) that
// each return a refusal or nil; Handler.ServeHTTP (handler.go) is the one
// place that writes an answer, and every LoginRadius error body is built in
// one table (errors.go). README.md's "Security model" states what each
// default defends against.
//
// Package otpresettest makes a mounted handler testable in a few lines.
package otpreset
