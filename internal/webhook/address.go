package webhook

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"syscall"

	"github.com/kassapay/kassa/internal/netguard"
)

// ErrPrivateAddress refuses a call of a live account's webhook to an
// address inside the server's network.
var ErrPrivateAddress = errors.New("webhook: private address")

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
	return netguard.CheckHost(ctx, u.Hostname())
}

// publicOnly is netguard.PublicOnly refusing with ErrPrivateAddress, the
// error the delivery log shows.
func publicOnly(network, address string, c syscall.RawConn) error {
	if err := netguard.PublicOnly(network, address, c); err != nil {
		return ErrPrivateAddress
	}
	return nil
}
