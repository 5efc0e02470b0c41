package client

import (
	"net/http"
	"strings"
	"testing"
)

// FuzzDecodeError feeds decodeError arbitrary error bodies, which come from
// outside: it must keep the status and always leave a message.
func FuzzDecodeError(f *testing.F) {
	f.Add(404, []byte(`{"error":{"type":"invalid_request_error","code":"resource_missing","message":"No such x","param":"id"}}`))
	f.Add(502, []byte(`<html>bad gateway</html>`))
	f.Add(500, []byte(`{"error":null}`))
	f.Add(422, []byte(`{"error":{"code":7}}`))
	f.Add(400, []byte(``))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		if status < 100 || status > 999 {
			t.Skip()
		}
		e := decodeError(status, "req_1", body)
		if e.StatusCode != status || e.RequestID != "req_1" {
			t.Errorf("decodeError(%d, %q) = %+v", status, body, e)
		}
		if e.Message == "" && http.StatusText(status) != "" {
			t.Errorf("decodeError(%d, %q): no message", status, body)
		}
		if !strings.HasPrefix(e.Error(), "kassa: ") {
			t.Errorf("Error() = %q", e.Error())
		}
	})
}
