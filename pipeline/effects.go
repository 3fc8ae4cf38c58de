package pipeline

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"hotline/normalize"
	"hotline/replies"
	"hotline/store"
	"hotline/ticket"
)

// op is one transition in progress: effects read the input and the ticket,
// write side records through x, and leave the ticket columns to change in set
// and the audit note in note.
type op struct {
	s      *Service
	x      *store.FlowTx
	actor  Actor
	in     Input
	from   ticket.Status
	st     state
	rule   Rule
	set    map[string]any
	note   string
	queued bool // replies were queued: wake the outbox
}

// guard decides which guard applies, from the state and the input.
func (o *op) guard(rows []Rule) (Guard, error) {
	has := func(g Guard) bool {
		for _, r := range rows {
			if r.Guard == g {
				return true
			}
		}
		return false
	}
	switch {
	case has(GuardSatisfied):
		rating := o.in.ResultRate
		if o.rowsAction(rows) == ActSurveyAnswer {
			rating, _ = ParseSurvey(o.in.Text)
		}
		if rating == RatingUnsatisfied {
			return GuardUnsatisfied, nil
		}
		return GuardSatisfied, nil
	case has(GuardFirstFailure):
		if o.st.Failures >= 1 {
			return GuardSecondFailure, nil
		}
		return GuardFirstFailure, nil
	case has(GuardFirstExtension):
		switch o.st.ExtSeq {
		case 1:
			return GuardFirstExtension, nil
		case 2:
			return GuardSecondExtension, nil
		}
		return "", fmt.Errorf("ticket %s: extension_requested without a pending request", o.x.Ticket.No)
	case has(GuardWithUnit):
		if o.in.UnitID > 0 {
			return GuardWithUnit, nil
		}
		return GuardWithoutUnit, nil
	}
	return GuardNone, nil
}

func (o *op) rowsAction(rows []Rule) Action { return rows[0].Action }

func (o *op) now() time.Time { return o.x.Now }

func (o *op) closeTicket() {
	now := o.now()
	o.set["closed_at"] = now
	o.set["due_at"] = nil
}

// effects are the side effects of each action, run after the checks and before
// the move.
var effects map[Action]func(*op) error

func init() {
	effects = map[Action]func(*op) error{
		ActAnswer: (*op).answer, ActTransfer: (*op).transfer, ActEscalate: (*op).escalate, ActDiscard: (*op).discard,
		ActSendBack: (*op).sendBack, ActDispatch: (*op).dispatchAction, ActRetransfer: (*op).retransfer,
		ActInstruct: (*op).instruct, ActAccept: (*op).accept, ActReturn: (*op).unitReturn,
		ActRequestExtension: (*op).requestExtension, ActApproveExtension: (*op).approveExtension,
		ActRefuseExtension: (*op).refuseExtension, ActReply: (*op).reply, ActCoOpinion: (*op).coOpinion,
		ActUrge: (*op).urge, ActSupervise: (*op).supervise, ActRework: (*op).rework, ActClose: (*op).closeAction,
		ActStaffComplaint: (*op).staffComplaint, ActFollowUp: (*op).followUp, ActResultTold: (*op).followUp,
		ActContactFailed: (*op).contactFailed, ActSendSurvey: (*op).sendSurvey, ActSurveyAnswer: (*op).surveyAnswer,
		ActArchive: (*op).archive, ActMarkOverdue: (*op).markOverdue,
	}
	for _, a := range Actions() {
		if effects[a] == nil {
			panic("pipeline: no effect for action " + string(a))
		}
	}
}

// --- 答复 ---

func (o *op) answer() error {
	t, text := o.x.Ticket, strings.TrimSpace(o.in.Text)
	switch normalize.Channel(t.Channel) {
	case normalize.SMS:
		if err := o.queueTemplate(o.s.sms, ticket.ReplyAnswered, replies.Vars{Answer: text}); err != nil {
			return err
		}
	case normalize.WeChat:
		set := o.s.sms
		if o.s.wechat != nil {
			set = *o.s.wechat
		}
		if err := o.queueTemplate(set, ticket.ReplyAnswered, replies.Vars{Answer: text}); err != nil {
			return err
		}
	case normalize.ProvinceMailbox:
		if err := o.x.ProvinceEvent("replied", "", text); err != nil {
			return err
		}
		if err := o.x.ProvinceEvent("closed", "", ""); err != nil {
			return err
		}
	case normalize.Voice:
		// Answered on the phone: recorded; sent by SMS only when asked.
		rep := ticket.Reply{Kind: ticket.ReplyAnswered, Text: text}
		if o.in.NotifySMS {
			if _, err := o.x.QueueSMS(rep, o.actor.Username); err != nil {
				return err
			}
			o.queued = true
		} else if _, err := o.x.RecordSaid(rep, o.actor.Username); err != nil {
			return err
		}
	default: // website, mayor's mailbox: the plain answer by e-mail or SMS
		if _, err := o.x.QueueReply(ticket.Reply{Kind: ticket.ReplyAnswered, Text: text}, o.actor.Username); err != nil {
			return err
		}
		o.queued = true
	}
	if o.x.Flow.TransferredAt == nil {
		o.x.Flow.TransferDueAt = nil // it did not need a transfer after all
	}
	o.closeTicket()
	o.note = text
	return o.x.ResolveSupervision(o.actor.Username, "answered")
}

func (o *op) queueTemplate(set replies.Set, kind string, v replies.Vars) error {
	text, err := set.Render(kind, v)
	if err != nil {
		return err
	}
	if _, err := o.x.QueueReply(ticket.Reply{Kind: kind, Text: text}, o.actor.Username); err != nil {
		return err
	}
	o.queued = true
	return nil
}

// --- 转办 ---

func (o *op) units(main int64, co []int64) (store.Unit, []store.Unit, error) {
	m, err := o.x.Unit(main)
	if err != nil {
		return m, nil, inputErr("unknown_unit", "承办单位 %d 不存在或已停用", main)
	}
	var cos []store.Unit
	seen := map[int64]bool{main: true}
	for _, id := range co {
		if seen[id] {
			continue
		}
		seen[id] = true
		u, err := o.x.Unit(id)
		if err != nil {
			return m, nil, inputErr("unknown_unit", "协办单位 %d 不存在或已停用", id)
		}
		cos = append(cos, u)
	}
	return m, cos, nil
}

func names(us []store.Unit) string {
	out := make([]string, len(us))
	for i, u := range us {
		out[i] = u.Name
	}
	return strings.Join(out, "、")
}

func ids(us []store.Unit) string {
	out := make([]string, len(us))
	for i, u := range us {
		out[i] = strconv.FormatInt(u.ID, 10)
	}
	return strings.Join(out, ",")
}

func parseIDs(s string) []int64 {
	var out []int64
	for _, p := range strings.Split(s, ",") {
		if id, err := strconv.ParseInt(strings.TrimSpace(p), 10, 64); err == nil {
			out = append(out, id)
		}
	}
	return out
}

func (o *op) transfer() error {
	m, cos, err := o.units(o.in.UnitID, o.in.CoUnitIDs)
	if err != nil {
		return err
	}
	f, t := o.x.Flow, o.x.Ticket
	f.ProposedUnitID, f.ProposedCoUnits, f.TransferNote = &m.ID, ids(cos), o.in.Note
	if o.actor.ID != 0 {
		id := o.actor.ID
		f.SubmittedBy = &id
	}
	if o.in.Urgent != nil {
		f.Urgent = *o.in.Urgent
	}
	due := o.s.dl.TransferDue(t.CreatedAt, f.Urgent)
	if f.TransferDueAt == nil || due.Before(*f.TransferDueAt) {
		f.TransferDueAt = &due
	}
	o.set["due_at"] = *f.TransferDueAt
	o.set["assignee_id"] = nil
	o.note = "拟转" + m.Name
	if len(cos) > 0 {
		o.note += "（协办：" + names(cos) + "）"
	}
	if o.in.Note != "" {
		o.note += "；" + o.in.Note
	}
	return nil
}

func (o *op) sendBack() error {
	f := o.x.Flow
	if f.SubmittedBy != nil {
		o.set["assignee_id"] = *f.SubmittedBy
	}
	switch o.in.Kind {
	case "kb_answered":
		o.note = strings.TrimSpace(o.in.Department) + "知识库已有明确答复"
		if o.in.Note != "" {
			o.note += "；" + o.in.Note
		}
		f.TransferDueAt = nil // answered from the knowledge base, not transferred
		o.set["due_at"] = nil
	default:
		o.note = "承办单不符合记录标准，退回修改：" + o.in.Note
	}
	return nil
}

func (o *op) dispatchAction() error {
	f := o.x.Flow
	main, co := o.in.UnitID, o.in.CoUnitIDs
	if main <= 0 {
		if f.ProposedUnitID == nil {
			return inputErr("missing_unit_id", "审核转派：请选择主办单位（unit_id）")
		}
		main = *f.ProposedUnitID
		if len(co) == 0 {
			co = parseIDs(f.ProposedCoUnits)
		}
	}
	return o.dispatch(main, co, f.Instruction, false)
}

func (o *op) retransfer() error {
	if err := o.dispatch(o.in.UnitID, o.in.CoUnitIDs, o.x.Flow.Instruction, false); err != nil {
		return err
	}
	return o.x.ResolveSupervision(o.actor.Username, "retransferred", "bounced", "decide")
}

// dispatch sends 承办单 to a main unit and co-units: the orders, the unit's
// deadline, template 2 to SMS and WeChat citizens, the provincial event.
func (o *op) dispatch(mainID int64, coIDs []int64, instruction string, rework bool) error {
	m, cos, err := o.units(mainID, coIDs)
	if err != nil {
		return err
	}
	t, f, now := o.x.Ticket, o.x.Flow, o.now()
	if err := o.x.CancelOpenOrders(); err != nil {
		return err
	}
	due := o.s.dl.ReplyDue(now, t.Category, ticket.Nature(t.Nature), f.Urgent, f.ProvinceDueAt)
	order := store.WorkOrder{UnitID: m.ID, UnitName: m.Name, Role: "main", Status: store.OrderDispatched, Rework: rework,
		Instruction: instruction, Note: o.in.Note, DispatchedAt: now, DueAt: &due, Actor: o.actor.Username}
	if rework { // back to a unit that knows the case: handling at once
		order.Status, order.AcceptedAt = store.OrderAccepted, &now
	}
	if err := o.x.CreateOrder(&order); err != nil {
		return err
	}
	for _, c := range cos {
		co := store.WorkOrder{UnitID: c.ID, UnitName: c.Name, Role: "co", Status: store.OrderDispatched,
			Instruction: instruction, Note: o.in.Note, DispatchedAt: now, DueAt: &due, Actor: o.actor.Username}
		if err := o.x.CreateOrder(&co); err != nil {
			return err
		}
	}
	if f.TransferredAt == nil {
		f.TransferredAt = &now
	}
	f.ReplyDueAt, f.OverdueAt = &due, nil
	o.set["unit_id"], o.set["unit_name"], o.set["due_at"], o.set["assignee_id"] = m.ID, m.Name, due, nil
	o.note = "转" + m.Name
	if len(cos) > 0 {
		o.note += "（协办：" + names(cos) + "）"
	}
	o.note += "，" + due.In(o.s.dl.Cal.Location()).Format("2006-01-02 15:04") + "前回复"
	if rework {
		return nil
	}
	switch normalize.Channel(t.Channel) {
	case normalize.SMS:
		if err := o.queueTemplate(o.s.sms, ticket.ReplyTransferred, replies.Vars{Unit: m.Name}); err != nil {
			return err
		}
	case normalize.WeChat:
		if o.s.wechat != nil {
			if err := o.queueTemplate(*o.s.wechat, ticket.ReplyTransferred, replies.Vars{Unit: m.Name}); err != nil {
				return err
			}
		}
	}
	return o.x.ProvinceEvent("transferred", m.Name, instruction)
}

// --- 呈报 ---

func (o *op) escalate() error {
	o.x.Flow.EscalationText = strings.TrimSpace(o.in.Text)
	o.note = "呈阅件：" + o.x.Flow.EscalationText
	return nil
}

func (o *op) instruct() error {
	f := o.x.Flow
	f.Instruction, f.Leader = strings.TrimSpace(o.in.Text), true
	if _, err := o.x.Supervise("leader", f.Instruction, o.actor.Username); err != nil {
		return err
	}
	if o.rule.Guard == GuardWithUnit {
		if err := o.dispatch(o.in.UnitID, o.in.CoUnitIDs, f.Instruction, false); err != nil {
			return err
		}
		o.note = "领导批示：" + f.Instruction + "；" + o.note
		return nil
	}
	if f.SubmittedBy != nil {
		o.set["assignee_id"] = *f.SubmittedBy
	}
	o.note = "领导批示：" + f.Instruction
	return nil
}

func (o *op) discard() error {
	o.closeTicket()
	if o.x.Flow.TransferredAt == nil {
		o.x.Flow.TransferDueAt = nil
	}
	o.note = o.in.Note
	return nil
}

// --- 承办单位 ---

func (o *op) currentOrder() (*store.WorkOrder, error) {
	ord, err := o.x.CurrentOrder()
	if err == nil && ord == nil {
		err = fmt.Errorf("ticket %s: no open order of its unit", o.x.Ticket.No)
	}
	return ord, err
}

func (o *op) accept() error {
	ord, err := o.currentOrder()
	if err != nil {
		return err
	}
	if err := o.x.UpdateOrder(ord.ID, map[string]any{"status": store.OrderAccepted, "accepted_at": o.now()}); err != nil {
		return err
	}
	o.note = ord.UnitName + "已签收"
	return nil // the province heard "accepted" when the case arrived (store/province.go)
}

func (o *op) unitReturn() error {
	ord, err := o.currentOrder()
	if err != nil {
		return err
	}
	reason := strings.TrimSpace(o.in.Reason)
	if err := o.x.UpdateOrder(ord.ID, map[string]any{"status": store.OrderReturned, "returned_at": o.now(), "return_reason": reason}); err != nil {
		return err
	}
	if err := o.x.CancelOpenOrders(); err != nil {
		return err
	}
	f := o.x.Flow
	f.ReturnCount++
	f.OverdueAt = nil
	// The clerk transfers it again at once: a transfer deadline from now.
	o.set["unit_id"], o.set["unit_name"], o.set["due_at"] = nil, "", o.s.dl.TransferDue(o.now(), f.Urgent)
	o.note = ord.UnitName + "回退：" + reason
	units, err := o.x.ReturnedUnits()
	if err != nil {
		return err
	}
	if len(units) >= 2 {
		// Passed back and forth (推诿): the transfer lead and the supervision office.
		msg := fmt.Sprintf("已被%d个单位回退（疑似推诿），最近：%s", len(units), ord.UnitName)
		if _, err := o.x.Supervise("bounced", msg, o.actor.Username); err != nil {
			return err
		}
		if err := o.x.Alert("bounced", o.x.Ticket.No+"/"+strconv.Itoa(len(units)), msg); err != nil {
			return err
		}
	}
	return o.x.ProvinceEvent("returned", ord.UnitName, reason)
}

func (o *op) requestExtension() error {
	ord, err := o.currentOrder()
	if err != nil {
		return err
	}
	es, err := o.x.Extensions()
	if err != nil {
		return err
	}
	if len(es) >= 2 {
		return inputErr("extension_limit", "已申请过两次延期，不得再次申请")
	}
	f := o.x.Flow
	if f.ReplyDueAt != nil && o.now().After(*f.ReplyDueAt) {
		return inputErr("extension_too_late", "已超过规定处理时限（%s），不予批复延期", f.ReplyDueAt.In(o.s.dl.Cal.Location()).Format("2006-01-02 15:04"))
	}
	reason := strings.TrimSuffix(strings.TrimSpace(o.in.Reason), "原因")
	text := fmt.Sprintf("%s号承办事项因%s原因，无法按期回复，申请延期%d日回复。", o.x.Ticket.No, reason, o.in.Days)
	e := store.Extension{OrderID: ord.ID, UnitID: ord.UnitID, Seq: len(es) + 1, Days: o.in.Days, Reason: reason, Text: text,
		Status: "requested", RequestedBy: o.actor.Username, RequestedAt: o.now(), OldDueAt: f.ReplyDueAt}
	if err := o.x.CreateExtension(&e); err != nil {
		return err
	}
	o.note = text
	if e.Seq == 2 {
		o.note += "（第二次延期，须督办室批准）"
	}
	return o.x.ProvinceEvent("extension_requested", ord.UnitName, text)
}

func (o *op) pendingExtension() (*store.Extension, error) {
	es, err := o.x.Extensions()
	if err != nil {
		return nil, err
	}
	for i := len(es) - 1; i >= 0; i-- {
		if es[i].Status == "requested" {
			return &es[i], nil
		}
	}
	return nil, fmt.Errorf("ticket %s: no pending extension", o.x.Ticket.No)
}

func (o *op) approveExtension() error {
	e, err := o.pendingExtension()
	if err != nil {
		return err
	}
	f := o.x.Flow
	base := o.now()
	if f.ReplyDueAt != nil {
		base = *f.ReplyDueAt
	}
	due := o.s.dl.ExtendedDue(base, e.Days)
	if err := o.x.UpdateExtension(e.ID, map[string]any{"status": "approved", "decided_by": o.actor.Username,
		"decided_at": o.now(), "decision_note": o.in.Note, "new_due_at": due}); err != nil {
		return err
	}
	if err := o.x.UpdateOrder(e.OrderID, map[string]any{"due_at": due}); err != nil {
		return err
	}
	f.ReplyDueAt, f.OverdueAt = &due, nil
	f.ExtensionCount++
	o.set["due_at"] = due
	when := due.In(o.s.dl.Cal.Location()).Format("2006-01-02 15:04")
	o.note = fmt.Sprintf("批准延期%d日，%s前回复", e.Days, when)
	if o.in.Note != "" {
		o.note += "；" + o.in.Note
	}
	if err := o.x.ResolveSupervision(o.actor.Username, "extended", "overdue"); err != nil {
		return err
	}
	return o.x.ProvinceEvent("extended", o.x.Ticket.UnitName, "延期至"+when)
}

func (o *op) refuseExtension() error {
	e, err := o.pendingExtension()
	if err != nil {
		return err
	}
	reason := strings.TrimSpace(o.in.Reason)
	if err := o.x.UpdateExtension(e.ID, map[string]any{"status": "refused", "decided_by": o.actor.Username,
		"decided_at": o.now(), "decision_note": reason}); err != nil {
		return err
	}
	o.note = "不予批准延期：" + reason
	return nil
}

func (o *op) reply() error {
	text := strings.TrimSpace(o.in.Text)
	if rs := CheckReply(text); len(rs) > 0 {
		return &InputError{Code: "reply_refused", Message: "答复不符合办理标准，已退回修改", Reasons: rs}
	}
	ord, err := o.currentOrder()
	if err != nil {
		return err
	}
	now := o.now()
	if err := o.x.UpdateOrder(ord.ID, map[string]any{"status": store.OrderReplied, "replied_at": now, "reply_text": text}); err != nil {
		return err
	}
	if err := o.x.CancelOpenOrders(); err != nil { // co-units that gave no opinion
		return err
	}
	f := o.x.Flow
	due := o.s.dl.FollowupDue(now)
	f.RepliedAt, f.Result, f.FollowupDueAt, f.SurveyPendingAt = &now, text, &due, nil
	o.set["due_at"] = due
	o.note = text
	if err := o.x.ResolveSupervision(o.actor.Username, "replied", "overdue"); err != nil {
		return err
	}
	return o.x.ProvinceEvent("replied", ord.UnitName, text)
}

func (o *op) coOpinion() error {
	ord, err := o.x.OpenOrderOf(*o.actor.UnitID)
	if err != nil {
		return err
	}
	if ord == nil || ord.Role != "co" {
		return &TransitionError{Code: "role_not_allowed", From: o.from, Action: ActCoOpinion, Forbidden: true, Message: "您的单位不是本件的协办单位"}
	}
	text := strings.TrimSpace(o.in.Text)
	if err := o.x.UpdateOrder(ord.ID, map[string]any{"status": store.OrderReplied, "replied_at": o.now(), "reply_text": text}); err != nil {
		return err
	}
	o.note = ord.UnitName + "（协办）：" + text
	return nil
}

// --- 跟踪督办 ---

func (o *op) urge() error {
	o.note = strings.TrimSpace(o.in.Note)
	if o.note == "" {
		o.note = "请抓紧办理"
	}
	return nil
}

func (o *op) supervise() error {
	f := o.x.Flow
	switch o.in.Kind {
	case "hot":
		f.Hot = true
	case "media":
		f.Media = true
	case "leader":
		f.Leader = true
	}
	o.note = supervisionLabel(o.in.Kind)
	if o.in.Note != "" {
		o.note += "：" + o.in.Note
	}
	_, err := o.x.Supervise(o.in.Kind, o.in.Note, o.actor.Username)
	return err
}

// decideReasonable records the supervision office's judgement on an
// unsatisfied follow-up whose demand was not judged reasonable or not.
func (o *op) decideReasonable(v bool) error {
	fu, err := o.x.LatestFollowUp("reached")
	if err != nil || fu == nil {
		return err
	}
	if fu.ResultRating == RatingUnsatisfied && fu.Reasonable == nil {
		fu.Reasonable = &v
		return o.x.SaveFollowUp(fu)
	}
	return nil
}

func (o *op) rework() error {
	unitID := o.in.UnitID
	if unitID <= 0 {
		last, err := o.x.LastRepliedOrder()
		if err != nil {
			return err
		}
		if last == nil {
			return inputErr("missing_unit_id", "退回重办：请选择承办单位（unit_id）")
		}
		unitID = last.UnitID
	}
	if err := o.decideReasonable(true); err != nil {
		return err
	}
	reason := strings.TrimSpace(o.in.Reason)
	if err := o.dispatch(unitID, o.in.CoUnitIDs, "退回重办："+reason, true); err != nil {
		return err
	}
	f := o.x.Flow
	f.ReworkCount++
	f.FollowupDueAt, f.SurveyPendingAt = nil, nil
	o.note = "退回重办：" + reason + "；" + o.note
	return o.x.ResolveSupervision(o.actor.Username, "rework", "rework_request", "close_request", "decide")
}

func (o *op) closeAction() error {
	if err := o.decideReasonable(false); err != nil {
		return err
	}
	o.closeTicket()
	o.note = strings.TrimSpace(o.in.Note)
	if err := o.x.ResolveSupervision(o.actor.Username, "closed"); err != nil {
		return err
	}
	return o.x.ProvinceEvent("closed", o.x.Ticket.UnitName, o.note)
}

func (o *op) staffComplaint() error {
	v := true
	if o.in.Valid != nil {
		v = *o.in.Valid
	}
	o.x.Flow.StaffComplaint = v
	o.note = "有效投诉（工作人员）"
	if !v {
		o.note = "撤销有效投诉"
	}
	if o.in.Note != "" {
		o.note += "：" + o.in.Note
	}
	return nil
}

// --- 回访反馈 ---

func (o *op) replyUnit() *int64 {
	if last, err := o.x.LastRepliedOrder(); err == nil && last != nil {
		id := last.UnitID
		return &id
	}
	return o.x.Ticket.UnitID
}

func (o *op) followUp() error {
	t, f, in := o.x.Ticket, o.x.Flow, o.in
	method, dir := "call", "out"
	if o.rule.Action == ActResultTold {
		method, dir = "inbound", "in"
	}
	if t.Confidential && method == "call" && in.CalledNumber != "" {
		if p, _ := normalize.Phone(in.CalledNumber); p != o.x.Citizen.Phone {
			return inputErr("confidential_number", "保密件只能通过来电人本人号码回访")
		}
	}
	var reasonable *bool
	switch in.Reasonable {
	case "yes":
		v := true
		reasonable = &v
	case "no":
		v := false
		reasonable = &v
	case "":
		if in.ResultRate != RatingUnsatisfied {
			v := true // a satisfied demand counts as a reasonable one
			reasonable = &v
		}
	}
	now := o.now()
	fu := store.FollowUp{UnitID: o.replyUnit(), Method: method, Outcome: "reached", ServiceRating: in.ServiceRate,
		ResultRating: in.ResultRate, Reasonable: reasonable, UnitReplied: in.UnitReplied, Confidential: t.Confidential,
		Note: in.Note, Actor: o.actor.Username, At: now, AnsweredAt: &now}
	if err := o.x.SaveFollowUp(&fu); err != nil {
		return err
	}
	if in.ServiceRate != "" {
		if err := o.x.AddRating(&store.ServiceRating{Direction: dir, Rating: in.ServiceRate, Actor: o.actor.Username, At: now}); err != nil {
			return err
		}
	}
	if f.FollowedUpAt == nil {
		f.FollowedUpAt = &now
	}
	f.SurveyPendingAt = nil
	o.note = fmt.Sprintf("服务：%s；结果：%s", ratingLabel(in.ServiceRate), ratingLabel(in.ResultRate))
	if in.Note != "" {
		o.note += "；" + in.Note
	}
	return o.afterFollowUp(in.Reasonable)
}

// afterFollowUp closes a satisfied ticket or sends an unsatisfied one to
// supervision: reasonable → rework request, unreasonable → close request,
// unclear → the office decides.
func (o *op) afterFollowUp(reasonable string) error {
	if o.rule.Guard == GuardSatisfied {
		o.closeTicket()
		if err := o.x.ResolveSupervision(o.actor.Username, "followed_up"); err != nil {
			return err
		}
		return o.x.ProvinceEvent("closed", o.x.Ticket.UnitName, "")
	}
	reason := map[string]string{"yes": "rework_request", "no": "close_request"}[reasonable]
	if reason == "" {
		reason = "decide"
	}
	o.set["due_at"] = nil
	_, err := o.x.Supervise(reason, o.note, o.actor.Username)
	return err
}

func (o *op) contactFailed() error {
	f := o.x.Flow
	f.FollowupFailures++
	outcome := "no_answer"
	if o.rule.Guard == GuardSecondFailure {
		outcome = "unreachable"
		f.Unreachable = true
	}
	fu := store.FollowUp{UnitID: o.replyUnit(), Method: "call", Outcome: outcome, Confidential: o.x.Ticket.Confidential,
		Note: o.in.Note, Actor: o.actor.Username, At: o.now()}
	if err := o.x.SaveFollowUp(&fu); err != nil {
		return err
	}
	if outcome == "no_answer" {
		o.note = "回访联系不上（第一次）"
		return nil
	}
	o.note = "两次回访联系不上，按联系不上办结"
	o.closeTicket()
	if err := o.x.ResolveSupervision(o.actor.Username, "unreachable"); err != nil {
		return err
	}
	return o.x.ProvinceEvent("closed", o.x.Ticket.UnitName, o.note)
}

// SurveyText is the follow-up SMS: the result and the three answers.
const SurveyText = "您好！您反映的问题（工单号%s）已办理，办理结果：%s。请回复数字评价：1 满意 2 基本满意 3 不满意。感谢您对我们工作的支持！"

func (o *op) sendSurvey() error {
	phone := o.x.Citizen.Phone
	if len(phone) != 11 || phone[0] != '1' {
		return inputErr("no_mobile", "来电人没有手机号码，无法短信回访")
	}
	result := strings.TrimRight(strings.TrimSpace(o.x.Flow.Result), "。.")
	if r := []rune(result); len(r) > 150 {
		result = string(r[:150]) + "…"
	}
	text := fmt.Sprintf(SurveyText, o.x.Ticket.No, result)
	if _, err := o.x.QueueSMS(ticket.Reply{Kind: "survey", Text: text}, o.actor.Username); err != nil {
		return err
	}
	o.queued = true
	now := o.now()
	o.x.Flow.SurveyPendingAt = &now
	fu := store.FollowUp{UnitID: o.replyUnit(), Method: "sms", Outcome: "pending", Confidential: o.x.Ticket.Confidential,
		Actor: o.actor.Username, At: now}
	if err := o.x.SaveFollowUp(&fu); err != nil {
		return err
	}
	o.note = "短信回访已发送至来电人本人号码"
	return nil
}

func (o *op) surveyAnswer() error {
	rating, _ := ParseSurvey(o.in.Text)
	now := o.now()
	fu, err := o.x.LatestFollowUp("pending")
	if err != nil {
		return err
	}
	if fu == nil {
		fu = &store.FollowUp{UnitID: o.replyUnit(), Method: "sms", Confidential: o.x.Ticket.Confidential, At: now}
	}
	fu.Outcome, fu.ResultRating, fu.AnsweredAt, fu.Actor = "reached", rating, &now, o.actor.Username
	if rating != RatingUnsatisfied {
		v := true
		fu.Reasonable = &v
	}
	if err := o.x.SaveFollowUp(fu); err != nil {
		return err
	}
	f := o.x.Flow
	if f.FollowedUpAt == nil {
		f.FollowedUpAt = &now
	}
	f.SurveyPendingAt = nil
	o.note = "短信评价：" + ratingLabel(rating)
	return o.afterFollowUp("")
}

// --- 归档, 逾期 ---

func (o *op) archive() error {
	o.note = strings.TrimSpace(o.in.Note)
	if o.note == "" {
		o.note = "整理归档"
	}
	return o.x.ResolveSupervision(o.actor.Username, "archived")
}

func (o *op) markOverdue() error {
	t := o.x.Ticket
	now := o.now()
	o.x.Flow.OverdueAt = &now
	due := ""
	if t.DueAt != nil {
		due = t.DueAt.In(o.s.dl.Cal.Location()).Format("2006-01-02 15:04")
	}
	o.note = "已超过办理时限" + due
	stage := "转办"
	if t.UnitID != nil {
		stage = t.UnitName + "承办"
	}
	msg := fmt.Sprintf("工单%s%s逾期（时限%s）", t.No, stage, due)
	ref := t.No
	if t.DueAt != nil {
		ref += "/" + strconv.FormatInt(t.DueAt.Unix(), 10)
	}
	if err := o.x.Alert("overdue", ref, msg); err != nil {
		return err
	}
	_, err := o.x.Supervise("overdue", msg, o.actor.Username)
	return err
}

func ratingLabel(r string) string {
	switch r {
	case RatingSatisfied:
		return "满意"
	case RatingBasic:
		return "基本满意"
	case RatingUnsatisfied:
		return "不满意"
	}
	return "未评价"
}

func supervisionLabel(kind string) string {
	return map[string]string{"hot": "热点问题", "media": "媒体曝光", "leader": "领导批示", "overdue": "逾期未办结",
		"rework_request": "回访不满意（合理诉求）", "close_request": "回访不满意（诉求不合理）", "decide": "回访不满意（待督办室判断）",
		"bounced": "单位相互推诿"}[kind]
}
