package otpreset_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/otpreset/go/otpreset"
	"github.com/otpreset/go/otpreset/otpresettest"
)

// TestAPIKeyGivenTwice: a key given twice with different values is refused
// (403/901) every time, never resolved by Go's map order (it once answered
// 9x 200 and 3x 403 in 12 tries); the same value twice is fine.
func TestAPIKeyGivenTwice(t *testing.T) {
	env := otpresettest.New(t, func(c *otpreset.Config, tn *otpreset.Tenant) {
		tn.Limits.SendPerPhone, tn.Limits.SendPerIP = "off", "off"
		c.MinSendDuration = -1
	})
	env.AddUser("+919999999999", "old password 1")
	k := otpresettest.APIKey
	tests := []struct {
		name, query, header string
		want                int
	}{
		{"query twice, different casing and value", "?apikey=" + k + "&APIKEY=other", "", 403},
		{"query twice, other order", "?APIKEY=other&apikey=" + k, "", 403},
		{"query and header disagree", "?apikey=" + k, "other", 403},
		{"query and header agree", "?apikey=" + k, k, 200},
		{"same value twice", "?apikey=" + k + "&apiKey=" + k, "", 200},
		{"header only", "", k, 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for range 12 {
				req := httptest.NewRequest("POST", otpreset.Path+tc.query, strings.NewReader(`{"phone":"+919999999999"}`))
				req.Header.Set("Content-Type", "application/json")
				if tc.header != "" {
					req.Header.Set("X-LoginRadius-ApiKey", tc.header)
				}
				rec := httptest.NewRecorder()
				env.Handler.ServeHTTP(rec, req)
				if !assert.Equal(t, tc.want, rec.Code, rec.Body.String()) {
					return
				}
				if tc.want == 403 {
					assert.Equal(t, float64(901), errorCode(t, rec.Body.Bytes()))
				}
			}
		})
	}
}

// TestBodyWithoutContentType: a body without a Content-Type, which any web
// page can send without a CORS preflight, is refused (400/1083) on both
// endpoints before a code is sent or checked.
func TestBodyWithoutContentType(t *testing.T) {
	env := otpresettest.New(t)
	phone := "+919999999999"
	env.AddUser(phone, "old password 1")
	for _, method := range []string{http.MethodPost, http.MethodPut} {
		req := httptest.NewRequest(method, otpreset.Path+keyQuery, strings.NewReader(`{"phone":"`+phone+`","otp":"123456","password":"new password 1"}`))
		rec := httptest.NewRecorder()
		env.Handler.ServeHTTP(rec, req)
		assert.Equal(t, 400, rec.Code, method)
		assert.Equal(t, float64(1083), errorCode(t, rec.Body.Bytes()), method)
	}
	assert.Empty(t, env.Sender.Messages(), "no code was sent")
	assert.True(t, env.PasswordWorks(phone, "old password 1"))
}
