package otpreset_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otpreset/go/captcha"
	"github.com/otpreset/go/captcha/hcaptcha"
	"github.com/otpreset/go/captcha/qq"
	"github.com/otpreset/go/captcha/recaptcha"
	"github.com/otpreset/go/captcha/turnstile"
	"github.com/otpreset/go/otpreset"
	"github.com/otpreset/go/otpreset/otpresettest"
)

// siteverifyServer answers like reCAPTCHA's, hCaptcha's and Turnstile's
// siteverify: success for the token "good", invalid-input-response otherwise.
func siteverifyServer(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		w.Header().Set("Content-Type", "application/json")
		if r.PostForm.Get("secret") == "" || r.PostForm.Get("remoteip") == "" {
			_ = json.NewEncoder(w).Encode(map[string]any{"success": false, "error-codes": []string{"missing-input-secret"}})
			return
		}
		if r.PostForm.Get("response") == "good" {
			_ = json.NewEncoder(w).Encode(map[string]any{"success": true, "challenge_ts": "2026-11-24T12:00:00Z", "hostname": "example.com", "score": 0.9, "action": "reset_password"})
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"success": false, "error-codes": []string{"invalid-input-response"}})
	}))
	t.Cleanup(srv.Close)
	return srv
}

// qqLegacyServer answers like Tencent's ticket verification.
func qqLegacyServer(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		w.Header().Set("Content-Type", "application/json")
		if q.Get("Ticket") == "good" && q.Get("Randstr") == "rand" {
			_, _ = w.Write([]byte(`{"response":"1","evil_level":"0","err_msg":"OK"}`))
			return
		}
		_, _ = w.Write([]byte(`{"response":"9","evil_level":"0","err_msg":"ticket invalid"}`))
	}))
	t.Cleanup(srv.Close)
	return srv
}

type provider struct {
	name  string
	param string // the query parameter(s) carrying a good token
	new   func(t *testing.T) captcha.Verifier
}

func providers() []provider {
	return []provider{
		{"recaptcha", "g-recaptcha-response=good", func(t *testing.T) captcha.Verifier {
			v, err := recaptcha.New(recaptcha.Config{Siteverify: captcha.Siteverify{Secret: "s3cret", Endpoint: siteverifyServer(t).URL}, MinScore: 0.5, Action: "reset_password"})
			require.NoError(t, err)
			return v
		}},
		{"hcaptcha", "h-captcha-response=good", func(t *testing.T) captcha.Verifier {
			v, err := hcaptcha.New(hcaptcha.Config{Siteverify: captcha.Siteverify{Secret: "s3cret", Endpoint: siteverifyServer(t).URL}})
			require.NoError(t, err)
			return v
		}},
		{"turnstile", "cf-turnstile-response=good", func(t *testing.T) captcha.Verifier {
			v, err := turnstile.New(turnstile.Config{Siteverify: captcha.Siteverify{Secret: "s3cret", Endpoint: siteverifyServer(t).URL}})
			require.NoError(t, err)
			return v
		}},
		{"qq", "qq_captcha_ticket=good&qq_captcha_randstr=rand", func(t *testing.T) captcha.Verifier {
			v, err := qq.New(qq.Config{API: qq.LegacyAPI, AppID: 2094639739, AppSecretKey: "s3cret", Endpoint: qqLegacyServer(t).URL})
			require.NoError(t, err)
			return v
		}},
	}
}

// Off, always and after-N-failures, for each provider's real verifier
// against a server that answers as the provider documents.
func TestCaptchaModesPerProvider(t *testing.T) {
	for _, p := range providers() {
		t.Run(p.name, func(t *testing.T) {
			mk := func(mode otpreset.CaptchaMode) *otpresettest.Env {
				env := otpresettest.New(t, func(_ *otpreset.Config, tn *otpreset.Tenant) {
					tn.Captcha = otpreset.CaptchaPolicy{Mode: mode, Verifier: p.new(t)}
					tn.Limits.SendPerPhone = "off"
				})
				env.AddUser(phone, oldPass)
				return env
			}
			resetWith := func(env *otpresettest.Env, query, otp string) *httptest.ResponseRecorder {
				return env.Do("PUT", otpreset.Path+keyQuery+query, map[string]string{"phone": phone, "otp": otp, "Password": newPass}, nil)
			}

			env := mk(otpreset.CaptchaOff)
			env.Send(phone)
			assert.Equal(t, 200, resetWith(env, "", env.Code(phone)).Code, "off: no captcha needed")

			env = mk(otpreset.CaptchaAlways)
			rec := env.Send(phone)
			assert.Equal(t, 1218.0, errorCode(t, rec.Body.Bytes()), "always: missing")
			rec = env.Do("POST", otpreset.Path+keyQuery+"&g-recaptcha-response=bad&h-captcha-response=bad&cf-turnstile-response=bad&qq_captcha_ticket=bad&qq_captcha_randstr=bad", map[string]string{"phone": phone}, nil)
			assert.Equal(t, 1218.0, errorCode(t, rec.Body.Bytes()), "always: rejected by the provider")
			require.Equal(t, 200, env.Do("POST", otpreset.Path+keyQuery+"&"+p.param, map[string]string{"phone": phone}, nil).Code)
			assert.Equal(t, 1218.0, errorCode(t, resetWith(env, "", env.Code(phone)).Body.Bytes()))
			assert.Equal(t, 200, resetWith(env, "&"+p.param, env.Code(phone)).Code, "always: accepted")

			env = mk(otpreset.CaptchaAfterFailures)
			env.Send(phone)
			code := env.Code(phone)
			for i := 0; i < 5; i++ {
				require.Equal(t, 401, resetWith(env, "", wrong(code)).Code)
			}
			require.Equal(t, 200, env.Send(phone).Code, "a send adds no guesses: no captcha asked")
			assert.Equal(t, 1132.0, errorCode(t, resetWith(env, "", env.Code(phone)).Body.Bytes()), "after N: captcha required")
			assert.Equal(t, 200, resetWith(env, "&"+p.param, env.Code(phone)).Code, "after N: a solved captcha lets the reset through")
		})
	}
}
