package native

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kassapay/kassa/internal/api"
)

func TestIdempotencyConcurrent(t *testing.T) {
	t.Parallel()
	f := setup(t)
	a := f.account(t)
	srv := httptest.NewServer(f.h)
	t.Cleanup(srv.Close)

	body := cardBody(pan, cvc)
	send := func(key, body string) (int, http.Header, []byte) {
		r, err := http.NewRequest("POST", srv.URL+"/v1/payment_methods", strings.NewReader(body))
		if err != nil {
			t.Error(err)
			return 0, nil, nil
		}
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Authorization", "Bearer "+a.SecretKey)
		r.Header.Set("Idempotency-Key", key)
		res, err := srv.Client().Do(r)
		if err != nil {
			t.Error(err)
			return 0, nil, nil
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, res.Header, b
	}

	const n = 20
	type result struct {
		status int
		header http.Header
		body   []byte
	}
	results := make([]result, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			st, h, b := send("order-17-attempt", body)
			results[i] = result{st, h, b}
		}()
	}
	close(start)
	wg.Wait()

	var id string
	var created []byte
	for _, r := range results {
		switch r.status {
		case http.StatusCreated:
			var pm struct{ ID string }
			json.Unmarshal(r.body, &pm)
			if id == "" {
				id, created = pm.ID, r.body
			} else if pm.ID != id {
				t.Errorf("two payment methods: %s and %s", id, pm.ID)
			}
		case http.StatusConflict:
			var e struct{ Error struct{ Type, Code string } }
			json.Unmarshal(r.body, &e)
			if e.Error.Code != "idempotency_key_in_use" || e.Error.Type != "idempotency_error" {
				t.Errorf("409 %s", r.body)
			}
		default:
			t.Errorf("status %d: %s", r.status, r.body)
		}
	}
	if id == "" {
		t.Fatal("no request created the payment method")
	}
	codes := map[int]int{}
	for _, r := range results {
		codes[r.status]++
	}
	t.Logf("statuses of %d concurrent requests: %v", n, codes)
	res := f.get(t, "/v1/payment_methods", a.SecretKey)
	if n := len(res.json(t)["data"].([]any)); n != 1 {
		t.Fatalf("%d payment methods after %d requests with one key", n, len(results))
	}

	// Replay: the same bytes, marked.
	st, h, b := send("order-17-attempt", body)
	if st != http.StatusCreated || !bytes.Equal(b, created) || h.Get("Idempotent-Replayed") != "true" ||
		h.Get("Content-Type") != "application/json" {
		t.Fatalf("replay: %d %v %s", st, h, b)
	}
	// The same key with another body.
	st, _, b = send("order-17-attempt", cardBody(amexPAN, amexCVC))
	var e struct {
		Error struct{ Type, Code, Param string }
	}
	json.Unmarshal(b, &e)
	if st != 422 || e.Error.Code != "idempotency_key_reused" || e.Error.Type != "idempotency_error" || e.Error.Param != "Idempotency-Key" {
		t.Fatalf("reused key: %d %s", st, b)
	}
	// Another key makes another payment method; a request without a key
	// is never replayed.
	if st, _, _ := send("order-18", body); st != 201 {
		t.Fatalf("second key: %d", st)
	}
	if n := len(f.get(t, "/v1/payment_methods", a.SecretKey).json(t)["data"].([]any)); n != 2 {
		t.Fatalf("%d payment methods", n)
	}
}

func TestIdempotencyRules(t *testing.T) {
	t.Parallel()
	f := setup(t, func(o *Options) {
		o.extraRoutes = []route{{"POST", "/v1/test/panic", secret, func(*server, http.ResponseWriter, *http.Request) error {
			panic("boom")
		}}}
	})
	a, b := f.account(t), f.account(t)
	withKey := func(q req, key string) req {
		q.header = map[string]string{"Idempotency-Key": key}
		return q
	}

	// An error below 500 is stored and replayed like a success.
	bad := req{method: "POST", path: "/v1/payment_methods", key: a.SecretKey, body: `{"type":"card","card":{"number":"` + panLuhn + `","exp_month":12,"exp_year":2031}}`}
	first := f.do(t, withKey(bad, "k-bad"))
	wantError(t, first, 422, "card_error", "invalid_number", "card.number")
	again := f.do(t, withKey(bad, "k-bad"))
	if again.status != 422 || !bytes.Equal(again.body, first.body) || again.header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replayed error: %d %s", again.status, again.body)
	}

	// Keys belong to accounts: B may use A's key string.
	good := req{method: "POST", path: "/v1/payment_methods", body: cardBody(pan, cvc)}
	ga := good
	ga.key = a.SecretKey
	gb := good
	gb.key = b.SecretKey
	ra, rb := f.do(t, withKey(ga, "shared")), f.do(t, withKey(gb, "shared"))
	if ra.status != 201 || rb.status != 201 || ra.json(t)["id"] == rb.json(t)["id"] || rb.header.Get("Idempotent-Replayed") != "" {
		t.Fatalf("same key in two accounts: %d %d", ra.status, rb.status)
	}

	// The same key on another path is a reuse.
	id := ra.json(t)["id"].(string)
	res := f.do(t, withKey(req{method: "POST", path: "/v1/payment_methods/" + id + "/retain", key: a.SecretKey}, "shared"))
	wantError(t, res, 422, "idempotency_error", "idempotency_key_reused", "Idempotency-Key")

	// A panic is stored as the 500 it answered: the retry replays it
	// instead of running the handler (which may have moved money) again.
	p1 := f.do(t, withKey(req{method: "POST", path: "/v1/test/panic", key: a.SecretKey}, "k-panic"))
	wantError(t, p1, 500, "api_error", "internal_error", "")
	p2 := f.do(t, withKey(req{method: "POST", path: "/v1/test/panic", key: a.SecretKey}, "k-panic"))
	wantError(t, p2, 500, "api_error", "internal_error", "")
	if p2.header.Get("Idempotent-Replayed") != "true" || p1.header.Get("Idempotent-Replayed") != "" {
		t.Fatalf("panic retry: replayed %q, want the stored 500 replayed", p2.header.Get("Idempotent-Replayed"))
	}

	// Retain and redact are idempotent by key as well.
	r1 := f.do(t, withKey(req{method: "POST", path: "/v1/payment_methods/" + id + "/redact", key: a.SecretKey}, "k-redact"))
	r2 := f.do(t, withKey(req{method: "POST", path: "/v1/payment_methods/" + id + "/redact", key: a.SecretKey}, "k-redact"))
	if r1.status != 200 || !bytes.Equal(r1.body, r2.body) || r2.header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("redact replay: %d %d", r1.status, r2.status)
	}

	// Keys must be sensible.
	wantError(t, f.do(t, withKey(ga, strings.Repeat("k", 256))), 422, "invalid_request_error", "parameter_invalid", "Idempotency-Key")
	wantError(t, f.do(t, withKey(ga, " ")), 422, "invalid_request_error", "parameter_invalid", "Idempotency-Key")
	// GETs ignore the header.
	if res := f.do(t, withKey(req{method: "GET", path: "/v1/account", key: a.SecretKey}, "k-get")); res.status != 200 {
		t.Fatalf("GET with a key: %d", res.status)
	}
	// A body over the limit is refused before the key is claimed.
	big := ga
	big.body = `{"type":"card","email":"` + strings.Repeat("a", 2<<20) + `"}`
	wantError(t, f.do(t, withKey(big, "k-big")), 413, "invalid_request_error", "body_too_large", "body")
	res = f.do(t, withKey(ga, "k-big"))
	if res.status != 201 {
		t.Fatalf("key after a refused body: %d %s", res.status, res.body)
	}
}

// A body too large without a Content-Length (chunked) is caught while it
// is read, over a real connection.
func TestBodyLimitChunked(t *testing.T) {
	t.Parallel()
	f := setup(t)
	a := f.account(t)
	srv := httptest.NewServer(f.h)
	t.Cleanup(srv.Close)
	for _, key := range []string{"", "chunked-key"} {
		big := `{"type":"card","email":"` + strings.Repeat("a", 2<<20) + `"}`
		r, _ := http.NewRequest("POST", srv.URL+"/v1/payment_methods", io.MultiReader(strings.NewReader(big)))
		r.ContentLength = -1
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Authorization", "Bearer "+a.SecretKey)
		if key != "" {
			r.Header.Set("Idempotency-Key", key)
		}
		res, err := srv.Client().Do(r)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		var e struct{ Error struct{ Code, Param string } }
		json.Unmarshal(b, &e)
		if res.StatusCode != 413 || e.Error.Code != "body_too_large" || e.Error.Param != "body" {
			t.Errorf("key %q: %d %s", key, res.StatusCode, b)
		}
	}
	if res := f.get(t, "/v1/account", a.SecretKey); res.status != 200 {
		t.Fatal("server unwell after a large body")
	}
}

// A client that goes away must not leave its key in flight: the key is
// completed with whatever the handler answered.
func TestIdempotencyClientGone(t *testing.T) {
	t.Parallel()
	var calls sync.Map // path → number of calls
	blockOnce := func(ok bool) func(*server, http.ResponseWriter, *http.Request) error {
		return func(_ *server, w http.ResponseWriter, r *http.Request) error {
			n, _ := calls.LoadOrStore(r.URL.Path, new(atomic.Int32))
			if n.(*atomic.Int32).Add(1) == 1 {
				<-r.Context().Done() // the first call outlives its client
				if !ok {
					return r.Context().Err()
				}
			}
			return api.JSON(w, http.StatusOK, map[string]string{"path": r.URL.Path})
		}
	}
	f := setup(t, func(o *Options) {
		o.extraRoutes = []route{
			{"POST", "/v1/test/gone-fails", secret, blockOnce(false)},
			{"POST", "/v1/test/gone-succeeds", secret, blockOnce(true)},
		}
	})
	a := f.account(t)
	srv := httptest.NewServer(f.h)
	t.Cleanup(srv.Close)
	send := func(ctx context.Context, path string) (*http.Response, error) {
		r, _ := http.NewRequestWithContext(ctx, "POST", srv.URL+path, nil)
		r.Header.Set("Authorization", "Bearer "+a.SecretKey)
		r.Header.Set("Idempotency-Key", "gone "+path)
		return srv.Client().Do(r)
	}
	for _, tc := range []struct {
		path   string
		status int
	}{
		{"/v1/test/gone-fails", http.StatusInternalServerError}, // its failure is stored
		{"/v1/test/gone-succeeds", http.StatusOK},               // its success is stored
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		if res, err := send(ctx, tc.path); err == nil {
			b, _ := io.ReadAll(res.Body)
			t.Fatalf("%s: the first request should have timed out: %d %v %s", tc.path, res.StatusCode, res.Header, b)
		}
		cancel()
		// The server settles the key once it notices the client is gone.
		deadline := time.Now().Add(10 * time.Second)
		for {
			res, err := send(context.Background(), tc.path)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode == tc.status {
				if got := res.Header.Get("Idempotent-Replayed"); got != "true" {
					t.Errorf("%s: Idempotent-Replayed %q, want a replay", tc.path, got)
				}
				break
			}
			if res.StatusCode != http.StatusConflict || time.Now().After(deadline) {
				t.Fatalf("%s: retry got %d", tc.path, res.StatusCode)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// The routes that make API keys ignore Idempotency-Key: a stored response
// would keep the new secret in the database, in plain text, for anyone
// replaying the key. A retry makes another key.
func TestIdempotencyKeepsNoSecret(t *testing.T) {
	t.Parallel()
	f := setup(t)
	a := f.account(t)
	withKey := func(q req) req {
		q.key = a.SecretKey
		q.header = map[string]string{"Idempotency-Key": "k-secret " + q.path}
		return q
	}
	var secrets []string
	send := func(q req, status int) map[string]any {
		t.Helper()
		res := f.do(t, withKey(q))
		if res.status != status || res.header.Get("Idempotent-Replayed") != "" {
			t.Fatalf("%s %s: %d %v %s", q.method, q.path, res.status, res.header, res.body)
		}
		k := res.json(t)
		secret, _ := k["secret"].(string)
		if secret == "" {
			t.Fatalf("%s %s: no secret in %s", q.method, q.path, res.body)
		}
		secrets = append(secrets, secret)
		return k
	}

	create := req{method: "POST", path: "/v1/api_keys", body: `{"type":"secret"}`}
	first, second := send(create, 201), send(create, 201)
	if first["id"] == second["id"] {
		t.Fatalf("the retry replayed key %s", first["id"])
	}
	// In its grace period the old key is still active: rolling it again
	// makes a third key.
	roll := req{method: "POST", path: "/v1/api_keys/" + first["id"].(string) + "/roll", body: `{"expires_in":3600}`}
	rolled, again := send(roll, 200), send(roll, 200)
	if rolled["id"] == first["id"] || rolled["id"] == again["id"] {
		t.Fatalf("rolls made %s and %s of %s", rolled["id"], again["id"], first["id"])
	}

	var db []byte
	for _, suffix := range []string{"", "-wal", "-shm"} {
		b, err := os.ReadFile(f.dbPath + suffix)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			t.Fatal(err)
		}
		db = append(db, b...)
	}
	if len(db) == 0 {
		t.Fatal("no database read")
	}
	for _, s := range secrets {
		if bytes.Contains(db, []byte(s)) {
			t.Errorf("the database holds the secret %s…", s[:16])
		}
	}
}
