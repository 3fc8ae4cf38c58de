package pipeline_test

import (
	"errors"
	"flag"
	"os"
	"slices"
	"strings"
	"testing"

	"hotline/auth"
	"hotline/normalize"
	"hotline/pipeline"
	"hotline/store"
	"hotline/ticket"
)

var update = flag.Bool("update", false, "rewrite docs/pipeline.md from the table")

// actors are every role of auth.Roles, unit users of the main, another and a
// co-unit, and the system.
var actors = []string{auth.RoleIntake, auth.RoleTransfer, auth.RoleFollowUp, auth.RoleSupervisor, auth.RoleAdmin,
	"unit", "unit2", "unit_co", pipeline.RoleSystem}

// inputFor is a valid input of rule r's action that selects r's guard.
func (e *env) inputFor(r pipeline.Rule) pipeline.Input {
	switch r.Action {
	case pipeline.ActAnswer:
		return pipeline.Input{Text: "您好，该路段路灯已列入本周维修计划"}
	case pipeline.ActTransfer:
		return pipeline.Input{UnitID: e.unitA.ID}
	case pipeline.ActEscalate:
		return pipeline.Input{Text: "多名市民反映同一问题，请领导阅示"}
	case pipeline.ActDiscard:
		return pipeline.Input{Note: "无效信息"}
	case pipeline.ActSendBack:
		return pipeline.Input{Kind: "incomplete", Note: "缺少详细地址"}
	case pipeline.ActRetransfer:
		return pipeline.Input{UnitID: e.unitB.ID}
	case pipeline.ActInstruct:
		if r.Guard == pipeline.GuardWithUnit {
			return pipeline.Input{Text: "请市城管局三日内解决", UnitID: e.unitA.ID}
		}
		return pipeline.Input{Text: "请直接答复来电人"}
	case pipeline.ActReturn:
		return pipeline.Input{Reason: "不属于本单位职责，应由住建局办理"}
	case pipeline.ActRequestExtension:
		return pipeline.Input{Days: 3, Reason: "需协调供电公司"}
	case pipeline.ActRefuseExtension:
		return pipeline.Input{Reason: "理由不充分"}
	case pipeline.ActReply:
		return pipeline.Input{Text: goodReply}
	case pipeline.ActCoOpinion:
		return pipeline.Input{Text: "街道已配合现场核查"}
	case pipeline.ActSupervise:
		return pipeline.Input{Kind: "media"}
	case pipeline.ActRework:
		return pipeline.Input{Reason: "回复未解决实际问题"}
	case pipeline.ActClose:
		return pipeline.Input{Note: "经督办室研究，按不合理诉求办结"}
	case pipeline.ActFollowUp, pipeline.ActResultTold:
		if r.Guard == pipeline.GuardUnsatisfied {
			return pipeline.Input{ResultRate: pipeline.RatingUnsatisfied, Reasonable: "yes"}
		}
		return pipeline.Input{ResultRate: pipeline.RatingSatisfied, ServiceRate: pipeline.RatingSatisfied}
	case pipeline.ActSurveyAnswer:
		if r.Guard == pipeline.GuardUnsatisfied {
			return pipeline.Input{Text: "3"}
		}
		return pipeline.Input{Text: "1"}
	}
	return pipeline.Input{}
}

// reach brings a new ticket to rule r's from-status with what its guard needs.
func (e *env) reach(r pipeline.Rule) string {
	var opts []string
	switch {
	case r.Guard == pipeline.GuardSecondExtension:
		opts = append(opts, "ext2")
	case r.Guard == pipeline.GuardSecondFailure:
		opts = append(opts, "failed")
	case r.Unit == pipeline.UnitCo:
		opts = append(opts, "co")
	}
	if r.From == ticket.StatusAnswered {
		no := e.walk(normalize.SMS, ticket.StatusIntake)
		if err := e.st.DB().Model(&store.Ticket{}).Where("no = ?", no).Update("status", string(ticket.StatusAnswered)).Error; err != nil {
			e.t.Fatal(err)
		}
		return no
	}
	return e.walk(normalize.SMS, r.From, opts...)
}

// mayTake says whether actor key may take rule r by the table's roles and unit scope.
func (e *env) mayTake(r pipeline.Rule, key string) bool {
	a := e.users[key]
	if !slices.Contains(r.Roles, a.Role) {
		return false
	}
	switch r.Unit {
	case pipeline.UnitMain:
		return key == "unit"
	case pipeline.UnitCo:
		return key == "unit_co"
	}
	return true
}

// TestEveryRuleByRole takes every rule of the table by every role: the roles of
// the rule succeed and reach its to-status; every other role is refused (403)
// and changes nothing.
func TestEveryRuleByRole(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		for _, r := range pipeline.Table {
			in := e.inputFor(r)
			name := string(r.From) + "/" + string(r.Action) + "/" + string(r.Guard)
			var allowedKeys []string
			for _, k := range actors {
				if e.mayTake(r, k) {
					allowedKeys = append(allowedKeys, k)
				}
			}
			if len(allowedKeys) == 0 {
				t.Errorf("%s: no actor may take it", name)
				continue
			}
			// Refusals first, on one ticket (they change nothing).
			no := e.reach(r)
			before := e.ticket(no)
			for _, k := range actors {
				if e.mayTake(r, k) {
					continue
				}
				_, err := e.svc.Transition(e.ctx, no, r.Action, e.users[k], in)
				var te *pipeline.TransitionError
				if !errors.As(err, &te) || !isForbidden(err) {
					t.Errorf("%s by %s: err %v, want a 403 transition error", name, k, err)
					continue
				}
				if slices.Contains(te.Allowed, r.Action) && r.Guard == pipeline.GuardNone {
					t.Errorf("%s by %s: refused but listed as allowed %v", name, k, te.Allowed)
				}
			}
			if after := e.ticket(no); after.Status != before.Status || len(after.Events) != len(before.Events) {
				t.Errorf("%s: a refused action changed the ticket (%s → %s, %d → %d events)", name, before.Status, after.Status, len(before.Events), len(after.Events))
			}
			// Every allowed actor on a fresh ticket.
			for i, k := range allowedKeys {
				if i > 0 {
					no = e.reach(r)
				}
				res, err := e.svc.Transition(e.ctx, no, r.Action, e.users[k], in)
				if err != nil {
					t.Errorf("%s by %s: %v", name, k, err)
					continue
				}
				if res.From != r.From || res.To != r.To || e.status(no) != r.To {
					t.Errorf("%s by %s: moved %s → %s (stored %s), want %s → %s", name, k, res.From, res.To, e.status(no), r.From, r.To)
				}
				var ev ticket.Event
				for _, x := range e.ticket(no).Events {
					if x.Type == string(r.Action) {
						ev = x
					}
				}
				if ev.Type != string(r.Action) || ev.Actor != e.users[k].Username || ev.From != string(r.From) || ev.To != string(r.To) {
					t.Errorf("%s by %s: audit event %+v", name, k, ev)
				}
			}
		}
	})
}

// TestActionsNotInTableConflict tries, in every status, every action the table
// does not allow there: 409 with the allowed actions, nothing changed.
func TestActionsNotInTableConflict(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		for _, s := range ticket.Statuses {
			no := e.reach(pipeline.Rule{From: s})
			before := e.ticket(no)
			for _, a := range pipeline.Actions() {
				inTable := false
				for _, r := range pipeline.Table {
					if r.From == s && r.Action == a {
						inTable = true
					}
				}
				if inTable {
					continue
				}
				who := auth.RoleAdmin
				if slices.Contains([]pipeline.Action{pipeline.ActAccept, pipeline.ActReturn, pipeline.ActReply, pipeline.ActRequestExtension, pipeline.ActCoOpinion}, a) {
					who = "unit"
				}
				_, err := e.svc.Transition(e.ctx, no, a, e.users[who], e.inputFor(pipeline.Rule{Action: a}))
				var te *pipeline.TransitionError
				if !errors.As(err, &te) || !isConflict(err) || te.Allowed == nil {
					t.Errorf("%s in %s: err %v, want a 409 transition error with the allowed actions", a, s, err)
				}
			}
			if after := e.ticket(no); after.Status != before.Status || len(after.Events) != len(before.Events) {
				t.Errorf("%s: refused actions changed the ticket", s)
			}
			if s == ticket.StatusArchived {
				for _, k := range actors {
					if got, _, _ := e.svc.Allowed(e.ctx, no, e.users[k]); len(got) != 0 {
						t.Errorf("archived ticket allows %v to %s: archives are read-only", got, k)
					}
				}
			}
		}
	})
}

func TestTableShape(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range pipeline.Table {
		k := string(r.From) + "|" + string(r.Action) + "|" + string(r.Guard)
		if seen[k] {
			t.Errorf("duplicate rule %s", k)
		}
		seen[k] = true
		if len(r.Roles) == 0 {
			t.Errorf("rule %s has no roles", k)
		}
		if r.Unit != pipeline.UnitNone && !slices.Equal(r.Roles, []string{auth.RoleUnit}) {
			t.Errorf("rule %s: unit actions are for unit users only", k)
		}
		if r.From == ticket.StatusArchived {
			t.Errorf("rule %s leaves the archive: archives are read-only", k)
		}
	}
	reached := map[ticket.Status]bool{ticket.StatusIntake: true}
	for changed := true; changed; {
		changed = false
		for _, r := range pipeline.Table {
			if reached[r.From] && !reached[r.To] {
				reached[r.To], changed = true, true
			}
		}
	}
	for _, s := range ticket.Statuses {
		if !reached[s] && s != ticket.StatusAnswered { // answered: intake's legacy status
			t.Errorf("status %s cannot be reached from intake", s)
		}
		if s.Label() == string(s) {
			t.Errorf("status %s has no Chinese label", s)
		}
	}
	for _, a := range pipeline.Actions() {
		if a.Label() == string(a) {
			t.Errorf("action %s has no Chinese label", a)
		}
	}
}

// TestDiagram keeps docs/pipeline.md in step with the table (-update rewrites it).
func TestDiagram(t *testing.T) {
	const path = "../docs/pipeline.md"
	md := pipeline.Markdown()
	if *update {
		if err := os.WriteFile(path, []byte(md), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./pipeline -run TestDiagram -update)", err)
	}
	if string(got) != md {
		t.Fatalf("%s is out of date: run go test ./pipeline -run TestDiagram -update (or hotline pipeline diagram)", path)
	}
}

// TestReadmeDiagram keeps the README's copy of the state diagram in step with
// the table (-update rewrites the block between the markers).
func TestReadmeDiagram(t *testing.T) {
	const path = "../README.md"
	const begin, end = "<!-- pipeline-diagram:begin -->\n", "<!-- pipeline-diagram:end -->"
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	i, j := strings.Index(readme, begin), strings.Index(readme, end)
	if i < 0 || j < i {
		t.Fatalf("%s lacks the %q … %q markers", path, begin, end)
	}
	block := "```mermaid\n" + pipeline.Mermaid() + "```\n"
	if *update {
		readme = readme[:i+len(begin)] + block + readme[j:]
		if err := os.WriteFile(path, []byte(readme), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if readme[i+len(begin):j] != block {
		t.Fatalf("the diagram in %s is out of date: run go test ./pipeline -run ReadmeDiagram -update", path)
	}
}
