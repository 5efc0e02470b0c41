package webhook

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestStandardSignatureKnownAnswer checks the signature against the
// Standard Webhooks specification's published example.
func TestStandardSignatureKnownAnswer(t *testing.T) {
	key, err := SecretKey("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	if err != nil {
		t.Fatal(err)
	}
	got := StandardSignature(key, "msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330", []byte(`{"test": 2432232314}`))
	if want := "g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="; got != want {
		t.Fatalf("signature %s, want %s", got, want)
	}
	now := time.Unix(1614265330, 0)
	if err := VerifyStandard(key, "msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330", "v1,bogus v1,"+got, []byte(`{"test": 2432232314}`), now, time.Minute); err != nil {
		t.Errorf("verify: %v", err)
	}
	if VerifyStandard(key, "msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330", "v1,"+got, []byte(`{"test": 2432232315}`), now, time.Minute) == nil {
		t.Error("a changed body verified")
	}
	if VerifyStandard(key, "msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330", "v1,"+got, []byte(`{"test": 2432232314}`), now.Add(time.Hour), time.Minute) == nil {
		t.Error("an old timestamp verified")
	}
}

func TestNewSecret(t *testing.T) {
	a, b := NewSecret(), NewSecret()
	if a == b || !strings.HasPrefix(a, SecretPrefix) {
		t.Fatalf("secrets %q %q", a, b)
	}
	k, err := SecretKey(a)
	if err != nil || len(k) != 32 {
		t.Fatalf("key of %q: %d bytes, %v", a, len(k), err)
	}
	if _, err := SecretKey("whsec_c2hvcnQ="); err == nil {
		t.Error("a 5-byte key was accepted")
	}
}

func TestStandardSignsWithEveryKey(t *testing.T) {
	r := httptest.NewRequest("POST", "/", nil)
	k1, k2 := []byte(strings.Repeat("a", 32)), []byte(strings.Repeat("b", 32))
	now := time.Unix(1700000000, 0)
	if err := (Standard{Keys: [][]byte{k1, k2}}).Sign(r, "evt_1", now, []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	h := r.Header
	if h.Get("webhook-id") != "evt_1" || h.Get("webhook-timestamp") != "1700000000" {
		t.Fatalf("headers %v", h)
	}
	for _, k := range [][]byte{k1, k2} {
		if err := VerifyStandard(k, "evt_1", "1700000000", h.Get("webhook-signature"), []byte(`{}`), now, time.Minute); err != nil {
			t.Errorf("key %c: %v", k[0], err)
		}
	}
	if err := (Standard{}).Sign(r, "evt_1", now, nil); err == nil {
		t.Error("signing without a key")
	}
}

func TestScheduleNext(t *testing.T) {
	s := Schedule{0, 5 * time.Second, 5 * time.Minute}
	for n, want := range []time.Duration{5 * time.Second, 5 * time.Minute} {
		got, ok := s.Next(n+1, 0)
		if !ok || got < want*9/10 || got > want*11/10 {
			t.Errorf("after attempt %d: %s %v, want %s ±10%%", n+1, got, ok, want)
		}
	}
	if _, ok := s.Next(3, 0); ok {
		t.Error("a retry after the last attempt")
	}
	if got, _ := s.Next(1, time.Minute); got < 54*time.Second || got > 66*time.Second {
		t.Errorf("Retry-After 1 min: waited %s", got)
	}
	if got, _ := s.Next(1, 100*time.Hour); got > 5*time.Minute*11/10 {
		t.Errorf("Retry-After beyond the schedule: waited %s", got)
	}
	if got, _ := s.Next(2, time.Second); got < 4*time.Minute {
		t.Errorf("a short Retry-After shortened the schedule: %s", got)
	}
}

func TestVerdict(t *testing.T) {
	cases := map[int]Verdict{0: Retry, 200: Delivered, 204: Delivered, 299: Delivered, 301: Retry, 302: Retry,
		400: Refused, 401: Refused, 404: Refused, 410: Gone, 429: Retry, 500: Retry, 503: Retry}
	for status, want := range cases {
		if got := (&Response{Status: status}).Verdict(); got != want {
			t.Errorf("%d: %v, want %v", status, got, want)
		}
	}
}

// TestClientRefusesPrivateAddressesOfLiveDeliveries: the check runs at
// connect time, on the address the name resolved to (so a name rebound
// to a private address after the endpoint was saved is refused too).
func TestClientRefusesPrivateAddressesOfLiveDeliveries(t *testing.T) {
	hits := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits++ }))
	defer srv.Close()
	// By name: "localhost" resolves to a loopback address.
	url := strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)
	c := NewClient(false)
	res := c.Do(context.Background(), Request{URL: url, Body: []byte(`{}`), Live: true}, time.Now())
	if !errors.Is(res.Err, ErrPrivateAddress) || hits != 0 {
		t.Fatalf("live delivery to localhost: %v, %d hits", res.Err, hits)
	}
	if res.Verdict() != Retry {
		t.Errorf("refused address: verdict %v", res.Verdict())
	}
	if res := c.Do(context.Background(), Request{URL: url, Body: []byte(`{}`)}, time.Now()); res.Status != 200 || hits != 1 {
		t.Errorf("test delivery to localhost: %d %v", res.Status, res.Err)
	}
	if res := NewClient(true).Do(context.Background(), Request{URL: url, Body: []byte(`{}`), Live: true}, time.Now()); res.Status != 200 {
		t.Errorf("live delivery with private addresses allowed: %d %v", res.Status, res.Err)
	}
}

// TestClientDoesNotFollowRedirects and keeps a KiB of the answer.
func TestClientDoesNotFollowRedirects(t *testing.T) {
	followed := false
	mux := http.NewServeMux()
	mux.HandleFunc("/hook", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "120")
		http.Redirect(w, r, "/elsewhere", http.StatusFound)
	})
	mux.HandleFunc("/elsewhere", func(w http.ResponseWriter, r *http.Request) { followed = true })
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(strings.Repeat("x", 5000))) })
	srv := httptest.NewServer(mux)
	defer srv.Close()
	c := NewClient(false)
	res := c.Do(context.Background(), Request{URL: srv.URL + "/hook", Body: []byte(`{}`)}, time.Now())
	if res.Status != http.StatusFound || followed || res.Verdict() != Retry || res.RetryAfter != 2*time.Minute {
		t.Errorf("redirect: status %d, followed %v, retry after %s", res.Status, followed, res.RetryAfter)
	}
	res = c.Do(context.Background(), Request{URL: srv.URL + "/big", Body: []byte(`{}`)}, time.Now())
	if len(res.Body) != ResponseKeep {
		t.Errorf("kept %d bytes of the answer, want %d", len(res.Body), ResponseKeep)
	}
}

func TestCheckURL(t *testing.T) {
	ctx := context.Background()
	for _, u := range []string{"", "example.com", "ftp://example.com", "https://", "https://u:p@example.com/",
		"https://example.com/#frag", "https://exa mple.com/", "javascript:alert(1)", "https://" + strings.Repeat("a", 2100) + ".com"} {
		if CheckURL(ctx, u, true) == nil {
			t.Errorf("%q accepted", u)
		}
	}
	for _, u := range []string{"http://127.0.0.1/", "http://localhost:8080/x", "https://[::1]/", "http://169.254.169.254/", "http://10.0.0.1/"} {
		if CheckURL(ctx, u, false) == nil {
			t.Errorf("%q accepted for a live account", u)
		}
		if err := CheckURL(ctx, u, true); err != nil {
			t.Errorf("%q refused where private addresses are allowed: %v", u, err)
		}
	}
	if err := CheckURL(ctx, "https://93.184.215.14/hooks?a=1", false); err != nil {
		t.Errorf("a public address: %v", err)
	}
}

func FuzzCheckURL(f *testing.F) {
	for _, s := range []string{"https://example.com/h", "http://[::1]:80/", "http://0x7f.1/", "https://a@b/", "http://%zz/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		// Private addresses allowed: no name resolution in a fuzz loop.
		_ = CheckURL(context.Background(), s, true)
	})
}

func FuzzRetryAfter(f *testing.F) {
	for _, s := range []string{"120", "0", "-1", "Wed, 21 Oct 2015 07:28:00 GMT", "9999999999999999999"} {
		f.Add(s)
	}
	now := time.Unix(1700000000, 0)
	f.Fuzz(func(t *testing.T, s string) {
		if d := retryAfter(s, now); d < 0 {
			t.Fatalf("%q: negative wait %s", s, d)
		}
	})
}
