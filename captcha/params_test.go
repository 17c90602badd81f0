package captcha_test

import (
	"fmt"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/otpreset/go/captcha"
)

func TestTokenFrom(t *testing.T) {
	tests := []struct {
		name   string
		params map[string]string
		want   captcha.Token
	}{
		{"none", nil, captcha.Token{RemoteIP: "203.0.113.7"}},
		{"recaptcha", map[string]string{"g-recaptcha-response": "r"}, captcha.Token{Response: "r", RemoteIP: "203.0.113.7"}},
		{"recaptcha with underscores", map[string]string{"g_recaptcha_response": "u"}, captcha.Token{Response: "u", RemoteIP: "203.0.113.7"}},
		{"hcaptcha", map[string]string{"h-captcha-response": "h"}, captcha.Token{Response: "h", RemoteIP: "203.0.113.7"}},
		{"turnstile", map[string]string{"cf-turnstile-response": "c"}, captcha.Token{Response: "c", RemoteIP: "203.0.113.7"}},
		{"qq", map[string]string{"qq_captcha_ticket": "t", "qq_captcha_randstr": "s"}, captcha.Token{Response: "t", Randstr: "s", RemoteIP: "203.0.113.7"}},
		{"empty values are absent", map[string]string{"g-recaptcha-response": "", "h-captcha-response": "h"}, captcha.Token{Response: "h", RemoteIP: "203.0.113.7"}},
		{"fixed order when several are sent", map[string]string{
			"qq_captcha_ticket": "t", "cf-turnstile-response": "c", "h-captcha-response": "h", "g_recaptcha_response": "u", "g-recaptcha-response": "r",
		}, captcha.Token{Response: "r", RemoteIP: "203.0.113.7"}},
		{"hcaptcha before turnstile and qq", map[string]string{"qq_captcha_ticket": "t", "cf-turnstile-response": "c", "h-captcha-response": "h"}, captcha.Token{Response: "h", RemoteIP: "203.0.113.7"}},
		{"other names are not read", map[string]string{"G-Recaptcha-Response": "x", "recaptcha": "y"}, captcha.Token{RemoteIP: "203.0.113.7"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := captcha.TokenFrom(func(name string) string { return tt.params[name] }, "203.0.113.7")
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestParamNames(t *testing.T) {
	names := captcha.ParamNames()
	assert.Equal(t, []string{"g-recaptcha-response", "g_recaptcha_response", "h-captcha-response", "cf-turnstile-response", "qq_captcha_ticket", "qq_captcha_randstr"}, names)
	names[0] = "changed"
	assert.Equal(t, "g-recaptcha-response", captcha.ParamNames()[0], "the caller's copy is its own")

	// Every name ParamNames lists is one TokenFrom reads.
	for _, n := range captcha.ParamNames() {
		read := false
		captcha.TokenFrom(func(name string) string {
			if name == n {
				read = true
			}
			return ""
		}, "")
		assert.True(t, read, n)
	}
}

// A handler reads the token from its query (or its decoded body) by name.
func ExampleTokenFrom() {
	q, _ := url.ParseQuery("apikey=k&h-captcha-response=P1_eyJ0eXAi")
	tok := captcha.TokenFrom(q.Get, "203.0.113.7")
	fmt.Printf("%q from %s\n", tok.Response, tok.RemoteIP)
	// Output: "P1_eyJ0eXAi" from 203.0.113.7
}
