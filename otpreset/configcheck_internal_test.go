package otpreset

import "testing"

// TestMaskAPIKey: an API key is named by at most 4 of its characters and at
// most half of it, cut on a character boundary, never whole.
func TestMaskAPIKey(t *testing.T) {
	for key, want := range map[string]string{
		"":                "",
		"k":               "…",
		"key":             "k…",
		"abcd":            "ab…",
		"test-api-key":    "test…",
		"ключ-арендатора": "ключ…",
		"日本語キー":           "日本…",
	} {
		if got := maskAPIKey(key); got != want {
			t.Errorf("maskAPIKey(%q) = %q, want %q", key, got, want)
		}
	}
}
