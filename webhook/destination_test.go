package webhook

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPublicAddr(t *testing.T) {
	for _, s := range []string{
		"127.0.0.1", "127.1.2.3", "10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1",
		"169.254.169.254", "169.254.0.1", "100.100.100.200", "100.64.0.1", "0.0.0.0", "0.1.2.3",
		"224.0.0.1", "239.255.255.250", "255.255.255.255", "240.0.0.1", "192.0.2.1", "198.18.0.1",
		"::", "::1", "fe80::1", "fe80::1%eth0", "fd00:ec2::254", "fc00::1", "ff02::1", "fec0::1",
		"::ffff:127.0.0.1", "::ffff:169.254.169.254", "::ffff:10.0.0.1", "::127.0.0.1",
		"64:ff9b::a9fe:a9fe", "64:ff9b::7f00:1", "64:ff9b:1::1", "2002:7f00:1::1", "2001::1", "2001:db8::1",
	} {
		assert.False(t, publicAddr(netip.MustParseAddr(s)), "%s is not public", s)
	}
	for _, s := range []string{
		"8.8.8.8", "1.1.1.1", "93.184.216.34", "172.32.0.1", "100.128.0.1", "169.255.0.1",
		"2606:4700:4700::1111", "2a00:1450:4001:80b::200e", "::ffff:8.8.8.8", "64:ff9b::808:808",
	} {
		assert.True(t, publicAddr(netip.MustParseAddr(s)), "%s is public", s)
	}
}

// TestCheckDestinationAtDial: as a dialer's Control, the check sees the
// address a name resolved to and refuses before connecting.
func TestCheckDestinationAtDial(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	d := &net.Dialer{Control: CheckDestination}
	for _, addr := range []string{l.Addr().String(), net.JoinHostPort("localhost", port)} {
		_, err = d.DialContext(context.Background(), "tcp", addr)
		require.ErrorIs(t, err, ErrForbiddenDestination, addr)
		assert.Contains(t, err.Error(), "AllowPrivateDestinations")
	}
	conn, err := (&net.Dialer{}).DialContext(context.Background(), "tcp", l.Addr().String())
	require.NoError(t, err, "without the check the listener is there")
	conn.Close()
}

// TestHTTPSinkRefusesPrivateDestinations: by default a receiver on
// 127.0.0.1, by address or by a name that resolves to it, gets nothing, and
// the delivery fails at once with ErrForbiddenDestination; with
// AllowPrivateDestinations it is delivered.
func TestHTTPSinkRefusesPrivateDestinations(t *testing.T) {
	rc := newReceiver(t, nil)
	u, err := url.Parse(rc.URL())
	require.NoError(t, err)
	byName := "http://localhost:" + u.Port() + "/hook"
	for _, target := range []string{rc.URL(), byName} {
		t.Run(target, func(t *testing.T) {
			s, dl := newTestSink(t, newAutoClock(), func(c *HTTPSinkConfig) { c.AllowPrivateDestinations = false }, target)
			require.NoError(t, s.Emit(context.Background(), testEvent(evID(1))))
			st := closeSink(t, s)
			assert.Equal(t, uint64(1), st.Failed)
			assert.Zero(t, st.Retried, "a forbidden destination is not retried")
			letters := dl.all()
			require.Len(t, letters, 1)
			assert.ErrorIs(t, letters[0].Err, ErrForbiddenDestination)
			assert.ErrorIs(t, letters[0].Err, ErrDeliveryFailed)
			assert.Equal(t, 1, letters[0].Attempts)
		})
	}
	assert.Zero(t, rc.ok(), "nothing reached the receiver")

	s, dl := newTestSink(t, newAutoClock(), nil, rc.URL(), byName) // newTestSink opts in
	require.NoError(t, s.Emit(context.Background(), testEvent(evID(2))))
	closeSink(t, s)
	assert.Empty(t, dl.all())
	assert.Equal(t, 2, rc.ok(), "allowed, both are delivered")
}

// TestHTTPSinkChecksTheHostsClient: a Client of the host's gets the check in
// a copy of its transport (its own settings kept, the original untouched);
// one the sink cannot check is refused unless AllowPrivateDestinations.
func TestHTTPSinkChecksTheHostsClient(t *testing.T) {
	rc := newReceiver(t, nil)
	var viaHost int
	hostTransport := &http.Transport{MaxIdleConnsPerHost: 7}
	hostClient := &http.Client{Transport: hostTransport, CheckRedirect: func(*http.Request, []*http.Request) error {
		viaHost++
		return http.ErrUseLastResponse
	}}
	s, dl := newTestSink(t, newAutoClock(), func(c *HTTPSinkConfig) {
		c.Client, c.AllowPrivateDestinations = hostClient, false
	}, rc.URL())
	assert.Equal(t, 7, s.transport.MaxIdleConnsPerHost, "the host's settings are kept")
	assert.Nil(t, hostTransport.DialContext, "the host's transport is not changed")
	require.NoError(t, s.Emit(context.Background(), testEvent(evID(1))))
	closeSink(t, s)
	require.Len(t, dl.all(), 1)
	assert.ErrorIs(t, dl.all()[0].Err, ErrForbiddenDestination)
	assert.Zero(t, rc.ok())

	proxied := &http.Transport{Proxy: http.ProxyFromEnvironment}
	wrapped := roundTripper(func(r *http.Request) (*http.Response, error) { return http.DefaultTransport.RoundTrip(r) })
	for name, client := range map[string]*http.Client{
		"proxy":            {Transport: proxied},
		"dialer":           {Transport: &http.Transport{DialContext: (&net.Dialer{}).DialContext}},
		"other transport":  {Transport: wrapped},
		"DefaultTransport": {Transport: http.DefaultTransport},
	} {
		cfg := HTTPSinkConfig{Endpoints: StaticEndpoints{}, Client: client, Logger: slog.New(slog.DiscardHandler)}
		_, err := NewHTTPSink(cfg)
		require.ErrorIs(t, err, ErrInvalidConfig, name)
		assert.Contains(t, err.Error(), "AllowPrivateDestinations", name)
		cfg.AllowPrivateDestinations = true
		s, err := NewHTTPSink(cfg)
		require.NoError(t, err, name)
		require.NoError(t, s.Close(context.Background()))
	}
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestForbiddenDestinationMessage: the dead letter says what to do.
func TestForbiddenDestinationMessage(t *testing.T) {
	err := CheckDestination("tcp", "169.254.169.254:80", nil)
	require.True(t, errors.Is(err, ErrForbiddenDestination))
	assert.True(t, strings.Contains(err.Error(), "169.254.169.254"), err.Error())
	assert.NoError(t, CheckDestination("tcp", "93.184.216.34:443", nil))
	assert.ErrorIs(t, CheckDestination("unix", "/run/x.sock", nil), ErrForbiddenDestination)
}
