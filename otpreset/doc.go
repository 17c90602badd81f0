// Package otpreset lets the users of a host application reset a forgotten
// password with their phone number and a one-time code sent by SMS. It speaks
// LoginRadius's "Reset Password with Phone and OTP" API, so clients written
// for that API (LoginRadius's SDKs, its curl examples) work unchanged against
// a host that mounts it; openapi.yaml at the repository's root describes both
// endpoints.
//
// New returns a Handler, an http.Handler that serves both endpoints on any
// path ending in Path, at the root of a mux or under a prefix:
//
//   - POST /identity/v2/auth/password/otp?apikey=... {"phone": "+919999999999"}
//     texts a code to the phone (sms.Sender). An unknown phone, or one a cap
//     refuses, gets the same answer, in the same time, and no SMS.
//   - PUT /identity/v2/auth/password/otp?apikey=...
//     {"phone": ..., "otp": ..., "Password": ...} checks the code and sets
//     the new password (argon2id), ends every session of the user, issues a
//     new one, calls Config.AfterReset, emits a ResetPassword webhook
//     (webhook.Sink) and tells the phone's owner by SMS.
//
// The host brings a store.Store (memstore for tests, store/postgres or
// store/sqlite, redisstore for codes and sessions in Redis, or its own tables
// checked with storetest), an sms.Sender, its tenants (API key -> Tenant) and
// a secret. New checks all of it once (ErrInvalidConfig), and Handler.Check,
// called before serving, reaches the store and the other parts that can tell
// whether they work (ErrCheckFailed). Everything else has
// a safe default: argon2id with bounded concurrency, random session tokens
// stored hashed, rate limits, a lockout per client network and a guessing
// budget per phone that no attacker can turn against the phone's owner,
// captcha off, NIST password policy, one answer for every failing phone/code
// pair. README.md's "Security model" states what each default defends
// against.
//
// Package otpresettest makes a mounted handler testable in a few lines.
package otpreset
