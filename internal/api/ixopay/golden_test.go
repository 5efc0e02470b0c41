package ixopay

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// ids are the generated ids a golden file must not depend on.
var ids = regexp.MustCompile(`\b(op|pay|pm)_[A-Za-z0-9]+|"fingerprint":"[^"]*"`)

// normalize numbers the ids of a response in order of appearance, so the
// golden files hold the shape and the values, not the random parts.
func normalize(body []byte, seen map[string]string) []byte {
	out := ids.ReplaceAllFunc(body, func(m []byte) []byte {
		if bytes.HasPrefix(m, []byte(`"fingerprint"`)) {
			return []byte(`"fingerprint":"<fingerprint>"`)
		}
		if n, ok := seen[string(m)]; ok {
			return []byte(n)
		}
		prefix, _, _ := bytes.Cut(m, []byte("_"))
		n := fmt.Sprintf("%s_%d", prefix, len(seen)+1)
		seen[string(m)] = n
		return []byte(n)
	})
	var buf bytes.Buffer
	if err := json.Indent(&buf, out, "", "  "); err != nil {
		return out
	}
	return append(buf.Bytes(), '\n')
}

// TestGolden pins every response shape of the transaction and status
// APIs: results (finished, pending, declined, refused, duplicate), status
// results, and the error envelope of system errors.
func TestGolden(t *testing.T) {
	f := setup(t)
	c := f.connector(t, f.merchant(t), connector{signatureReqd: true})
	seen := map[string]string{}
	var uuids = map[string]string{}
	steps := []struct {
		name string
		run  func() response
		save string
	}{
		{"debit_finished", func() response { return f.tx(t, c, "debit", cardBody("g-debit", "9.99", "EUR", visa)) }, "debit"},
		{"debit_declined", func() response { return f.tx(t, c, "debit", cardBody("g-declined", "9.99", "EUR", insufficient)) }, ""},
		{"debit_pending", func() response { return f.tx(t, c, "debit", cardBody("g-pending", "9.99", "EUR", lostResponse)) }, ""},
		{"debit_duplicate", func() response { return f.tx(t, c, "debit", cardBody("g-debit", "9.99", "EUR", visa)) }, ""},
		{"preauthorize", func() response { return f.tx(t, c, "preauthorize", cardBody("g-auth", "10.00", "EUR", visa)) }, "auth"},
		{"capture_partial", func() response { return f.tx(t, c, "capture", refBody("g-capture", uuids["auth"], "6.00", "EUR")) }, "capture"},
		{"refund", func() response { return f.tx(t, c, "refund", refBody("g-refund", uuids["capture"], "2.50", "EUR")) }, ""},
		{"void", func() response { return f.tx(t, c, "void", refBody("g-void", uuids["auth"], "", "")) }, ""},
		{"register", func() response { return f.tx(t, c, "register", cardBody("g-register", "", "", visa)) }, "register"},
		{"deregister", func() response { return f.tx(t, c, "deregister", refBody("g-deregister", uuids["register"], "", "")) }, ""},
		{"payout", func() response { return f.tx(t, c, "payout", cardBody("g-payout", "25.00", "EUR", visa)) }, ""},
		{"incremental_authorization", func() response {
			return f.tx(t, c, "incrementalAuthorization", refBody("g-inc", uuids["auth"], "1.00", "EUR"))
		}, ""},
		{"status_debit", func() response { return f.status(t, c, "getByUuid", uuids["debit"]) }, ""},
		{"status_declined", func() response { return f.status(t, c, "getByMerchantTransactionId", "g-declined") }, ""},
		{"status_pending", func() response { return f.status(t, c, "getByMerchantTransactionId", "g-pending") }, ""},
		{"status_capture", func() response { return f.status(t, c, "getByMerchantTransactionId", "g-capture") }, ""},
		{"status_not_found", func() response { return f.status(t, c, "getByMerchantTransactionId", "g-nothing") }, ""},
		{"error_amount_format", func() response { return f.tx(t, c, "debit", cardBody("g-amount", "9.999", "EUR", visa)) }, ""},
		{"error_signature", func() response {
			return f.do(t, req{method: "POST", path: "/api/v3/transaction/" + c.apiKey + "/debit", body: cardBody("g-sig", "1", "EUR", visa), m: &c.m,
				sign: &signing{hash: "md5", secret: "wrong"}})
		}, ""},
		{"error_unknown_connector", func() response {
			other := c
			other.apiKey = "no-such-key"
			return f.tx(t, other, "debit", cardBody("g-key", "1", "EUR", visa))
		}, ""},
		{"status_unknown_connector", func() response {
			other := c
			other.apiKey = "no-such-key"
			return f.status(t, other, "getByMerchantTransactionId", "g-debit")
		}, ""},
		{"error_unauthenticated", func() response {
			return f.do(t, req{method: "POST", path: "/api/v3/transaction/" + c.apiKey + "/debit", body: "{}"})
		}, ""},
		// Follow-ups keep their own fields, and show them as IXOPAY does.
		{"status_register", func() response { return f.status(t, c, "getByMerchantTransactionId", "g-register") }, ""},
		{"preauthorize_kept", func() response { return f.tx(t, c, "preauthorize", cardBody("g-auth-2", "10.00", "EUR", visa)) }, "auth2"},
		{"capture_kept", func() response { return f.tx(t, c, "capture", keptBody("g-capture-2", uuids["auth2"], "6.00", "EUR")) }, "capture2"},
		{"refund_kept", func() response { return f.tx(t, c, "refund", keptBody("g-refund-2", uuids["capture2"], "1.00", "EUR")) }, "refund2"},
		{"void_kept", func() response { return f.tx(t, c, "void", keptBody("g-void-2", uuids["auth2"], "", "")) }, ""},
		{"status_capture_kept", func() response { return f.status(t, c, "getByUuid", uuids["capture2"]) }, ""},
		{"status_refund_kept", func() response { return f.status(t, c, "getByUuid", uuids["refund2"]) }, ""},
		{"status_void_kept", func() response { return f.status(t, c, "getByMerchantTransactionId", "g-void-2") }, ""},
		{"register_kept", func() response { return f.tx(t, c, "register", cardBody("g-register-2", "", "", visa)) }, "register2"},
		{"deregister_kept", func() response {
			return f.tx(t, c, "deregister", keptBody("g-deregister-2", uuids["register2"], "", ""))
		}, ""},
		{"status_deregister_kept", func() response { return f.status(t, c, "getByMerchantTransactionId", "g-deregister-2") }, ""},
		{"error_kept_too_long", func() response {
			return f.tx(t, c, "capture", strings.Replace(keptBody("g-capture-3", uuids["auth2"], "1.00", "EUR"),
				`"additionalId1":"`, `"additionalId1":"`+strings.Repeat("x", 51), 1))
		}, ""},
	}
	for _, st := range steps {
		res := st.run()
		if st.save != "" {
			var m map[string]any
			if err := json.Unmarshal(res.body, &m); err != nil {
				t.Fatalf("%s: %s", st.name, res.body)
			}
			uuids[st.save], _ = m["uuid"].(string)
		}
		golden(t, st.name, append([]byte(fmt.Sprintf("HTTP %d\n", res.status)), normalize(res.body, seen)...))
	}
}

// golden compares got with testdata/golden/name.json, or rewrites it
// under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name+".json")
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%s: %v (run with -update)", name, err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from %s:\n got: %s\nwant: %s", name, path, got, want)
	}
}
