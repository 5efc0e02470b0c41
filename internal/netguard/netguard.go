// Package netguard keeps kassa's outgoing calls on behalf of live accounts
// (webhook deliveries, gateway calls) away from the server's own network:
// loopback, private and link-local addresses, the cloud metadata service
// at 169.254.169.254 among them. A URL an account configures could
// otherwise make kassa send requests there (server-side request forgery).
//
// Two checks use the same rules: CheckHost when a URL is configured, so
// that the account hears at once, and PublicOnly, a net.Dialer Control,
// when a call connects, after name resolution, so that a name that
// resolves elsewhere by then (DNS rebinding) is refused too.
package netguard

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"syscall"
	"time"
)

// ErrNotPublic is the error of a connection PublicOnly refused.
var ErrNotPublic = errors.New("address is not public")

// notPublic are ranges no live call may reach beyond what netip's
// predicates name: shared (carrier-grade NAT) space, "this network", IETF
// protocol assignments, benchmarking, and the IPv6 ranges that embed or
// translate IPv4.
var notPublic = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("64:ff9b::/96"),
	netip.MustParsePrefix("64:ff9b:1::/48"),
	netip.MustParsePrefix("2002::/16"),
}

// Public reports whether a live call may reach addr: not loopback,
// private, link-local (which holds the cloud metadata service at
// 169.254.169.254), multicast, unspecified or reserved.
func Public(addr netip.Addr) bool {
	addr = addr.Unmap()
	if !addr.IsValid() || addr.IsLoopback() || addr.IsPrivate() || addr.IsLinkLocalUnicast() ||
		addr.IsLinkLocalMulticast() || addr.IsInterfaceLocalMulticast() || addr.IsMulticast() || addr.IsUnspecified() {
		return false
	}
	for _, p := range notPublic {
		if p.Contains(addr) {
			return false
		}
	}
	return true
}

// resolveTimeout bounds the name lookup of CheckHost.
const resolveTimeout = 2 * time.Second

// CheckHost reports, as a message for the caller ("must not …"), whether
// host, a name or a literal address, is or resolves to an address that is
// not Public. A name that does not resolve now is accepted: every
// connection is checked again (PublicOnly).
func CheckHost(ctx context.Context, host string) error {
	if addr, err := netip.ParseAddr(host); err == nil {
		if !Public(addr) {
			return errors.New("must not point at a loopback, private, link-local or reserved address")
		}
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, resolveTimeout)
	defer cancel()
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil
	}
	for _, a := range addrs {
		if !Public(a) {
			return errors.New("must not resolve to a loopback, private, link-local or reserved address")
		}
	}
	return nil
}

// CheckURL is CheckHost for the host of raw. A raw that is not a URL with
// a host is left to the caller's own checks of its form: nothing can
// connect to it.
func CheckURL(ctx context.Context, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Hostname() == "" {
		return nil
	}
	return CheckHost(ctx, u.Hostname())
}

// PublicOnly is a net.Dialer Control that refuses to connect to an
// address that is not Public. It runs after name resolution, on the
// address about to be connected, so a name that resolved to a public
// address when the URL was saved and to a private one now (rebinding) is
// refused too.
func PublicOnly(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: %s", ErrNotPublic, address)
	}
	if !Public(ap.Addr()) {
		return ErrNotPublic
	}
	return nil
}
