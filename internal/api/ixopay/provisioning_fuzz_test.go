package ixopay

import (
	"testing"
)

// FuzzCreateConnector sends arbitrary bodies to createConnector: never a
// panic, never a 500, always IXOPAY's envelope.
func FuzzCreateConnector(f *testing.F) {
	for _, seed := range []string{
		simulatorBody("Simulator A", "sim-a"),
		`{"name":"abc","adapter":"Simulator","method":"Creditcard"}`,
		`{"name":"Meta","adapter":"MetaConnector","method":"MetaConnector","multiMethodMetaConnector":{"retries":9,"connectors":["CO-0000-0000-0000-0000-0000-0000"]}}`,
		`{"name":"Meta","adapter":"MetaConnector","method":"MetaConnector","routingMetaConnector":{"defaultConnector":""}}`,
		`{"name":"x","config":{"extraData":{"latency_ms":1e400}},"settings":{"a":[1]}}`,
		`{"addSettings":{"":null},"removeSettings":[""],"terminals":[{}]}`,
		`{"disabledTransactionTypes":["refund",null]}`,
		`{`, `[]`, `null`, `{"name":"\u0000"}`, "{\"name\":\"\xff\"}",
	} {
		f.Add(seed)
	}
	fx := provSetup(f)
	a := fx.account(f)
	path := "/api/provisioning/createConnector/" + a.merchant()
	f.Fuzz(func(t *testing.T, body string) {
		res := fx.post(t, a, path, body)
		if res.status >= 500 {
			t.Fatalf("%q: %d %s", body, res.status, res.body)
		}
		m := res.json(t)
		if _, ok := m["success"].(bool); !ok {
			t.Fatalf("%q: no success in %s", body, res.body)
		}
		fx.mu.Lock()
		fx.responses = fx.responses[:0] // keep memory flat over long runs
		fx.mu.Unlock()
	})
}
