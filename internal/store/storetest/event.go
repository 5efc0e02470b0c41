package storetest

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/kassapay/kassa/internal/payment"
)

func testEvents(t *testing.T, s payment.Store) {
	ctx := context.Background()
	a, b := newAccount(t, s), newAccount(t, s)

	// Data is kept byte for byte: spacing, key order and escapes included.
	data := []json.RawMessage{
		json.RawMessage(`{"z": 1,  "a": [1, 2.50, "\u00e9"], "n": null}`),
		json.RawMessage(`"just a string"`),
		nil,
	}
	var want []*payment.Event
	for i := range 12 {
		pm := newPM(a.ID, t0.Add(time.Duration(i)*time.Second))
		ev := newEvent(a.ID, "payment_method.created", pm.ID, pm.CreatedAt)
		ev.Data = data[i%len(data)]
		if i%2 == 0 {
			ev.Actor = "user:usr_" + payment.RandomString(8) // read back as written
		}
		if err := s.CreatePaymentMethod(ctx, pm, ev); err != nil {
			t.Fatalf("CreatePaymentMethod: %v", err)
		}
		want = append(want, ev)
		createPM(t, s, newPM(b.ID, t0))
	}
	slices.Reverse(want)

	evs, more, err := s.Events(ctx, a.ID, payment.ListParams{Limit: 5})
	if err != nil || !more {
		t.Fatalf("Events = %d, %v, %v; want more", len(evs), more, err)
	}
	equal(t, "first page of events", evs, want[:5])
	evs, more, err = s.Events(ctx, a.ID, payment.ListParams{Limit: 5, StartingAfter: evs[4].ID})
	if err != nil || !more {
		t.Fatalf("Events = %d, %v, %v; want more", len(evs), more, err)
	}
	equal(t, "second page of events", evs, want[5:10])
	evs, more, err = s.Events(ctx, a.ID, payment.ListParams{Limit: 5, StartingAfter: evs[4].ID})
	if err != nil || more {
		t.Fatalf("Events = %d, %v, %v; want no more", len(evs), more, err)
	}
	equal(t, "last page of events", evs, want[10:])

	bEvents := allEvents(t, s, b.ID)
	_, _, err = s.Events(ctx, a.ID, payment.ListParams{StartingAfter: bEvents[0].ID})
	wantCursorNotFound(t, "Events starting after another account's event", err)
	_, _, err = s.Events(ctx, a.ID, payment.ListParams{StartingAfter: "evt_unknown"})
	wantCursorNotFound(t, "Events starting after an unknown id", err)
}
