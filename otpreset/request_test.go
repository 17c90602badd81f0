package otpreset

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// decodeBodyReference is decodeBody as first written (encoding/json into a
// map of raw messages). The allocation-lean decodeBody must answer exactly
// as it does. collides reports keys that differ only in case, for which the
// reference's answer depended on map order.
func decodeBodyReference(w http.ResponseWriter, r *http.Request, limit int64) (out map[string]string, apiErr *APIError, collides bool) {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return nil, errContentType, false
		}
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, errBodyTooLarge, false
		}
		return nil, errNotJSON, false
	}
	data = bytes.TrimSpace(data)
	if len(data) == 0 || data[0] != '{' {
		return nil, errNotJSON, false
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, errNotJSON, false
	}
	seen := map[string]bool{}
	out = make(map[string]string, len(raw))
	for k, v := range raw {
		lk := strings.ToLower(k)
		collides = collides || seen[lk]
		seen[lk] = true
		switch v[0] {
		case '"':
			var s string
			if err := json.Unmarshal(v, &s); err != nil {
				return nil, errNotJSON, false
			}
			out[lk] = s
		case '{', '[', 'n':
		default:
			out[lk] = string(v)
		}
	}
	return out, nil, collides
}

func bodyRequest(body, contentType string) *http.Request {
	r := httptest.NewRequest(http.MethodPut, Path, strings.NewReader(body))
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	return r
}

func TestDecodeBody(t *testing.T) {
	tests := []struct {
		name        string
		body        string
		contentType string
		limit       int64
		want        map[string]string
		wantErr     *APIError
	}{
		{name: "v12 casing", body: `{"Phone":"+919999999999","Otp":"123456","Password":"pw"}`,
			want: map[string]string{"phone": "+919999999999", "otp": "123456", "password": "pw"}},
		{name: "whitespace everywhere", body: " \n\t{ \"phone\" :\t\"+1\" ,\r\n \"otp\" : 12 } \n",
			want: map[string]string{"phone": "+1", "otp": "12"}},
		{name: "numbers and booleans keep their text", body: `{"otp":123456,"isvoiceotp":true,"x":-1.5e3,"f":false}`,
			want: map[string]string{"otp": "123456", "isvoiceotp": "true", "x": "-1.5e3", "f": "false"}},
		{name: "objects arrays and nulls are dropped", body: `{"a":{"b":"}"},"c":[1,"]",{}],"d":null,"phone":"p"}`,
			want: map[string]string{"phone": "p"}},
		{name: "escapes are decoded", body: `{"password":"a\"b\\c\u00e9\n","\u0070hone":"\ud83d\ude00"}`,
			want: map[string]string{"password": "a\"b\\cé\n", "phone": "😀"}},
		{name: "unicode keys are lower-cased", body: `{"ÄPFEL":"x","PASSWORDPASSWORDPASSWORDPASSWORDPASSWORD":"y"}`,
			want: map[string]string{"äpfel": "x", "passwordpasswordpasswordpasswordpassword": "y"}},
		{name: "invalid UTF-8 becomes U+FFFD", body: "{\"password\":\"a\xffb\"}",
			want: map[string]string{"password": "a\uFFFDb"}},
		{name: "a repeated key keeps its last value", body: `{"otp":"1","otp":"2"}`,
			want: map[string]string{"otp": "2"}},
		{name: "a repeated key ending in null is dropped", body: `{"otp":"1","otp":null}`,
			want: map[string]string{}},
		{name: "empty object", body: `{}`, want: map[string]string{}},
		{name: "json charset", body: `{"otp":"1"}`, contentType: "application/json; charset=utf-8", want: map[string]string{"otp": "1"}},
		{name: "+json type", body: `{"otp":"1"}`, contentType: "application/vnd.api+json", want: map[string]string{"otp": "1"}},
		{name: "upper-case type", body: `{"otp":"1"}`, contentType: "Application/JSON", want: map[string]string{"otp": "1"}},
		{name: "no content type", body: `{"otp":"1"}`, contentType: "-", want: map[string]string{"otp": "1"}},
		{name: "form content type", body: `otp=1`, contentType: "application/x-www-form-urlencoded", wantErr: errContentType},
		{name: "broken content type", body: `{}`, contentType: "application/", wantErr: errContentType},
		{name: "empty", body: ``, wantErr: errNotJSON},
		{name: "array", body: `[{"otp":"1"}]`, wantErr: errNotJSON},
		{name: "string", body: `"otp"`, wantErr: errNotJSON},
		{name: "truncated", body: `{"phone":"+91`, wantErr: errNotJSON},
		{name: "trailing garbage", body: `{"otp":"1"} x`, wantErr: errNotJSON},
		{name: "two objects", body: `{}{}`, wantErr: errNotJSON},
		{name: "trailing comma", body: `{"otp":"1",}`, wantErr: errNotJSON},
		{name: "single quotes", body: `{'otp':'1'}`, wantErr: errNotJSON},
		{name: "too large", body: `{"password":"` + strings.Repeat("a", 100) + `"}`, limit: 64, wantErr: errBodyTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ct := tc.contentType
			switch ct {
			case "":
				ct = "application/json"
			case "-":
				ct = ""
			}
			limit := tc.limit
			if limit == 0 {
				limit = DefaultMaxBodyBytes
			}
			got, apiErr := decodeBody(httptest.NewRecorder(), bodyRequest(tc.body, ct), limit)
			ref, refErr, _ := decodeBodyReference(httptest.NewRecorder(), bodyRequest(tc.body, ct), limit)
			assert.Same(t, refErr, apiErr, "the reference decoder answers the same")
			if tc.wantErr != nil {
				assert.Same(t, tc.wantErr, apiErr)
				assert.Nil(t, got)
				return
			}
			require.Nil(t, apiErr, "error %v", apiErr)
			assert.Equal(t, tc.want, got)
			assert.Equal(t, ref, got, "the reference decoder answers the same")
		})
	}
}

// TestDecodeBodyReusesBuffers: a pooled buffer must not leak one request's
// bytes into the strings of another.
func TestDecodeBodyReusesBuffers(t *testing.T) {
	first, apiErr := decodeBody(httptest.NewRecorder(), bodyRequest(`{"password":"first secret"}`, ""), DefaultMaxBodyBytes)
	require.Nil(t, apiErr)
	for range 10 {
		_, apiErr = decodeBody(httptest.NewRecorder(), bodyRequest(`{"password":"XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"}`, ""), DefaultMaxBodyBytes)
		require.Nil(t, apiErr)
	}
	assert.Equal(t, "first secret", first["password"])
}

func TestDecodeBodyAllocations(t *testing.T) {
	body := []byte(`{"phone":"+919999999999","otp":"123456","Password":"StrongP@ssw0rd!"}`)
	rd := bytes.NewReader(body)
	r := httptest.NewRequest(http.MethodPut, Path, nil)
	r.Body = io.NopCloser(rd)
	r.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	allocs := testing.AllocsPerRun(100, func() {
		rd.Reset(body)
		if _, apiErr := decodeBody(w, r, DefaultMaxBodyBytes); apiErr != nil {
			t.Fatal(apiErr)
		}
	})
	// MaxBytesReader, the map, and the three values: 6 (encoding/json into
	// a map of raw messages took 27). One more is allowed for -race, under
	// which sync.Pool drops a quarter of what it is given.
	assert.LessOrEqual(t, allocs, 7.0)
}

func FuzzDecodeBody(f *testing.F) {
	for _, s := range []string{
		`{"phone":"+919999999999","otp":"123456","Password":"pw"}`,
		`{"a":{"b":[1,"}"]},"otp":12,"otp":null,"x":true}`,
		`{"\u0070hone":"\ud83d\ude00","k":"a\"b"}`,
		"{\"password\":\"a\xffb\"}",
		`{"otp":"1"} x`, `[]`, ``, `{"Otp":"1","otp":"2"}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		got, apiErr := decodeBody(httptest.NewRecorder(), bodyRequest(body, "application/json"), 1<<10)
		ref, refErr, collides := decodeBodyReference(httptest.NewRecorder(), bodyRequest(body, "application/json"), 1<<10)
		if apiErr != refErr {
			t.Fatalf("body %q: error %v, reference %v", body, apiErr, refErr)
		}
		if collides { // the reference's answer depended on map order
			return
		}
		if len(got) != len(ref) {
			t.Fatalf("body %q: got %q, reference %q", body, got, ref)
		}
		for k, v := range ref {
			if got[k] != v {
				t.Fatalf("body %q: got %q, reference %q", body, got, ref)
			}
		}
	})
}

// TestWriteAPIErrorSharedHeaders: the fixed answers share their header
// values; a host that adds to a header must not change the next answer.
func TestWriteAPIErrorSharedHeaders(t *testing.T) {
	first := httptest.NewRecorder()
	writeAPIError(first, errMethod)
	first.Header().Add("Cache-Control", "private")
	first.Header().Add("Allow", "GET")

	second := httptest.NewRecorder()
	writeAPIError(second, errMethod)
	assert.Equal(t, []string{"no-store"}, second.Header().Values("Cache-Control"))
	assert.Equal(t, []string{"POST, PUT"}, second.Header().Values("Allow"))
	assert.Equal(t, "application/json", second.Header().Get("Content-Type"))
	assert.Equal(t, http.StatusMethodNotAllowed, second.Code)

	want, err := json.Marshal(errMethod)
	require.NoError(t, err)
	assert.JSONEq(t, string(want), second.Body.String(), "the pre-encoded body is the fields' JSON")
	assert.Contains(t, second.Body.String(), `"ErrorCode":405`)
}
