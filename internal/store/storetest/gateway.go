package storetest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/kassapay/kassa/internal/payment"
)

// newGateway returns a retained gateway with every field set, at
// credential version 1 (see newCred).
func newGateway(accountID string, created time.Time) *payment.Gateway {
	return &payment.Gateway{
		ID:          payment.NewID(payment.PrefixGateway),
		AccountID:   accountID,
		Type:        "simulator",
		Description: `Main "EU" gateway – ünïcode`,
		State:       payment.GatewayRetained,
		Sandbox:     true,
		// Every kind of JSON value. Integers come back as int64 (not
		// float64), at any depth.
		Settings: map[string]any{
			"base_url":   "https://sandbox.example.com/v1",
			"latency_ms": int64(5),
			"big":        int64(math.MaxInt64),
			"negative":   int64(-42),
			"ratio":      0.25,
			"enabled":    true,
			"nothing":    nil,
			"nested":     map[string]any{"n": int64(7), "list": []any{int64(1), "two", false, nil, 2.5}},
		},
		MerchantProfileKey: "mpk_123",
		SubMerchantKey:     "smk_456",
		DisabledOperations: []payment.OperationKind{payment.OpCredit, payment.OpStore},
		CredentialVersion:  1,
		CreatedAt:          created,
		UpdatedAt:          created.Add(time.Second),
	}
}

// newCred returns credential version v of g.
func newCred(g *payment.Gateway, v int, created time.Time) *payment.CredentialVersion {
	return &payment.CredentialVersion{
		AccountID:   g.AccountID,
		GatewayID:   g.ID,
		Version:     v,
		Sealed:      []byte(fmt.Sprintf("\x01sealed-v%d\x00\xff%s", v, payment.RandomString(8))),
		Public:      map[string]string{"merchant_id": fmt.Sprintf("m-%d", v), "région": "eu"},
		Description: fmt.Sprintf("version %d", v),
		CreatedBy:   "key_" + payment.RandomString(8),
		CreatedAt:   created,
	}
}

// createGateway stores g with cred and a "gateway.created" event and
// returns the event.
func createGateway(t *testing.T, s payment.Store, g *payment.Gateway, cred *payment.CredentialVersion) *payment.Event {
	t.Helper()
	ev := newEvent(g.AccountID, "gateway.created", g.ID, g.CreatedAt)
	if err := s.CreateGateway(context.Background(), g, cred, ev); err != nil {
		t.Fatalf("CreateGateway: %v", err)
	}
	return ev
}

func getGateway(t *testing.T, s payment.Store, accountID, id string) *payment.Gateway {
	t.Helper()
	g, err := s.Gateway(context.Background(), accountID, id)
	if err != nil {
		t.Fatalf("Gateway(%s): %v", id, err)
	}
	return g
}

func credVersions(t *testing.T, s payment.Store, accountID, gatewayID string) []*payment.CredentialVersion {
	t.Helper()
	cs, err := s.CredentialVersions(context.Background(), accountID, gatewayID)
	if err != nil {
		t.Fatalf("CredentialVersions(%s): %v", gatewayID, err)
	}
	return cs
}

func gwID(g *payment.Gateway) string { return g.ID }

func testGatewayRoundTrip(t *testing.T, s payment.Store) {
	ctx := context.Background()
	a := newAccount(t, s)

	full := newGateway(a.ID, t0)
	full.RedactedAt = ptr(t0.Add(time.Minute)) // not a real state, but every field must survive
	minimal := &payment.Gateway{
		ID:        payment.NewID(payment.PrefixGateway),
		AccountID: a.ID,
		Type:      "stripe",
		State:     payment.GatewayRetained,
		CreatedAt: t0.Add(time.Second),
		UpdatedAt: t0.Add(time.Second),
	}
	empty := newGateway(a.ID, t0.Add(2*time.Second))
	empty.Settings = map[string]any{}
	empty.DisabledOperations = []payment.OperationKind{}
	empty.Sandbox = false
	latency := newGateway(a.ID, t0.Add(3*time.Second))
	latency.Settings = map[string]any{"latency_ms": int64(5)}

	for _, tc := range []struct {
		name string
		g    *payment.Gateway
		cred *payment.CredentialVersion
	}{
		{"every field", full, newCred(full, 1, t0)},
		{"no credentials, nil settings and disabled operations", minimal, nil},
		{"empty settings and disabled operations", empty, newCred(empty, 1, t0)},
		{"integer setting", latency, &payment.CredentialVersion{AccountID: a.ID, GatewayID: latency.ID, Version: 1, CreatedAt: t0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev := createGateway(t, s, tc.g, tc.cred)
			equal(t, "Gateway after create", getGateway(t, s, a.ID, tc.g.ID), tc.g)
			if tc.cred == nil {
				equal(t, "CredentialVersions of a gateway without credentials", credVersions(t, s, a.ID, tc.g.ID), []*payment.CredentialVersion{})
				_, err := s.CredentialVersion(ctx, a.ID, tc.g.ID, 1)
				wantNotFound(t, "CredentialVersion 1 of a gateway without credentials", err)
			} else {
				got, err := s.CredentialVersion(ctx, a.ID, tc.g.ID, 1)
				if err != nil {
					t.Fatalf("CredentialVersion: %v", err)
				}
				equal(t, "CredentialVersion after create", got, tc.cred)
				equal(t, "CredentialVersions after create", credVersions(t, s, a.ID, tc.g.ID), []*payment.CredentialVersion{tc.cred})
			}
			if evs := allEvents(t, s, a.ID); len(evs) == 0 || !reflect.DeepEqual(evs[0], ev) {
				t.Errorf("newest event = %+v, want the gateway's %+v", evs, ev)
			}
		})
	}

	gs, more, err := s.Gateways(ctx, a.ID, payment.ListParams{})
	if err != nil || more {
		t.Fatalf("Gateways = %d, %v, %v", len(gs), more, err)
	}
	equal(t, "Gateways, newest first", gs, []*payment.Gateway{latency, empty, minimal, full})
}

func testGatewayConflicts(t *testing.T, s payment.Store) {
	ctx := context.Background()
	a := newAccount(t, s)
	g := newGateway(a.ID, t0)
	cred := newCred(g, 1, t0)
	ev := createGateway(t, s, g, cred)

	nothingWritten := func(t *testing.T, id string) {
		t.Helper()
		if id != g.ID {
			_, err := s.Gateway(ctx, a.ID, id)
			wantNotFound(t, "gateway whose creation failed", err)
		}
		equal(t, "gateway after a failed create", getGateway(t, s, a.ID, g.ID), g)
		equal(t, "credential versions after a failed create", credVersions(t, s, a.ID, g.ID), []*payment.CredentialVersion{cred})
		equal(t, "events after a failed create", allEvents(t, s, a.ID), []*payment.Event{ev})
	}

	dup := newGateway(a.ID, t0)
	dup.ID = g.ID
	wantConflict(t, "CreateGateway with a taken id",
		s.CreateGateway(ctx, dup, newCred(dup, 1, t0), newEvent(a.ID, "gateway.created", dup.ID, t0)))
	nothingWritten(t, dup.ID)

	other := newGateway(a.ID, t0)
	dupEvent := newEvent(a.ID, "gateway.created", other.ID, t0)
	dupEvent.ID = ev.ID
	wantConflict(t, "CreateGateway with a taken event id", s.CreateGateway(ctx, other, newCred(other, 1, t0), dupEvent))
	nothingWritten(t, other.ID)

	for _, tc := range []struct {
		name string
		mod  func(g *payment.Gateway, c *payment.CredentialVersion) *payment.CredentialVersion
	}{
		{"first version 2", func(g *payment.Gateway, c *payment.CredentialVersion) *payment.CredentialVersion {
			g.CredentialVersion, c.Version = 2, 2
			return c
		}},
		{"gateway and version disagree", func(g *payment.Gateway, c *payment.CredentialVersion) *payment.CredentialVersion {
			g.CredentialVersion = 0
			return c
		}},
		{"version of another gateway", func(g *payment.Gateway, c *payment.CredentialVersion) *payment.CredentialVersion {
			c.GatewayID = "gw_other"
			return c
		}},
		{"version without credentials", func(g *payment.Gateway, c *payment.CredentialVersion) *payment.CredentialVersion {
			return nil
		}},
	} {
		bad := newGateway(a.ID, t0)
		c := tc.mod(bad, newCred(bad, 1, t0))
		if err := s.CreateGateway(ctx, bad, c, newEvent(a.ID, "gateway.created", bad.ID, t0)); err == nil {
			t.Errorf("%s: CreateGateway succeeded", tc.name)
		}
		nothingWritten(t, bad.ID)
	}

	ghost := newGateway("T00000000", t0)
	err := s.CreateGateway(ctx, ghost, newCred(ghost, 1, t0), newEvent(ghost.AccountID, "gateway.created", ghost.ID, t0))
	wantNotFound(t, "CreateGateway for an unknown account", err)
}

func testGatewayPagination(t *testing.T, s payment.Store) {
	ctx := context.Background()
	a, b := newAccount(t, s), newAccount(t, s)
	var want []string
	for i := range 7 {
		bg := newGateway(b.ID, t0)
		bg.CredentialVersion = 0
		createGateway(t, s, bg, nil)
		g := newGateway(a.ID, t0.Add(time.Duration(i/2)*time.Second))
		createGateway(t, s, g, newCred(g, 1, t0))
		want = append(want, g.ID)
	}
	slices.Reverse(want)
	var got []string
	after := ""
	for i, wantPage := range []struct {
		n    int
		more bool
	}{{3, true}, {3, true}, {1, false}} {
		gs, more, err := s.Gateways(ctx, a.ID, payment.ListParams{Limit: 3, StartingAfter: after})
		if err != nil || len(gs) != wantPage.n || more != wantPage.more {
			t.Fatalf("page %d: %d items, hasMore %v, %v; want %d, %v", i, len(gs), more, err, wantPage.n, wantPage.more)
		}
		got = append(got, ids(gs, gwID)...)
		after = gs[len(gs)-1].ID
	}
	equal(t, "gateway pages, newest first", got, want)
	_, _, err := s.Gateways(ctx, a.ID, payment.ListParams{StartingAfter: "gw_unknown"})
	wantCursorNotFound(t, "Gateways starting after an unknown id", err)
}

func testCredentialVersions(t *testing.T, s payment.Store) {
	ctx := context.Background()
	a := newAccount(t, s)
	g := newGateway(a.ID, t0)
	v1 := newCred(g, 1, t0)
	created := createGateway(t, s, g, v1)

	// Rotation: version 2, with an event.
	now := t0.Add(time.Hour)
	v2 := newCred(g, 2, now)
	var rotated *payment.Event
	got, err := s.UpdateGateway(ctx, a.ID, g.ID, func(gw *payment.Gateway) (*payment.CredentialVersion, *payment.Event, error) {
		equal(t, "gateway given to fn", gw, g)
		gw.CredentialVersion = 2
		gw.UpdatedAt = now
		rotated = newEvent(a.ID, "gateway.credentials_rotated", gw.ID, now)
		return v2, rotated, nil
	})
	if err != nil {
		t.Fatalf("UpdateGateway (rotate): %v", err)
	}
	want := *g
	want.CredentialVersion = 2
	want.UpdatedAt = now
	equal(t, "UpdateGateway result", got, &want)
	equal(t, "stored gateway after rotation", getGateway(t, s, a.ID, g.ID), &want)
	equal(t, "versions after rotation, newest first", credVersions(t, s, a.ID, g.ID), []*payment.CredentialVersion{v2, v1})
	for _, v := range []*payment.CredentialVersion{v1, v2} {
		c, err := s.CredentialVersion(ctx, a.ID, g.ID, v.Version)
		if err != nil {
			t.Fatal(err)
		}
		equal(t, fmt.Sprintf("CredentialVersion(%d)", v.Version), c, v)
	}
	equal(t, "events after rotation", allEvents(t, s, a.ID), []*payment.Event{rotated, created})

	nothingWritten := func(t *testing.T) {
		t.Helper()
		equal(t, "gateway after a failed update", getGateway(t, s, a.ID, g.ID), &want)
		equal(t, "versions after a failed update", credVersions(t, s, a.ID, g.ID), []*payment.CredentialVersion{v2, v1})
		if n := len(allEvents(t, s, a.ID)); n != 2 {
			t.Errorf("%d events after a failed update, want 2", n)
		}
	}
	for _, tc := range []struct {
		name string
		fn   func(gw *payment.Gateway) (*payment.CredentialVersion, *payment.Event, error)
	}{
		{"version skipped", func(gw *payment.Gateway) (*payment.CredentialVersion, *payment.Event, error) {
			gw.CredentialVersion = 4
			return newCred(g, 4, now), nil, nil
		}},
		{"version repeated", func(gw *payment.Gateway) (*payment.CredentialVersion, *payment.Event, error) {
			return newCred(g, 2, now), nil, nil
		}},
		{"gateway not moved to the new version", func(gw *payment.Gateway) (*payment.CredentialVersion, *payment.Event, error) {
			return newCred(g, 3, now), newEvent(a.ID, "gateway.credentials_rotated", gw.ID, now), nil
		}},
		{"gateway moved without a version", func(gw *payment.Gateway) (*payment.CredentialVersion, *payment.Event, error) {
			gw.CredentialVersion = 3
			return nil, nil, nil
		}},
		{"version of another gateway", func(gw *payment.Gateway) (*payment.CredentialVersion, *payment.Event, error) {
			gw.CredentialVersion = 3
			c := newCred(g, 3, now)
			c.GatewayID = payment.NewID(payment.PrefixGateway)
			return c, nil, nil
		}},
		{"identity change", func(gw *payment.Gateway) (*payment.CredentialVersion, *payment.Event, error) {
			gw.CreatedAt = now
			return nil, nil, nil
		}},
		{"event conflict", func(gw *payment.Gateway) (*payment.CredentialVersion, *payment.Event, error) {
			gw.CredentialVersion = 3
			ev := newEvent(a.ID, "gateway.credentials_rotated", gw.ID, now)
			ev.ID = created.ID
			return newCred(g, 3, now), ev, nil
		}},
		{"event of another account", func(gw *payment.Gateway) (*payment.CredentialVersion, *payment.Event, error) {
			return nil, newEvent("T00000000", "gateway.updated", gw.ID, now), nil
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := s.UpdateGateway(ctx, a.ID, g.ID, tc.fn); err == nil {
				t.Error("UpdateGateway succeeded")
			}
			nothingWritten(t)
		})
	}
	t.Run("fn error", func(t *testing.T) {
		errNo := errors.New("no")
		_, err := s.UpdateGateway(ctx, a.ID, g.ID, func(gw *payment.Gateway) (*payment.CredentialVersion, *payment.Event, error) {
			gw.CredentialVersion = 3
			gw.Description = "changed"
			return newCred(g, 3, now), newEvent(a.ID, "gateway.updated", gw.ID, now), errNo
		})
		if err != errNo {
			t.Errorf("err = %v, want fn's error itself", err)
		}
		nothingWritten(t)
	})

	_, err = s.CredentialVersion(ctx, a.ID, g.ID, 3)
	wantNotFound(t, "CredentialVersion of a version that does not exist", err)
	_, err = s.CredentialVersions(ctx, a.ID, "gw_unknown")
	wantNotFound(t, "CredentialVersions of an unknown gateway", err)
	called := false
	_, err = s.UpdateGateway(ctx, a.ID, "gw_unknown", func(gw *payment.Gateway) (*payment.CredentialVersion, *payment.Event, error) {
		called = true
		return nil, nil, nil
	})
	wantNotFound(t, "UpdateGateway of an unknown gateway", err)
	if called {
		t.Error("fn called for an unknown gateway")
	}
}

// testGatewayRedaction checks that redacting a gateway through
// UpdateGateway destroys the ciphertext of every credential version in the
// same transaction, and that new credentials may follow.
func testGatewayRedaction(t *testing.T, s payment.Store) {
	ctx := context.Background()
	a := newAccount(t, s)
	g := newGateway(a.ID, t0)
	versions := []*payment.CredentialVersion{newCred(g, 1, t0)}
	createGateway(t, s, g, versions[0])
	for v := 2; v <= 3; v++ {
		c := newCred(g, v, t0.Add(time.Duration(v)*time.Minute))
		if _, err := s.UpdateGateway(ctx, a.ID, g.ID, func(gw *payment.Gateway) (*payment.CredentialVersion, *payment.Event, error) {
			gw.CredentialVersion = v
			return c, nil, nil
		}); err != nil {
			t.Fatal(err)
		}
		versions = append([]*payment.CredentialVersion{c}, versions...)
	}
	// A neighbour keeps its credentials.
	other := newGateway(a.ID, t0)
	otherCred := newCred(other, 1, t0)
	createGateway(t, s, other, otherCred)

	now := t0.Add(time.Hour)
	redactedEv := newEvent(a.ID, "gateway.redacted", g.ID, now)
	got, err := s.UpdateGateway(ctx, a.ID, g.ID, func(gw *payment.Gateway) (*payment.CredentialVersion, *payment.Event, error) {
		gw.State = payment.GatewayRedacted
		gw.RedactedAt = ptr(now)
		gw.UpdatedAt = now
		return nil, redactedEv, nil
	})
	if err != nil {
		t.Fatalf("UpdateGateway (redact): %v", err)
	}
	if got.State != payment.GatewayRedacted || got.RedactedAt == nil || !got.RedactedAt.Equal(now) || got.CredentialVersion != 3 {
		t.Errorf("redacted gateway = %+v", got)
	}
	stripped := func(cs []*payment.CredentialVersion) []*payment.CredentialVersion {
		var out []*payment.CredentialVersion
		for _, c := range cs {
			r := *c
			r.Sealed = nil
			out = append(out, &r)
		}
		return out
	}
	equal(t, "versions after redaction: ciphertexts gone, the rest kept", credVersions(t, s, a.ID, g.ID), stripped(versions))
	for _, c := range stripped(versions) {
		gc, err := s.CredentialVersion(ctx, a.ID, g.ID, c.Version)
		if err != nil {
			t.Fatal(err)
		}
		equal(t, "CredentialVersion after redaction", gc, c)
	}
	equal(t, "another gateway's versions after redaction", credVersions(t, s, a.ID, other.ID), []*payment.CredentialVersion{otherCred})
	if evs := allEvents(t, s, a.ID); evs[0].ID != redactedEv.ID {
		t.Errorf("newest event %s, want the redaction's", evs[0].Type)
	}

	// New credentials on a redacted gateway: it is retained again, and
	// only the new version holds a ciphertext.
	v4 := newCred(g, 4, now.Add(time.Minute))
	got, err = s.UpdateGateway(ctx, a.ID, g.ID, func(gw *payment.Gateway) (*payment.CredentialVersion, *payment.Event, error) {
		gw.State = payment.GatewayRetained
		gw.RedactedAt = nil
		gw.CredentialVersion = 4
		return v4, nil, nil
	})
	if err != nil {
		t.Fatalf("UpdateGateway (new credentials): %v", err)
	}
	if got.State != payment.GatewayRetained || got.CredentialVersion != 4 {
		t.Errorf("gateway with new credentials = %+v", got)
	}
	equal(t, "versions after new credentials", credVersions(t, s, a.ID, g.ID),
		append([]*payment.CredentialVersion{v4}, stripped(versions)...))

	// Redacting while inserting a version destroys that one too: every
	// version of a redacted gateway is destroyed.
	if _, err := s.UpdateGateway(ctx, a.ID, g.ID, func(gw *payment.Gateway) (*payment.CredentialVersion, *payment.Event, error) {
		gw.State = payment.GatewayRedacted
		gw.CredentialVersion = 5
		return newCred(g, 5, now), nil, nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, c := range credVersions(t, s, a.ID, g.ID) {
		if c.Sealed != nil {
			t.Errorf("version %d of a redacted gateway keeps its ciphertext", c.Version)
		}
	}
}

// testUpdateGatewayConcurrent rotates one gateway's credentials from
// several goroutines at once: each must see the previous rotation, so the
// versions stay sequential and none is lost.
func testUpdateGatewayConcurrent(t *testing.T, s payment.Store) {
	ctx := context.Background()
	a := newAccount(t, s)
	g := newGateway(a.ID, t0)
	createGateway(t, s, g, newCred(g, 1, t0))
	const n = 10
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			_, err := s.UpdateGateway(ctx, a.ID, g.ID, func(gw *payment.Gateway) (*payment.CredentialVersion, *payment.Event, error) {
				gw.CredentialVersion++
				return newCred(gw, gw.CredentialVersion, t0), nil, nil
			})
			if err != nil {
				t.Errorf("UpdateGateway: %v", err)
			}
		})
	}
	wg.Wait()
	if v := getGateway(t, s, a.ID, g.ID).CredentialVersion; v != n+1 {
		t.Errorf("CredentialVersion after %d concurrent rotations = %d, want %d", n, v, n+1)
	}
	cs := credVersions(t, s, a.ID, g.ID)
	for i, c := range cs {
		if c.Version != n+1-i {
			t.Errorf("versions = %v, want %d down to 1", ids(cs, func(c *payment.CredentialVersion) string { return fmt.Sprint(c.Version) }), n+1)
			break
		}
	}
}

func testGatewayIsolation(t *testing.T, s payment.Store) {
	ctx := context.Background()
	a, b := newAccount(t, s), newAccount(t, s)
	g := newGateway(a.ID, t0)
	cred := newCred(g, 1, t0)
	createGateway(t, s, g, cred)

	_, err := s.Gateway(ctx, b.ID, g.ID)
	wantNotFound(t, "Gateway of another account's id", err)
	// GatewayByID is the one unscoped lookup (notifications authenticate by
	// the gateway's key): it finds the gateway of any account, by id only.
	byID, err := s.GatewayByID(ctx, g.ID)
	if err != nil {
		t.Fatalf("GatewayByID: %v", err)
	}
	equal(t, "GatewayByID", byID, g)
	_, err = s.GatewayByID(ctx, "gw_missing")
	wantNotFound(t, "GatewayByID of an unknown id", err)
	_, err = s.CredentialVersion(ctx, b.ID, g.ID, 1)
	wantNotFound(t, "CredentialVersion of another account's gateway", err)
	_, err = s.CredentialVersions(ctx, b.ID, g.ID)
	wantNotFound(t, "CredentialVersions of another account's gateway", err)
	called := false
	_, err = s.UpdateGateway(ctx, b.ID, g.ID, func(gw *payment.Gateway) (*payment.CredentialVersion, *payment.Event, error) {
		called = true
		gw.State = payment.GatewayRedacted
		return nil, nil, nil
	})
	wantNotFound(t, "UpdateGateway of another account's id", err)
	if called {
		t.Error("UpdateGateway called fn for another account's gateway")
	}
	equal(t, "gateway after another account's update", getGateway(t, s, a.ID, g.ID), g)
	equal(t, "versions after another account's update", credVersions(t, s, a.ID, g.ID), []*payment.CredentialVersion{cred})

	gs, more, err := s.Gateways(ctx, b.ID, payment.ListParams{})
	if err != nil || len(gs) != 0 || more {
		t.Errorf("Gateways of another account = %v, %v, %v; want none", gs, more, err)
	}
	_, _, err = s.Gateways(ctx, b.ID, payment.ListParams{StartingAfter: g.ID})
	wantCursorNotFound(t, "Gateways starting after another account's id", err)

	// A credential version for B's gateway id cannot be attached to A's.
	bg := newGateway(b.ID, t0)
	bg.ID = g.ID
	wantConflict(t, "CreateGateway in B with A's gateway id", s.CreateGateway(ctx, bg, newCred(bg, 1, t0), nil))
}
