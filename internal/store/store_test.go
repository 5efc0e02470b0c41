package store

import (
	"testing"

	"github.com/kassapay/kassa/internal/payment"
)

func TestSnapshotPaymentIsACopy(t *testing.T) {
	t.Parallel()
	p := &payment.Payment{ID: "pay_1", AccountID: "A1",
		Operations: []*payment.Operation{{ID: "op_1", AccountID: "A1", PaymentID: "pay_1", Amount: 100}}}
	before, ops := SnapshotPayment(p)
	p.ID = "pay_2"
	p.Operations[0].Amount = 200
	if before.ID != "pay_1" || ops["op_1"].Amount != 100 || len(ops) != 1 {
		t.Errorf("snapshot follows the changes: %s, %+v", before.ID, ops)
	}
}

func TestCheckPaymentChange(t *testing.T) {
	t.Parallel()
	op := func(id, account, pay string, amount int64) *payment.Operation {
		return &payment.Operation{ID: id, AccountID: account, PaymentID: pay, Amount: amount}
	}
	existing := map[string]payment.Operation{"op_1": *op("op_1", "A1", "pay_1", 100)}
	tests := []struct {
		name   string
		change payment.PaymentChange
		ok     bool
	}{
		{"nothing", payment.PaymentChange{}, true},
		{"new operation and event", payment.PaymentChange{
			Operations: []*payment.Operation{op("op_2", "A1", "pay_1", 50)},
			Events:     []*payment.Event{{ID: "evt_1", AccountID: "A1"}}}, true},
		{"updated operation", payment.PaymentChange{Operations: []*payment.Operation{
			{ID: "op_1", AccountID: "A1", PaymentID: "pay_1", Amount: 100, Outcome: payment.OutcomeSucceeded}}}, true},
		{"immutable field changed", payment.PaymentChange{Operations: []*payment.Operation{op("op_1", "A1", "pay_1", 101)}}, false},
		{"operation of another payment", payment.PaymentChange{Operations: []*payment.Operation{op("op_2", "A1", "pay_2", 50)}}, false},
		{"operation of another account", payment.PaymentChange{Operations: []*payment.Operation{op("op_2", "A2", "pay_1", 50)}}, false},
		{"nil operation", payment.PaymentChange{Operations: []*payment.Operation{nil}}, false},
		{"event of another account", payment.PaymentChange{Events: []*payment.Event{{ID: "evt_1", AccountID: "A2"}}}, false},
		{"nil event", payment.PaymentChange{Events: []*payment.Event{nil}}, false},
	}
	for _, tt := range tests {
		err := CheckPaymentChange("A1", "pay_1", existing, &tt.change)
		if (err == nil) != tt.ok {
			t.Errorf("%s: error %v, want ok %v", tt.name, err, tt.ok)
		}
	}
}
