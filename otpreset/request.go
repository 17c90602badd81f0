package otpreset

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
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
// nulls are dropped (no field of these endpoints takes them).
func decodeBody(w http.ResponseWriter, r *http.Request, limit int64) (map[string]string, *APIError) {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return nil, errContentType
		}
	}
	body := http.MaxBytesReader(w, r.Body, limit)
	data, err := io.ReadAll(body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, errBodyTooLarge
		}
		return nil, errNotJSON
	}
	data = bytes.TrimSpace(data)
	if len(data) == 0 || data[0] != '{' {
		return nil, errNotJSON
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, errNotJSON
	}
	out := make(map[string]string, len(raw))
	for k, v := range raw {
		lk := strings.ToLower(k)
		if len(v) == 0 {
			continue
		}
		switch v[0] {
		case '"':
			var s string
			if err := json.Unmarshal(v, &s); err != nil {
				return nil, errNotJSON
			}
			out[lk] = s
		case '{', '[', 'n':
		default: // numbers and booleans, e.g. "otp": 123456
			out[lk] = string(v)
		}
	}
	return out, nil
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
