package otpreset

import (
	"bytes"
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/otpreset/go/captcha"
)

// decodeBody reads a JSON object into lower-cased keys. String values are
// kept; numbers and booleans are kept in their JSON text; objects, arrays and
// nulls are dropped (no field of these endpoints takes them). A key given
// twice keeps its last value, as encoding/json does.
//
// It is on the path of every request, refusals included, so it allocates
// little: the body is read into a pooled buffer, checked with json.Valid and
// walked in place; only the kept values (and unusual keys) are copied out.
func decodeBody(r *http.Request, limit int64) (map[string]string, *apiError) {
	// A body without a Content-Type is refused too: a web page can send one
	// from any origin without a CORS preflight, and so make its visitors'
	// browsers ask for codes.
	if !isJSONMediaType(r.Header.Get("Content-Type")) {
		return nil, errContentType
	}
	buf := bodyBuffers.Get().(*bytes.Buffer)
	defer putBodyBuffer(buf)
	if _, err := buf.ReadFrom(http.MaxBytesReader(nil, r.Body, limit)); err != nil {
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

// objectFields walks data, a JSON object already checked by json.Valid, in
// one pass: time linear in the body whatever its shape. Only the keys the
// endpoints read are kept (knownKey), lower-cased; every other member is
// stepped over without a copy, so a body of thousands of keys costs no
// more than one long value. A key given again, in any casing, replaces the
// earlier value; a null, object or array value removes it.
func objectFields(data []byte) (map[string]string, *apiError) {
	out := make(map[string]string, 4)
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
		if name, known := knownKey(key); known {
			if err := setField(out, name, data[i:vEnd]); err != nil {
				return nil, errNotJSON
			}
		}
		i = skipSpace(data, vEnd)
		if i < len(data) && data[i] == ',' {
			i = skipSpace(data, i+1)
		}
	}
	return out, nil
}

// setField stores a member's value under name: strings decoded, numbers and
// booleans in their JSON text (e.g. "otp": 123456), and a null, object or
// array as no value at all (no field of these endpoints takes one).
func setField(out map[string]string, name string, value []byte) error {
	switch value[0] {
	case '"':
		s, err := stringValue(value)
		if err != nil {
			return err
		}
		out[name] = s
	case '{', '[', 'n':
		delete(out, name)
	default:
		out[name] = string(value)
	}
	return nil
}

// stringValue decodes a quoted JSON string value. Where encoding/json would
// replace bytes with U+FFFD (invalid UTF-8, or a lone surrogate escape such
// as \ud800), the result is kept invalid UTF-8 instead, so that the password
// policy refuses it (1134) rather than two different byte strings hashing
// the same.
func stringValue(quoted []byte) (string, error) {
	if s, ok := rawString(quoted); ok {
		return string(s), nil
	}
	raw := quoted[1 : len(quoted)-1]
	if !utf8.Valid(raw) {
		return string(raw), nil // escapes left undecoded: it is refused anyway
	}
	s, err := unquote(quoted)
	if err != nil {
		return "", err
	}
	if strings.ContainsRune(s, utf8.RuneError) && !bytes.ContainsRune(raw, utf8.RuneError) && !bytes.Contains(bytes.ToLower(raw), []byte(`\ufffd`)) {
		return "\xff" + s, nil // a lone surrogate escape became U+FFFD
	}
	return s, nil
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

// knownKeys are the body keys the endpoints read (Handler reads the body
// through these names only).
var knownKeys = func() map[string]string {
	m := map[string]string{}
	names := []string{"phone", "otp", "password", "smstemplate", "resetpasswordemailtemplate",
		"resetpasswordsmstemplate", "isvoiceotp", "prevent_webhook"}
	for _, k := range append(names, captcha.ParamNames()...) {
		m[strings.ToLower(k)] = strings.ToLower(k)
	}
	return m
}()

// maxKnownKey is the longest known key in bytes; a longer ASCII key cannot be
// one of them.
var maxKnownKey = func() int {
	n := 0
	for k := range knownKeys {
		n = max(n, len(k))
	}
	return n
}()

// knownKey returns the known key that key lower-cases to (as
// strings.ToLower does), without allocating for ASCII keys.
func knownKey(key []byte) (string, bool) {
	var buf [32]byte
	if len(key) > 3*len(buf) { // lower-casing shrinks a key by at most 3x (U+212A -> k)
		return "", false
	}
	for i, c := range key {
		if c >= utf8.RuneSelf {
			k, ok := knownKeys[strings.ToLower(string(key))]
			return k, ok
		}
		if i >= maxKnownKey {
			return "", false
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[i] = c
	}
	k, ok := knownKeys[string(buf[:len(key)])]
	return k, ok
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
