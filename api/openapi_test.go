package api_test

import (
	"encoding/json"
	"strings"
	"testing"

	"hotline/api"
	"hotline/pipeline"
)

// TestOpenAPICoversPipeline: the document is valid JSON, documents every
// action of the table with the roles of its rules, and the contract's paths.
func TestOpenAPICoversPipeline(t *testing.T) {
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(api.OpenAPISpec(), &doc); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("openapi %q", doc.OpenAPI)
	}
	for _, p := range []string{"/auth/login", "/tickets", "/tickets/{ticket_no}", "/tickets/{ticket_no}/replies", "/kpis", "/kpis.xlsx", "/openapi.json"} {
		if doc.Paths[p] == nil {
			t.Errorf("path %s undocumented", p)
		}
	}
	for _, a := range pipeline.Actions() {
		op := doc.Paths["/tickets/{ticket_no}/actions/"+string(a)]["post"]
		if op == nil {
			t.Errorf("action %s undocumented", a)
			continue
		}
		var o struct{ Description string }
		json.Unmarshal(op, &o)
		for _, r := range pipeline.Table {
			if r.Action == a && !strings.Contains(o.Description, "`"+string(r.From)+"`") {
				t.Errorf("action %s: rule from %s missing in the description", a, r.From)
			}
		}
	}
}
