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
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// decodeBodyReference is decodeBody as first written (encoding/json into a
// map of raw messages). The allocation-lean decodeBody must answer exactly
// as it does. collides reports keys that differ only in case, for which the
// reference's answer depended on map order.
func decodeBodyReference(w http.ResponseWriter, r *http.Request, limit int64) (out map[string]string, apiErr *apiError, collides bool) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
		return nil, errContentType, false
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
		wantErr     *apiError
		replaced    bool // where encoding/json, and so the reference, answers U+FFFD
	}{
		{name: "v12 casing", body: `{"Phone":"+919999999999","Otp":"123456","Password":"pw"}`,
			want: map[string]string{"phone": "+919999999999", "otp": "123456", "password": "pw"}},
		{name: "whitespace everywhere", body: " \n\t{ \"phone\" :\t\"+1\" ,\r\n \"otp\" : 12 } \n",
			want: map[string]string{"phone": "+1", "otp": "12"}},
		{name: "numbers and booleans keep their text", body: `{"otp":123456,"isvoiceotp":true,"phone":-1.5e3,"prevent_webhook":false}`,
			want: map[string]string{"otp": "123456", "isvoiceotp": "true", "phone": "-1.5e3", "prevent_webhook": "false"}},
		{name: "keys the endpoints do not read are not kept", body: `{"otp":"1","x":"2","profile":{"a":1}}`,
			want: map[string]string{"otp": "1"}},
		{name: "objects arrays and nulls are dropped", body: `{"a":{"b":"}"},"c":[1,"]",{}],"d":null,"phone":"p"}`,
			want: map[string]string{"phone": "p"}},
		{name: "escapes are decoded", body: `{"password":"a\"b\\c\u00e9\n","\u0070hone":"\ud83d\ude00"}`,
			want: map[string]string{"password": "a\"b\\cé\n", "phone": "😀"}},
		{name: "keys are lower-cased as strings.ToLower does", body: "{\"PHONE\":\"x\",\"QQ_CAPTCHA_TIC\u212AET\":\"y\",\"ÄPFEL\":\"z\",\"PASSWORDPASSWORDPASSWORDPASSWORDPASSWORD\":\"w\"}",
			want: map[string]string{"phone": "x", "qq_captcha_ticket": "y"}},
		// encoding/json would turn both into U+FFFD, so that different
		// passwords hashed the same; they stay invalid and the policy
		// refuses them (1134).
		{name: "invalid UTF-8 is kept invalid", body: "{\"password\":\"a\xffb\"}",
			want: map[string]string{"password": "a\xffb"}, replaced: true},
		{name: "a lone surrogate escape is made invalid", body: `{"password":"a\ud800b"}`,
			want: map[string]string{"password": "\xffa\uFFFDb"}, replaced: true},
		{name: "an escaped U+FFFD stays itself", body: `{"password":"a\uFFFDb"}`,
			want: map[string]string{"password": "a\uFFFDb"}},
		{name: "a repeated key keeps its last value", body: `{"otp":"1","otp":"2"}`,
			want: map[string]string{"otp": "2"}},
		{name: "a repeated key ending in null is dropped", body: `{"otp":"1","otp":null}`,
			want: map[string]string{}},
		{name: "empty object", body: `{}`, want: map[string]string{}},
		{name: "json charset", body: `{"otp":"1"}`, contentType: "application/json; charset=utf-8", want: map[string]string{"otp": "1"}},
		{name: "+json type", body: `{"otp":"1"}`, contentType: "application/vnd.api+json", want: map[string]string{"otp": "1"}},
		{name: "upper-case type", body: `{"otp":"1"}`, contentType: "Application/JSON", want: map[string]string{"otp": "1"}},
		{name: "no content type", body: `{"otp":"1"}`, contentType: "-", wantErr: errContentType},
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
				limit = defaultMaxBodyBytes
			}
			got, apiErr := decodeBody(bodyRequest(tc.body, ct), limit)
			ref, refErr, _ := decodeBodyReference(httptest.NewRecorder(), bodyRequest(tc.body, ct), limit)
			assert.Same(t, refErr, apiErr, "the reference decoder answers the same")
			if tc.wantErr != nil {
				assert.Same(t, tc.wantErr, apiErr)
				assert.Nil(t, got)
				return
			}
			require.Nil(t, apiErr, "error %v", apiErr)
			assert.Equal(t, tc.want, got)
			if !tc.replaced {
				assert.Equal(t, knownOnly(ref), got, "the reference decoder answers the same")
			}
		})
	}
}

// TestDecodeBodyReusesBuffers: a pooled buffer must not leak one request's
// bytes into the strings of another.
func TestDecodeBodyReusesBuffers(t *testing.T) {
	first, apiErr := decodeBody(bodyRequest(`{"password":"first secret"}`, "application/json"), defaultMaxBodyBytes)
	require.Nil(t, apiErr)
	for range 10 {
		_, apiErr = decodeBody(bodyRequest(`{"password":"XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"}`, "application/json"), defaultMaxBodyBytes)
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
	allocs := testing.AllocsPerRun(100, func() {
		rd.Reset(body)
		if _, apiErr := decodeBody(r, defaultMaxBodyBytes); apiErr != nil {
			t.Fatal(apiErr)
		}
	})
	// MaxBytesReader, the map, and the three values: 6 (encoding/json into
	// a map of raw messages took 27). Under -race sync.Pool drops a share of
	// what it is given at random, and a dropped buffer costs two more.
	limit := 6.0
	if raceEnabled {
		limit += 2
	}
	assert.LessOrEqual(t, allocs, limit)
}

// knownOnly is the reference's answer as the endpoints see it: the keys
// they read.
func knownOnly(m map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		if _, ok := knownKeys[k]; ok {
			out[k] = v
		}
	}
	return out
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
		got, apiErr := decodeBody(bodyRequest(body, "application/json"), 1<<10)
		ref, refErr, collides := decodeBodyReference(httptest.NewRecorder(), bodyRequest(body, "application/json"), 1<<10)
		if apiErr != refErr {
			t.Fatalf("body %q: error %v, reference %v", body, apiErr, refErr)
		}
		if collides { // the reference's answer depended on map order
			return
		}
		ref = knownOnly(ref)
		if len(got) != len(ref) {
			t.Fatalf("body %q: got %q, reference %q", body, got, ref)
		}
		for k, v := range ref {
			// Where the reference replaced bytes with U+FFFD, ours is
			// invalid UTF-8 instead, for the password policy to refuse.
			replaced := strings.ContainsRune(v, utf8.RuneError) && !utf8.ValidString(got[k])
			if got[k] != v && !replaced {
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

// manyKeysBody is the shape that made the first decoder quadratic: a body of
// about 64 KiB holding thousands of distinct short keys.
func manyKeysBody(size int) []byte {
	var b bytes.Buffer
	b.WriteByte('{')
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	for i := 0; b.Len() < size-16; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('"')
		for n := i; ; n /= len(alphabet) {
			b.WriteByte(alphabet[n%len(alphabet)])
			if n < len(alphabet) {
				break
			}
		}
		b.WriteString(`":0`)
	}
	b.WriteByte('}')
	return b.Bytes()
}

// oneKeyBody is a body of the same size with one long value.
func oneKeyBody(size int) []byte {
	return []byte(`{"phone":"` + strings.Repeat("9", size-12) + `"}`)
}

func decodeShape(b *testing.B, body []byte) {
	r := httptest.NewRequest(http.MethodPut, Path, nil)
	r.Header.Set("Content-Type", "application/json")
	rd := bytes.NewReader(body)
	r.Body = io.NopCloser(rd)
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		rd.Reset(body)
		if _, apiErr := decodeBody(r, defaultMaxBodyBytes); apiErr != nil {
			b.Fatal(apiErr)
		}
	}
}

// BenchmarkDecodeShapes compares a 64 KiB body of ~7,700 keys with one of a
// single key: decoding costs time linear in the size, whatever the shape.
func BenchmarkDecodeShapes(b *testing.B) {
	const size = 64<<10 - 64
	b.Run("one-key", func(b *testing.B) { decodeShape(b, oneKeyBody(size)) })
	b.Run("many-keys", func(b *testing.B) { decodeShape(b, manyKeysBody(size)) })
}

// TestDecodeCostIsLinear guards the complexity of decoding, not its speed:
// the many-keys body cost about 1,200 times the one-key body of the same
// size when repeated keys were searched linearly (0.32 s of CPU a request);
// linear decoding keeps it within a small factor. The bound (16x) sits two
// orders of magnitude below the defect, so machine noise cannot flip it.
func TestDecodeCostIsLinear(t *testing.T) {
	if testing.Short() {
		t.Skip("measures two benchmarks")
	}
	const size = 64<<10 - 64
	many := manyKeysBody(size)
	require.Greater(t, bytes.Count(many, []byte(`":0`)), 7000, "the body holds thousands of keys")
	_, apiErr := decodeBody(bodyRequest(string(many), "application/json"), defaultMaxBodyBytes)
	require.Nil(t, apiErr)
	one := testing.Benchmark(func(b *testing.B) { decodeShape(b, oneKeyBody(size)) })
	manyRes := testing.Benchmark(func(b *testing.B) { decodeShape(b, many) })
	ratio := float64(manyRes.NsPerOp()) / float64(one.NsPerOp())
	t.Logf("many keys: %v/op, one key: %v/op, ratio %.1f", time.Duration(manyRes.NsPerOp()), time.Duration(one.NsPerOp()), ratio)
	assert.Less(t, ratio, 16.0)
}
