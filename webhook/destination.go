package webhook

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"
)

// ErrForbiddenDestination: an endpoint's host resolved to an address that is
// not on the public internet (loopback, private, link-local such as the
// cloud metadata service at 169.254.169.254, unspecified, multicast, or
// another special-purpose range), and the sink does not deliver there unless
// HTTPSinkConfig.AllowPrivateDestinations is set. A delivery refused for it
// is not retried: its dead letter's Err wraps it.
var ErrForbiddenDestination = errors.New("webhook: destination address is not public")

// nonPublic are the special-purpose ranges (IANA's IPv4 and IPv6
// special-purpose address registries, and the deprecated ones) that
// netip.Addr's own predicates do not cover, or not wholly.
var nonPublic = func() []netip.Prefix {
	var ps []netip.Prefix
	for _, s := range []string{
		"0.0.0.0/8",       // "this network"
		"100.64.0.0/10",   // shared address space (carrier-grade NAT; some clouds' metadata)
		"192.0.0.0/24",    // IETF protocol assignments
		"192.0.2.0/24",    // documentation
		"192.88.99.0/24",  // 6to4 relay anycast
		"198.18.0.0/15",   // benchmarking
		"198.51.100.0/24", // documentation
		"203.0.113.0/24",  // documentation
		"240.0.0.0/4",     // reserved, and the broadcast address
		"::/8",            // unspecified, loopback, IPv4-compatible (IPv4-mapped ones are checked as IPv4)
		"64:ff9b:1::/48",  // local-use NAT64
		"100::/64",        // discard
		"2001::/23",       // IETF protocol assignments (Teredo among them)
		"2001:db8::/32",   // documentation
		"2002::/16",       // 6to4: reaches an IPv4 address of the sender's choosing
		"3fff::/20",       // documentation
		"5f00::/16",       // segment routing
		"fec0::/10",       // site-local (deprecated)
	} {
		ps = append(ps, netip.MustParsePrefix(s))
	}
	return ps
}()

// nat64 is the well-known NAT64 prefix: its last 32 bits are the IPv4
// address that a NAT64 gateway connects to.
var nat64 = netip.MustParsePrefix("64:ff9b::/96")

// publicAddr reports whether a is an address on the public internet.
func publicAddr(a netip.Addr) bool {
	a = a.WithZone("").Unmap()
	if a.Is6() && nat64.Contains(a) {
		b := a.As16()
		return publicAddr(netip.AddrFrom4([4]byte(b[12:])))
	}
	if !a.IsGlobalUnicast() || a.IsPrivate() || a.IsLoopback() || a.IsLinkLocalUnicast() {
		return false
	}
	for _, p := range nonPublic {
		if p.Contains(a) {
			return false
		}
	}
	return true
}

// CheckDestination refuses, with an error wrapping ErrForbiddenDestination,
// to connect to an address that is not public (see ErrForbiddenDestination).
// It is a net.Dialer Control function: it sees the address after DNS
// resolution, right before each connection, so a name that resolves to a
// public address when checked and to a private one when used (DNS
// rebinding) cannot get past it. HTTPSink's default client dials through
// it; a host that builds its own transport can too:
//
//	dialer := &net.Dialer{Timeout: 30 * time.Second, Control: webhook.CheckDestination}
//	transport := &http.Transport{DialContext: dialer.DialContext}
func CheckDestination(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: %s %q is not an IP address", ErrForbiddenDestination, network, address)
	}
	if !publicAddr(ap.Addr()) {
		return fmt.Errorf("%w: %s (set HTTPSinkConfig.AllowPrivateDestinations to deliver inside your network)",
			ErrForbiddenDestination, ap.Addr())
	}
	return nil
}

// publicTransport is http.DefaultTransport's settings with every connection
// checked by CheckDestination, and no proxy: a proxy would be what the check
// sees, not the endpoint.
func publicTransport() *http.Transport {
	dialer := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second, Control: CheckDestination}
	return &http.Transport{
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: 1 * time.Second,
	}
}

// deliveryClient is the client a sink sends with: cfg.Client, or one that
// does not follow redirects, with every connection checked by
// CheckDestination unless AllowPrivateDestinations. A Client of the host's
// gets the check in a copy of its *http.Transport; a transport with its own
// proxy or dialer, or of another type, cannot be checked and is refused.
func deliveryClient(cfg HTTPSinkConfig) (client *http.Client, own *http.Transport, err error) {
	if cfg.Client == nil {
		client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		}}
	} else {
		c := *cfg.Client
		client = &c
	}
	if cfg.AllowPrivateDestinations {
		return client, nil, nil
	}
	switch t := client.Transport.(type) {
	case nil:
		own = publicTransport()
	case *http.Transport:
		//lint:ignore SA1019 Dial and DialTLS are deprecated, and still used when set.
		if t.Proxy != nil || t.DialContext != nil || t.DialTLSContext != nil || t.Dial != nil || t.DialTLS != nil {
			return nil, nil, fmt.Errorf("%w: Client's transport has its own proxy or dialer, so the sink cannot check "+
				"where it connects: remove them, or set AllowPrivateDestinations (and let them refuse internal addresses, "+
				"e.g. with CheckDestination as the dialer's Control)", ErrInvalidConfig)
		}
		own = t.Clone()
		own.DialContext = (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second, Control: CheckDestination}).DialContext
	default:
		return nil, nil, fmt.Errorf("%w: Client's transport is a %T, whose connections the sink cannot check: "+
			"use an *http.Transport, or set AllowPrivateDestinations (and check them there, e.g. with CheckDestination)", ErrInvalidConfig, t)
	}
	client.Transport = own
	return client, own, nil
}
