package native

import (
	"net/http"
	"testing"
)

// TestResolveOperation: an operation whose outcome is unknown is settled by
// hand through the API; the input is checked, another account gets 404,
// and a settled operation cannot be resolved again.
func TestResolveOperation(t *testing.T) {
	t.Parallel()
	f := setup(t)
	a, b := f.account(t), f.account(t)
	gw := f.createGateway(t, a.SecretKey)
	lost := f.createCard(t, a.SecretKey, "4100000000000001", "123") // the simulator loses the response
	p := f.createPayment(t, a.SecretKey, paymentBody(lost, gw, 1000, true))
	if p["status"] != "UNKNOWN" {
		t.Fatalf("payment %v, want UNKNOWN", p["status"])
	}
	op := operations(p)[0]["id"].(string)
	path := "/v1/operations/" + op + "/resolve"
	wantError(t, f.post(t, path, a.SecretKey, `{"outcome":"maybe","note":"x"}`), 422, "invalid_request_error", "parameter_invalid", "outcome")
	wantError(t, f.post(t, path, a.SecretKey, `{"outcome":"succeeded"}`), 422, "invalid_request_error", "parameter_missing", "note")
	wantError(t, f.post(t, path, b.SecretKey, `{"outcome":"succeeded","note":"x"}`), 404, "invalid_request_error", "resource_missing", "id")
	res := f.post(t, path, a.SecretKey, `{"outcome":"succeeded","gateway_reference":"sim-123","note":"seen in the simulator ledger"}`)
	if res.status != http.StatusOK || res.json(t)["outcome"] != "succeeded" {
		t.Fatalf("resolve: %d %s", res.status, res.body)
	}
	wantPayment(t, f.get(t, "/v1/payments/"+p["id"].(string), a.SecretKey), 200, "CAPTURED", 1000, 1000, 0)
	wantError(t, f.post(t, path, a.SecretKey, `{"outcome":"failed","note":"again"}`), 409, "invalid_request_error", "invalid_state", "")
}
