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
	withDefault, err := sms.NewTemplates("short", named)
	require.NoError(t, err)
	builtin, err := sms.NewTemplates("", named)
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
			body, found, err := tt.templates.Render(tt.request, data)
			require.NoError(t, err)
			assert.Equal(t, tt.body, body)
			assert.Equal(t, tt.found, found)
		})
	}
}

func TestNewTemplatesRejects(t *testing.T) {
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
			_, err := sms.NewTemplates(tt.defaultName, tt.named)
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
	body, _, err := (*sms.Templates)(nil).Render("", data)
	require.NoError(t, err)
	lines := strings.Split(body, "\n")
	m := autofillLine.FindStringSubmatch(lines[len(lines)-1])
	require.NotNil(t, m, "last line %q", lines[len(lines)-1])
	assert.Equal(t, "example.com", m[1])
	assert.Equal(t, data.Code, m[2])
	assert.Empty(t, lines[len(lines)-2], "a blank line sets the autofill line apart")

	noDomain := data
	noDomain.Domain = ""
	body, _, err = (*sms.Templates)(nil).Render("", noDomain)
	require.NoError(t, err)
	assert.NotContains(t, body, "@")
	assert.NotContains(t, body, "\n")
	assert.Equal(t, "Acme: 123456 is your password reset code. It expires in 5 minutes. Do not share it.", body)

	noApp := data
	noApp.AppName = ""
	body, _, err = (*sms.Templates)(nil).Render("", noApp)
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(body, "123456 is your"), body)
}

func TestRenderInfo(t *testing.T) {
	ts, err := sms.NewTemplates("", map[string]string{
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
		{"", 1, sms.EncodingGSM7, true},
		{"long", 2, sms.EncodingGSM7, true},
		{"ru", 1, sms.EncodingUCS2, true},
		{"missing", 1, sms.EncodingGSM7, false},
	}
	for _, tt := range tests {
		r, err := ts.RenderInfo(tt.name, data)
		require.NoError(t, err)
		body, found, err := ts.Render(tt.name, data)
		require.NoError(t, err)
		assert.Equal(t, body, r.Body, tt.name)
		assert.Equal(t, found, r.Found, tt.name)
		assert.Equal(t, tt.found, r.Found, tt.name)
		assert.Equal(t, tt.segments, r.Segments, tt.name)
		assert.Equal(t, tt.encoding, r.Encoding, tt.name)
		assert.Equal(t, tt.segments > 1, r.MultiSegment(), tt.name)
	}
}
