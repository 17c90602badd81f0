package otpreset

import (
	"bytes"
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// request holds what both endpoints read from a request.
type request struct {
	query url.Values
	body  map[string]string // lower-cased keys; string values only
}

// apiKey reads the key from the query (any casing: the v11 SDK sends apiKey)
// or the X-LoginRadius-ApiKey header.
func apiKey(r *http.Request, q url.Values) string {
	for k, v := range q {
		if strings.EqualFold(k, "apikey") && len(v) > 0 && v[0] != "" {
			return v[0]
		}
	}
	return r.Header.Get("X-LoginRadius-ApiKey")
}

// decodeBody reads a JSON object into lower-cased keys. String values are
// kept; numbers and booleans are kept in their JSON text; objects, arrays and
// nulls are dropped (no field of these endpoints takes them). A key given
// twice keeps its last value, as encoding/json does.
//
// It is on the path of every request, refusals included, so it allocates
// little: the body is read into a pooled buffer, checked with json.Valid and
// walked in place; only the kept values (and unusual keys) are copied out.
func decodeBody(w http.ResponseWriter, r *http.Request, limit int64) (map[string]string, *APIError) {
	if ct := r.Header.Get("Content-Type"); ct != "" && !isJSONMediaType(ct) {
		return nil, errContentType
	}
	buf := bodyBuffers.Get().(*bytes.Buffer)
	defer putBodyBuffer(buf)
	if _, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, limit)); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, errBodyTooLarge
		}
		return nil, errNotJSON
	}
	data := bytes.TrimSpace(buf.Bytes())
	if len(data) == 0 || data[0] != '{' || !json.Valid(data) {
		return nil, errNotJSON
	}
	return objectFields(data)
}

// isJSONMediaType accepts application/json and any +json type, with or
// without parameters.
func isJSONMediaType(ct string) bool {
	if strings.EqualFold(ct, "application/json") { // the usual case, without allocating
		return true
	}
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json"))
}

// maxPooledBody bounds the buffers kept for reuse, so one large body does
// not stay in memory.
const maxPooledBody = 64 << 10

var bodyBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func putBodyBuffer(b *bytes.Buffer) {
	if b.Cap() > maxPooledBody {
		return
	}
	b.Reset()
	bodyBuffers.Put(b)
}

// member is one "key": value of the top-level object, as slices of the body.
type member struct{ key, value []byte }

// objectFields walks data, a JSON object already checked by json.Valid.
func objectFields(data []byte) (map[string]string, *APIError) {
	// Members by decoded key, the last value of a repeated key winning (as
	// encoding/json's map decoding does); a few live on the stack.
	var stack [8]member
	members := stack[:0]
	i := skipSpace(data, 1)
	for i < len(data) && data[i] == '"' {
		kEnd := stringEnd(data, i)
		key, ok := rawString(data[i:kEnd])
		if !ok {
			s, err := unquote(data[i:kEnd])
			if err != nil {
				return nil, errNotJSON
			}
			key = []byte(s)
		}
		i = skipSpace(data, kEnd)
		if i >= len(data) || data[i] != ':' {
			return nil, errNotJSON
		}
		i = skipSpace(data, i+1)
		vEnd := valueEnd(data, i)
		if vEnd <= i {
			return nil, errNotJSON
		}
		m := member{key: key, value: data[i:vEnd]}
		replaced := false
		for j := range members {
			if bytes.Equal(members[j].key, key) {
				members[j] = m
				replaced = true
				break
			}
		}
		if !replaced {
			members = append(members, m)
		}
		i = skipSpace(data, vEnd)
		if i < len(data) && data[i] == ',' {
			i = skipSpace(data, i+1)
		}
	}
	out := make(map[string]string, len(members))
	for _, m := range members {
		switch m.value[0] {
		case '"':
			if s, ok := rawString(m.value); ok {
				out[lowerKey(m.key)] = string(s)
				continue
			}
			s, err := unquote(m.value)
			if err != nil {
				return nil, errNotJSON
			}
			out[lowerKey(m.key)] = s
		case '{', '[', 'n':
		default: // numbers and booleans, e.g. "otp": 123456
			out[lowerKey(m.key)] = string(m.value)
		}
	}
	return out, nil
}

func unquote(quoted []byte) (string, error) {
	var s string
	err := json.Unmarshal(quoted, &s)
	return s, err
}

// rawString returns the contents of a quoted JSON string when they need no
// decoding: no escapes and valid UTF-8 (encoding/json replaces invalid bytes).
func rawString(quoted []byte) ([]byte, bool) {
	if len(quoted) < 2 {
		return nil, false
	}
	s := quoted[1 : len(quoted)-1]
	if bytes.IndexByte(s, '\\') >= 0 || !utf8.Valid(s) {
		return nil, false
	}
	return s, true
}

// knownKeys are the body keys the endpoints read, so the usual keys are
// lower-cased without allocating.
var knownKeys = func() map[string]string {
	m := map[string]string{}
	for _, k := range []string{
		"phone", "otp", "password", "smstemplate", "resetpasswordemailtemplate", "resetpasswordsmstemplate",
		"g-recaptcha-response", "g_recaptcha_response", "h-captcha-response", "cf-turnstile-response",
		"qq_captcha_ticket", "qq_captcha_randstr", "isvoiceotp", "prevent_webhook",
	} {
		m[k] = k
	}
	return m
}()

// lowerKey is strings.ToLower(string(key)), without allocating for the
// known keys.
func lowerKey(key []byte) string {
	var buf [32]byte
	if len(key) <= len(buf) {
		for i, c := range key {
			if c >= utf8.RuneSelf {
				return strings.ToLower(string(key))
			}
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			buf[i] = c
		}
		if k, ok := knownKeys[string(buf[:len(key)])]; ok {
			return k
		}
	}
	return strings.ToLower(string(key))
}

func skipSpace(data []byte, i int) int {
	for i < len(data) {
		switch data[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// stringEnd returns the index just after the string that opens at i.
func stringEnd(data []byte, i int) int {
	for j := i + 1; j < len(data); j++ {
		switch data[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return len(data)
}

// valueEnd returns the index just after the value that starts at i.
func valueEnd(data []byte, i int) int {
	if i >= len(data) {
		return i
	}
	switch data[i] {
	case '"':
		return stringEnd(data, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(data); j++ {
			switch data[j] {
			case '"':
				j = stringEnd(data, j) - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return len(data)
	default: // number, true, false, null
		j := i
		for j < len(data) {
			switch data[j] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				return j
			}
			j++
		}
		return j
	}
}

// param reads a parameter from the query (exact name, then any casing), or
// else from the body.
func (q *request) param(name string) string {
	if v := q.query.Get(name); v != "" {
		return v
	}
	for k, v := range q.query {
		if strings.EqualFold(k, name) && len(v) > 0 && v[0] != "" {
			return v[0]
		}
	}
	return q.body[strings.ToLower(name)]
}

// boolParam is a lenient boolean: true, 1, yes (any casing).
func boolParam(s string) bool {
	if b, err := strconv.ParseBool(s); err == nil {
		return b
	}
	return strings.EqualFold(s, "yes")
}

// preventWebhook: the X-PreventWebhook header wins over the query.
func preventWebhook(r *http.Request, q *request) bool {
	if h := r.Header.Get("X-PreventWebhook"); h != "" {
		return boolParam(h)
	}
	return boolParam(q.param("prevent_webhook"))
}
