package otpreset

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestBoolParam: the lenient booleans of isVoiceOtp and prevent_webhook.
func TestBoolParam(t *testing.T) {
	for s, want := range map[string]bool{
		"": false, "true": true, "TRUE": true, "1": true, "t": true, "yes": true, "Yes": true,
		"false": false, "0": false, "no": false, "maybe": false, " true": false,
	} {
		assert.Equal(t, want, boolParam(s), "%q", s)
	}
}
