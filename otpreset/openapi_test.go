package otpreset_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otpreset/go/captcha"
	"github.com/otpreset/go/otpreset"
	"github.com/otpreset/go/otpreset/otpresettest"
	"github.com/otpreset/go/otpreset/password"
	"github.com/otpreset/go/store"
)

// specPath is the OpenAPI description of the two endpoints, at the module root.
const specPath = "../openapi.yaml"

// The identifiers of this file start with "spec" so they never collide with
// the other tests of the package.
const (
	specPhone   = "+919999999999"
	specUnknown = "+14155550123"
	specOldPass = "old password 1"
	specNewPass = "StrongP@ssw0rd!"
	specKey     = "?apikey=" + otpresettest.APIKey
)

var specLoad = sync.OnceValues(func() (*openapi3.T, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromFile(specPath)
	if err != nil {
		return nil, err
	}
	// Examples are validated against their schemas too (the default).
	if err := doc.Validate(loader.Context, openapi3.EnableMultiError()); err != nil {
		return nil, err
	}
	return doc, nil
})

// specDoc returns the loaded, validated description and a router over it.
func specDoc(t testing.TB) (*openapi3.T, routers.Router) {
	t.Helper()
	doc, err := specLoad()
	require.NoError(t, err, "openapi.yaml must load and validate")
	// Route on paths alone: the servers name where a host app is deployed
	// (and gorillamux v0.153.0 matches no request against a server URL
	// whose host is a variable).
	routed := *doc
	routed.Servers = nil
	router, err := gorillamux.NewRouter(&routed)
	require.NoError(t, err)
	return doc, router
}

// specOptions: an answer with a status the operation does not document is
// an error, not a pass.
var specOptions = &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true}

// specNewRequest builds a request to the documented server for body.
func specNewRequest(method, target string, body []byte, header http.Header) *http.Request {
	req := httptest.NewRequest(method, "https://auth.example.com"+target, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header[k] = v
	}
	return req
}

// specInput is what the spec is checked against: the request as sent and the
// handler's recorded answer.
type specInput struct {
	method, target string
	header         http.Header
	body           []byte
	status         int
	respHeader     http.Header
	respBody       []byte
}

// validateRequest checks the request against its operation.
func (in specInput) validateRequest(t *testing.T, router routers.Router) error {
	t.Helper()
	req := specNewRequest(in.method, in.target, in.body, in.header)
	route, params, err := router.FindRoute(req)
	require.NoError(t, err, "the spec must route %s %s", in.method, in.target)
	return openapi3filter.ValidateRequest(context.Background(), &openapi3filter.RequestValidationInput{
		Request: req, PathParams: params, Route: route, Options: specOptions,
	})
}

// validateResponse checks the answer against the operation of the request,
// or, for route == nil, against the route the router finds.
func (in specInput) validateResponse(t *testing.T, router routers.Router, route *routers.Route) error {
	t.Helper()
	req := specNewRequest(in.method, in.target, in.body, in.header)
	var params map[string]string
	if route == nil {
		var err error
		route, params, err = router.FindRoute(req)
		require.NoError(t, err, "the spec must route %s %s", in.method, in.target)
	}
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: specOptions},
		Status:                 in.status,
		Header:                 in.respHeader,
		Options:                specOptions,
	}
	out.SetBodyBytes(in.respBody)
	return openapi3filter.ValidateResponse(context.Background(), out)
}

// componentRoute is a route whose only answer is the named
// components.responses entry, to check the answers that belong to no
// operation (404 on another path, 405 for another method).
func componentRoute(t testing.TB, doc *openapi3.T, status int, name string) *routers.Route {
	t.Helper()
	ref := doc.Components.Responses[name]
	require.NotNil(t, ref, "components.responses.%s", name)
	return &routers.Route{
		Spec:      doc,
		Path:      otpreset.Path,
		Operation: &openapi3.Operation{Responses: openapi3.NewResponses(openapi3.WithStatus(status, ref))},
	}
}

// specFailingStore answers every code saved or checked with a fault (users
// can still be seeded and read, as otpresettest.AddUser does).
type specFailingStore struct{ store.Store }

var errSpecStoreDown = errors.New("spec test: store down")

// AddUser seeds through to the wrapped store.
func (s specFailingStore) AddUser(ctx context.Context, u store.User) error {
	return s.Store.(interface {
		AddUser(context.Context, store.User) error
	}).AddUser(ctx, u)
}

func (specFailingStore) IssueChallenge(context.Context, store.Issue) (store.Issued, error) {
	return store.Issued{}, errSpecStoreDown
}

func (specFailingStore) CheckCode(context.Context, store.Attempt) (store.Verdict, error) {
	return store.Verdict{}, errSpecStoreDown
}

func specRejectingCaptcha(context.Context, captcha.Token) error { return captcha.ErrRejected }

// specCase is one request the handler answers with a documented status.
type specCase struct {
	name   string
	opts   []otpresettest.Option
	method string
	target string
	header http.Header
	// body returns the request body (JSON-encoded unless []byte or string);
	// it may first drive env (send a code, fail a few times).
	body      func(env *otpresettest.Env) any
	status    int
	errorCode int  // ErrorCode (errorCode for 1409); 0 for a 200
	reqValid  bool // whether the spec itself accepts the request
	component string
}

func specBody(v any) func(*otpresettest.Env) any { return func(*otpresettest.Env) any { return v } }

func specResetWith(otp func(env *otpresettest.Env) string, pass string) func(*otpresettest.Env) any {
	return func(env *otpresettest.Env) any {
		return map[string]string{"Password": pass, "otp": otp(env), "phone": specPhone}
	}
}

// specSentCode asks for a code for specPhone and returns it.
func specSentCode(env *otpresettest.Env) string {
	env.T.Helper()
	if rec := env.Send(specPhone); rec.Code != http.StatusOK {
		env.T.Fatalf("send: %d %s", rec.Code, rec.Body)
	}
	return env.Code(specPhone)
}

func specWrongCode(env *otpresettest.Env) string {
	c := specSentCode(env)
	if c[0] == '0' {
		return "1" + c[1:]
	}
	return "0" + c[1:]
}

func specTenant(f func(*otpreset.Tenant)) otpresettest.Option {
	return func(_ *otpreset.Config, tn *otpreset.Tenant) { f(tn) }
}

var specDetailed = specTenant(func(tn *otpreset.Tenant) { tn.DetailedErrors = true })

func specCases() []specCase {
	sendPhone := specBody(map[string]string{"phone": specPhone})
	post, put := http.MethodPost, http.MethodPut
	return []specCase{
		// Successes.
		{name: "send", method: post, target: otpreset.Path + specKey, body: sendPhone, status: 200, reqValid: true},
		{name: "send, v12 spelling and header key", method: post, target: otpreset.Path,
			header: http.Header{"X-Loginradius-Apikey": {otpresettest.APIKey}}, body: specBody(map[string]string{"Phone": specPhone}), status: 200, reqValid: true},
		{name: "send, voice, unknown phone", method: post, target: otpreset.Path + specKey + "&isvoiceotp=true&smstemplate=nope",
			body: specBody(map[string]string{"phone": specUnknown}), status: 200, reqValid: true},
		{name: "reset", method: put, target: otpreset.Path + specKey + "&prevent_webhook=true",
			header: http.Header{"X-Preventwebhook": {"true"}}, body: specResetWith(specSentCode, specNewPass), status: 200, reqValid: true},
		{name: "reset, legacy answer", opts: []otpresettest.Option{specTenant(func(tn *otpreset.Tenant) { tn.LegacyResetAnswer = true })},
			method: put, target: otpreset.Path + specKey, body: specResetWith(specSentCode, specNewPass), status: 200, reqValid: true},

		// 400.
		{name: "908 no API key", method: post, target: otpreset.Path, body: sendPhone, status: 400, errorCode: 908, reqValid: true},
		{name: "908 no otp", method: put, target: otpreset.Path + specKey,
			body: specBody(map[string]string{"Password": specNewPass, "phone": specPhone}), status: 400, errorCode: 908},
		{name: "1076 no phone (send)", method: post, target: otpreset.Path + specKey, body: specBody(map[string]string{}), status: 400, errorCode: 1076},
		{name: "1076 no phone (reset)", method: put, target: otpreset.Path + specKey,
			body: specBody(map[string]string{"Password": specNewPass, "otp": "123456"}), status: 400, errorCode: 1076},
		{name: "1089 no password", method: put, target: otpreset.Path + specKey,
			body: specBody(map[string]string{"otp": "123456", "phone": specPhone}), status: 400, errorCode: 1089},
		{name: "1090 not JSON", method: post, target: otpreset.Path + specKey, body: specBody("phone=+919999999999"), status: 400, errorCode: 1090},
		{name: "1090 JSON array", method: put, target: otpreset.Path + specKey, body: specBody(`["+919999999999"]`), status: 400, errorCode: 1090},
		{name: "1083 text/plain", method: post, target: otpreset.Path + specKey, header: http.Header{"Content-Type": {"text/plain"}},
			body: sendPhone, status: 400, errorCode: 1083},
		{name: "1083 no Content-Type", method: put, target: otpreset.Path + specKey, header: http.Header{"Content-Type": {}},
			body: specResetWith(specWrongCode, specNewPass), status: 400, errorCode: 1083},
		{name: "1096 not a phone", method: post, target: otpreset.Path + specKey, body: specBody(map[string]string{"phone": "hello"}),
			status: 400, errorCode: 1096, reqValid: true},

		// 401.
		{name: "1409 wrong code", method: put, target: otpreset.Path + specKey, body: specResetWith(specWrongCode, specNewPass),
			status: 401, errorCode: 1409, reqValid: true},
		{name: "1409 unknown phone", method: put, target: otpreset.Path + specKey,
			body: specBody(map[string]string{"Password": specNewPass, "otp": "123456", "phone": specUnknown}), status: 401, errorCode: 1409, reqValid: true},

		// 403.
		{name: "901 unknown key", method: post, target: otpreset.Path + "?apikey=nope", body: sendPhone, status: 403, errorCode: 901, reqValid: true},
		{name: "901 key given twice, different values", method: post, target: otpreset.Path + specKey + "&APIKEY=other", body: sendPhone, status: 403, errorCode: 901, reqValid: true},
		{name: "901 unknown key (reset)", method: put, target: otpreset.Path + "?apikey=nope",
			body: specResetWith(func(*otpresettest.Env) string { return "123456" }, specNewPass), status: 403, errorCode: 901, reqValid: true},
		{name: "1067 detailed: invalid code", opts: []otpresettest.Option{specDetailed}, method: put, target: otpreset.Path + specKey,
			body: specResetWith(specWrongCode, specNewPass), status: 403, errorCode: 1067, reqValid: true},
		{name: "1068 detailed: code used", opts: []otpresettest.Option{specDetailed}, method: put, target: otpreset.Path + specKey,
			body: specResetWith(func(env *otpresettest.Env) string {
				c := specSentCode(env)
				require.Equal(env.T, 200, env.Reset(specPhone, c, specNewPass).Code)
				return c
			}, specNewPass+"2"), status: 403, errorCode: 1068, reqValid: true},
		{name: "1069 detailed: code expired", opts: []otpresettest.Option{specDetailed}, method: put, target: otpreset.Path + specKey,
			body: specResetWith(func(env *otpresettest.Env) string {
				c := specSentCode(env)
				env.Clock.Advance(otpreset.DefaultCodeTTL + time.Second)
				return c
			}, specNewPass), status: 403, errorCode: 1069, reqValid: true},
		{name: "1070 detailed: no code", opts: []otpresettest.Option{specDetailed}, method: put, target: otpreset.Path + specKey,
			body: specResetWith(func(*otpresettest.Env) string { return "123456" }, specNewPass), status: 403, errorCode: 1070, reqValid: true},
		{name: "938 detailed: no such user", opts: []otpresettest.Option{specDetailed}, method: put, target: otpreset.Path + specKey,
			body: specBody(map[string]string{"Password": specNewPass, "otp": "123456", "phone": specUnknown}), status: 403, errorCode: 938, reqValid: true},
		{name: "1043 unknown phone, LoginRadius answer", opts: []otpresettest.Option{specTenant(func(tn *otpreset.Tenant) { tn.RevealUnknownPhone = true })},
			method: post, target: otpreset.Path + specKey, body: specBody(map[string]string{"phone": specUnknown}), status: 403, errorCode: 1043, reqValid: true},
		{name: "1072 send failed, LoginRadius answer", opts: []otpresettest.Option{specTenant(func(tn *otpreset.Tenant) { tn.ReportSendFailure = true })},
			method: post, target: otpreset.Path + specKey, body: func(env *otpresettest.Env) any {
				env.Sender.Err = errors.New("provider down")
				return map[string]string{"phone": specPhone}
			}, status: 403, errorCode: 1072, reqValid: true},
		{name: "1134 password policy", method: put, target: otpreset.Path + specKey, body: specResetWith(specSentCode, "short"),
			status: 403, errorCode: 1134, reqValid: true},
		{name: "1315 breached password", opts: []otpresettest.Option{specTenant(func(tn *otpreset.Tenant) {
			tn.Breach = password.BreachCheckerFunc(func(context.Context, string) (bool, error) { return true, nil })
		})}, method: put, target: otpreset.Path + specKey, body: specResetWith(specSentCode, specNewPass), status: 403, errorCode: 1315, reqValid: true},
		{name: "1198 locked", opts: []otpresettest.Option{specTenant(func(tn *otpreset.Tenant) { tn.Limits.LockoutAttempts = 2 })},
			method: put, target: otpreset.Path + specKey, body: specResetWith(func(env *otpresettest.Env) string {
				w := specWrongCode(env)
				for range 2 {
					require.Equal(env.T, 401, env.Reset(specPhone, w, specNewPass).Code)
				}
				return env.Code(specPhone)
			}, specNewPass), status: 403, errorCode: 1198, reqValid: true},
		{name: "1132 captcha after failures", opts: []otpresettest.Option{specTenant(func(tn *otpreset.Tenant) {
			tn.Limits.LockoutAttempts = 1
			tn.Limits.LockoutType = otpreset.LockoutCaptcha
			tn.Captcha.Verifier = captcha.VerifierFunc(specRejectingCaptcha)
		})}, method: put, target: otpreset.Path + specKey, body: specResetWith(func(env *otpresettest.Env) string {
			w := specWrongCode(env)
			require.Equal(env.T, 401, env.Reset(specPhone, w, specNewPass).Code)
			return env.Code(specPhone)
		}, specNewPass), status: 403, errorCode: 1132, reqValid: true},
		{name: "1218 captcha rejected", opts: []otpresettest.Option{specTenant(func(tn *otpreset.Tenant) {
			tn.Captcha = otpreset.CaptchaPolicy{Mode: otpreset.CaptchaAlways, Verifier: captcha.VerifierFunc(specRejectingCaptcha)}
		})}, method: post, target: otpreset.Path + specKey + "&g-recaptcha-response=03AGdBq24e1a2b", body: sendPhone, status: 403, errorCode: 1218, reqValid: true},
		{name: "1218 captcha missing (reset)", opts: []otpresettest.Option{specTenant(func(tn *otpreset.Tenant) {
			tn.Captcha = otpreset.CaptchaPolicy{Mode: otpreset.CaptchaAlways, Verifier: captcha.VerifierFunc(specRejectingCaptcha)}
		})}, method: put, target: otpreset.Path + specKey, body: specBody(map[string]string{"Password": specNewPass, "otp": "123456", "phone": specPhone}),
			status: 403, errorCode: 1218, reqValid: true},

		// 413.
		{name: "413 body too large", method: post, target: otpreset.Path + specKey,
			body: specBody(`{"phone":"` + strings.Repeat("9", otpreset.DefaultMaxBodyBytes+1) + `"}`), status: 413, errorCode: 1090, reqValid: true},

		// 429.
		{name: "1179 codes per phone", opts: []otpresettest.Option{specTenant(func(tn *otpreset.Tenant) { tn.Limits.SendPerPhone = "1-1H" })},
			method: post, target: otpreset.Path + specKey, body: func(env *otpresettest.Env) any {
				specSentCode(env)
				return map[string]string{"phone": specPhone}
			}, status: 429, errorCode: 1179, reqValid: true},
		{name: "429 sends per IP", opts: []otpresettest.Option{specTenant(func(tn *otpreset.Tenant) { tn.Limits.SendPerIP = "1-1H" })},
			method: post, target: otpreset.Path + specKey, body: func(env *otpresettest.Env) any {
				specSentCode(env)
				return map[string]string{"phone": specUnknown}
			}, status: 429, errorCode: 429, reqValid: true},
		{name: "429 resets per IP", opts: []otpresettest.Option{specTenant(func(tn *otpreset.Tenant) { tn.Limits.ResetPerIP = "1-1H" })},
			method: put, target: otpreset.Path + specKey, body: specResetWith(func(env *otpresettest.Env) string {
				require.Equal(env.T, 401, env.Reset(specPhone, "123456", specNewPass).Code)
				return "123456"
			}, specNewPass), status: 429, errorCode: 429, reqValid: true},

		// 500.
		{name: "950 store down", opts: []otpresettest.Option{func(c *otpreset.Config, _ *otpreset.Tenant) { c.Store = specFailingStore{c.Store} }},
			method: post, target: otpreset.Path + specKey, body: sendPhone, status: 500, errorCode: 950, reqValid: true},
		{name: "950 store down (reset)", opts: []otpresettest.Option{func(c *otpreset.Config, _ *otpreset.Tenant) { c.Store = specFailingStore{c.Store} }},
			method: put, target: otpreset.Path + specKey, body: specResetWith(func(*otpresettest.Env) string { return "123456" }, specNewPass),
			status: 500, errorCode: 950, reqValid: true},

		// Answers that belong to no operation.
		{name: "405 GET", method: http.MethodGet, target: otpreset.Path + specKey, body: specBody(""), status: 405, errorCode: 405, component: "MethodNotAllowed"},
		{name: "405 DELETE", method: http.MethodDelete, target: otpreset.Path + specKey, body: specBody(""), status: 405, errorCode: 405, component: "MethodNotAllowed"},
		{name: "404 other path", method: post, target: "/identity/v2/auth/password/other" + specKey, body: sendPhone, status: 404, errorCode: 404, component: "NotFound"},
	}
}

// specRun serves c through a fresh handler and returns what was sent and
// answered.
func specRun(t *testing.T, c specCase) specInput {
	t.Helper()
	env := otpresettest.New(t, c.opts...)
	env.AddUser(specPhone, specOldPass)
	var body []byte
	switch b := c.body(env).(type) {
	case string:
		body = []byte(b)
	case []byte:
		body = b
	default:
		var err error
		body, err = json.Marshal(b)
		require.NoError(t, err)
	}
	rec := httptest.NewRecorder()
	env.Handler.ServeHTTP(rec, specNewRequest(c.method, c.target, body, c.header))
	return specInput{method: c.method, target: c.target, header: c.header, body: body,
		status: rec.Code, respHeader: rec.Header().Clone(), respBody: rec.Body.Bytes()}
}

// specErrorCode reads ErrorCode, which every error answer carries (the
// 1409 answer too, beside its lower-case errorCode).
func specErrorCode(t *testing.T, body []byte) int {
	t.Helper()
	var m struct {
		Upper *int `json:"ErrorCode"`
	}
	require.NoError(t, json.Unmarshal(body, &m), "body: %s", body)
	if m.Upper == nil {
		t.Fatalf("no ErrorCode in %s", body)
	}
	return *m.Upper
}

func TestOpenAPISpecIsValid(t *testing.T) {
	doc, _ := specDoc(t)
	assert.Equal(t, "3.1.0", doc.OpenAPI)
	assert.True(t, doc.IsOpenAPI31OrLater())
	item := doc.Paths.Find(otpreset.Path)
	require.NotNil(t, item, "the spec describes %s", otpreset.Path)
	require.NotNil(t, item.Post)
	require.NotNil(t, item.Put)

	// Every parameter of the seed and the contract is described.
	names := func(op *openapi3.Operation) map[string]string {
		m := map[string]string{}
		for _, p := range op.Parameters {
			m[p.Value.Name] = p.Value.In
		}
		return m
	}
	for _, want := range []struct{ name, in string }{
		{"apikey", "query"}, {"X-LoginRadius-ApiKey", "header"}, {"smstemplate", "query"}, {"isvoiceotp", "query"},
		{"g-recaptcha-response", "query"}, {"g_recaptcha_response", "query"}, {"h-captcha-response", "query"},
		{"qq_captcha_ticket", "query"}, {"qq_captcha_randstr", "query"},
	} {
		assert.Equal(t, want.in, names(item.Post)[want.name], "POST parameter %s", want.name)
	}
	for _, want := range []struct{ name, in string }{
		{"apikey", "query"}, {"X-LoginRadius-ApiKey", "header"}, {"g-recaptcha-response", "query"}, {"g_recaptcha_response", "query"},
		{"h-captcha-response", "query"}, {"qq_captcha_ticket", "query"}, {"qq_captcha_randstr", "query"},
		{"prevent_webhook", "query"}, {"X-PreventWebhook", "header"},
	} {
		assert.Equal(t, want.in, names(item.Put)[want.name], "PUT parameter %s", want.name)
	}
	// Every status the handler answers is documented.
	for _, s := range []int{200, 400, 403, 413, 429, 500} {
		assert.NotNil(t, item.Post.Responses.Status(s), "POST %d", s)
	}
	for _, s := range []int{200, 400, 401, 403, 413, 429, 500} {
		assert.NotNil(t, item.Put.Responses.Status(s), "PUT %d", s)
	}
	for _, name := range []string{"NotFound", "MethodNotAllowed"} {
		assert.NotNil(t, doc.Components.Responses[name], name)
	}
}

// TestOpenAPIHandlerAnswersMatchSpec drives the real handler to every status
// and ErrorCode and validates request and answer against openapi.yaml.
func TestOpenAPIHandlerAnswersMatchSpec(t *testing.T) {
	doc, router := specDoc(t)
	seen := map[int]bool{}
	for _, c := range specCases() {
		t.Run(c.name, func(t *testing.T) {
			in := specRun(t, c)
			require.Equal(t, c.status, in.status, "answer: %s", in.respBody)
			assert.Equal(t, "application/json", in.respHeader.Get("Content-Type"))
			if c.errorCode != 0 {
				assert.Equal(t, c.errorCode, specErrorCode(t, in.respBody))
			}
			seen[c.status] = true

			if c.component != "" {
				require.NoError(t, in.validateResponse(t, router, componentRoute(t, doc, c.status, c.component)))
				return
			}
			require.NoError(t, in.validateResponse(t, router, nil), "answer: %s", in.respBody)
			err := in.validateRequest(t, router)
			if c.reqValid {
				assert.NoError(t, err, "the spec must accept this request")
			} else {
				assert.Error(t, err, "the spec must refuse this client mistake too")
			}
		})
	}
	for _, s := range []int{200, 400, 401, 403, 404, 405, 413, 429, 500} {
		assert.True(t, seen[s], "no case answered %d", s)
	}
}

// TestOpenAPISeedResponseMatchesSpec: the seed's whole answer (every profile
// field of LoginRadius's schema) is a valid 200 of the reset.
func TestOpenAPISeedResponseMatchesSpec(t *testing.T) {
	_, router := specDoc(t)
	seed, err := os.ReadFile("testdata/seed-reset-response.json")
	require.NoError(t, err)
	in := specInput{method: http.MethodPut, target: otpreset.Path + specKey, body: []byte(`{}`),
		status: 200, respHeader: http.Header{"Content-Type": {"application/json"}}, respBody: seed}
	require.NoError(t, in.validateResponse(t, router, nil))
}

// TestOpenAPISpecIsNotVacuous: answers that break the contract in one detail
// each must fail validation, so the passes above mean something.
func TestOpenAPISpecIsNotVacuous(t *testing.T) {
	doc, router := specDoc(t)
	byName := map[string]specCase{}
	for _, c := range specCases() {
		byName[c.name] = c
	}
	// jsonEdit decodes the body, applies f and encodes it again.
	jsonEdit := func(f func(m map[string]any)) func(in *specInput) {
		return func(in *specInput) {
			var m map[string]any
			require.NoError(t, json.Unmarshal(in.respBody, &m))
			f(m)
			b, err := json.Marshal(m)
			require.NoError(t, err)
			in.respBody = b
		}
	}
	data := func(m map[string]any) map[string]any { return m["Data"].(map[string]any) }
	tests := []struct {
		name   string
		from   string // a case of specCases, whose real answer is broken
		break_ func(in *specInput)
	}{
		{"send: Data with an extra key", "send", jsonEdit(func(m map[string]any) { data(m)["MessageId"] = "x" })},
		{"send: Data without Sid", "send", jsonEdit(func(m map[string]any) { delete(data(m), "Sid") })},
		{"send: IsPosted false", "send", jsonEdit(func(m map[string]any) { m["IsPosted"] = false })},
		{"send: extra top-level key", "send", jsonEdit(func(m map[string]any) { m["Extra"] = 1 })},
		{"reset: expires_in as a number", "reset", jsonEdit(func(m map[string]any) { data(m)["expires_in"] = 3600 })},
		{"reset: expires_in not a timestamp", "reset", jsonEdit(func(m map[string]any) { data(m)["expires_in"] = "in an hour" })},
		{"reset: password not masked", "reset", jsonEdit(func(m map[string]any) {
			data(m)["Profile"].(map[string]any)["Password"] = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA"
		})},
		{"reset: no access_token", "reset", jsonEdit(func(m map[string]any) { delete(data(m), "access_token") })},
		{"reset: typed profile field of the wrong type", "reset", jsonEdit(func(m map[string]any) {
			data(m)["Profile"].(map[string]any)["PhoneIdVerified"] = "yes"
		})},
		{"reset: LastPasswordChangeDate not a timestamp", "reset", jsonEdit(func(m map[string]any) {
			data(m)["Profile"].(map[string]any)["LastPasswordChangeDate"] = "yesterday"
		})},
		{"legacy: extra key next to IsPosted", "reset, legacy answer", jsonEdit(func(m map[string]any) { m["Data"] = map[string]any{} })},
		{"1409: upper-case keys only", "1409 wrong code", func(in *specInput) {
			in.respBody = []byte(`{"ErrorCode":1409,"Message":"Authentication failed","Description":"The credentials provided could not be authenticated.","IsProviderError":false,"ProviderErrorResponse":null}`)
		}},
		{"1409: lower-case keys only (the Node.js and Python SDKs read it as a success)", "1409 wrong code", func(in *specInput) {
			in.respBody = []byte(`{"errorCode":1409,"message":"Authentication failed","description":"The credentials provided could not be authenticated."}`)
		}},
		{"1409: ErrorCode differs from errorCode", "1409 wrong code", jsonEdit(func(m map[string]any) { m["ErrorCode"] = 1410 })},
		{"1409: another message", "1409 wrong code", jsonEdit(func(m map[string]any) { m["message"] = "Wrong code" })},
		{"1134 without Errors", "1134 password policy", jsonEdit(func(m map[string]any) { delete(m, "Errors") })},
		{"1134 Errors entry without FieldName", "1134 password policy", jsonEdit(func(m map[string]any) {
			delete(m["Errors"].([]any)[0].(map[string]any), "FieldName")
		})},
		{"1198 without Data", "1198 locked", jsonEdit(func(m map[string]any) { delete(m, "Data") })},
		{"1198 LoginLockedTimeout as Unix seconds", "1198 locked", jsonEdit(func(m map[string]any) { data(m)["LoginLockedTimeout"] = 1795000000 })},
		{"Errors on another code", "1089 no password", jsonEdit(func(m map[string]any) {
			m["Errors"] = []any{map[string]any{"FieldName": "password", "ErrorMessage": "x"}}
		})},
		{"error: ErrorCode as a string", "901 unknown key", jsonEdit(func(m map[string]any) { m["ErrorCode"] = "901" })},
		{"error: no IsProviderError", "901 unknown key", jsonEdit(func(m map[string]any) { delete(m, "IsProviderError") })},
		{"error: a stack trace field", "950 store down", jsonEdit(func(m map[string]any) { m["Stack"] = "goroutine 1 [running]" })},
		{"error: a code of another status", "901 unknown key", jsonEdit(func(m map[string]any) { m["ErrorCode"] = 1179 })},
		{"error: a 403 code on a 400", "908 no API key", jsonEdit(func(m map[string]any) { m["ErrorCode"] = 901 })},
		{"429 without Retry-After", "1179 codes per phone", func(in *specInput) { in.respHeader.Del("Retry-After") }},
		{"Retry-After not a number", "1179 codes per phone", func(in *specInput) {
			in.respHeader.Set("Retry-After", "Wed, 21 Oct 2026 07:28:00 GMT")
		}},
		{"X-RateLimit-Remaining negative", "1179 codes per phone", func(in *specInput) { in.respHeader.Set("X-RateLimit-Remaining", "-1") }},
		{"an undocumented status", "send", func(in *specInput) { in.status = http.StatusTeapot }},
		{"401 on the send endpoint", "send", func(in *specInput) {
			in.status = 401
			in.respBody = []byte(`{"errorCode":1409,"message":"Authentication failed","description":"The credentials provided could not be authenticated."}`)
		}},
		{"200 not JSON", "send", func(in *specInput) { in.respHeader.Set("Content-Type", "text/plain") }},
		{"405 without Allow", "405 GET", func(in *specInput) { in.respHeader.Del("Allow") }},
		{"405 with another Allow", "405 GET", func(in *specInput) { in.respHeader.Set("Allow", "GET") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, ok := byName[tt.from]
			require.True(t, ok, "no case %q", tt.from)
			in := specRun(t, c)
			var route *routers.Route
			if c.component != "" {
				route = componentRoute(t, doc, c.status, c.component)
			}
			require.NoError(t, in.validateResponse(t, router, route), "the unbroken answer must validate")
			in.respHeader = in.respHeader.Clone()
			tt.break_(&in)
			err := in.validateResponse(t, router, route)
			require.Error(t, err, "broken answer validated: %d %s", in.status, in.respBody)
			t.Log(specFirstLine(err))
		})
	}
}

// TestOpenAPIRequestsTheSpecRefuses: the request schemas are not vacuous.
func TestOpenAPIRequestsTheSpecRefuses(t *testing.T) {
	_, router := specDoc(t)
	tests := []struct {
		name, method, target string
		header               http.Header
		body                 string
		valid                bool
	}{
		{"seed curl", http.MethodPut, otpreset.Path + "?g-recaptcha-response=03AG&g_recaptcha_response=03AG&prevent_webhook=true&h-captcha-response=03AG&qq_captcha_ticket=t&qq_captcha_randstr=r",
			http.Header{"X-Preventwebhook": {"true"}}, `{ "Password": "StrongP@ssw0rd!", "otp": "123456", "phone": "+919999999999" }`, true},
		{"otp as a number", http.MethodPut, otpreset.Path + specKey, nil, `{"Password": "StrongP@ssw0rd!", "otp": 123456, "phone": "+919999999999"}`, true},
		{"v12 spelling", http.MethodPost, otpreset.Path + specKey, nil, `{"Phone": "+919999999999"}`, true},
		{"phone as a number", http.MethodPost, otpreset.Path + specKey, nil, `{"phone": 919999999999}`, false},
		{"isvoiceotp not a boolean", http.MethodPost, otpreset.Path + specKey + "&isvoiceotp=maybe", nil, `{"phone": "+919999999999"}`, false},
		{"prevent_webhook not a boolean", http.MethodPut, otpreset.Path + specKey + "&prevent_webhook=maybe", nil,
			`{"Password": "StrongP@ssw0rd!", "otp": "123456", "phone": "+919999999999"}`, false},
		{"X-PreventWebhook not a boolean", http.MethodPut, otpreset.Path + specKey, http.Header{"X-Preventwebhook": {"maybe"}},
			`{"Password": "StrongP@ssw0rd!", "otp": "123456", "phone": "+919999999999"}`, false},
		{"reset without otp", http.MethodPut, otpreset.Path + specKey, nil, `{"Password": "StrongP@ssw0rd!", "phone": "+919999999999"}`, false},
		{"empty body", http.MethodPost, otpreset.Path + specKey, nil, ``, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := specInput{method: tt.method, target: tt.target, header: tt.header, body: []byte(tt.body)}
			err := in.validateRequest(t, router)
			if tt.valid {
				assert.NoError(t, err)
			} else {
				assert.Error(t, err)
			}
		})
	}
}

// specFirstLine is the first line of err, for a short log of why the spec
// refused an answer.
func specFirstLine(err error) string {
	line, _, _ := strings.Cut(err.Error(), "\n")
	return line
}
