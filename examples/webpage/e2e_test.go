package webpage_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"image/png"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otpreset/go/captcha"
	"github.com/otpreset/go/examples/webpage"
	"github.com/otpreset/go/otpreset"
	"github.com/otpreset/go/otpreset/otpresettest"
	"github.com/otpreset/go/otpreset/password"
	"github.com/otpreset/go/sms"
	"github.com/otpreset/go/store"
	"github.com/otpreset/go/store/memstore"
)

var update = flag.Bool("update", false, "rewrite testdata/screenshot.png from the browser test")

// chromiumPath is where Debian's chromium package puts the browser;
// OTPRESET_CHROMIUM overrides it.
const chromiumPath = "/usr/bin/chromium"

const (
	demoAPIKey   = "demo-api-key"
	demoPhone    = "+919999999999"
	demoPassword = "OldP@ssw0rd1"
)

// lockedBuffer is a bytes.Buffer the server writes and the test reads.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// findChromium returns the browser to drive. Without one the test skips,
// unless CI is set: there the browser is part of the job, so its absence
// is a failure.
func findChromium(t *testing.T) string {
	t.Helper()
	path := chromiumPath
	if p := os.Getenv("OTPRESET_CHROMIUM"); p != "" {
		path = p
	}
	if _, err := os.Stat(path); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI is set but the browser is missing: %v (install the Debian packages chromium and chromium-driver)", err)
		}
		t.Skipf("skipping the browser test: %v (apt-get install chromium, or set OTPRESET_CHROMIUM; with CI set this fails)", err)
	}
	return path
}

// demoServer is the quickstart's wiring: otpreset with a memstore, the log
// sender writing to sent, a seeded user, and the page at "/".
type demoServer struct {
	*httptest.Server
	store  *memstore.Store
	hasher otpreset.PasswordHasher
	tenant string
	sent   *lockedBuffer
}

// serverOptions vary the demo server.
type serverOptions struct {
	// captcha is the tenant's Bot Protection.
	captcha otpreset.CaptchaPolicy
	// page adjusts the page's config; base is the server's URL.
	page func(cfg *webpage.Config, base string)
	// tls serves https (a captcha script must come from an https URL).
	tls bool
	// extra routes, e.g. a stand-in captcha script.
	extra map[string]http.Handler
}

func newDemoServer(t *testing.T, o serverOptions) *demoServer {
	t.Helper()
	ctx := context.Background()
	d := &demoServer{
		store:  memstore.New(),
		hasher: password.NewArgon2idHasher(otpresettest.FastHasherParams, 0),
		tenant: "demo",
		sent:   &lockedBuffer{},
	}
	hash, err := d.hasher.Hash(ctx, demoPassword)
	require.NoError(t, err)
	profile := fmt.Sprintf(`{"Uid":"demo-user","ID":"demo-user","FirstName":"Demo","PhoneId":%q,"PhoneIdVerified":true,"IsActive":true}`, demoPhone)
	require.NoError(t, d.store.AddUser(ctx, store.User{TenantID: d.tenant, ID: "demo-user", Phone: demoPhone, PasswordHash: hash, Profile: []byte(profile)}))

	h, err := otpreset.New(otpreset.Config{
		Store:  d.store,
		Sender: &sms.LogSender{W: d.sent},
		Tenants: otpreset.Tenants{demoAPIKey: &otpreset.Tenant{
			ID: d.tenant, AppName: "otpreset demo", Domain: "localhost", Captcha: o.captcha,
		}},
		Secret:          []byte("webpage end-to-end test secret, 32+ bytes"),
		Hasher:          d.hasher,
		Logger:          slog.New(slog.DiscardHandler),
		MinSendDuration: -1,
	})
	require.NoError(t, err)

	mux := http.NewServeMux()
	d.Server = httptest.NewUnstartedServer(mux) // the address is known from here on
	scheme := "http"
	if o.tls {
		scheme = "https"
	}
	cfg := webpage.Config{APIKey: demoAPIKey}
	if o.page != nil {
		o.page(&cfg, scheme+"://"+d.Listener.Addr().String())
	}
	mux.Handle(otpreset.Path, h)
	mux.Handle("/", webpage.Handler(cfg))
	for pattern, handler := range o.extra {
		mux.Handle(pattern, handler)
	}
	if o.tls {
		d.StartTLS()
	} else {
		d.Start()
	}
	t.Cleanup(d.Close)
	return d
}

// passwordWorks reports whether password is phone's password now.
func (d *demoServer) passwordWorks(t *testing.T, phone, password string) bool {
	t.Helper()
	u, err := d.store.UserByPhone(context.Background(), d.tenant, phone)
	require.NoError(t, err)
	ok, err := d.hasher.Compare(context.Background(), password, u.PasswordHash)
	require.NoError(t, err)
	return ok
}

// code returns the last code the log sender sent to phone ("" if none).
func (d *demoServer) code(phone string) string {
	re := regexp.MustCompile(`(?m)^sms tenant=\S+ to=` + regexp.QuoteMeta(phone) + ` voice=false code=(\d+) `)
	all := re.FindAllStringSubmatch(d.sent.String(), -1)
	if len(all) == 0 {
		return ""
	}
	return all[len(all)-1][1]
}

// tab is one headless Chromium tab with a deadline, recording the console.
type tab struct {
	t   *testing.T
	ctx context.Context

	stopConsole context.CancelFunc
	consoleDone chan struct{}
	mu          sync.Mutex
	console     []chromedp.ConsoleMessage
}

// newTab starts a fresh browser (its own profile directory) and opens a tab
// whose actions share a 30 s deadline. flags are extra command-line flags.
func newTab(t *testing.T, flags ...chromedp.ExecAllocatorOption) *tab {
	t.Helper()
	execPath := findChromium(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(execPath),
		chromedp.NoSandbox, // CI containers run as root
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	opts = append(opts, flags...)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	browser, cancelBrowser := chromedp.NewContext(allocCtx)
	// Registered after TempDir's cleanup, so it runs first: the browser is
	// gone before its profile directory is removed.
	t.Cleanup(func() { cancelBrowser(); cancelAlloc() })
	// The first run starts the browser; its context must have no deadline.
	require.NoError(t, chromedp.Do(browser), "starting %s", execPath)

	tb := &tab{t: t, consoleDone: make(chan struct{})}
	// Every message the page writes to the console, and the browser's log
	// (where Content-Security-Policy violations appear).
	var consoleCtx context.Context
	consoleCtx, tb.stopConsole = context.WithCancel(browser)
	messages := chromedp.Console(consoleCtx)
	go func() {
		defer close(tb.consoleDone)
		for m, err := range messages {
			if err != nil {
				return
			}
			tb.mu.Lock()
			tb.console = append(tb.console, m)
			tb.mu.Unlock()
		}
	}()

	ctx, cancel := context.WithTimeout(browser, 30*time.Second)
	t.Cleanup(cancel)
	tb.ctx = ctx
	return tb
}

func id(s string) chromedp.ID { return chromedp.ID(s) }

// do runs the steps or fails the test.
func (tb *tab) do(steps ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	require.NoError(tb.t, chromedp.Do(tb.ctx, steps...))
}

// eval evaluates a JavaScript expression to a string.
func (tb *tab) eval(expr string) string {
	tb.t.Helper()
	v, err := chromedp.Run(tb.ctx, chromedp.Evaluate[string](expr))
	require.NoError(tb.t, err, expr)
	return v
}

// focused is the id of the element that has the focus.
func (tb *tab) focused() string {
	tb.t.Helper()
	return tb.eval(`document.activeElement ? document.activeElement.id : ""`)
}

// waitFor waits until expr is true, and fails with what the page shows.
func (tb *tab) waitFor(expr string) {
	tb.t.Helper()
	_, err := chromedp.Run(tb.ctx, chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(10*time.Second)))
	if err != nil {
		state, _ := chromedp.Run(tb.ctx, chromedp.Evaluate[string](`document.getElementById("error").innerText + " | " + document.getElementById("status").textContent`))
		tb.t.Fatalf("waiting for %s: %v; the page shows: %q", expr, err, state)
	}
}

// errorShows waits until the error box's first line contains text.
func (tb *tab) errorShows(text string) {
	tb.t.Helper()
	tb.waitFor(`!document.getElementById("error").hidden && document.getElementById("error-message").textContent.includes(` + strconv.Quote(text) + `)`)
}

// retype replaces a field's text: empty it, then type. (chromedp.Clear
// empties the value attribute, not what was typed, and SetValue cannot set
// "" in this version: the empty argument arrives as undefined.)
func retype(field, text string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(
		chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.getElementById(%q).value = ""`, field)),
		chromedp.SendKeys(id(field), text),
	)
}

// checkConsole fails the test on any script error or Content-Security-Policy
// violation the page logged. Failed requests (the 401 and 403 answers the
// tests provoke) are expected.
func (tb *tab) checkConsole() {
	tb.t.Helper()
	tb.stopConsole()
	<-tb.consoleDone
	tb.mu.Lock()
	defer tb.mu.Unlock()
	for _, m := range tb.console {
		isCSP := m.Source == "security" || strings.Contains(m.Text, "Content Security Policy")
		if m.IsException() || isCSP || (m.Type == chromedp.ConsoleError && m.Source == "") {
			tb.t.Errorf("console: %s (source %q, %s:%d)", m, m.Source, m.URL, m.Line)
		}
	}
}

// TestBrowserResetFlow drives the page in headless Chromium: send a code,
// fail once on a wrong code and once on the password policy, then reset.
func TestBrowserResetFlow(t *testing.T) {
	const newPassword = "correct horse battery staple"
	tb := newTab(t)
	srv := newDemoServer(t, serverOptions{})

	// Step 1: the phone number, at a phone's width.
	tb.do(
		chromedp.EmulateViewport(390, 780),
		chromedp.Navigate(srv.URL+"/"),
		chromedp.WaitVisible(id("phone")),
		chromedp.SendKeys(id("phone"), demoPhone),
		chromedp.Click(id("send")),
		chromedp.WaitVisible(id("otp")),
	)
	assert.Equal(t, "otp", tb.focused(), "focus moves to the code field")
	tb.waitFor(`document.getElementById("status").textContent.includes("Code sent")`)
	code := srv.code(demoPhone)
	require.Regexp(t, `^\d{6}$`, code, "the SMS log:\n%s", srv.sent)

	// Step 2, as the user sees it before pressing the button.
	tb.do(
		chromedp.SendKeys(id("otp"), code),
		chromedp.SendKeys(id("password"), newPassword),
	)
	shot, err := chromedp.Run(tb.ctx, chromedp.CaptureScreenshot())
	require.NoError(t, err)
	img, err := png.DecodeConfig(bytes.NewReader(shot))
	require.NoError(t, err)
	assert.Equal(t, 390, img.Width)
	if *update {
		require.NoError(t, os.WriteFile(filepath.Join("testdata", "screenshot.png"), shot, 0o644))
	}

	// A wrong code: the 1409 answer's lower-case message and description.
	n, err := strconv.Atoi(code)
	require.NoError(t, err)
	tb.do(
		retype("otp", fmt.Sprintf("%06d", (n+1)%1000000)),
		chromedp.Click(id("reset")),
	)
	tb.errorShows("Authentication failed")
	assert.Equal(t, "The credentials provided could not be authenticated.", tb.eval(`document.getElementById("error-description").textContent`))
	assert.Equal(t, "otp", tb.focused(), "focus moves to the field the error is about")
	assert.Equal(t, "true", tb.eval(`document.getElementById("otp").getAttribute("aria-invalid")`))
	assert.Contains(t, tb.eval(`document.getElementById("otp").getAttribute("aria-describedby")`), "error")

	// A password the policy refuses: 1134 with the field's ErrorMessage.
	tb.do(
		retype("otp", code),
		retype("password", "short"),
		chromedp.Click(id("reset")),
	)
	tb.errorShows("Validation failed for one or more fields")
	items, err := chromedp.Run(tb.ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("#error-list li"), li => li.textContent)`))
	require.NoError(t, err)
	require.Len(t, items, 1, "each Errors[].ErrorMessage is listed")
	assert.Contains(t, items[0], "8")
	assert.Equal(t, "password", tb.focused())
	assert.Empty(t, tb.eval(`document.getElementById("otp").getAttribute("aria-invalid") || ""`), "the earlier mark is gone")
	assert.True(t, srv.passwordWorks(t, demoPhone, demoPassword), "nothing changed yet")

	// The right code and a good password.
	tb.do(
		retype("password", newPassword),
		chromedp.Click(id("reset")),
		chromedp.WaitVisible(id("done")),
	)
	assert.Equal(t, "done", tb.focused(), "focus moves to the success message")
	assert.Equal(t, "true", tb.eval(`String(document.getElementById("error").hidden && document.getElementById("reset-form").hidden)`), "the error and the form are gone")
	assert.Empty(t, tb.eval(`document.getElementById("password").value`), "the page forgets the password")
	assert.True(t, srv.passwordWorks(t, demoPhone, newPassword), "the new password works")
	assert.False(t, srv.passwordWorks(t, demoPhone, demoPassword), "the old password does not")

	tb.checkConsole()
}

// fakeHCaptcha stands in for hCaptcha's api.js: the same render,
// getResponse and reset calls and the same onload parameter, with a plain
// checkbox instead of a challenge. Ticking it yields "fake-token".
const fakeHCaptcha = `(function () {
  var boxes = [];
  window.hcaptcha = {
    render: function (el, opts) {
      var label = document.createElement("label");
      var box = document.createElement("input");
      box.type = "checkbox";
      box.className = "fake-captcha";
      label.append(box, " I am human (" + opts.sitekey + ")");
      el.appendChild(label);
      boxes.push(box);
      return boxes.length - 1;
    },
    getResponse: function (id) { return boxes[id].checked ? "fake-token" : ""; },
    reset: function (id) { boxes[id].checked = false; },
  };
  var onload = new URL(document.currentScript.src).searchParams.get("onload");
  if (onload && typeof window[onload] === "function") { window[onload](); }
})();
`

// TestBrowserCaptchaHook configures the page with a captcha provider and
// checks that it loads the provider's script under its CSP, renders a widget
// in each step, refuses to go on until it is solved, and sends the token
// under the provider's name to a tenant that asks for a captcha every time.
func TestBrowserCaptchaHook(t *testing.T) {
	tb := newTab(t, chromedp.Flag("ignore-certificate-errors", true)) // httptest's certificate
	var verified atomic.Int32
	srv := newDemoServer(t, serverOptions{
		tls: true,
		captcha: otpreset.CaptchaPolicy{Mode: otpreset.CaptchaAlways, Verifier: captcha.VerifierFunc(func(_ context.Context, tok captcha.Token) error {
			if tok.Response != "fake-token" {
				return fmt.Errorf("token %q: %w", tok.Response, captcha.ErrRejected)
			}
			verified.Add(1)
			return nil
		})},
		page: func(cfg *webpage.Config, base string) {
			cfg.Captcha = webpage.Captcha{Provider: webpage.ProviderHCaptcha, SiteKey: "test-site-key", ScriptURL: base + "/fake-hcaptcha.js"}
		},
		extra: map[string]http.Handler{"/fake-hcaptcha.js": http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
			_, _ = w.Write([]byte(fakeHCaptcha))
		})},
	})

	sendBox := `#send-form .fake-captcha`
	resetBox := `#reset-form .fake-captcha`
	tb.do(
		chromedp.Navigate(srv.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS(sendBox)),
		chromedp.SendKeys(id("phone"), demoPhone),
		chromedp.Click(id("send")),
	)
	tb.errorShows("Please complete the security check")
	assert.Empty(t, srv.code(demoPhone), "nothing is sent without the captcha")
	assert.Contains(t, tb.eval(`document.querySelector("#send-form [data-captcha-slot]").textContent`), "test-site-key")

	tb.do(
		chromedp.Click(chromedp.CSS(sendBox)),
		chromedp.Click(id("send")),
		chromedp.WaitVisible(id("otp")),
		chromedp.WaitVisible(chromedp.CSS(resetBox)),
	)
	code := srv.code(demoPhone)
	require.NotEmpty(t, code)
	assert.Equal(t, "false", tb.eval(`String(document.querySelector(`+strconv.Quote(sendBox)+`).checked)`), "a used token is reset")

	tb.do(
		chromedp.SendKeys(id("otp"), code),
		chromedp.SendKeys(id("password"), "a new passphrase 2"),
		chromedp.Click(chromedp.CSS(resetBox)),
		chromedp.Click(id("reset")),
		chromedp.WaitVisible(id("done")),
	)
	assert.Equal(t, int32(2), verified.Load(), "one token for the send, one for the reset")
	assert.True(t, srv.passwordWorks(t, demoPhone, "a new passphrase 2"))

	tb.checkConsole()
}
