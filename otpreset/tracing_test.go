package otpreset_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/otpreset/go/otpreset"
	"github.com/otpreset/go/otpreset/otpresettest"
)

// spanTree is "parent > child" for every ended span, in end order.
func spanTree(spans []sdktrace.ReadOnlySpan) []string {
	names := map[string]string{}
	for _, s := range spans {
		names[s.SpanContext().SpanID().String()] = s.Name()
	}
	var out []string
	for _, s := range spans {
		if p, ok := names[s.Parent().SpanID().String()]; ok {
			out = append(out, p+" > "+s.Name())
		} else {
			out = append(out, s.Name())
		}
	}
	return out
}

// TestTracing: with a tracer provider, a successful reset and a refused one
// show their span trees, each request's span carries its outcome, and no
// attribute or event of any span holds a phone number, a code, a password,
// a token or a hash.
func TestTracing(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	env := otpresettest.New(t, func(c *otpreset.Config, _ *otpreset.Tenant) { c.TracerProvider = tp })
	env.AddUser(phone, oldPass)

	require.Equal(t, 200, env.Send(phone).Code)
	code := env.Code(phone)
	refused := env.Reset(phone, wrong(code), newPass)
	require.Equal(t, 401, refused.Code)
	ok := env.Reset(phone, code, newPass)
	require.Equal(t, 200, ok.Code)
	require.Eventually(t, func() bool {
		for _, s := range rec.Ended() {
			if s.Name() == "sms.SendNotice" {
				return true
			}
		}
		return false
	}, 5e9, 5e6)
	spans := rec.Ended()
	tree := spanTree(spans)
	for _, want := range []string{
		"otpreset send > store.IssueCode", "otpreset send > sms.Send",
		"otpreset reset > store.CheckCode", "otpreset reset > store.UserByPhone",
		"otpreset reset > password.Hash", "otpreset reset > store.ApplyReset", // which clears the counters too
		"otpreset reset > sms.SendNotice",
	} {
		assert.Contains(t, tree, want)
	}
	outcomes := map[int64]bool{}
	for _, s := range spans {
		if s.Name() != "otpreset reset" {
			continue
		}
		for _, a := range s.Attributes() {
			if a.Key == "otpreset.error_code" {
				outcomes[a.Value.AsInt64()] = true
			}
		}
	}
	assert.Equal(t, map[int64]bool{0: true, 1409: true}, outcomes, "the refused and the successful reset")

	body := decode(t, ok.Body.Bytes())["Data"].(map[string]any)
	secrets := []string{phone, strings.TrimPrefix(phone, "+91"), code, wrong(code), newPass, oldPass,
		body["access_token"].(string), body["refresh_token"].(string), "argon2id$"}
	for _, s := range spans {
		var texts []string
		for _, a := range s.Attributes() {
			texts = append(texts, a.Value.String())
		}
		for _, e := range s.Events() {
			texts = append(texts, e.Name)
			for _, a := range e.Attributes {
				texts = append(texts, a.Value.String())
			}
		}
		texts = append(texts, s.Status().Description)
		for _, text := range texts {
			for _, secret := range secrets {
				assert.NotContains(t, text, secret, "span %s", s.Name())
			}
		}
	}
}

// TestNoTracingByDefault: without Config.TracerProvider nothing is traced,
// not even through a global provider a host set for its own code (and the
// refusal paths cost what they did: BenchmarkReject).
func TestNoTracingByDefault(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	before := otel.GetTracerProvider()
	otel.SetTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec)))
	t.Cleanup(func() { otel.SetTracerProvider(before) })
	env := otpresettest.New(t)
	env.AddUser(phone, oldPass)
	require.Equal(t, 200, env.Send(phone).Code)
	require.Equal(t, 200, env.Reset(phone, env.Code(phone), newPass).Code)
	assert.Empty(t, rec.Ended())
}
