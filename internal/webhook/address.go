package webhook

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// ErrPrivateAddress refuses a call of a live account's webhook to an
// address inside the server's network.
var ErrPrivateAddress = errors.New("webhook: private address")

// notPublic are ranges no live webhook may reach beyond what netip's
// predicates name: shared (carrier-grade NAT) space, "this network",
// IETF protocol assignments, benchmarking, and the IPv6 ranges that embed
// or translate IPv4.
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

// Public reports whether a live webhook may call addr: not loopback,
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

// maxURLLen bounds an endpoint's URL.
const maxURLLen = 2048

// CheckURL reports what is wrong with raw as a webhook URL, as a message
// for the caller: it must be absolute http or https, with a host, without
// user information (which would be a credential kept in the clear) or a
// fragment. When private is false (a live account), a host that is, or
// resolves to, an address that is not Public is refused; a name that does
// not resolve now is accepted (every attempt checks again).
func CheckURL(ctx context.Context, raw string, private bool) error {
	if len(raw) > maxURLLen {
		return fmt.Errorf("must be at most %d characters", maxURLLen)
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() {
		return errors.New("must be an absolute http or https URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return errors.New("must use http or https")
	}
	if u.Host == "" || u.Hostname() == "" {
		return errors.New("must have a host")
	}
	if u.User != nil {
		return errors.New("must not hold a user name or password")
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return errors.New("must not have a fragment")
	}
	if strings.ContainsAny(raw, " \t\r\n") {
		return errors.New("must not contain spaces")
	}
	if private {
		return nil
	}
	host := u.Hostname()
	if addr, err := netip.ParseAddr(host); err == nil {
		if !Public(addr) {
			return errors.New("must not point at a loopback, private, link-local or reserved address")
		}
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
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

// publicOnly is a net.Dialer Control that refuses to connect to an
// address that is not Public. It runs after name resolution, on the
// address about to be connected, so a name that resolved to a public
// address when the endpoint was saved and to a private one now
// (rebinding) is refused too.
func publicOnly(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: %s", ErrPrivateAddress, address)
	}
	if !Public(ap.Addr()) {
		return ErrPrivateAddress
	}
	return nil
}
