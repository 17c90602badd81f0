package captcha

// Request-side names of the tokens: the query parameters and JSON body keys
// under which LoginRadius's API and the providers' widgets send them,
// defined here once so that a handler reading them (TokenFrom) and a
// decoder listing its keys (ParamNames) cannot drift apart.
const (
	// ParamReCAPTCHA is Google reCAPTCHA's field (v2 and v3).
	ParamReCAPTCHA = "g-recaptcha-response"
	// ParamReCAPTCHAUnderscore is the same with underscores, which
	// LoginRadius's API also accepts.
	ParamReCAPTCHAUnderscore = "g_recaptcha_response"
	// ParamHCaptcha is hCaptcha's field.
	ParamHCaptcha = "h-captcha-response"
	// ParamTurnstile is Cloudflare Turnstile's field.
	ParamTurnstile = "cf-turnstile-response"
	// ParamQQTicket is Tencent/QQ captcha's ticket (Token.Response).
	ParamQQTicket = "qq_captcha_ticket"
	// ParamQQRandstr is Tencent/QQ captcha's rand string (Token.Randstr).
	ParamQQRandstr = "qq_captcha_randstr"
)

// responseParams are the names a Token.Response may come under, in the
// order TokenFrom prefers them.
var responseParams = [...]string{ParamReCAPTCHA, ParamReCAPTCHAUnderscore, ParamHCaptcha, ParamTurnstile, ParamQQTicket}

// ParamNames returns every name TokenFrom reads, for a decoder that must
// know its keys in advance. The slice is the caller's to keep.
func ParamNames() []string {
	return append(responseParams[:], ParamQQRandstr)
}

// TokenFrom reads a client's captcha token through lookup, which returns
// the value of a request parameter by name ("" when absent); the caller
// decides where parameters come from (query, JSON body) and how names match.
// Response is the first non-empty value among g-recaptcha-response,
// g_recaptcha_response, h-captcha-response, cf-turnstile-response and
// qq_captcha_ticket, in that order: a page embeds one widget, so one of them
// is set, and a fixed order keeps the choice the same on every request.
// Randstr is qq_captcha_randstr. RemoteIP is remoteIP as given.
func TokenFrom(lookup func(name string) string, remoteIP string) Token {
	tok := Token{RemoteIP: remoteIP, Randstr: lookup(ParamQQRandstr)}
	for _, name := range responseParams {
		if v := lookup(name); v != "" {
			tok.Response = v
			break
		}
	}
	return tok
}
