package sms_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otpreset/go/sms"
)

var data = sms.TemplateData{Code: "123456", Minutes: 5, AppName: "Acme", Domain: "example.com"}

func TestTemplatesSelection(t *testing.T) {
	named := map[string]string{
		"short": "{{.Code}} is your {{.AppName}} code",
		"hi":    "आपका कोड {{.Code}} है",
	}
	withDefault, err := codeTemplates("short", named)
	require.NoError(t, err)
	builtin, err := codeTemplates("", named)
	require.NoError(t, err)
	var zero *sms.Templates

	defaultBody := "Acme: 123456 is your password reset code. It expires in 5 minutes. Do not share it.\n\n@example.com #123456"
	tests := []struct {
		name      string
		templates *sms.Templates
		request   string
		body      string
		found     bool
	}{
		{"named", withDefault, "hi", "आपका कोड 123456 है", true},
		{"empty name gives the tenant default", withDefault, "", "123456 is your Acme code", true},
		{"unknown name gives the tenant default", withDefault, "nope", "123456 is your Acme code", false},
		{"no tenant default: built-in", builtin, "", defaultBody, true},
		{"unknown name, built-in default", builtin, "nope", defaultBody, false},
		{"nil Templates", zero, "", defaultBody, true},
		{"nil Templates, unknown name", zero, "short", defaultBody, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := tt.templates.RenderCode(tt.request, "", data)
			require.NoError(t, err)
			assert.Equal(t, tt.body, r.Body)
			assert.Equal(t, tt.found, r.Found)
		})
	}
}

func TestCodeTemplatesRejects(t *testing.T) {
	tests := []struct {
		name        string
		defaultName string
		named       map[string]string
		want        string
	}{
		{"does not parse", "", map[string]string{"a": "{{.Code"}, `"a"`},
		{"unknown field", "", map[string]string{"a": "{{.Code}} {{.Cod}}"}, "Cod"},
		{"no code", "", map[string]string{"a": "Your code is on its way"}, "does not include"},
		{"default not among them", "b", map[string]string{"a": "{{.Code}}"}, `"b"`},
		{"default with no templates", "a", nil, `"a"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := codeTemplates(tt.defaultName, tt.named)
			require.ErrorIs(t, err, sms.ErrBadTemplate)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

// autofillLine is the origin-bound one-time code format (WICG "Origin-bound
// one-time codes delivered via SMS"): the last line is "@" host, a space,
// "#" code.
var autofillLine = regexp.MustCompile(`^@([^\s@#/:]+) #(\S+)$`)

func TestDefaultTemplateAutofillLine(t *testing.T) {
	r, err := (*sms.Templates)(nil).RenderCode("", "", data)
	body := r.Body
	require.NoError(t, err)
	lines := strings.Split(body, "\n")
	m := autofillLine.FindStringSubmatch(lines[len(lines)-1])
	require.NotNil(t, m, "last line %q", lines[len(lines)-1])
	assert.Equal(t, "example.com", m[1])
	assert.Equal(t, data.Code, m[2])
	assert.Empty(t, lines[len(lines)-2], "a blank line sets the autofill line apart")

	noDomain := data
	noDomain.Domain = ""
	r, err = (*sms.Templates)(nil).RenderCode("", "", noDomain)
	body = r.Body
	require.NoError(t, err)
	assert.NotContains(t, body, "@")
	assert.NotContains(t, body, "\n")
	assert.Equal(t, "Acme: 123456 is your password reset code. It expires in 5 minutes. Do not share it.", body)

	noApp := data
	noApp.AppName = ""
	r, err = (*sms.Templates)(nil).RenderCode("", "", noApp)
	body = r.Body
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(body, "123456 is your"), body)
}

func TestRenderCodeCountsSegments(t *testing.T) {
	ts, err := codeTemplates("", map[string]string{
		"long": strings.Repeat("Please read carefully. ", 8) + "{{.Code}}",
		"ru":   "Код {{.Code}}",
	})
	require.NoError(t, err)
	tests := []struct {
		name     string
		segments int
		encoding string
		found    bool
	}{
		{"", 1, "GSM-7", true},
		{"long", 2, "GSM-7", true},
		{"ru", 1, "UCS-2", true},
		{"missing", 1, "GSM-7", false},
	}
	for _, tt := range tests {
		r, err := ts.RenderCode(tt.name, "", data)
		require.NoError(t, err)
		assert.Equal(t, tt.found, r.Found, tt.name)
		assert.Equal(t, tt.segments, r.Segments, tt.name)
		assert.Equal(t, tt.encoding, r.Encoding, tt.name)
		assert.Equal(t, tt.segments > 1, r.MultiSegment(), tt.name)
	}
}
