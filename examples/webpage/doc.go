// Package webpage is a ready "forgot password" page for otpreset: plain HTML,
// vanilla JavaScript and a little CSS, embedded in the binary, no build step.
//
// The page walks the user through LoginRadius's two calls on the same
// endpoint: enter the phone number and send a code (POST), then enter the code
// and a new password and reset (PUT). It shows the server's Message and
// Description (message/description for the 1409 answer) and every
// Errors[].ErrorMessage when a call fails.
//
// Mount it next to the otpreset handler:
//
//	mux.Handle(otpreset.Path, h)
//	mux.Handle("/", webpage.Handler(webpage.Config{APIKey: "demo-api-key"}))
//
// or under a prefix (the handler strips BasePath itself):
//
//	mux.Handle("/reset/", webpage.Handler(webpage.Config{APIKey: key, BasePath: "/reset"}))
//
// The Go side renders index.html with html/template, filling <meta> tags the
// script reads: otpreset-apikey, otpreset-endpoint and, when Config.Captcha
// names a provider, otpreset-captcha-provider, -sitekey, -action and -script.
// A host serving its own copy of the page configures it through the same
// tags. The script and the stylesheet are separate files, so the page runs
// under a Content-Security-Policy without 'unsafe-inline'; the policy lets in
// exactly the configured captcha provider's origins and nothing else.
//
// # Captcha hook
//
// Off by default. With Captcha.Provider set to "recaptcha" (v2 checkbox),
// "recaptcha-v3", "hcaptcha", "turnstile" or "qq" (Tencent captcha) and
// Captcha.SiteKey set (the site key, or Tencent's CaptchaAppId), the page
// loads that provider's widget script, renders the widget in each step, and
// sends its token in the JSON body as g-recaptcha-response,
// h-captcha-response, cf-turnstile-response, or qq_captcha_ticket plus
// qq_captcha_randstr, the names otpreset reads.
//
// # Browser features
//
// The code field has autocomplete="one-time-code" and inputmode="numeric";
// where the WebOTP API exists (Chrome on Android) the page asks for the code
// with navigator.credentials.get({otp: {transport: ["sms"]}}), which fills it
// from an SMS whose last line is "@your.domain #123456" (otpreset adds that
// line when the tenant has a Domain). The password field has
// autocomplete="new-password" next to a hidden username field, so password
// managers save the new password for the right account.
package webpage
