package netguard

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"testing"
)

func TestPublic(t *testing.T) {
	for _, a := range []string{"127.0.0.1", "10.0.0.1", "172.16.5.4", "192.168.1.1", "169.254.169.254", "100.64.0.1",
		"0.0.0.0", "::1", "fe80::1", "fd00:ec2::254", "::ffff:127.0.0.1", "224.0.0.1", "198.18.0.1", "64:ff9b::a00:1"} {
		if Public(netip.MustParseAddr(a)) {
			t.Errorf("%s counted as public", a)
		}
	}
	for _, a := range []string{"93.184.215.14", "8.8.8.8", "2606:4700::1111"} {
		if !Public(netip.MustParseAddr(a)) {
			t.Errorf("%s counted as private", a)
		}
	}
}

func TestCheckURL(t *testing.T) {
	ctx := context.Background()
	for _, u := range []string{"http://127.0.0.1:8080/", "http://localhost/x", "https://[::1]/", "http://169.254.169.254/latest",
		"http://10.0.0.1/", "http://[::ffff:10.0.0.1]/"} {
		if CheckURL(ctx, u) == nil {
			t.Errorf("%q accepted", u)
		}
	}
	// Not a URL anything connects to: the caller's form checks refuse it.
	for _, u := range []string{"https://93.184.215.14/pay?a=1", "", "not a url", "https://"} {
		if err := CheckURL(ctx, u); err != nil {
			t.Errorf("%q: %v", u, err)
		}
	}
}

// TestPublicOnlyRefusesTheConnection: the dial fails before connecting,
// as a dial error, which callers take for "certainly not sent".
func TestPublicOnlyRefusesTheConnection(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	d := net.Dialer{Control: PublicOnly}
	_, err = d.Dial("tcp", ln.Addr().String())
	var op *net.OpError
	if !errors.Is(err, ErrNotPublic) || !errors.As(err, &op) || op.Op != "dial" {
		t.Fatalf("dial of a loopback address: %v", err)
	}
}
