package pipeline

import (
	"fmt"
	"slices"
	"strings"

	"hotline/ticket"
)

// Mermaid draws the table as a Mermaid state diagram: one arrow per rule that
// moves a ticket (label: action, guard, roles); events that keep the status
// are listed by Markdown below it.
func Mermaid() string {
	var b strings.Builder
	b.WriteString("stateDiagram-v2\n")
	b.WriteString("    direction LR\n")
	for _, s := range ticket.Statuses {
		fmt.Fprintf(&b, "    %s: %s %s\n", s, s.Label(), s)
	}
	fmt.Fprintf(&b, "    [*] --> %s\n", ticket.StatusIntake)
	for _, r := range Table {
		if r.Self() {
			continue
		}
		label := r.Action.Label()
		if r.Guard != GuardNone {
			label += "（" + r.Guard.Label() + "）"
		}
		fmt.Fprintf(&b, "    %s --> %s: %s<br/>%s\n", r.From, r.To, label, roleNames(r))
	}
	fmt.Fprintf(&b, "    %s --> [*]\n", ticket.StatusArchived)
	return b.String()
}

func roleNames(r Rule) string {
	var out []string
	for _, k := range r.Roles {
		n := roleLabel(k)
		switch r.Unit {
		case UnitMain:
			n += "（主办）"
		case UnitCo:
			n += "（协办）"
		}
		out = append(out, n)
	}
	return strings.Join(out, "、")
}

// Markdown is docs/pipeline.md: the diagram, the transitions and the events
// that keep the status, all generated from Table.
func Markdown() string {
	var b strings.Builder
	b.WriteString("<!-- Generated from pipeline.Table by `hotline pipeline diagram` (or `go test ./pipeline -run TestDiagram -update`); do not edit. -->\n")
	b.WriteString("# The handling pipeline\n\n")
	b.WriteString("受理 → 分类处置 (答复 / 转办 / 呈报) → 承办办理 → 跟踪督办 → 回访反馈 → 整理归档. Every status change is one row of ")
	b.WriteString("`pipeline.Table`; `pipeline.Transition` checks status, role, unit and guard, applies the side effects and writes the ")
	b.WriteString("audit event in one transaction. A refused action answers 409 (wrong status) or 403 (wrong role) with the allowed actions.\n\n")
	b.WriteString("```mermaid\n")
	b.WriteString(Mermaid())
	b.WriteString("```\n\n")
	b.WriteString("## Transitions\n\n| from | action | guard | to | roles |\n|---|---|---|---|---|\n")
	for _, r := range Table {
		if r.Self() {
			continue
		}
		fmt.Fprintf(&b, "| %s %s | `%s` %s | %s | %s %s | %s |\n", r.From.Label(), r.From, r.Action, r.Action.Label(),
			string(r.Guard), r.To.Label(), r.To, roleNames(r))
	}
	b.WriteString("\n## Events that keep the status\n\n| action | in statuses | roles |\n|---|---|---|\n")
	type key struct {
		a     Action
		roles string
	}
	var order []key
	in := map[key][]string{}
	for _, r := range Table {
		if !r.Self() {
			continue
		}
		k := key{r.Action, roleNames(r)}
		if _, ok := in[k]; !ok {
			order = append(order, k)
		}
		in[k] = append(in[k], string(r.From))
	}
	for _, k := range order {
		fmt.Fprintf(&b, "| `%s` %s | %s | %s |\n", k.a, k.a.Label(), strings.Join(in[k], ", "), k.roles)
	}
	b.WriteString("\n## Statuses\n\n| status | 名称 | actions from it |\n|---|---|---|\n")
	for _, s := range ticket.Statuses {
		var acts []string
		for _, r := range Table {
			if r.From == s && !slices.Contains(acts, string(r.Action)) {
				acts = append(acts, string(r.Action))
			}
		}
		if len(acts) == 0 {
			acts = []string{"— (read-only)"}
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", s, s.Label(), strings.Join(acts, ", "))
	}
	return b.String()
}
