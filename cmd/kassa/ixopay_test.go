package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/kassapay/kassa/client"
)

// TestIXOPAYListeners: the IXOPAY dialect answers under /ixopay on the
// main listener and without the prefix on --ixopay-addr, and the native
// account API names the merchant guid its provisioning paths take.
func TestIXOPAYListeners(t *testing.T) {
	s := startServer(t, filepath.Join(t.TempDir(), "data"), env(nil), "--ixopay-addr", "127.0.0.1:0")
	ctx := context.Background()
	key := s.bootstrapKey(t)
	acct, err := client.New(s.URL, key).Account(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if acct.IXOPAYMerchantGUID != "ME-"+acct.ID {
		t.Fatalf("ixopay_merchant_guid %q for account %s", acct.IXOPAYMerchantGUID, acct.ID)
	}
	dedicated := s.Listeners["ixopay"]
	if dedicated == "" {
		t.Fatal("no ixopay listener")
	}
	for _, base := range []string{s.URL + "/ixopay", dedicated} {
		req, _ := http.NewRequest("GET", base+"/api/provisioning/listConnectors/"+acct.IXOPAYMerchantGUID, nil)
		req.SetBasicAuth(acct.ID, key)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		var m map[string]any
		if res.StatusCode != 200 || json.Unmarshal(b, &m) != nil || m["success"] != true {
			t.Errorf("listConnectors at %s: %d %s", base, res.StatusCode, b)
		}
	}
	// The native API is not on the dedicated listener, and the dialect
	// answers its own 401 there.
	if res, err := http.Get(dedicated + "/v1/account"); err != nil || res.StatusCode == 200 {
		t.Errorf("native API on the IXOPAY listener: %v %v", res, err)
	}
	res, err := http.Get(dedicated + "/api/provisioning/listConnectors/" + acct.IXOPAYMerchantGUID)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	var e struct {
		Success   bool `json:"success"`
		ErrorCode int  `json:"errorCode"`
	}
	if res.StatusCode != 401 || json.Unmarshal(b, &e) != nil || e.Success || e.ErrorCode == 0 {
		t.Errorf("unauthenticated: %d %s", res.StatusCode, b)
	}
}
