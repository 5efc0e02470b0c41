package payment

import "time"

// The simulator gateway (kassa's test gateway) keeps a ledger of its own, as
// an outside provider would. Its rules live with the simulator; these are
// the plain records the stores keep for it, so that a store can hold the
// ledger without knowing the gateway. None of them holds card data.

// SimulatorOperation is one request the simulator processed: enough to
// recognise a repeat of its reference and to answer it, or a status query,
// as the first time.
type SimulatorOperation struct {
	// GatewayID is the configured gateway; Reference is kassa's reference
	// (the operation id), unique per gateway.
	GatewayID string
	Reference string
	// Kind, Amount and PriorReference are what the first call asked.
	Kind           OperationKind
	Amount         int64
	PriorReference string
	// Result is what really happened: for a lost response, the success.
	Result SimulatorResult
	// Calls counts the calls with this reference that reached the ledger,
	// the first one included: 1 unless the reference was repeated. Calls
	// the simulator did not let arrive (outage, latency cut short, an
	// amount that is not sent) are not counted.
	Calls int
	// CreatedAt is the time of the first call, UpdatedAt of the latest.
	CreatedAt time.Time
	UpdatedAt time.Time
}

// SimulatorResult is the simulator's answer to an operation, without
// transcript.
type SimulatorResult struct {
	Outcome              Outcome
	GatewayReference     string
	DeclineCode          string
	ResponseCode         string
	Message              string
	AVSCode              string
	CVVCode              string
	NetworkTransactionID string
}

// SimulatorAuthorization is the simulator's ledger of one successful
// authorization or purchase, keyed by its gateway reference.
type SimulatorAuthorization struct {
	GatewayID        string
	GatewayReference string
	// Kind is OpAuthorize or OpPurchase.
	Kind     OperationKind
	Currency string
	// Captured ≤ Authorized and Refunded ≤ Captured, in minor units.
	Authorized int64
	Captured   int64
	Refunded   int64
	Voided     bool
	// LosesResponse is the follow-up kind (capture, refund, void) whose
	// response the simulator loses, from the card the authorization was
	// made with; "" for none.
	LosesResponse OperationKind
}
