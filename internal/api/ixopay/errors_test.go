package ixopay

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
)

// A fault of kassa's own is 500 with the code each API documents for it:
// 9999 in the provisioning API, 1008 in the transaction API; the cause is
// never shown.
func TestInternalErrorCodes(t *testing.T) {
	s := &server{log: slog.New(slog.DiscardHandler)}
	for _, tc := range []struct {
		path string
		code int
	}{
		{"/api/provisioning/createConnector/ME-T00000001", CodeInternal},
		{"/api/provisioning/listConnectors/ME-T00000001", CodeInternal},
		{"/api/v3/transaction/key/debit", CodeSystemError},
		{"/api/v3/status/key/getByUuid/op_1", CodeSystemError},
	} {
		r := httptest.NewRequest(http.MethodGet, tc.path, nil)
		ie := s.translate(r, errors.New("database on fire: secret detail"))
		if ie.status != http.StatusInternalServerError || ie.code != tc.code || ie.message == "" {
			t.Errorf("%s: %d %d %q, want 500 %d", tc.path, ie.status, ie.code, ie.message, tc.code)
		}
	}
}

// wantNoTransaction checks the status API's answer for a transaction the
// connector does not have: HTTP 200, success false, 8001, id named.
func wantNoTransaction(t *testing.T, res response, id string) {
	t.Helper()
	wantEnvelope(t, res, http.StatusOK, CodeTransactionNotFound, id)
}

// noTransaction says whether res is the status API's "Transaction not
// found".
func noTransaction(res response) bool {
	var m struct {
		Success   *bool `json:"success"`
		ErrorCode int   `json:"errorCode"`
	}
	return json.Unmarshal(res.body, &m) == nil && res.status == http.StatusOK &&
		m.Success != nil && !*m.Success && m.ErrorCode == CodeTransactionNotFound
}
