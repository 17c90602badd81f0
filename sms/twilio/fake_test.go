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
	// fetches script the answers to fetches of a message (GET
	// Messages/{Sid}.json), in order; after them a message is
	// "delivered".
	fetches []fetchReply
	created map[string]url.Values // the form of each created message, by sid
	stuck   string                // when set, the status of a message after fetches
	// fetchError, when set, answers every fetch.
	fetchError *reply
}

// fetchReply is the state a fetched message is in.
type fetchReply struct {
	status       string
	errorCode    int    // 0: null
	errorMessage string // "": null
}

func newFakeTwilio(t *testing.T, replies ...reply) *fakeTwilio {
	f := &fakeTwilio{replies: replies, arrived: make(chan struct{}, 16), created: map[string]url.Values{}}
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
	if r.Method == http.MethodGet {
		f.fetch(w, r)
		return
	}
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
	sid := fmt.Sprintf("SM%032x", n)
	f.mu.Lock()
	f.created[sid] = r.PostForm
	f.mu.Unlock()
	json.NewEncoder(w).Encode(messageResource(account, sid, r.PostForm))
}

// fetch answers GET .../Messages/{Sid}.json with the message in its next
// scripted state (called with f.mu held), or Twilio's 404 for a sid it did
// not create.
func (f *fakeTwilio) fetch(w http.ResponseWriter, r *http.Request) {
	defer f.mu.Unlock()
	parts := strings.Split(r.URL.Path, "/")
	sid := strings.TrimSuffix(parts[len(parts)-1], ".json")
	form, ok := f.created[sid]
	w.Header().Set("Content-Type", "application/json")
	if f.fetchError != nil {
		w.WriteHeader(f.fetchError.status)
		fmt.Fprint(w, f.fetchError.body)
		return
	}
	if !ok || parts[len(parts)-2] != "Messages" {
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprintf(w, `{"code":20404,"message":"The requested resource %s was not found","more_info":"https://www.twilio.com/docs/errors/20404","status":404}`, r.URL.Path)
		return
	}
	next := fetchReply{status: "delivered"}
	if f.stuck != "" {
		next.status = f.stuck
	}
	if len(f.fetches) > 0 {
		next, f.fetches = f.fetches[0], f.fetches[1:]
	}
	m := messageResource(parts[3], sid, form)
	m["status"] = next.status
	if next.errorCode != 0 {
		m["error_code"] = next.errorCode
	}
	if next.errorMessage != "" {
		m["error_message"] = next.errorMessage
	}
	json.NewEncoder(w).Encode(m)
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
