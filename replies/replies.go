// Package replies renders the six standard replies of the work standard
// (短信规范答复口径) from configured texts with placeholders.
package replies

import (
	"fmt"
	"strings"

	"hotline/configs"
	"hotline/ticket"
)

// Vars fill the placeholders: {answer} the answer (******), {unit} the
// department (**部门), {place} who owns the matter (**市 or 省级), {target}
// where to turn instead (**市 or **部门).
type Vars struct {
	Answer string
	Unit   string
	Place  string
	Target string
}

// Set is the six texts of one channel.
type Set struct{ texts configs.ReplyTexts }

// New checks that every text is present and only uses known placeholders.
func New(t configs.ReplyTexts) (Set, error) {
	for kind, s := range map[string]string{
		ticket.ReplyAnswered: t.Answered, ticket.ReplyTransferred: t.Transferred, ticket.ReplySuggestion: t.Suggestion,
		ticket.ReplyThanks: t.Thanks, ticket.ReplyOutOfRemit: t.OutOfRemit, ticket.ReplyIncomplete: t.Incomplete,
	} {
		if strings.TrimSpace(s) == "" {
			return Set{}, fmt.Errorf("replies: text %q is empty", kind)
		}
		rest := placeholders.Replace(s)
		if strings.ContainsAny(rest, "{}") {
			return Set{}, fmt.Errorf("replies: text %q has an unknown placeholder: %s", kind, s)
		}
	}
	return Set{texts: t}, nil
}

var placeholders = strings.NewReplacer("{answer}", "", "{unit}", "", "{place}", "", "{target}", "")

// Render returns the text of kind with v filled in.
func (s Set) Render(kind string, v Vars) (string, error) {
	var t string
	switch kind {
	case ticket.ReplyAnswered:
		t = s.texts.Answered
	case ticket.ReplyTransferred:
		t = s.texts.Transferred
	case ticket.ReplySuggestion:
		t = s.texts.Suggestion
	case ticket.ReplyThanks:
		t = s.texts.Thanks
	case ticket.ReplyOutOfRemit:
		t = s.texts.OutOfRemit
	case ticket.ReplyIncomplete:
		t = s.texts.Incomplete
	default:
		return "", fmt.Errorf("replies: unknown kind %q", kind)
	}
	// The answer ends where the template puts its own "。": avoid "。。".
	answer := strings.TrimRight(strings.TrimSpace(v.Answer), "。.")
	return strings.NewReplacer("{answer}", answer, "{unit}", v.Unit, "{place}", v.Place, "{target}", v.Target).Replace(t), nil
}

// Kinds lists the six standard reply kinds in the standard's order.
var Kinds = []string{ticket.ReplyAnswered, ticket.ReplyTransferred, ticket.ReplySuggestion, ticket.ReplyThanks, ticket.ReplyOutOfRemit, ticket.ReplyIncomplete}
