package ixopay

import (
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
