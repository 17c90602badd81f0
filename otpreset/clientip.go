package otpreset

import (
	"fmt"
	"iter"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// TrustedProxies returns a ClientIP function for a host behind proxies. It
// believes header, the one header the host's proxy sets (such as
// "X-Forwarded-For", "X-Real-IP" or "Forwarded"), and only when the
// connection comes from one of the given networks (CIDRs or addresses). It
// then takes the right-most address in the header that is not itself a
// trusted proxy, among the header's 16 right-most entries in its last 4 KB
// (none there: the connection's address, as for a header that holds none).
// No other header is ever read, not even as a fallback: a client's own
// X-Forwarded-For cannot choose its address behind a proxy that sets
// X-Real-IP. Any other request's client is its connection's address.
func TrustedProxies(header string, proxies ...string) (func(*http.Request) string, error) {
	header = http.CanonicalHeaderKey(strings.TrimSpace(header))
	if header == "" {
		return nil, fmt.Errorf("%w: TrustedProxies needs the header the proxy sets", ErrInvalidConfig)
	}
	if len(proxies) == 0 {
		// Without a proxy the header is never read: behind a proxy every
		// client would count as the proxy's address, one per-IP limit for all.
		return nil, fmt.Errorf("%w: TrustedProxies(%q) names no proxy: give the networks (CIDRs or addresses) "+
			"your proxy connects from, e.g. \"10.0.0.0/8\"", ErrInvalidConfig, header)
	}
	nets := make([]netip.Prefix, 0, len(proxies))
	for _, p := range proxies {
		pf, err := parseNetwork(p)
		if err != nil {
			return nil, fmt.Errorf("%w: trusted proxy %q: %w", ErrInvalidConfig, p, err)
		}
		nets = append(nets, pf)
	}
	trusted := func(a netip.Addr) bool {
		for _, n := range nets {
			if n.Contains(a) {
				return true
			}
		}
		return false
	}
	forwarded := header == "Forwarded"
	return func(r *http.Request) string {
		peer := remoteIP(r)
		if a, err := netip.ParseAddr(peer); err != nil || !trusted(a) {
			return peer
		}
		for s := range rightmost(r.Header.Values(header)) {
			if len(s) > maxForwardedEntryBytes {
				continue
			}
			s = strings.TrimSpace(s)
			if forwarded {
				s = forwardedFor(s)
			}
			if a, err := netip.ParseAddr(s); err == nil && !trusted(a.Unmap()) {
				return canonicalIP(a.Unmap(), s)
			}
		}
		return peer
	}, nil
}

// The bounds of a forwarding header (it may hold what the client sent):
// only its last maxForwardedBytes bytes are read, and of them only the
// maxForwardedEntries right-most comma-separated entries, whatever they
// hold; an entry longer than maxForwardedEntryBytes is passed over
// unparsed, and one the byte bound cuts is dropped. Each proxy appends one
// entry, and an address takes at most 45 bytes, so a real chain never
// comes near.
const (
	maxForwardedBytes      = 4096
	maxForwardedEntries    = 16
	maxForwardedEntryBytes = 256
)

// rightmost yields the comma-separated entries of a header's values (the
// lines in order, as strings.Join(values, ",") would hold them), right-most
// first, to the bounds above; it never looks at the rest.
func rightmost(values []string) iter.Seq[string] {
	return func(yield func(string) bool) {
		entries, budget := 0, maxForwardedBytes
		for i := len(values) - 1; i >= 0 && budget > 0; i-- {
			v := values[i]
			if len(v) > budget {
				// The bound falls inside this line: keep the entries it
				// leaves whole, and read nothing left of them.
				v = v[len(v)-budget-1:]
				j := strings.IndexByte(v, ',')
				if j < 0 {
					return
				}
				v, budget = v[j+1:], 0
			} else {
				budget -= len(v) + 1
			}
			for {
				if entries == maxForwardedEntries {
					return
				}
				entries++
				j := strings.LastIndexByte(v, ',')
				if !yield(v[j+1:]) {
					return
				}
				if j < 0 {
					break
				}
				v = v[:j]
			}
		}
	}
}

// parseNetwork reads a CIDR or a single address as a network.
func parseNetwork(s string) (netip.Prefix, error) {
	if !strings.Contains(s, "/") {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		a = a.Unmap()
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	pf, err := netip.ParsePrefix(s)
	return pf.Masked(), err
}

// forwardedFor is the address of the for= parameter of one element of an
// RFC 7239 Forwarded header ("for=192.0.2.1;proto=https",
// `for="[2001:db8::1]:4711"`), or "".
func forwardedFor(element string) string {
	for _, pair := range strings.Split(element, ";") {
		k, v, ok := strings.Cut(strings.TrimSpace(pair), "=")
		if !ok || !strings.EqualFold(k, "for") {
			continue
		}
		v = strings.Trim(v, `"`)
		if host, _, err := net.SplitHostPort(v); err == nil {
			return host
		}
		return strings.Trim(v, "[]")
	}
	return ""
}

// remoteIP is the default ClientIP: the address of the connection.
func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	if a, err := netip.ParseAddr(host); err == nil {
		return canonicalIP(a.Unmap(), host)
	}
	return host
}

// canonicalIP is a.String(), or s itself when s already is that text (the
// usual case): a string of its own is allocated only for another form.
func canonicalIP(a netip.Addr, s string) string {
	var buf [64]byte
	if canon := a.AppendTo(buf[:0]); string(canon) != s {
		return string(canon)
	}
	return s
}

// clientKey is what per-IP limits count by: an IPv4 client by its address,
// an IPv6 client by its network of v6Bits (a /64 by default, since one
// subscriber is given a whole /64 and can rotate addresses inside it).
func clientKey(ip string, v6Bits int) string {
	a, err := netip.ParseAddr(ip)
	if err != nil || !a.Is6() || a.Is4In6() {
		return ip
	}
	p, err := a.Prefix(v6Bits)
	if err != nil {
		return ip
	}
	return p.String()
}
