package qq

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestTC3SignMatchesTencentWorkedExample reproduces the worked example of
// Tencent Cloud's "Signature v3" documentation (CVM DescribeInstances,
// timestamp 1551113065, SecretKey Gu5t9xGARNpq86cd98joQYCN3EXAMPLE) and
// compares every intermediate value with the one the documentation prints.
func TestTC3SignMatchesTencentWorkedExample(t *testing.T) {
	const (
		secretID  = "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE"
		secretKey = "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE"
		payload   = `{"Limit": 1, "Filters": [{"Values": ["\u672a\u547d\u540d"], "Name": "instance-name"}]}`
	)
	req, err := http.NewRequest(http.MethodPost, "https://cvm.tencentcloudapi.com/", strings.NewReader(payload))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json; charset=utf-8")

	s := tc3Sign(req, []byte(payload), secretID, secretKey, "cvm", []string{"content-type", "host"}, time.Unix(1551113065, 0))

	assert.Equal(t, "35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064", s.HashedPayload)
	assert.Equal(t, "POST\n/\n\ncontent-type:application/json; charset=utf-8\nhost:cvm.tencentcloudapi.com\n\ncontent-type;host\n35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064", s.CanonicalRequest)
	assert.Equal(t, "5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031", s.HashedCanonicalRequest)
	assert.Equal(t, "TC3-HMAC-SHA256\n1551113065\n2019-02-25/cvm/tc3_request\n5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031", s.StringToSign)
	assert.Equal(t, "72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168", s.Signature)
	assert.Equal(t, "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE/2019-02-25/cvm/tc3_request, SignedHeaders=content-type;host, Signature=72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168", s.Authorization)
}

func TestTC3SignDetails(t *testing.T) {
	base := func() *http.Request {
		req, _ := http.NewRequest(http.MethodPost, "https://captcha.tencentcloudapi.com/", nil)
		req.Header.Set("Content-Type", "application/json; charset=utf-8")
		req.Header.Set("X-TC-Action", "DescribeCaptchaResult")
		return req
	}
	// 1551113065 is 2019-02-26 00:44:25 in UTC+8; the scope must use the UTC date.
	local := time.Unix(1551113065, 0).In(time.FixedZone("UTC+8", 8*3600))
	s := tc3Sign(base(), []byte("{}"), "id", "key", "captcha", []string{"X-TC-Action", "Host", "Content-Type"}, local)
	assert.Contains(t, s.StringToSign, "\n2019-02-25/captcha/tc3_request\n", "the credential date is the UTC date")
	assert.Contains(t, s.Authorization, "SignedHeaders=content-type;host;x-tc-action,", "header names are lower-cased and sorted")
	assert.Contains(t, s.CanonicalRequest, "x-tc-action:describecaptcharesult\n", "header values are lower-cased")

	// Each input changes the signature.
	ref := s.Signature
	for name, mutate := range map[string]func() tc3Steps{
		"payload": func() tc3Steps {
			return tc3Sign(base(), []byte("{ }"), "id", "key", "captcha", []string{"x-tc-action", "host", "content-type"}, local)
		},
		"key": func() tc3Steps {
			return tc3Sign(base(), []byte("{}"), "id", "key2", "captcha", []string{"x-tc-action", "host", "content-type"}, local)
		},
		"service": func() tc3Steps {
			return tc3Sign(base(), []byte("{}"), "id", "key", "cvm", []string{"x-tc-action", "host", "content-type"}, local)
		},
		"time": func() tc3Steps {
			return tc3Sign(base(), []byte("{}"), "id", "key", "captcha", []string{"x-tc-action", "host", "content-type"}, local.Add(time.Second))
		},
		"host": func() tc3Steps {
			r := base()
			r.URL.Host = "captcha.intl.tencentcloudapi.com"
			r.Host = r.URL.Host // what net/http sends as Host
			return tc3Sign(r, []byte("{}"), "id", "key", "captcha", []string{"x-tc-action", "host", "content-type"}, local)
		},
	} {
		assert.NotEqual(t, ref, mutate().Signature, name)
	}
}
