package twilio_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
)

const (
	accountSid = "AC0123456789abcdef0123456789abcdef"
	authToken  = "f3c1d2e4a5b6978812345678abcdef90"
	keySid     = "SK0123456789abcdef0123456789abcdef"
	keySecret  = "kEySeCrEt0123456789abcdefABCDEF12"
	serviceSid = "MG0123456789abcdef0123456789abcdef"
	fromNumber = "+15005550006"
	toNumber   = "+919999999999"
	code       = "482915"
)

// request is what the fake Twilio received.
type request struct {
	Method, Path   string
	User, Password string
	HasAuth        bool
	ContentType    string
	Form           url.Values
}

// reply is one scripted answer.
type reply struct {
	status int
	header map[string]string
	body   string
}

// fakeTwilio answers like Twilio's REST API: 201 with the created resource,
// or the scripted error answers first.
type fakeTwilio struct {
	*httptest.Server
	mu      sync.Mutex
	reqs    []request
	replies []reply
	block   bool          // hold each request until the client goes away
	arrived chan struct{} // when block: a value per request held
}

func newFakeTwilio(t *testing.T, replies ...reply) *fakeTwilio {
	f := &fakeTwilio{replies: replies, arrived: make(chan struct{}, 16)}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeTwilio) requests() []request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]request(nil), f.reqs...)
}

func (f *fakeTwilio) serve(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	user, pass, ok := r.BasicAuth()
	f.mu.Lock()
	n := len(f.reqs) + 1
	f.reqs = append(f.reqs, request{Method: r.Method, Path: r.URL.Path, User: user, Password: pass, HasAuth: ok,
		ContentType: r.Header.Get("Content-Type"), Form: r.PostForm})
	var rep *reply
	if len(f.replies) > 0 {
		rep, f.replies = &f.replies[0], f.replies[1:]
	}
	block := f.block
	f.mu.Unlock()
	if block {
		f.arrived <- struct{}{}
		<-r.Context().Done()
		return
	}
	w.Header().Set("Content-Type", "application/json")
	if rep != nil {
		for k, v := range rep.header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(rep.status)
		fmt.Fprint(w, rep.body)
		return
	}
	w.WriteHeader(http.StatusCreated)
	account := strings.Split(r.URL.Path, "/")[3]
	if strings.HasSuffix(r.URL.Path, "/Calls.json") {
		json.NewEncoder(w).Encode(callResource(account, fmt.Sprintf("CA%032x", n), r.PostForm))
		return
	}
	json.NewEncoder(w).Encode(messageResource(account, fmt.Sprintf("SM%032x", n), r.PostForm))
}

// messageResource is the Message resource Twilio answers a create with
// (https://www.twilio.com/docs/messaging/api/message-resource).
func messageResource(account, sid string, f url.Values) map[string]any {
	var service any
	if s := f.Get("MessagingServiceSid"); s != "" {
		service = s
	}
	from := f.Get("From")
	numSegments := "1"
	if service != nil {
		numSegments = "0" // a service has not picked the sender yet
		from = ""
	}
	return map[string]any{
		"account_sid":           account,
		"api_version":           "2010-04-01",
		"body":                  f.Get("Body"),
		"date_created":          "Tue, 24 Nov 2026 12:00:00 +0000",
		"date_sent":             nil,
		"date_updated":          "Tue, 24 Nov 2026 12:00:00 +0000",
		"direction":             "outbound-api",
		"error_code":            nil,
		"error_message":         nil,
		"from":                  from,
		"messaging_service_sid": service,
		"num_media":             "0",
		"num_segments":          numSegments,
		"price":                 nil,
		"price_unit":            "USD",
		"sid":                   sid,
		"status":                "queued",
		"subresource_uris":      map[string]string{"media": "/2010-04-01/Accounts/" + account + "/Messages/" + sid + "/Media.json"},
		"to":                    f.Get("To"),
		"uri":                   "/2010-04-01/Accounts/" + account + "/Messages/" + sid + ".json",
	}
}

// callResource is the Call resource Twilio answers a create with
// (https://www.twilio.com/docs/voice/api/call-resource).
func callResource(account, sid string, f url.Values) map[string]any {
	return map[string]any{
		"account_sid":      account,
		"annotation":       nil,
		"answered_by":      nil,
		"api_version":      "2010-04-01",
		"caller_name":      nil,
		"date_created":     "Tue, 24 Nov 2026 12:00:00 +0000",
		"date_updated":     "Tue, 24 Nov 2026 12:00:00 +0000",
		"direction":        "outbound-api",
		"duration":         nil,
		"end_time":         nil,
		"forwarded_from":   nil,
		"from":             f.Get("From"),
		"from_formatted":   f.Get("From"),
		"group_sid":        nil,
		"parent_call_sid":  nil,
		"phone_number_sid": "PN0123456789abcdef0123456789abcdef",
		"price":            nil,
		"price_unit":       "USD",
		"queue_time":       "0",
		"sid":              sid,
		"start_time":       nil,
		"status":           "queued",
		"subresource_uris": map[string]string{"notifications": "/2010-04-01/Accounts/" + account + "/Calls/" + sid + "/Notifications.json"},
		"to":               f.Get("To"),
		"to_formatted":     f.Get("To"),
		"trunk_sid":        nil,
		"uri":              "/2010-04-01/Accounts/" + account + "/Calls/" + sid + ".json",
	}
}

// twilioError is Twilio's documented error body.
func twilioError(status, code int, message string) reply {
	b, _ := json.Marshal(map[string]any{
		"code":      code,
		"message":   message,
		"more_info": fmt.Sprintf("https://www.twilio.com/docs/errors/%d", code),
		"status":    status,
	})
	return reply{status: status, body: string(b)}
}
