package storetest

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/kassapay/kassa/internal/payment"
)

// page lists one page of some objects (their ids) after the cursor.
type page func(p payment.ListParams) (ids []string, hasMore bool, err error)

// checkPages walks list in pages of 10 in the order p.Ascending asks for
// and checks that they hold want in 10/10/5 and that nothing follows the
// last. want has 25 ids, in the order expected.
func checkPages(t *testing.T, what string, ascending bool, want []string, list page) {
	t.Helper()
	var got []string
	after := ""
	for i, wantPage := range []struct {
		n    int
		more bool
	}{{10, true}, {10, true}, {5, false}} {
		ids, more, err := list(payment.ListParams{Limit: 10, StartingAfter: after, Ascending: ascending})
		if err != nil {
			t.Fatalf("%s: page %d: %v", what, i, err)
		}
		if len(ids) != wantPage.n || more != wantPage.more {
			t.Fatalf("%s: page %d: %d items, hasMore %v; want %d, %v", what, i, len(ids), more, wantPage.n, wantPage.more)
		}
		got = append(got, ids...)
		after = ids[len(ids)-1]
	}
	equal(t, what+": pages", got, want)
	ids, more, err := list(payment.ListParams{StartingAfter: after, Ascending: ascending})
	if err != nil || len(ids) != 0 || more {
		t.Errorf("%s: page after the last = %d items, %v, %v; want none", what, len(ids), more, err)
	}
	ids, more, err = list(payment.ListParams{Limit: 24, StartingAfter: want[0], Ascending: ascending})
	if err != nil || !slices.Equal(ids, want[1:]) || more {
		t.Errorf("%s: page of 24 after the first = %d items, %v, %v; want the 24 others", what, len(ids), more, err)
	}
	ids, more, err = list(payment.ListParams{Limit: 5, StartingAfter: want[11], Ascending: ascending})
	if err != nil || !slices.Equal(ids, want[12:17]) || !more {
		t.Errorf("%s: page of 5 after the 12th = %v, %v, %v; want %v and more", what, ids, more, err, want[12:17])
	}
}

// pageOf adapts a store's list method to a page.
func pageOf[T any](list func(payment.ListParams) ([]T, bool, error), id func(T) string) page {
	return func(p payment.ListParams) ([]string, bool, error) {
		items, more, err := list(p)
		return ids(items, id), more, err
	}
}

// testListAscending lists payment methods, events, gateways and payments
// oldest first (ListParams.Ascending): 25 in pages of 10, 10 and 5, in
// creation order, with another account's objects interleaved and creation
// times repeated (the order is by insertion, not by clock).
func testListAscending(t *testing.T, s payment.Store) {
	ctx := context.Background()
	a, b := newAccount(t, s), newAccount(t, s)
	var pms, evs, gws, pays []string
	var bPM, bGW, bPay string
	for i := range 25 {
		at := t0.Add(time.Duration(i/2) * time.Second)
		bp := newPM(b.ID, t0)
		createPM(t, s, bp)
		bPM = bp.ID
		pm := newPM(a.ID, at)
		evs = append(evs, createPM(t, s, pm).ID)
		pms = append(pms, pm.ID)

		bg := newGateway(b.ID, t0)
		createGateway(t, s, bg, newCred(bg, 1, t0))
		bGW = bg.ID
		g := newGateway(a.ID, at)
		createGateway(t, s, g, newCred(g, 1, at))
		gws = append(gws, g.ID)

		bpay := newPayment(b.ID, t0)
		createPayment(t, s, bpay)
		bPay = bpay.ID
		p := newPayment(a.ID, at)
		createPayment(t, s, p)
		pays = append(pays, p.ID)
	}
	// Gateways and payments write events too: 3 of A's a round.
	allA := allEventIDs(t, s, a.ID)
	if len(allA) != 75 {
		t.Fatalf("A has %d events, want 75", len(allA))
	}

	pmPage := pageOf(func(p payment.ListParams) ([]*payment.PaymentMethod, bool, error) {
		return s.PaymentMethods(ctx, a.ID, p)
	}, pmID)
	gwPage := pageOf(func(p payment.ListParams) ([]*payment.Gateway, bool, error) { return s.Gateways(ctx, a.ID, p) }, gwID)
	payPage := pageOf(func(p payment.ListParams) ([]*payment.Payment, bool, error) {
		return s.Payments(ctx, a.ID, payment.PaymentFilter{ListParams: p})
	}, payID)
	checkPages(t, "payment methods, oldest first", true, pms, pmPage)
	checkPages(t, "gateways, oldest first", true, gws, gwPage)
	checkPages(t, "payments, oldest first", true, pays, payPage)
	for _, tc := range []struct {
		what string
		want []string
		list page
	}{{"payment methods", pms, pmPage}, {"gateways", gws, gwPage}, {"payments", pays, payPage}} {
		newest := slices.Clone(tc.want)
		slices.Reverse(newest)
		checkPages(t, tc.what+", newest first", false, newest, tc.list)
	}

	got, more, err := s.Events(ctx, a.ID, payment.ListParams{Limit: 100, Ascending: true})
	if err != nil || more {
		t.Fatalf("Events ascending = %d, %v, %v", len(got), more, err)
	}
	wantAsc := slices.Clone(allA)
	slices.Reverse(wantAsc)
	equal(t, "events, oldest first", ids(got, evID), wantAsc)
	got, more, err = s.Events(ctx, a.ID, payment.ListParams{Limit: 10, StartingAfter: wantAsc[60], Ascending: true})
	if err != nil || !more {
		t.Fatalf("Events ascending after the 61st = %d, %v, %v", len(got), more, err)
	}
	equal(t, "events, oldest first, after the 61st", ids(got, evID), wantAsc[61:71])

	// Another account's cursor is not found, in either order.
	for _, asc := range []bool{true, false} {
		_, _, err = s.PaymentMethods(ctx, a.ID, payment.ListParams{StartingAfter: bPM, Ascending: asc})
		wantCursorNotFound(t, "PaymentMethods starting after B's", err)
		_, _, err = s.Gateways(ctx, a.ID, payment.ListParams{StartingAfter: bGW, Ascending: asc})
		wantCursorNotFound(t, "Gateways starting after B's", err)
		_, _, err = s.Payments(ctx, a.ID, payment.PaymentFilter{ListParams: payment.ListParams{StartingAfter: bPay, Ascending: asc}})
		wantCursorNotFound(t, "Payments starting after B's", err)
		_, _, err = s.Events(ctx, b.ID, payment.ListParams{StartingAfter: evs[0], Ascending: asc})
		wantCursorNotFound(t, "Events of B starting after A's", err)
	}
}

func evID(ev *payment.Event) string { return ev.ID }

// allEventIDs returns the ids of every event of the account, newest first.
func allEventIDs(t *testing.T, s payment.Store, accountID string) []string {
	t.Helper()
	var out []string
	p := payment.ListParams{Limit: 100}
	for {
		evs, more, err := s.Events(context.Background(), accountID, p)
		if err != nil {
			t.Fatalf("Events: %v", err)
		}
		out = append(out, ids(evs, evID)...)
		if !more {
			return out
		}
		p.StartingAfter = evs[len(evs)-1].ID
	}
}

// testOperationList lists operations of payments and outside them, in both
// orders, whole and by payment method.
func testOperationList(t *testing.T, s payment.Store) {
	ctx := context.Background()
	a, b := newAccount(t, s), newAccount(t, s)
	pmX := payment.NewID(payment.PrefixPaymentMethod)

	// 25 operations of A, in creation order: every third a payment's
	// authorization, the others verifications; the even ones on pmX.
	// B's verifications (on pmX's id too) are interleaved.
	var all []*payment.Operation
	for i := range 25 {
		bv := newVerification(b.ID, t0)
		bv.PaymentMethodID = pmX
		createVerification(t, s, bv)

		at := t0.Add(time.Duration(i/2) * time.Second)
		var op *payment.Operation
		if i%3 == 0 {
			p := newPayment(a.ID, at)
			if i%2 == 0 {
				p.PaymentMethodID = pmX
				p.Operations[0].PaymentMethodID = pmX
			}
			createPayment(t, s, p)
			op = p.Operations[0]
		} else {
			op = answered(newVerification(a.ID, at))
			op.Outcome = payment.OutcomeSucceeded
			if i%2 == 0 {
				op.PaymentMethodID = pmX
			}
			createVerification(t, s, op)
		}
		all = append(all, op)
	}
	// Lists leave the transcript out.
	listed := make([]*payment.Operation, len(all))
	for i, op := range all {
		c := *op
		c.Transcript = nil
		listed[i] = &c
	}
	ascending := ids(all, opID)
	descending := slices.Clone(ascending)
	slices.Reverse(descending)

	opPage := func(f payment.OperationFilter) page {
		return pageOf(func(p payment.ListParams) ([]*payment.Operation, bool, error) {
			f.ListParams = p
			return s.Operations(ctx, a.ID, f)
		}, opID)
	}
	checkPages(t, "operations, oldest first", true, ascending, opPage(payment.OperationFilter{}))
	checkPages(t, "operations, newest first", false, descending, opPage(payment.OperationFilter{}))

	got, more, err := s.Operations(ctx, a.ID, payment.OperationFilter{ListParams: payment.ListParams{Limit: 100, Ascending: true}})
	if err != nil || more {
		t.Fatalf("Operations = %d, %v, %v", len(got), more, err)
	}
	equal(t, "operations, whole, without transcripts", got, listed)
	for _, tc := range []struct {
		limit, want int
		more        bool
	}{{0, 10, true}, {-1, 10, true}, {1, 1, true}, {1000, 25, false}} {
		got, more, err := s.Operations(ctx, a.ID, payment.OperationFilter{ListParams: payment.ListParams{Limit: tc.limit}})
		if err != nil || len(got) != tc.want || more != tc.more {
			t.Errorf("Operations(limit %d) = %d items, %v, %v; want %d, %v", tc.limit, len(got), more, err, tc.want, tc.more)
		}
	}

	t.Run("by payment method", func(t *testing.T) {
		var onX []*payment.Operation
		for i, op := range listed {
			if i%2 == 0 {
				onX = append(onX, op)
			}
		}
		f := payment.OperationFilter{PaymentMethodID: pmX}
		for _, asc := range []bool{true, false} {
			want := slices.Clone(onX)
			if !asc {
				slices.Reverse(want)
			}
			var got []*payment.Operation
			f.StartingAfter, f.Ascending, f.Limit = "", asc, 5
			for {
				ops, more, err := s.Operations(ctx, a.ID, f)
				if err != nil {
					t.Fatalf("Operations(%+v): %v", f, err)
				}
				if len(ops) > 5 || (more && len(ops) != 5) {
					t.Fatalf("Operations(%+v) = %d items, hasMore %v", f, len(ops), more)
				}
				got = append(got, ops...)
				if !more {
					break
				}
				f.StartingAfter = ops[len(ops)-1].ID
			}
			equal(t, fmt.Sprintf("operations on pmX in pages of 5, ascending %v", asc), got, want)
		}
		// The cursor is a position, whatever the filter: all[1] is not on
		// pmX.
		ops, _, err := s.Operations(ctx, a.ID, payment.OperationFilter{PaymentMethodID: pmX,
			ListParams: payment.ListParams{Limit: 3, StartingAfter: all[1].ID, Ascending: true}})
		if err != nil {
			t.Fatal(err)
		}
		equal(t, "operations on pmX after one that is not", ids(ops, opID), []string{all[2].ID, all[4].ID, all[6].ID})
		ops, more, err := s.Operations(ctx, a.ID, payment.OperationFilter{PaymentMethodID: "pm_none"})
		if err != nil || len(ops) != 0 || more {
			t.Errorf("operations of a payment method without any = %d, %v, %v", len(ops), more, err)
		}
	})

	t.Run("isolation", func(t *testing.T) {
		bs, more, err := s.Operations(ctx, b.ID, payment.OperationFilter{ListParams: payment.ListParams{Limit: 100}})
		if err != nil || more || len(bs) != 25 {
			t.Fatalf("B's operations = %d, %v, %v; want its 25", len(bs), more, err)
		}
		for _, op := range bs {
			if op.AccountID != b.ID {
				t.Errorf("B's list holds %s of account %s", op.ID, op.AccountID)
			}
		}
		bs, _, err = s.Operations(ctx, b.ID, payment.OperationFilter{PaymentMethodID: all[1].PaymentMethodID})
		if err != nil || len(bs) != 0 {
			t.Errorf("B's operations on A's payment method = %d, %v; want none", len(bs), err)
		}
		for _, asc := range []bool{true, false} {
			_, _, err = s.Operations(ctx, b.ID, payment.OperationFilter{ListParams: payment.ListParams{StartingAfter: all[0].ID, Ascending: asc}})
			wantCursorNotFound(t, "B's Operations starting after A's operation", err)
			_, _, err = s.Operations(ctx, b.ID, payment.OperationFilter{PaymentMethodID: pmX, ListParams: payment.ListParams{StartingAfter: all[3].ID, Ascending: asc}})
			wantCursorNotFound(t, "B's Operations starting after A's payment operation", err)
		}
		_, _, err = s.Operations(ctx, a.ID, payment.OperationFilter{ListParams: payment.ListParams{StartingAfter: "op_unknown"}})
		wantCursorNotFound(t, "Operations starting after an unknown id", err)
	})
}
