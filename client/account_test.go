package client_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/kassapay/kassa/client"
)

const accountJSON = `{"id":"T12345678","object":"account","name":"Acme","live":false,"created_at":"2026-01-02T03:04:05Z"}`

func TestAccount(t *testing.T) {
	t.Parallel()
	c := newClient(t, exchange{method: "GET", uri: "/v1/account", resp: accountJSON})
	a, err := c.Account(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	want := &client.Account{ID: "T12345678", Object: "account", Name: "Acme", CreatedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	if !reflect.DeepEqual(a, want) {
		t.Errorf("got %+v, want %+v", a, want)
	}
}

func eventJSON(id, typ, data string) string {
	return `{"id":"` + id + `","object":"event","type":"` + typ + `","object_id":"pm_1","data":` + data +
		`,"created_at":"2026-03-01T12:00:00Z"}`
}

func TestEvents(t *testing.T) {
	t.Parallel()
	c := newClient(t,
		exchange{method: "GET", uri: "/v1/events?limit=1",
			resp: `{"object":"list","url":"/v1/events","has_more":true,"data":[` + eventJSON("evt_2", "payment_method.retained", pmJSON) + `]}`},
		exchange{method: "GET", uri: "/v1/events?limit=1",
			resp: `{"object":"list","url":"/v1/events","has_more":true,"data":[` + eventJSON("evt_2", "payment_method.retained", pmJSON) + `]}`},
		exchange{method: "GET", uri: "/v1/events?limit=1&starting_after=evt_2",
			resp: `{"object":"list","url":"/v1/events","has_more":false,"data":[` + eventJSON("evt_1", "account.created", `{}`) + `]}`},
	)
	ctx := t.Context()
	l, err := c.Events(ctx, &client.ListParams{Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Data) != 1 || !l.HasMore {
		t.Fatalf("got %+v", l)
	}
	ev := l.Data[0]
	if ev.ID != "evt_2" || ev.Type != client.EventPaymentMethodRetained || ev.ObjectID != "pm_1" ||
		!ev.CreatedAt.Equal(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)) {
		t.Errorf("got %+v", ev)
	}
	pm, err := ev.PaymentMethod()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(pm, pm1) {
		t.Errorf("event's payment method = %+v", pm)
	}

	var got []*client.Event
	for ev, err := range c.AllEvents(ctx, &client.ListParams{Limit: 1}) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, ev)
	}
	if len(got) != 2 || got[0].ID != "evt_2" || got[1].ID != "evt_1" {
		t.Fatalf("got %v", got)
	}
	if _, err := got[1].PaymentMethod(); err == nil {
		t.Errorf("PaymentMethod of a %s event: no error", got[1].Type)
	}
}
