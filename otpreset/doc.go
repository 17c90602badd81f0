// Package otpreset lets the users of a host application reset a forgotten
// password with their phone number and a one-time code sent by SMS. It speaks
// LoginRadius's "Reset Password with Phone and OTP" API, so clients written
// for that API work unchanged against a host that mounts it.
//
// New returns a Handler, an http.Handler that serves both endpoints on any
// path ending in Path:
//
//   - POST /identity/v2/auth/password/otp?apikey=... {"phone": "+919999999999"}
//     draws a code, stores its HMAC and texts it (sms.Sender). An unknown
//     phone gets the same answer, in the same time, and no SMS.
//   - PUT /identity/v2/auth/password/otp?apikey=...
//     {"phone": ..., "otp": ..., "Password": ...} checks the code, hashes the
//     new password (argon2id), and in one step (store.ApplyReset) consumes the
//     code, replaces the password, revokes every session and creates a new
//     one; then it emits a ResetPassword webhook (webhook.Sink).
//
// The host brings a store.Store (memstore for tests, sqlstore for SQLite and
// PostgreSQL, redisstore for codes and sessions in Redis, or its own tables
// checked with storetest.Run), an sms.Sender, its tenants (API key -> Tenant)
// and a secret. Everything else has a safe default: argon2id with bounded
// concurrency, random session tokens stored hashed, rate limits and lockout
// (ulule/limiter), captcha off, NIST password policy, one answer for every
// failing phone/code pair. Every error is a LoginRadius-style JSON body built
// in one table (errors.go); a failed reset leaves the old password working.
//
// Package otpresettest makes a mounted handler testable in a few lines.
package otpreset
