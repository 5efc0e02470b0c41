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

// provGoldenStep is one request of the provisioning golden scenario; its
// response is compared with testdata/golden/provisioning_<name>.json.
type provGoldenStep struct {
	name, method string
	path         func(s *provScenario) string
	body         func(s *provScenario) string
	acct         func(s *provScenario) *provAccount // nil: the first account
	save         func(s *provScenario, m map[string]any)
}

type provScenario struct {
	a, b          provAccount
	sim, sim2, bs string // connector guids
}

var provGoldenSteps = []provGoldenStep{
	{name: "create_connector", method: "POST",
		path: func(s *provScenario) string { return "/api/provisioning/createConnector/" + s.a.merchant() },
		body: func(*provScenario) string {
			return fmt.Sprintf(`{"name":"Simulator A","adapter":"Simulator","method":"Creditcard","apiKey":"sim-a",
				"publicIntegrationKey":"pik-a","sharedSecret":%q,"businessCountry":"AT",
				"config":{"username":"sim-user","password":%q,"language":"de","testMode":true,"extraData":{"latency_ms":0}},
				"settings":{"tx:expiration-minutes":"30","api:request-signing-enabled":"1"},
				"terminals":[{"terminalId":"T-1","disabled":false}]}`, provSecret, provPassword)
		},
		save: func(s *provScenario, m map[string]any) { s.sim = m["connector"].(map[string]any)["guid"].(string) }},
	{name: "create_second", method: "POST",
		path: func(s *provScenario) string { return "/api/provisioning/createConnector/" + s.a.merchant() },
		body: func(*provScenario) string {
			return `{"name":"Simulator B","adapter":"Simulator","method":"Creditcard","apiKey":"sim-b","publicIntegrationKey":"pik-b","sharedSecret":"x"}`
		},
		save: func(s *provScenario, m map[string]any) { s.sim2 = m["connector"].(map[string]any)["guid"].(string) }},
	{name: "update_connector", method: "POST",
		path: func(s *provScenario) string { return "/api/provisioning/updateConnector/" + s.sim },
		body: func(*provScenario) string {
			return fmt.Sprintf(`{"name":"Simulator Renamed","sharedSecret":%q,"businessCountry":"DE",
				"config":{"password":%q,"language":"en","extraData":{"outage":false},"vault":{"threeDConfig":{"enabled":true}}},
				"customerProfileContainer":"CPC-1","disabledTransactionTypes":["payout","refund"],"postbackFormat":"json",
				"provider":"Acme PSP","scheduleApiAvailable":true,"virtualTerminalAvailable":false,"vtRiskRuleSet":"RRS-7",
				"addSettings":{"ui:refunds":1},"removeSettings":["tx:expiration-minutes"],"alias":"sim-alias","disabled":false}`,
				provSecret2, provPassword2)
		}},
	{name: "get_connector", method: "GET",
		path: func(s *provScenario) string { return "/api/provisioning/getConnector/" + s.sim }},
	{name: "create_meta_connector", method: "POST",
		path: func(s *provScenario) string { return "/api/provisioning/createConnector/" + s.a.merchant() },
		body: func(s *provScenario) string {
			return fmt.Sprintf(`{"name":"Cascade","adapter":"MetaConnector","method":"MetaConnector","apiKey":"meta",
				"publicIntegrationKey":"pik-meta","sharedSecret":"y",
				"multiMethodMetaConnector":{"defaultActionDisableConnector":true,"retries":1,"expiry":24,"connectors":[%q,%q]}}`, s.sim, s.sim2)
		}},
	{name: "create_routing_meta_connector", method: "POST",
		path: func(s *provScenario) string { return "/api/provisioning/createConnector/" + s.a.merchant() },
		body: func(s *provScenario) string {
			return fmt.Sprintf(`{"name":"Router","adapter":"MetaConnector","method":"MetaConnector","apiKey":"router",
				"publicIntegrationKey":"pik-router","sharedSecret":"z","routingMetaConnector":{"defaultConnector":%q,"reRouteRecurring":false}}`, s.sim2)
		}},
	{name: "archive_connector", method: "POST",
		path: func(s *provScenario) string { return "/api/provisioning/archiveConnector/" + s.sim2 }},
	{name: "list_connectors", method: "GET",
		path: func(s *provScenario) string { return "/api/provisioning/listConnectors/" + s.a.merchant() }},
	{name: "connector_settings", method: "GET",
		path: func(*provScenario) string { return "/api/provisioning/getConnectorSettings/Stripe" }},
	{name: "connector_settings_vault", method: "GET",
		path: func(s *provScenario) string {
			return "/api/provisioning/getConnectorSettings/Simulator/" + s.a.merchant()
		}},
	{name: "error_validation", method: "POST",
		path: func(s *provScenario) string { return "/api/provisioning/updateConnector/" + s.sim },
		body: func(*provScenario) string { return `{"businessCountry":"austria"}` }},
	{name: "error_missing", method: "POST",
		path: func(s *provScenario) string { return "/api/provisioning/createConnector/" + s.a.merchant() },
		body: func(*provScenario) string { return `{"adapter":"Simulator","method":"Creditcard"}` }},
	{name: "error_unknown_adapter", method: "POST",
		path: func(s *provScenario) string { return "/api/provisioning/createConnector/" + s.a.merchant() },
		body: func(*provScenario) string { return `{"name":"Wire","adapter":"Wirecard","method":"Creditcard"}` }},
	{name: "error_not_applicable", method: "POST",
		path: func(s *provScenario) string { return "/api/provisioning/updateConnector/" + s.sim },
		body: func(*provScenario) string { return `{"colour":"red"}` }},
	{name: "error_bad_json", method: "POST",
		path: func(s *provScenario) string { return "/api/provisioning/updateConnector/" + s.sim },
		body: func(*provScenario) string { return `{"name":` }},
	{name: "error_other_merchant", method: "GET",
		path: func(s *provScenario) string { return "/api/provisioning/listConnectors/" + s.b.merchant() }},
	{name: "error_other_connector", method: "GET",
		path: func(s *provScenario) string { return "/api/provisioning/getConnector/" + s.bs }},
	{name: "error_unauthorized", method: "GET",
		path: func(s *provScenario) string { return "/api/provisioning/listConnectors/" + s.a.merchant() },
		acct: func(*provScenario) *provAccount { return &provAccount{id: "T00000000", secret: "sk_test_wrong"} }},
}

var (
	goldenGUID     = regexp.MustCompile(`CO-[0-9A-F]{4}(-[0-9A-F]{4}){5}`)
	goldenMerchant = regexp.MustCompile(`ME-[TP][0-9]{8}`)
	goldenTime     = regexp.MustCompile(`"createdAt": "[^"]*"`)
)

// normalizer replaces the values that change from run to run (guids,
// account ids) with stable names, numbered in order of appearance.
type normalizer map[string]string

func (n normalizer) replace(re *regexp.Regexp, prefix string, s string) string {
	return re.ReplaceAllStringFunc(s, func(v string) string {
		if name, ok := n[v]; ok {
			return name
		}
		count := 0
		for _, name := range n {
			if strings.HasPrefix(name, prefix) {
				count++
			}
		}
		name := fmt.Sprintf("%s%d", prefix, count+1)
		n[v] = name
		return name
	})
}

func TestProvisioningGolden(t *testing.T) {
	f := provSetup(t)
	s := &provScenario{a: f.account(t), b: f.account(t)}
	s.bs = f.createConnector(t, s.b, `{"name":"Other","adapter":"Simulator","method":"Creditcard"}`)
	norm := normalizer{}
	norm.replace(goldenMerchant, "ME-merchant-", s.a.merchant()+" "+s.b.merchant())
	for _, st := range provGoldenSteps {
		a := &s.a
		if st.acct != nil {
			a = st.acct(s)
		}
		body := ""
		if st.body != nil {
			body = st.body(s)
		}
		res := f.do(t, st.method, st.path(s), a, body)
		var m map[string]any
		if err := json.Unmarshal(res.body, &m); err != nil {
			t.Fatalf("%s: %d %s", st.name, res.status, res.body)
		}
		if st.save != nil {
			st.save(s, m)
		}
		var pretty bytes.Buffer
		if err := json.Indent(&pretty, res.body, "", "  "); err != nil {
			t.Fatal(err)
		}
		got := fmt.Sprintf("HTTP %d\n%s\n", res.status, pretty.String())
		got = norm.replace(goldenGUID, "CO-guid-", got)
		got = norm.replace(goldenMerchant, "ME-merchant-", got)
		got = goldenTime.ReplaceAllString(got, `"createdAt": "<time>"`)
		file := filepath.Join("testdata", "golden", "provisioning_"+st.name+".json")
		if *update {
			if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(file)
		if err != nil {
			t.Fatalf("%s: %v (run with -update to write it)", st.name, err)
		}
		if got != string(want) {
			t.Errorf("%s: response differs from %s:\n--- got\n%s\n--- want\n%s", st.name, file, got, want)
		}
	}
	f.checkNoSecrets(t, s.a, s.b)
}
