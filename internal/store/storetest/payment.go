package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kassapay/kassa/internal/payment"
)

// newPayment returns an authorized payment of 10.00 EUR with every field
// set, and its succeeded authorize operation.
func newPayment(accountID string, created time.Time) *payment.Payment {
	p := &payment.Payment{
		ID:                payment.NewID(payment.PrefixPayment),
		AccountID:         accountID,
		Amount:            1000,
		Currency:          "EUR",
		GatewayID:         payment.NewID(payment.PrefixGateway),
		CredentialVersion: 2,
		PaymentMethodID:   payment.NewID(payment.PrefixPaymentMethod),
		Reference:         "order-" + payment.RandomString(6),
		Description:       `Order "42" – ünïcode`,
		Metadata:          map[string]string{"order": "42", "ключ": "значение", "empty": ""},
		StoredCredential:  &payment.StoredCredential{Initiator: "merchant", Reason: "recurring"},
		GatewaySpecificFields: map[string]any{
			"three_ds": map[string]any{"version": "2.2.0", "attempt": int64(1)},
			"level3":   true,
			"items":    []any{int64(3), 1.5, "x", nil},
		},
		Status:           payment.StatusAuthorized,
		AmountAuthorized: 1000,
		Test:             true,
		CreatedAt:        created,
		UpdatedAt:        created.Add(time.Second),
	}
	p.Operations = []*payment.Operation{answered(newOp(p, payment.OpAuthorize, 1000, payment.OutcomeSucceeded, created))}
	return p
}

// newOp returns an operation of p.
func newOp(p *payment.Payment, kind payment.OperationKind, amount int64, outcome payment.Outcome, created time.Time) *payment.Operation {
	return &payment.Operation{
		ID:                payment.NewID(payment.PrefixOperation),
		AccountID:         p.AccountID,
		PaymentID:         p.ID,
		PaymentMethodID:   p.PaymentMethodID,
		GatewayID:         p.GatewayID,
		CredentialVersion: p.CredentialVersion,
		Kind:              kind,
		Amount:            amount,
		Currency:          p.Currency,
		Outcome:           outcome,
		CreatedAt:         created,
		UpdatedAt:         created,
	}
}

// answered fills in a gateway's answer to op.
func answered(op *payment.Operation) *payment.Operation {
	op.GatewayReference = "ch_" + payment.RandomString(10)
	op.ResponseCode = "00"
	op.Message = "Approved – ünïcode"
	op.AVSCode = "Y"
	op.CVVCode = "M"
	op.NetworkTransactionID = "ntid-" + payment.RandomString(8)
	op.Transcript = []byte(`{"request":{"method":"POST","body":"{\"amount\":1000}"},"response":{"status":200}}`)
	return op
}

// routingTrace returns a router's trace of attempts on gateways, in JSON
// written the way no encoder would (spacing, unsorted keys, escapes), so
// that a store that re-formats it is caught.
func routingTrace(routerID string, gateways ...string) []byte {
	b := []byte(`{"router": "` + routerID + `",  "strategy":"priority", "attempts" : [`)
	for i, g := range gateways {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = fmt.Appendf(b, `{"gateway":%q,"outcome":"declined","note":"\u00e9 \"q\" – ü", "n":%d.0}`, g, i+1)
	}
	return append(b, "]}\n"...)
}

// createPayment stores p with a "payment.created" event and returns the
// event.
func createPayment(t *testing.T, s payment.Store, p *payment.Payment) *payment.Event {
	t.Helper()
	ev := newEvent(p.AccountID, "payment.created", p.ID, p.CreatedAt)
	if err := s.CreatePayment(context.Background(), p, []*payment.Event{ev}, nil); err != nil {
		t.Fatalf("CreatePayment: %v", err)
	}
	return ev
}

func getPayment(t *testing.T, s payment.Store, accountID, id string) *payment.Payment {
	t.Helper()
	p, err := s.Payment(context.Background(), accountID, id)
	if err != nil {
		t.Fatalf("Payment(%s): %v", id, err)
	}
	return p
}

// clonePayment copies p and its operations deeply enough for a test to
// change the copy.
func clonePayment(p *payment.Payment) *payment.Payment {
	c := *p
	c.Operations = nil
	for _, op := range p.Operations {
		o := *op
		c.Operations = append(c.Operations, &o)
	}
	return &c
}

func payID(p *payment.Payment) string { return p.ID }

func testPaymentRoundTrip(t *testing.T, s payment.Store) {
	ctx := context.Background()
	a := newAccount(t, s)

	full := newPayment(a.ID, t0)
	capture := newOp(full, payment.OpCapture, 400, payment.OutcomeUnknown, t0.Add(time.Minute))
	capture.DeclineCode = "processing_error"
	capture.ReconcileAttempts = 3
	capture.NextReconcileAt = ptr(t0.Add(time.Hour))
	capture.UpdatedAt = t0.Add(2 * time.Minute)
	refund := newOp(full, payment.OpRefund, 0, payment.OutcomePending, t0.Add(time.Minute)) // same time: order is by insertion
	full.Operations = append(full.Operations, capture, refund)
	full.Capture = true
	full.RequiresReview = true
	full.Voided = true

	minimal := &payment.Payment{
		ID:        payment.NewID(payment.PrefixPayment),
		AccountID: a.ID,
		Currency:  "JPY",
		Status:    payment.StatusInitiated,
		CreatedAt: t0,
		UpdatedAt: t0,
	}
	// A router's payment: its trace comes back byte for byte, spacing, key
	// order and escapes included (PostgreSQL's json, not jsonb).
	routed := newPayment(a.ID, t0)
	routed.RouterID = payment.NewID(payment.PrefixGateway)
	routed.RoutingTrace = routingTrace(routed.RouterID, routed.GatewayID)
	empty := newPayment(a.ID, t0)
	empty.Metadata = map[string]string{}
	empty.GatewaySpecificFields = map[string]any{}
	empty.StoredCredential = &payment.StoredCredential{}
	empty.Operations[0].Transcript = nil

	for _, tc := range []struct {
		name string
		p    *payment.Payment
	}{
		{"every field, operations in insertion order", full},
		{"routed, with a trace", routed},
		{"no operations, nil maps, stored credential and trace", minimal},
		{"empty maps and stored credential", empty},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev := createPayment(t, s, tc.p)
			equal(t, "Payment after create", getPayment(t, s, a.ID, tc.p.ID), tc.p)
			for _, op := range tc.p.Operations {
				got, err := s.Operation(ctx, a.ID, op.ID)
				if err != nil {
					t.Fatalf("Operation(%s): %v", op.ID, err)
				}
				equal(t, "Operation after create", got, op)
			}
			if evs := allEvents(t, s, a.ID); len(evs) == 0 || evs[0].ID != ev.ID {
				t.Errorf("the payment's event was not written")
			}
		})
	}

	// An empty transcript or trace is stored as none.
	p := newPayment(a.ID, t0)
	p.Operations[0].Transcript = []byte{}
	p.RoutingTrace = []byte{}
	createPayment(t, s, p)
	got := getPayment(t, s, a.ID, p.ID)
	if got.Operations[0].Transcript != nil {
		t.Errorf("empty transcript read back as %q, want nil", got.Operations[0].Transcript)
	}
	if got.RoutingTrace != nil {
		t.Errorf("empty routing trace read back as %q, want nil", got.RoutingTrace)
	}

	// A trace that is not JSON is refused by the database, in either
	// backend.
	bad := newPayment(a.ID, t0)
	bad.RouterID = payment.NewID(payment.PrefixGateway)
	bad.RoutingTrace = []byte(`{"attempts":[`)
	if err := s.CreatePayment(ctx, bad, nil, nil); err == nil {
		t.Error("CreatePayment stored a routing trace that is not JSON")
	}
	_, err := s.Payment(ctx, a.ID, bad.ID)
	wantNotFound(t, "payment with a trace that is not JSON", err)

	// Several events with one payment.
	q := newPayment(a.ID, t0)
	evs := []*payment.Event{
		newEvent(a.ID, "payment.created", q.ID, t0),
		newEvent(a.ID, "payment.authorized", q.ID, t0),
	}
	if err := s.CreatePayment(ctx, q, evs, nil); err != nil {
		t.Fatal(err)
	}
	slices.Reverse(evs)
	equal(t, "the payment's events", allEvents(t, s, a.ID)[:2], evs)
}

// testPaymentTimes checks that payment and operation times come back in
// UTC, truncated to microseconds.
func testPaymentTimes(t *testing.T, s payment.Store) {
	ctx := context.Background()
	a := newAccount(t, s)
	zone := time.FixedZone("UTC-3:30", -(3*3600 + 1800))
	local := time.Date(2030, 6, 7, 8, 9, 10, 123456789, zone)
	want := local.UTC().Truncate(time.Microsecond)

	p := newPayment(a.ID, local)
	p.UpdatedAt = local
	p.Operations[0].NextReconcileAt = ptr(local)
	createPayment(t, s, p)
	check := func(what string, got *payment.Payment) {
		t.Helper()
		op := got.Operations[0]
		for name, v := range map[string]time.Time{
			"CreatedAt": got.CreatedAt, "UpdatedAt": got.UpdatedAt,
			"operation CreatedAt": op.CreatedAt, "operation UpdatedAt": op.UpdatedAt, "NextReconcileAt": *op.NextReconcileAt,
		} {
			if v != want {
				t.Errorf("%s: %s = %v, want %v", what, name, v, want)
			}
		}
	}
	check("Payment", getPayment(t, s, a.ID, p.ID))
	got, err := s.UpdatePayment(ctx, a.ID, p.ID, func(p *payment.Payment) (*payment.PaymentChange, error) {
		p.UpdatedAt = local
		op := p.Operations[0]
		op.UpdatedAt = local
		return &payment.PaymentChange{Operations: []*payment.Operation{op}}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	check("UpdatePayment result", got)

	g := newGateway(a.ID, local)
	g.UpdatedAt, g.RedactedAt = local, ptr(local)
	createGateway(t, s, g, newCred(g, 1, local))
	gg := getGateway(t, s, a.ID, g.ID)
	c, err := s.CredentialVersion(ctx, a.ID, g.ID, 1)
	if err != nil {
		t.Fatal(err)
	}
	if gg.CreatedAt != want || gg.UpdatedAt != want || *gg.RedactedAt != want || c.CreatedAt != want {
		t.Errorf("gateway times = %v, %v, %v, %v; want %v", gg.CreatedAt, gg.UpdatedAt, *gg.RedactedAt, c.CreatedAt, want)
	}
}

func testPaymentConflicts(t *testing.T, s payment.Store) {
	ctx := context.Background()
	a := newAccount(t, s)
	p := newPayment(a.ID, t0)
	ev := createPayment(t, s, p)

	nothingWritten := func(t *testing.T, id string) {
		t.Helper()
		if id != p.ID {
			_, err := s.Payment(ctx, a.ID, id)
			wantNotFound(t, "payment whose creation failed", err)
		}
		equal(t, "payment after a failed create", getPayment(t, s, a.ID, p.ID), p)
		equal(t, "events after a failed create", allEvents(t, s, a.ID), []*payment.Event{ev})
	}
	for _, tc := range []struct {
		name     string
		mod      func(q *payment.Payment) []*payment.Event
		conflict bool
	}{
		{"taken payment id", func(q *payment.Payment) []*payment.Event {
			q.ID = p.ID
			for _, op := range q.Operations {
				op.PaymentID = p.ID
			}
			return nil
		}, true},
		{"taken operation id", func(q *payment.Payment) []*payment.Event {
			q.Operations[0].ID = p.Operations[0].ID
			return nil
		}, true},
		{"taken event id", func(q *payment.Payment) []*payment.Event {
			e := newEvent(a.ID, "payment.created", q.ID, t0)
			e.ID = ev.ID
			return []*payment.Event{e}
		}, true},
		{"operation of another payment", func(q *payment.Payment) []*payment.Event {
			q.Operations[0].PaymentID = p.ID
			return nil
		}, false},
		{"operation of another account", func(q *payment.Payment) []*payment.Event {
			q.Operations[0].AccountID = "T00000000"
			return nil
		}, false},
		{"operation outside any payment", func(q *payment.Payment) []*payment.Event {
			q.Operations[0].PaymentID = ""
			return nil
		}, false},
		{"event of another account", func(q *payment.Payment) []*payment.Event {
			return []*payment.Event{newEvent("T00000000", "payment.created", q.ID, t0)}
		}, false},
		{"more captured than authorized", func(q *payment.Payment) []*payment.Event {
			q.AmountCaptured = q.AmountAuthorized + 1
			return nil
		}, false},
		{"more refunded than captured", func(q *payment.Payment) []*payment.Event {
			q.AmountCaptured, q.AmountRefunded = 100, 101
			return nil
		}, false},
		{"negative amount", func(q *payment.Payment) []*payment.Event {
			q.Operations[0].Amount = -1
			return nil
		}, false},
		{"unknown status", func(q *payment.Payment) []*payment.Event {
			q.Status = "SETTLED"
			return nil
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := newPayment(a.ID, t0)
			evs := tc.mod(q)
			if evs == nil {
				evs = []*payment.Event{newEvent(a.ID, "payment.created", q.ID, t0)}
			}
			err := s.CreatePayment(ctx, q, evs, nil)
			if tc.conflict {
				wantConflict(t, "CreatePayment", err)
			} else if err == nil {
				t.Error("CreatePayment succeeded")
			}
			nothingWritten(t, q.ID)
		})
	}

	ghost := newPayment("T00000000", t0)
	err := s.CreatePayment(ctx, ghost, []*payment.Event{newEvent(ghost.AccountID, "payment.created", ghost.ID, t0)}, nil)
	wantNotFound(t, "CreatePayment for an unknown account", err)
}

func testPaymentList(t *testing.T, s payment.Store) {
	ctx := context.Background()
	a, b := newAccount(t, s), newAccount(t, s)
	gwX, gwY := payment.NewID(payment.PrefixGateway), payment.NewID(payment.PrefixGateway)
	pmX, pmY := payment.NewID(payment.PrefixPaymentMethod), payment.NewID(payment.PrefixPaymentMethod)
	onPMX := func(i int) bool { return i%5 == 0 || i%5 == 3 }
	statuses := []payment.Status{payment.StatusAuthorized, payment.StatusCaptured, payment.StatusRefunded}
	var all []*payment.Payment // newest first
	idx := map[string]int{}
	for i := range 25 {
		bp := newPayment(b.ID, t0)
		bp.GatewayID, bp.PaymentMethodID = gwX, pmX
		for _, op := range bp.Operations {
			op.GatewayID, op.PaymentMethodID = gwX, pmX
		}
		createPayment(t, s, bp)

		p := newPayment(a.ID, t0.Add(time.Duration(i/2)*time.Second))
		p.Status = statuses[i%3]
		p.Reference = fmt.Sprintf("order-%d", i%4)
		p.GatewayID = []string{gwX, gwY}[i%2]
		p.Operations[0].GatewayID = p.GatewayID
		p.PaymentMethodID = pmY
		if onPMX(i) {
			p.PaymentMethodID = pmX
		}
		p.Operations[0].PaymentMethodID = p.PaymentMethodID
		// 1 to 3 operations each, so pages mix payments with several.
		for j := range i % 3 {
			p.Operations = append(p.Operations, newOp(p, payment.OpCapture, int64(10+j), payment.OutcomePending, p.CreatedAt))
		}
		createPayment(t, s, p)
		all = append([]*payment.Payment{p}, all...)
		idx[p.ID] = i
	}

	// pages lists every payment matching f in pages of limit.
	pages := func(t *testing.T, f payment.PaymentFilter, limit int) []*payment.Payment {
		t.Helper()
		var got []*payment.Payment
		f.Limit = limit
		for range 30 {
			ps, more, err := s.Payments(ctx, a.ID, f)
			if err != nil {
				t.Fatalf("Payments(%+v): %v", f, err)
			}
			if len(ps) > limit || (more && len(ps) != limit) {
				t.Fatalf("Payments(%+v) = %d items, hasMore %v", f, len(ps), more)
			}
			got = append(got, ps...)
			if !more {
				return got
			}
			f.StartingAfter = ps[len(ps)-1].ID
		}
		t.Fatal("Payments never ends")
		return nil
	}

	t.Run("pages of 10", func(t *testing.T) {
		var got []*payment.Payment
		after := ""
		for i, wantPage := range []struct {
			n    int
			more bool
		}{{10, true}, {10, true}, {5, false}} {
			ps, more, err := s.Payments(ctx, a.ID, payment.PaymentFilter{ListParams: payment.ListParams{Limit: 10, StartingAfter: after}})
			if err != nil {
				t.Fatalf("page %d: %v", i, err)
			}
			if len(ps) != wantPage.n || more != wantPage.more {
				t.Fatalf("page %d: %d items, hasMore %v; want %d, %v", i, len(ps), more, wantPage.n, wantPage.more)
			}
			got = append(got, ps...)
			after = ps[len(ps)-1].ID
		}
		// Each payment with its own operations, in order.
		equal(t, "pages, newest first, with operations", got, all)
		ps, more, err := s.Payments(ctx, a.ID, payment.PaymentFilter{ListParams: payment.ListParams{StartingAfter: after}})
		if err != nil || len(ps) != 0 || more {
			t.Errorf("page after the oldest = %d items, %v, %v; want none", len(ps), more, err)
		}
	})

	for _, tc := range []struct {
		name  string
		f     payment.PaymentFilter
		match func(i int) bool
	}{
		{"none", payment.PaymentFilter{}, func(int) bool { return true }},
		{"status", payment.PaymentFilter{Status: payment.StatusCaptured}, func(i int) bool { return i%3 == 1 }},
		{"reference", payment.PaymentFilter{Reference: "order-2"}, func(i int) bool { return i%4 == 2 }},
		{"gateway", payment.PaymentFilter{GatewayID: gwY}, func(i int) bool { return i%2 == 1 }},
		{"status and gateway", payment.PaymentFilter{Status: payment.StatusRefunded, GatewayID: gwX}, func(i int) bool { return i%3 == 2 && i%2 == 0 }},
		{"all three", payment.PaymentFilter{Status: payment.StatusAuthorized, Reference: "order-0", GatewayID: gwX}, func(i int) bool { return i%3 == 0 && i%4 == 0 }},
		{"payment method", payment.PaymentFilter{PaymentMethodID: pmX}, onPMX},
		{"payment method and gateway", payment.PaymentFilter{PaymentMethodID: pmY, GatewayID: gwY}, func(i int) bool { return !onPMX(i) && i%2 == 1 }},
		{"all four", payment.PaymentFilter{Status: payment.StatusAuthorized, Reference: "order-0", GatewayID: gwX, PaymentMethodID: pmX},
			func(i int) bool { return i%3 == 0 && i%4 == 0 && onPMX(i) }},
		{"unknown payment method", payment.PaymentFilter{PaymentMethodID: "pm_none"}, func(int) bool { return false }},
		{"no match", payment.PaymentFilter{Reference: "order-9"}, func(int) bool { return false }},
		{"another account's status filter", payment.PaymentFilter{Status: payment.StatusDeclined}, func(int) bool { return false }},
	} {
		t.Run("filter "+tc.name, func(t *testing.T) {
			want := []*payment.Payment{}
			for _, p := range all {
				if tc.match(idx[p.ID]) {
					want = append(want, p)
				}
			}
			for _, limit := range []int{3, 100} {
				got := pages(t, tc.f, limit)
				if len(got) == 0 {
					got = []*payment.Payment{}
				}
				equal(t, fmt.Sprintf("Payments(%+v) in pages of %d", tc.f, limit), got, want)
			}
		})
	}

	t.Run("payment method, oldest first", func(t *testing.T) {
		var want []*payment.Payment
		for _, p := range slices.Backward(all) {
			if onPMX(idx[p.ID]) {
				want = append(want, p)
			}
		}
		for _, limit := range []int{3, 100} {
			got := pages(t, payment.PaymentFilter{PaymentMethodID: pmX, ListParams: payment.ListParams{Ascending: true}}, limit)
			equal(t, fmt.Sprintf("payments on pmX, oldest first, in pages of %d", limit), got, want)
		}
		// The cursor is a position, whatever the filter: the oldest (i = 0)
		// is on pmX, the next (i = 1) is not.
		ps, _, err := s.Payments(ctx, a.ID, payment.PaymentFilter{PaymentMethodID: pmX,
			ListParams: payment.ListParams{Limit: 2, StartingAfter: all[len(all)-2].ID, Ascending: true}})
		if err != nil {
			t.Fatal(err)
		}
		equal(t, "payments on pmX, oldest first, after one that is not", ids(ps, payID), ids(want[1:3], payID))
		ps, _, err = s.Payments(ctx, a.ID, payment.PaymentFilter{PaymentMethodID: pmX,
			ListParams: payment.ListParams{Limit: 2, StartingAfter: all[len(all)-2].ID}})
		if err != nil {
			t.Fatal(err)
		}
		equal(t, "payments on pmX, newest first, after one that is not", ids(ps, payID), ids(want[:1], payID))
	})

	t.Run("cursor outside the filter", func(t *testing.T) {
		// all[0] (i = 24) is AUTHORIZED: the cursor is a position, whatever
		// the filter.
		ps, more, err := s.Payments(ctx, a.ID, payment.PaymentFilter{Status: payment.StatusCaptured,
			ListParams: payment.ListParams{Limit: 100, StartingAfter: all[0].ID}})
		if err != nil || more {
			t.Fatalf("Payments = %d, %v, %v", len(ps), more, err)
		}
		var want []string
		for _, p := range all[1:] {
			if p.Status == payment.StatusCaptured {
				want = append(want, p.ID)
			}
		}
		equal(t, "captured payments after the newest", ids(ps, payID), want)
	})

	t.Run("isolation", func(t *testing.T) {
		bs, _, err := s.Payments(ctx, b.ID, payment.PaymentFilter{GatewayID: gwY, ListParams: payment.ListParams{Limit: 100}})
		if err != nil || len(bs) != 0 {
			t.Errorf("B's payments through A's gateway = %d, %v; want none", len(bs), err)
		}
		bs, _, err = s.Payments(ctx, b.ID, payment.PaymentFilter{ListParams: payment.ListParams{Limit: 100}})
		if err != nil || len(bs) != 25 {
			t.Fatalf("B's payments = %d, %v; want 25", len(bs), err)
		}
		for _, p := range bs {
			if p.AccountID != b.ID || len(p.Operations) != 1 || p.Operations[0].AccountID != b.ID {
				t.Errorf("B's list holds %+v", p)
			}
		}
		_, _, err = s.Payments(ctx, a.ID, payment.PaymentFilter{ListParams: payment.ListParams{StartingAfter: bs[0].ID}})
		wantCursorNotFound(t, "Payments starting after another account's payment", err)
		// Both accounts have payments on pmX: each sees its own.
		bs, more, err := s.Payments(ctx, b.ID, payment.PaymentFilter{PaymentMethodID: pmX, ListParams: payment.ListParams{Limit: 100}})
		if err != nil || more || len(bs) != 25 {
			t.Fatalf("B's payments on pmX = %d, %v, %v; want its 25", len(bs), more, err)
		}
		for _, p := range bs {
			if p.AccountID != b.ID {
				t.Errorf("B's payments on pmX hold %s of account %s", p.ID, p.AccountID)
			}
		}
		for _, asc := range []bool{true, false} {
			_, _, err = s.Payments(ctx, a.ID, payment.PaymentFilter{PaymentMethodID: pmX, ListParams: payment.ListParams{StartingAfter: bs[0].ID, Ascending: asc}})
			wantCursorNotFound(t, "Payments on pmX starting after B's payment on pmX", err)
		}
		bs, _, err = s.Payments(ctx, b.ID, payment.PaymentFilter{PaymentMethodID: pmY})
		if err != nil || len(bs) != 0 {
			t.Errorf("B's payments on A's payment method = %d, %v; want none", len(bs), err)
		}
		_, _, err = s.Payments(ctx, a.ID, payment.PaymentFilter{Status: payment.StatusCaptured, ListParams: payment.ListParams{StartingAfter: "pay_unknown"}})
		wantCursorNotFound(t, "Payments starting after an unknown id", err)
	})
}

func testUpdatePayment(t *testing.T, s payment.Store) {
	ctx := context.Background()
	a := newAccount(t, s)
	p := newPayment(a.ID, t0)
	created := createPayment(t, s, p)
	events := []*payment.Event{created}

	// Reserve: a pending capture.
	now := t0.Add(time.Minute)
	var capture *payment.Operation
	got, err := s.UpdatePayment(ctx, a.ID, p.ID, func(q *payment.Payment) (*payment.PaymentChange, error) {
		equal(t, "payment given to fn", q, p)
		capture = newOp(q, payment.OpCapture, 600, payment.OutcomePending, now)
		q.Operations = append(q.Operations, capture)
		q.UpdatedAt = now
		ev := newEvent(a.ID, "payment.capture_requested", q.ID, now)
		events = append([]*payment.Event{ev}, events...)
		return &payment.PaymentChange{Operations: []*payment.Operation{capture}, Events: []*payment.Event{ev}}, nil
	})
	if err != nil {
		t.Fatalf("UpdatePayment (reserve): %v", err)
	}
	want := clonePayment(p)
	want.Operations = append(want.Operations, capture)
	want.UpdatedAt = now
	equal(t, "UpdatePayment result after reserving", got, want)
	equal(t, "stored after reserving", getPayment(t, s, a.ID, p.ID), want)
	equal(t, "events after reserving", allEvents(t, s, a.ID), events)
	if got.Capturable() != 400 {
		t.Errorf("Capturable after reserving 600 of 1000 = %d, want 400", got.Capturable())
	}

	// Settle: the capture succeeded; amounts move and the status follows.
	later := now.Add(time.Second)
	got, err = s.UpdatePayment(ctx, a.ID, p.ID, func(q *payment.Payment) (*payment.PaymentChange, error) {
		equal(t, "payment given to fn", q, want)
		op := q.Operations[1]
		op.Outcome = payment.OutcomeSucceeded
		answered(op)
		op.ReconcileAttempts = 1
		op.NextReconcileAt = ptr(later)
		op.UpdatedAt = later
		q.AmountCaptured += op.Amount
		q.Status = payment.DeriveStatus(q)
		q.UpdatedAt = later
		ev := newEvent(a.ID, "payment.captured", q.ID, later)
		events = append([]*payment.Event{ev}, events...)
		return &payment.PaymentChange{Operations: []*payment.Operation{op}, Events: []*payment.Event{ev}}, nil
	})
	if err != nil {
		t.Fatalf("UpdatePayment (settle): %v", err)
	}
	want = clonePayment(want)
	settled := want.Operations[1]
	settled.Outcome = payment.OutcomeSucceeded
	settled.GatewayReference, settled.ResponseCode, settled.Message = got.Operations[1].GatewayReference, "00", got.Operations[1].Message
	settled.AVSCode, settled.CVVCode, settled.NetworkTransactionID = "Y", "M", got.Operations[1].NetworkTransactionID
	settled.Transcript = got.Operations[1].Transcript
	settled.ReconcileAttempts, settled.NextReconcileAt, settled.UpdatedAt = 1, ptr(later), later
	want.AmountCaptured = 600
	want.Status = payment.StatusPartiallyCaptured
	want.UpdatedAt = later
	equal(t, "UpdatePayment result after settling", got, want)
	equal(t, "stored after settling", getPayment(t, s, a.ID, p.ID), want)
	if op, err := s.Operation(ctx, a.ID, settled.ID); err != nil {
		t.Fatal(err)
	} else {
		equal(t, "settled operation", op, settled)
	}
	if len(settled.Transcript) == 0 || settled.Message == "" {
		t.Error("the gateway's answer was not stored")
	}
	equal(t, "events after settling", allEvents(t, s, a.ID), events)

	// Every column but the identity is written back, with or without a
	// change.
	t.Run("every field", func(t *testing.T) {
		got, err := s.UpdatePayment(ctx, a.ID, p.ID, func(q *payment.Payment) (*payment.PaymentChange, error) {
			q.Amount, q.Currency, q.GatewayID, q.CredentialVersion = 900, "NOK", "gw_routed", 7
			q.RouterID, q.RoutingTrace = "gw_router", routingTrace("gw_router", "gw_first", "gw_routed")
			q.PaymentMethodID, q.Capture, q.Reference, q.Description = "pm_other", true, "ref-2", ""
			q.Metadata, q.StoredCredential, q.GatewaySpecificFields = nil, nil, nil
			q.AmountAuthorized, q.AmountCaptured, q.AmountRefunded = 900, 900, 900
			q.Status, q.Voided, q.RequiresReview, q.Test = payment.StatusRefunded, true, true, false
			q.UpdatedAt = later.Add(time.Second)
			return nil, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		w := clonePayment(want)
		w.Amount, w.Currency, w.GatewayID, w.CredentialVersion = 900, "NOK", "gw_routed", 7
		w.RouterID, w.RoutingTrace = "gw_router", routingTrace("gw_router", "gw_first", "gw_routed")
		w.PaymentMethodID, w.Capture, w.Reference, w.Description = "pm_other", true, "ref-2", ""
		w.Metadata, w.StoredCredential, w.GatewaySpecificFields = nil, nil, nil
		w.AmountAuthorized, w.AmountCaptured, w.AmountRefunded = 900, 900, 900
		w.Status, w.Voided, w.RequiresReview, w.Test = payment.StatusRefunded, true, true, false
		w.UpdatedAt = later.Add(time.Second)
		equal(t, "UpdatePayment result", got, w)
		equal(t, "stored", getPayment(t, s, a.ID, p.ID), w)
		want = w
		equal(t, "events after an update without events", allEvents(t, s, a.ID), events)
	})

	other := newPayment(a.ID, t0)
	createPayment(t, s, other)
	events = append([]*payment.Event{allEvents(t, s, a.ID)[0]}, events...)

	nothingWritten := func(t *testing.T) {
		t.Helper()
		equal(t, "payment after a failed update", getPayment(t, s, a.ID, p.ID), want)
		equal(t, "other payment after a failed update", getPayment(t, s, a.ID, other.ID), other)
		equal(t, "events after a failed update", allEvents(t, s, a.ID), events)
	}
	errNo := payment.Conflict(payment.CodeInvalidState, "no")
	for _, tc := range []struct {
		name    string
		fn      func(q *payment.Payment) (*payment.PaymentChange, error)
		wantErr func(t *testing.T, err error)
	}{
		{"fn error", func(q *payment.Payment) (*payment.PaymentChange, error) {
			op := newOp(q, payment.OpRefund, 100, payment.OutcomePending, later)
			q.AmountRefunded = 0
			q.Description = "changed"
			return &payment.PaymentChange{Operations: []*payment.Operation{op},
				Events: []*payment.Event{newEvent(a.ID, "payment.refund_requested", q.ID, later)}}, errNo
		}, func(t *testing.T, err error) {
			if err != errNo {
				t.Errorf("err = %v, want fn's error itself", err)
			}
		}},
		{"immutable operation field changed", func(q *payment.Payment) (*payment.PaymentChange, error) {
			op := q.Operations[1]
			op.Amount = 1
			return &payment.PaymentChange{Operations: []*payment.Operation{op}}, nil
		}, nil},
		{"operation of another payment", func(q *payment.Payment) (*payment.PaymentChange, error) {
			op := newOp(other, payment.OpRefund, 10, payment.OutcomePending, later)
			return &payment.PaymentChange{Operations: []*payment.Operation{op}}, nil
		}, nil},
		{"operation id of another payment's operation", func(q *payment.Payment) (*payment.PaymentChange, error) {
			op := newOp(q, payment.OpRefund, 10, payment.OutcomeFailed, later)
			op.ID = other.Operations[0].ID
			return &payment.PaymentChange{Operations: []*payment.Operation{op}}, nil
		}, func(t *testing.T, err error) { wantConflict(t, "UpdatePayment", err) }},
		{"operation of another account", func(q *payment.Payment) (*payment.PaymentChange, error) {
			op := newOp(q, payment.OpRefund, 10, payment.OutcomePending, later)
			op.AccountID = "T00000000"
			return &payment.PaymentChange{Operations: []*payment.Operation{op}}, nil
		}, nil},
		{"event of another account", func(q *payment.Payment) (*payment.PaymentChange, error) {
			return &payment.PaymentChange{Events: []*payment.Event{newEvent("T00000000", "payment.updated", q.ID, later)}}, nil
		}, nil},
		{"taken event id", func(q *payment.Payment) (*payment.PaymentChange, error) {
			ev := newEvent(a.ID, "payment.updated", q.ID, later)
			ev.ID = created.ID
			q.Description = "changed"
			return &payment.PaymentChange{Events: []*payment.Event{ev}}, nil
		}, func(t *testing.T, err error) { wantConflict(t, "UpdatePayment", err) }},
		{"identity change", func(q *payment.Payment) (*payment.PaymentChange, error) {
			q.ID = payment.NewID(payment.PrefixPayment)
			return nil, nil
		}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.UpdatePayment(ctx, a.ID, p.ID, tc.fn)
			if tc.wantErr != nil {
				tc.wantErr(t, err)
			} else if err == nil {
				t.Error("UpdatePayment succeeded")
			}
			nothingWritten(t)
		})
	}

	// The result is what a read gives back, though nothing is read back:
	// times at the store's precision, an operation fn changed without
	// writing it as it was, new operations after the old ones.
	t.Run("result as stored", func(t *testing.T) {
		p := newPayment(a.ID, t0)
		createPayment(t, s, p)
		ns := t0.Add(time.Hour + 123*time.Nanosecond).In(time.FixedZone("X", 3600))
		got, err := s.UpdatePayment(ctx, a.ID, p.ID, func(q *payment.Payment) (*payment.PaymentChange, error) {
			q.Operations[0].Message = "changed but not written"
			q.Metadata["order"] = "changed in place" // a map fn changes in place is written
			q.AmountAuthorized = 700
			op := newOp(q, payment.OpCapture, 100, payment.OutcomePending, ns)
			op.NextReconcileAt = ptr(ns)
			op.Transcript = []byte{}
			q.Operations = append(q.Operations, op)
			q.UpdatedAt = ns
			return &payment.PaymentChange{Operations: []*payment.Operation{op}}, nil
		})
		if err != nil {
			t.Fatalf("UpdatePayment: %v", err)
		}
		stored := getPayment(t, s, a.ID, p.ID)
		equal(t, "UpdatePayment result", got, stored)
		if stored.Operations[0].Message == "changed but not written" {
			t.Error("an operation fn changed without writing it was stored")
		}
		if stored.Metadata["order"] != "changed in place" || stored.AmountAuthorized != 700 {
			t.Errorf("stored metadata %v, amount authorized %d: the update lost what fn changed", stored.Metadata, stored.AmountAuthorized)
		}
	})

	t.Run("not found", func(t *testing.T) {
		called := false
		_, err := s.UpdatePayment(ctx, a.ID, "pay_unknown", func(q *payment.Payment) (*payment.PaymentChange, error) {
			called = true
			return nil, nil
		})
		wantNotFound(t, "UpdatePayment of an unknown id", err)
		if called {
			t.Error("fn called for an unknown payment")
		}
	})
}

// testUpdatePaymentRouted follows a router's payment as it cascades: the
// first gateway declines, the second answers. Each step moves the gateway,
// credential version and trace of the payment, keeps the operations of
// earlier attempts as they were, and is read back as written.
func testUpdatePaymentRouted(t *testing.T, s payment.Store) {
	ctx := context.Background()
	a := newAccount(t, s)
	router, first, second := payment.NewID(payment.PrefixGateway), payment.NewID(payment.PrefixGateway), payment.NewID(payment.PrefixGateway)

	// Created on the first attempt, before any answer.
	p := newPayment(a.ID, t0)
	p.Status, p.AmountAuthorized = payment.StatusInitiated, 0
	p.GatewayID, p.CredentialVersion, p.RouterID = first, 1, router
	p.RoutingTrace = routingTrace(router)
	p.Operations[0] = newOp(p, payment.OpAuthorize, 1000, payment.OutcomePending, t0)
	createPayment(t, s, p)
	equal(t, "routed payment after create", getPayment(t, s, a.ID, p.ID), p)

	// The first gateway declines: the payment moves to the second, with a
	// new credential version, and the trace grows.
	at := t0.Add(time.Second)
	var retry *payment.Operation
	got, err := s.UpdatePayment(ctx, a.ID, p.ID, func(q *payment.Payment) (*payment.PaymentChange, error) {
		equal(t, "payment given to fn", q, p)
		declined := q.Operations[0]
		declined.Outcome, declined.DeclineCode, declined.UpdatedAt = payment.OutcomeDeclined, "do_not_honor", at
		q.GatewayID, q.CredentialVersion = second, 4
		q.RoutingTrace = routingTrace(router, first)
		retry = newOp(q, payment.OpAuthorize, 1000, payment.OutcomePending, at)
		q.Operations = append(q.Operations, retry)
		q.UpdatedAt = at
		return &payment.PaymentChange{Operations: []*payment.Operation{declined, retry}}, nil
	})
	if err != nil {
		t.Fatalf("UpdatePayment (next attempt): %v", err)
	}
	want := clonePayment(p)
	want.Operations[0].Outcome, want.Operations[0].DeclineCode, want.Operations[0].UpdatedAt = payment.OutcomeDeclined, "do_not_honor", at
	want.Operations = append(want.Operations, retry)
	want.GatewayID, want.CredentialVersion = second, 4
	want.RoutingTrace = routingTrace(router, first)
	want.UpdatedAt = at
	equal(t, "UpdatePayment result after the next attempt", got, want)
	equal(t, "stored after the next attempt", getPayment(t, s, a.ID, p.ID), want)
	if got.Operations[0].GatewayID != first || got.Operations[1].GatewayID != second {
		t.Errorf("attempts on %s and %s, want %s and %s", got.Operations[0].GatewayID, got.Operations[1].GatewayID, first, second)
	}

	// The payment leaves the router and its trace: both written back as
	// none.
	got, err = s.UpdatePayment(ctx, a.ID, p.ID, func(q *payment.Payment) (*payment.PaymentChange, error) {
		q.RouterID, q.RoutingTrace = "", nil
		return nil, nil
	})
	if err != nil {
		t.Fatalf("UpdatePayment (no router): %v", err)
	}
	want = clonePayment(want)
	want.RouterID, want.RoutingTrace = "", nil
	equal(t, "UpdatePayment result without a router", got, want)
	equal(t, "stored without a router", getPayment(t, s, a.ID, p.ID), want)

	// A trace that is not JSON is refused, and nothing is written.
	_, err = s.UpdatePayment(ctx, a.ID, p.ID, func(q *payment.Payment) (*payment.PaymentChange, error) {
		q.RouterID, q.RoutingTrace, q.GatewayID = router, []byte("not json"), first
		return nil, nil
	})
	if err == nil {
		t.Error("UpdatePayment stored a routing trace that is not JSON")
	}
	equal(t, "payment after a refused trace", getPayment(t, s, a.ID, p.ID), want)
}

// testUpdatePaymentConcurrentRefunds runs the reserve step of 50 refunds
// of 10 at once on a payment with 100 captured: each reserves only if
// what is captured, less what is refunded and what pending refunds hold,
// still covers it. Exactly 10 may succeed.
func testUpdatePaymentConcurrentRefunds(t *testing.T, s payment.Store) {
	ctx := context.Background()
	a := newAccount(t, s)
	p := newPayment(a.ID, t0)
	p.Amount, p.AmountAuthorized, p.AmountCaptured = 100, 100, 100
	p.Capture = true
	p.Status = payment.StatusCaptured
	p.Operations[0].Kind, p.Operations[0].Amount = payment.OpPurchase, 100
	createPayment(t, s, p)

	errInsufficient := errors.New("insufficient refundable amount")
	const n, amount = 50, 10
	var ok, refused atomic.Int32
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			_, err := s.UpdatePayment(ctx, a.ID, p.ID, func(q *payment.Payment) (*payment.PaymentChange, error) {
				var pending int64
				for _, op := range q.Operations {
					if op.Kind == payment.OpRefund && op.Outcome == payment.OutcomePending {
						pending += op.Amount
					}
				}
				if q.AmountCaptured-q.AmountRefunded-pending < amount {
					return nil, errInsufficient
				}
				op := newOp(q, payment.OpRefund, amount, payment.OutcomePending, t0.Add(time.Duration(i)*time.Millisecond))
				q.Operations = append(q.Operations, op)
				q.UpdatedAt = op.CreatedAt
				return &payment.PaymentChange{
					Operations: []*payment.Operation{op},
					Events:     []*payment.Event{newEvent(a.ID, "payment.refund_requested", q.ID, op.CreatedAt)},
				}, nil
			})
			switch {
			case err == nil:
				ok.Add(1)
			case errors.Is(err, errInsufficient):
				refused.Add(1)
			default:
				t.Errorf("UpdatePayment: %v", err)
			}
		})
	}
	wg.Wait()
	if ok.Load() != 10 || refused.Load() != n-10 {
		t.Errorf("%d refunds reserved, %d refused; want 10 and %d", ok.Load(), refused.Load(), n-10)
	}
	got := getPayment(t, s, a.ID, p.ID)
	var refunds int
	for _, op := range got.Operations {
		if op.Kind == payment.OpRefund {
			refunds++
		}
	}
	if refunds != 10 || got.Refundable() != 0 || got.AmountRefunded != 0 {
		t.Errorf("payment holds %d refund reservations, refundable %d, refunded %d; want 10, 0, 0", refunds, got.Refundable(), got.AmountRefunded)
	}
	if evs := allEvents(t, s, a.ID); len(evs) != 11 {
		t.Errorf("%d events, want 11", len(evs))
	}
}

// testPaymentInvariants checks that the database itself refuses a payment
// row that breaks the money invariants, whatever the update function did.
func testPaymentInvariants(t *testing.T, s payment.Store) {
	ctx := context.Background()
	a := newAccount(t, s)
	p := newPayment(a.ID, t0)
	p.AmountCaptured, p.AmountRefunded = 100, 50
	p.Status = payment.StatusPartiallyCapturedRefunded
	createPayment(t, s, p)

	for _, tc := range []struct {
		name string
		mod  func(q *payment.Payment)
	}{
		{"refunded more than captured", func(q *payment.Payment) { q.AmountRefunded = q.AmountCaptured + 1 }},
		{"captured more than authorized", func(q *payment.Payment) { q.AmountCaptured = q.AmountAuthorized + 1 }},
		{"negative refunded", func(q *payment.Payment) { q.AmountRefunded = -1 }},
		{"negative captured and refunded", func(q *payment.Payment) { q.AmountCaptured, q.AmountRefunded = -10, -20 }},
		{"negative authorized", func(q *payment.Payment) { q.AmountAuthorized, q.AmountCaptured, q.AmountRefunded = -1, -1, -1 }},
		{"negative amount", func(q *payment.Payment) { q.Amount = -1 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var op *payment.Operation
			_, err := s.UpdatePayment(ctx, a.ID, p.ID, func(q *payment.Payment) (*payment.PaymentChange, error) {
				op = newOp(q, payment.OpRefund, 51, payment.OutcomeSucceeded, t0)
				q.Operations = append(q.Operations, op)
				tc.mod(q)
				return &payment.PaymentChange{
					Operations: []*payment.Operation{op},
					Events:     []*payment.Event{newEvent(a.ID, "payment.refunded", q.ID, t0)},
				}, nil
			})
			if err == nil {
				t.Fatal("UpdatePayment wrote a payment that breaks the money invariants")
			}
			if errors.Is(err, payment.ErrNotFound) || errors.Is(err, payment.ErrConflict) {
				t.Errorf("err = %v, want an internal error", err)
			}
			equal(t, "payment after a refused update", getPayment(t, s, a.ID, p.ID), p)
			_, err = s.Operation(ctx, a.ID, op.ID)
			wantNotFound(t, "operation of a refused update", err)
			if n := len(allEvents(t, s, a.ID)); n != 1 {
				t.Errorf("%d events after a refused update, want 1", n)
			}
		})
	}
}

func testPaymentIsolation(t *testing.T, s payment.Store) {
	ctx := context.Background()
	a, b := newAccount(t, s), newAccount(t, s)
	p := newPayment(a.ID, t0)
	createPayment(t, s, p)

	_, err := s.Payment(ctx, b.ID, p.ID)
	wantNotFound(t, "Payment of another account's id", err)
	_, err = s.Operation(ctx, b.ID, p.Operations[0].ID)
	wantNotFound(t, "Operation of another account's id", err)
	called := false
	_, err = s.UpdatePayment(ctx, b.ID, p.ID, func(q *payment.Payment) (*payment.PaymentChange, error) {
		called = true
		q.AmountCaptured = q.AmountAuthorized
		return nil, nil
	})
	wantNotFound(t, "UpdatePayment of another account's id", err)
	if called {
		t.Error("UpdatePayment called fn for another account's payment")
	}
	equal(t, "payment after another account's update", getPayment(t, s, a.ID, p.ID), p)

	ps, more, err := s.Payments(ctx, b.ID, payment.PaymentFilter{Reference: p.Reference})
	if err != nil || len(ps) != 0 || more {
		t.Errorf("Payments of another account = %v, %v, %v; want none", ps, more, err)
	}

	// B's payment cannot take over A's operation by id.
	bp := newPayment(b.ID, t0)
	createPayment(t, s, bp)
	_, err = s.UpdatePayment(ctx, b.ID, bp.ID, func(q *payment.Payment) (*payment.PaymentChange, error) {
		op := newOp(q, payment.OpCapture, 1000, payment.OutcomeSucceeded, t0)
		op.ID = p.Operations[0].ID
		return &payment.PaymentChange{Operations: []*payment.Operation{op}}, nil
	})
	wantConflict(t, "UpdatePayment writing another account's operation id", err)
	equal(t, "payment after another account's write of its operation", getPayment(t, s, a.ID, p.ID), p)
}

// testUpdatePaymentPanic checks that an update function's panic reaches
// the caller, writes nothing and leaves the store usable (the transaction
// is rolled back and its connection released).
func testUpdatePaymentPanic(t *testing.T, s payment.Store) {
	ctx := context.Background()
	a := newAccount(t, s)
	p := newPayment(a.ID, t0)
	createPayment(t, s, p)

	func() {
		defer func() {
			if r := recover(); r != "boom" {
				t.Errorf("recovered %v, want fn's panic", r)
			}
		}()
		s.UpdatePayment(ctx, a.ID, p.ID, func(q *payment.Payment) (*payment.PaymentChange, error) {
			q.AmountCaptured = 1
			panic("boom")
		})
	}()
	equal(t, "payment after a panicking update", getPayment(t, s, a.ID, p.ID), p)

	tctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := s.UpdatePayment(tctx, a.ID, p.ID, func(q *payment.Payment) (*payment.PaymentChange, error) {
		q.Description = "after the panic"
		return nil, nil
	}); err != nil {
		t.Fatalf("UpdatePayment after a panicking one: %v", err)
	}
	if got := getPayment(t, s, a.ID, p.ID).Description; got != "after the panic" {
		t.Errorf("Description = %q", got)
	}
}
