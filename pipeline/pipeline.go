package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"hotline/auth"
	"hotline/replies"
	"hotline/store"
	"hotline/ticket"
)

// Actor is who takes an action: a user of the API or the inbox, or System.
type Actor struct {
	ID       int64
	Username string
	Role     string
	UnitID   *int64
}

// ActorOf turns an authenticated user into an actor.
func ActorOf(u store.UserView) Actor {
	return Actor{ID: u.ID, Username: u.Username, Role: u.Role, UnitID: u.UnitID}
}

// System is the scheduler and the SMS survey.
var System = Actor{Username: "system", Role: RoleSystem}

// Ratings of a follow-up (满意 / 基本满意 / 不满意).
const (
	RatingSatisfied   = "satisfied"
	RatingBasic       = "basic"
	RatingUnsatisfied = "unsatisfied"
)

// Input is what an action needs; each action reads its own fields (see the
// OpenAPI description of POST /api/v1/tickets/{no}/actions/{action}).
type Input struct {
	Text         string  `json:"text,omitempty"`           // answer, reply, 呈阅件, instruction, co-unit opinion, the citizen's SMS
	Note         string  `json:"note,omitempty"`           // free note for the audit trail
	Reason       string  `json:"reason,omitempty"`         // return, extension, refusal, rework reasons
	Kind         string  `json:"kind,omitempty"`           // send_back: incomplete | kb_answered; supervise: hot | media | leader
	Department   string  `json:"department,omitempty"`     // send_back kb_answered: the department whose KB answers it
	UnitID       int64   `json:"unit_id,omitempty"`        // transfer, dispatch, retransfer, instruct, rework
	CoUnitIDs    []int64 `json:"co_unit_ids,omitempty"`    // co-units (协办)
	Urgent       *bool   `json:"urgent,omitempty"`         // transfer: urgent first
	Days         int     `json:"days,omitempty"`           // request_extension
	ServiceRate  string  `json:"service_rating,omitempty"` // followup: satisfied | basic | unsatisfied
	ResultRate   string  `json:"result_rating,omitempty"`  // followup: satisfied | basic | unsatisfied
	Reasonable   string  `json:"reasonable,omitempty"`     // followup: yes | no | unclear
	UnitReplied  *bool   `json:"unit_replied,omitempty"`   // followup: did the unit contact the citizen (KPI 9)
	CalledNumber string  `json:"called_number,omitempty"`  // followup: number called (confidential: only the citizen's own)
	NotifySMS    bool    `json:"notify_sms,omitempty"`     // answer on a voice ticket: also send it by SMS
	Valid        *bool   `json:"valid,omitempty"`          // staff_complaint
}

// Result is what a transition did.
type Result struct {
	TicketNo string        `json:"ticket_no"`
	Action   Action        `json:"action"`
	From     ticket.Status `json:"from"`
	To       ticket.Status `json:"to"`
	Allowed  []Action      `json:"allowed"`
}

// TransitionError is a refused transition: the action is not allowed in the
// ticket's status (Forbidden false: 409) or not to the actor (Forbidden true:
// 403). Allowed lists what the actor may do now.
type TransitionError struct {
	Code      string
	Message   string
	From      ticket.Status
	Action    Action
	Forbidden bool
	Allowed   []Action
}

func (e *TransitionError) Error() string { return e.Message }

// Is lets callers test with ticket.ErrConflict / ticket.ErrForbidden.
func (e *TransitionError) Is(target error) bool {
	if e.Forbidden {
		return target == ticket.ErrForbidden
	}
	return target == ticket.ErrConflict
}

// InputError is an action refused for its input or a rule of the standard
// (an extension over 7 days, a third extension, a vague reply...).
type InputError struct {
	Code    string
	Message string
	Reasons []string
}

func (e *InputError) Error() string {
	if len(e.Reasons) > 0 {
		return e.Message + ": " + strings.Join(e.Reasons, "; ")
	}
	return e.Message
}

func inputErr(code, format string, args ...any) *InputError {
	return &InputError{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Options configure the service.
type Options struct {
	Deadlines     *Deadlines
	SMSReplies    replies.Set
	WeChatReplies *replies.Set     // nil: WeChat tickets get the SMS texts' kinds as plain text
	Now           func() time.Time // tests move the clock
	Notify        func()           // wakes the outbox after replies were queued
	Log           *slog.Logger
}

// Service runs transitions. Safe for concurrent use.
type Service struct {
	st     *store.Store
	dl     *Deadlines
	sms    replies.Set
	wechat *replies.Set
	now    func() time.Time
	notify func()
	log    *slog.Logger
}

// New builds the service.
func New(st *store.Store, o Options) *Service {
	s := &Service{st: st, dl: o.Deadlines, sms: o.SMSReplies, wechat: o.WeChatReplies, now: o.Now, notify: o.Notify, log: o.Log}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	return s
}

// Deadlines returns the deadline rules.
func (s *Service) Deadlines() *Deadlines { return s.dl }

// Store returns the store.
func (s *Service) Store() *store.Store { return s.st }

// state is what allowed() needs to know of a ticket.
type state struct {
	Status   ticket.Status
	UnitID   *int64
	CoUnits  []int64 // units with an open co order
	ExtSeq   int     // seq of the pending extension request (0 none)
	Failures int     // failed follow-up contacts
}

// guardHolds evaluates a state guard; input guards are true here (they are
// decided by the input when the action is taken).
func (st state) guardHolds(g Guard) bool {
	switch g {
	case GuardFirstExtension:
		return st.ExtSeq <= 1
	case GuardSecondExtension:
		return st.ExtSeq == 2
	case GuardFirstFailure:
		return st.Failures == 0
	case GuardSecondFailure:
		return st.Failures >= 1
	}
	return true
}

// permits reports whether actor may take rule r on a ticket in state st.
func (st state) permits(r Rule, a Actor) bool {
	if !slices.Contains(r.Roles, a.Role) {
		return false
	}
	switch r.Unit {
	case UnitMain:
		return a.UnitID != nil && st.UnitID != nil && *a.UnitID == *st.UnitID
	case UnitCo:
		return a.UnitID != nil && slices.Contains(st.CoUnits, *a.UnitID)
	}
	return true
}

// allowed lists the actions actor may take on a ticket in state st.
func allowed(st state, a Actor) []Action {
	out := []Action{}
	for _, r := range Table {
		if r.From != st.Status || slices.Contains(out, r.Action) {
			continue
		}
		if st.permits(r, a) && st.guardHolds(r.Guard) {
			out = append(out, r.Action)
		}
	}
	return out
}

func (s *Service) stateOf(x *store.FlowTx) (state, error) {
	st := state{Status: ticket.Status(x.Ticket.Status), UnitID: x.Ticket.UnitID, Failures: x.Flow.FollowupFailures}
	os, err := x.Orders()
	if err != nil {
		return st, err
	}
	for _, o := range os {
		if o.Role == "co" && (o.Status == store.OrderDispatched || o.Status == store.OrderAccepted) {
			st.CoUnits = append(st.CoUnits, o.UnitID)
		}
	}
	if st.Status == ticket.StatusExtensionRequested {
		es, err := x.Extensions()
		if err != nil {
			return st, err
		}
		for _, e := range es {
			if e.Status == "requested" {
				st.ExtSeq = e.Seq
			}
		}
	}
	return st, nil
}

// Allowed lists the actions actor may take on ticket no now.
func (s *Service) Allowed(ctx context.Context, no string, a Actor) ([]Action, ticket.Status, error) {
	t, err := s.st.GetTicket(ctx, no)
	if err != nil {
		return nil, "", err
	}
	f, err := s.st.GetFlow(ctx, no)
	if err != nil {
		return nil, "", err
	}
	st := state{Status: t.Status, UnitID: t.UnitID, Failures: f.Flow.FollowupFailures}
	for _, o := range f.Orders {
		if o.Role == "co" && (o.Status == store.OrderDispatched || o.Status == store.OrderAccepted) {
			st.CoUnits = append(st.CoUnits, o.UnitID)
		}
	}
	for _, e := range f.Extensions {
		if e.Status == "requested" && t.Status == ticket.StatusExtensionRequested {
			st.ExtSeq = e.Seq
		}
	}
	return allowed(st, a), t.Status, nil
}

// Transition takes action a on ticket no as actor: it checks the table (status,
// role, unit, guard), applies the action's side effects, moves the ticket and
// writes the audit event, all in one transaction.
func (s *Service) Transition(ctx context.Context, no string, a Action, actor Actor, in Input) (Result, error) {
	if err := validate(a, in, s.dl); err != nil {
		return Result{}, err
	}
	var res Result
	var queued bool
	err := s.st.InTicketTx(ctx, no, s.now(), func(x *store.FlowTx) error {
		st, err := s.stateOf(x)
		if err != nil {
			return err
		}
		from := st.Status
		rows := rulesFor(from, a)
		if len(rows) == 0 {
			return &TransitionError{Code: "transition_not_allowed", From: from, Action: a, Allowed: allowed(st, actor),
				Message: fmt.Sprintf("%s（%s）不能在“%s”状态下进行", a.Label(), a, from.Label())}
		}
		var mine []Rule
		for _, r := range rows {
			if st.permits(r, actor) {
				mine = append(mine, r)
			}
		}
		if len(mine) == 0 {
			return &TransitionError{Code: "role_not_allowed", From: from, Action: a, Forbidden: true, Allowed: allowed(st, actor),
				Message: fmt.Sprintf("%s（%s）不属于您的职责（%s）", a.Label(), a, roleLabel(actor.Role))}
		}
		o := &op{s: s, x: x, actor: actor, in: in, from: from, st: st, set: map[string]any{}}
		g, err := o.guard(rows)
		if err != nil {
			return err
		}
		var rule *Rule
		for i := range mine {
			if mine[i].Guard == g {
				rule = &mine[i]
			}
		}
		if rule == nil {
			msg := fmt.Sprintf("%s（%s）在此情形（%s）下不属于您的职责", a.Label(), a, g.Label())
			if g == GuardSecondExtension {
				msg = "第二次延期须经督办室批准"
			}
			return &TransitionError{Code: "role_not_allowed", From: from, Action: a, Forbidden: true, Allowed: allowed(st, actor), Message: msg}
		}
		o.rule = *rule
		if err := effects[a](o); err != nil {
			return err
		}
		if err := x.Move(rule.To, string(a), actor.Username, o.note, o.set); err != nil {
			return err
		}
		queued = o.queued
		st2, err := s.stateOf(x)
		if err != nil {
			return err
		}
		res = Result{TicketNo: no, Action: a, From: from, To: rule.To, Allowed: allowed(st2, actor)}
		return nil
	})
	var qe *InputError
	if errors.As(err, &qe) && qe.Code == "reply_refused" {
		// Keep a trace of the refusal although nothing else changed.
		if e := s.st.AddTicketEvent(ctx, no, "reply_refused", actor.Username, strings.Join(qe.Reasons, "；")); e != nil {
			s.log.Warn("record refused reply", "ticket", no, "err", e)
		}
	}
	if err != nil {
		return Result{}, err
	}
	if queued && s.notify != nil {
		s.notify()
	}
	return res, nil
}

func roleLabel(r string) string {
	for _, x := range auth.Roles {
		if x.Key == r {
			return x.Name
		}
	}
	if r == RoleSystem {
		return "系统"
	}
	return r
}

// validate checks the input an action needs before any database work.
func validate(a Action, in Input, dl *Deadlines) error {
	need := func(v, field, what string) error {
		if strings.TrimSpace(v) == "" {
			return inputErr("missing_"+field, "%s：请填写%s（%s）", a.Label(), what, field)
		}
		return nil
	}
	rating := func(v, field string, required bool) error {
		switch v {
		case RatingSatisfied, RatingBasic, RatingUnsatisfied:
			return nil
		case "":
			if !required {
				return nil
			}
		}
		return inputErr("invalid_"+field, "%s must be satisfied, basic or unsatisfied", field)
	}
	if len([]rune(in.Text)) > 4000 || len([]rune(in.Note)) > 2000 || len([]rune(in.Reason)) > 2000 {
		return inputErr("text_too_long", "text is limited to 4000 characters, note and reason to 2000")
	}
	switch a {
	case ActAnswer, ActEscalate, ActInstruct, ActCoOpinion:
		return need(in.Text, "text", "内容")
	case ActReply:
		return need(in.Text, "text", "办理结果") // the quality check runs once the unit may reply
	case ActTransfer, ActRetransfer:
		if in.UnitID <= 0 {
			return inputErr("missing_unit_id", "%s：请选择主办单位（unit_id）", a.Label())
		}
		if slices.Contains(in.CoUnitIDs, in.UnitID) {
			return inputErr("invalid_co_units", "主办单位不能同时是协办单位")
		}
	case ActSendBack:
		switch in.Kind {
		case "incomplete":
			return need(in.Note, "note", "需补充修改的内容")
		case "kb_answered":
			return need(in.Department, "department", "知识库已有明确答复的部门")
		}
		return inputErr("invalid_kind", "send_back kind must be incomplete or kb_answered")
	case ActReturn:
		return need(in.Reason, "reason", "回退原因")
	case ActRequestExtension:
		if err := need(in.Reason, "reason", "延期原因"); err != nil {
			return err
		}
		if max := dl.ExtensionMaxDays; in.Days < 1 || in.Days > max {
			return inputErr("invalid_days", "申请延期不得超过%d天（days 1..%d）", max, max)
		}
	case ActRefuseExtension:
		return need(in.Reason, "reason", "不予批准的原因")
	case ActRework:
		return need(in.Reason, "reason", "退回重办的原因")
	case ActClose:
		return need(in.Note, "note", "办结说明")
	case ActSupervise:
		switch in.Kind {
		case "hot", "media", "leader":
			return nil
		}
		return inputErr("invalid_kind", "supervise kind must be hot, media or leader")
	case ActFollowUp, ActResultTold:
		if err := rating(in.ResultRate, "result_rating", true); err != nil {
			return err
		}
		if err := rating(in.ServiceRate, "service_rating", false); err != nil {
			return err
		}
		switch in.Reasonable {
		case "", "yes", "no", "unclear":
		default:
			return inputErr("invalid_reasonable", "reasonable must be yes, no or unclear")
		}
	case ActSurveyAnswer:
		if _, ok := ParseSurvey(in.Text); !ok {
			return inputErr("invalid_survey_answer", "not a survey answer: reply 1, 2 or 3")
		}
	}
	return nil
}
