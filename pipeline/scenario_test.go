package pipeline_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"hotline/auth"
	"hotline/normalize"
	"hotline/pipeline"
	"hotline/store"
	"hotline/ticket"
)

func outMessages(tk ticket.Ticket, kind string) []ticket.Message {
	var out []ticket.Message
	for _, m := range tk.Messages {
		if m.Direction == "out" && (kind == "" || m.Kind == kind) {
			out = append(out, m)
		}
	}
	return out
}

func (e *env) outboxFor(msgID int64) store.OutboxItem {
	e.t.Helper()
	var it store.OutboxItem
	if err := e.st.DB().Where("message_id = ?", msgID).Take(&it).Error; err != nil {
		e.t.Fatalf("no outbox item for message %d: %v", msgID, err)
	}
	return it
}

func inputErrCode(err error) string {
	var ie *pipeline.InputError
	if errors.As(err, &ie) {
		return ie.Code
	}
	return ""
}

// TestSMSLoop walks an SMS ticket through transfer review, dispatch (template 2
// queued with the ticket's move), extension, a refused and an accepted reply,
// the SMS survey, rework, the follow-up and the archive.
func TestSMSLoop(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		no := e.newTicket(normalize.SMS, "13800138000", "解放北路路灯坏了一个月了")
		e.do(no, pipeline.ActTransfer, auth.RoleIntake, pipeline.Input{UnitID: e.unitA.ID, CoUnitIDs: []int64{e.unitC.ID}, Note: "路灯"})
		if f := e.flow(no); f.Flow.TransferDueAt == nil || e.ticket(no).DueAt == nil || !f.Flow.TransferDueAt.Equal(*e.ticket(no).DueAt) {
			t.Fatalf("transfer due not set: %+v", f.Flow)
		}
		if n := len(outMessages(e.ticket(no), ticket.ReplyTransferred)); n != 0 {
			t.Fatalf("template 2 sent before the clerk's review")
		}
		res := e.do(no, pipeline.ActDispatch, auth.RoleTransfer, pipeline.Input{})
		if res.To != ticket.StatusDispatched {
			t.Fatalf("dispatch: %+v", res)
		}
		tk := e.ticket(no)
		sent := outMessages(tk, ticket.ReplyTransferred)
		if len(sent) != 1 || sent[0].Text != "您好，您的短信已收到，已转市城市管理局处理，请耐心等待。" {
			t.Fatalf("template 2: %+v", sent)
		}
		if it := e.outboxFor(sent[0].ID); it.Kind != ticket.ViaSMS || it.Recipient != "13800138000" {
			t.Fatalf("outbox item %+v", it)
		}
		if tk.UnitID == nil || *tk.UnitID != e.unitA.ID || tk.Unit != "市城市管理局" || tk.DueAt == nil {
			t.Fatalf("ticket after dispatch: unit %v %q due %v", tk.UnitID, tk.Unit, tk.DueAt)
		}
		f := e.flow(no)
		if len(f.Orders) != 2 || f.Orders[0].Role != "main" || f.Orders[1].Role != "co" || f.Orders[1].UnitID != e.unitC.ID {
			t.Fatalf("承办单: %+v", f.Orders)
		}
		// Only the main unit acts; the co-unit gives its opinion.
		if err := e.refused(no, pipeline.ActAccept, "unit_co", pipeline.Input{}); !isForbidden(err) {
			t.Fatalf("co-unit accept: %v", err)
		}
		e.do(no, pipeline.ActAccept, "unit", pipeline.Input{})
		e.do(no, pipeline.ActCoOpinion, "unit_co", pipeline.Input{Text: "街道已配合现场核查"})

		// Extension: at most 7 days, with a reason, in the standard's format.
		if err := e.refused(no, pipeline.ActRequestExtension, "unit", pipeline.Input{Days: 8, Reason: "材料未到"}); inputErrCode(err) != "invalid_days" {
			t.Fatalf("8 days: %v", err)
		}
		e.do(no, pipeline.ActRequestExtension, "unit", pipeline.Input{Days: 3, Reason: "灯具需厂家供货"})
		f = e.flow(no)
		if x := f.Extensions[0]; x.Text != no+"号承办事项因灯具需厂家供货原因，无法按期回复，申请延期3日回复。" || x.Seq != 1 {
			t.Fatalf("extension text %q", x.Text)
		}
		oldDue := *f.Flow.ReplyDueAt
		e.do(no, pipeline.ActApproveExtension, auth.RoleTransfer, pipeline.Input{})
		f = e.flow(no)
		if want := e.svc.Deadlines().ExtendedDue(oldDue, 3); !f.Flow.ReplyDueAt.Equal(want) || !e.ticket(no).DueAt.Equal(want) || f.Flow.ExtensionCount != 1 {
			t.Fatalf("extended due %v, want %v", f.Flow.ReplyDueAt, want)
		}

		// Reply quality check: refused with the reason, recorded, nothing moved.
		err := e.refused(no, pipeline.ActReply, "unit", pipeline.Input{Text: "已安排市路灯管理所处理。"})
		var ie *pipeline.InputError
		if !errors.As(err, &ie) || ie.Code != "reply_refused" || len(ie.Reasons) == 0 || ie.Reasons[0] != pipeline.ReasonVague {
			t.Fatalf("vague reply: %v", err)
		}
		tk = e.ticket(no)
		if tk.Status != ticket.StatusHandling || tk.Events[len(tk.Events)-1].Type != "reply_refused" {
			t.Fatalf("refused reply: status %s, last event %+v", tk.Status, tk.Events[len(tk.Events)-1])
		}
		e.do(no, pipeline.ActReply, "unit", pipeline.Input{Text: goodReply})
		f = e.flow(no)
		if f.Orders[0].Status != store.OrderReplied || f.Flow.Result != goodReply || f.Flow.FollowupDueAt == nil {
			t.Fatalf("after reply: %+v", f)
		}

		// The SMS survey, answered 3 (unsatisfied) by the citizen's next SMS.
		e.do(no, pipeline.ActSendSurvey, auth.RoleFollowUp, pipeline.Input{})
		if s := outMessages(e.ticket(no), "survey"); len(s) != 1 || !strings.Contains(s[0].Text, "1 满意 2 基本满意 3 不满意") {
			t.Fatalf("survey SMS: %+v", s)
		}
		if _, handled, err := e.svc.SurveyReply(e.ctx, "13900000000", "3"); handled || err != nil {
			t.Fatalf("another phone's answer handled: %v %v", handled, err)
		}
		if _, handled, err := e.svc.SurveyReply(e.ctx, "13800138000", "路灯又坏了"); handled || err != nil {
			t.Fatalf("a new matter taken as an answer: %v %v", handled, err)
		}
		got, handled, err := e.svc.SurveyReply(e.ctx, "13800138000", "３。")
		if err != nil || !handled || got != no {
			t.Fatalf("survey answer: %q %v %v", got, handled, err)
		}
		if s := e.status(no); s != ticket.StatusSupervising {
			t.Fatalf("unsatisfied: %s", s)
		}
		q, _ := e.st.Queue(e.ctx, store.QueueFilter{Open: true})
		if len(q) != 1 || q[0].TicketNo != no || q[0].Reasons[0] != "decide" {
			t.Fatalf("supervision queue: %+v", q)
		}

		// 退回重办: a new main order to the same unit; the reasonableness is decided.
		e.do(no, pipeline.ActRework, auth.RoleSupervisor, pipeline.Input{Reason: "灯具更换后仍不亮"})
		f = e.flow(no)
		if len(f.Orders) != 3 || !f.Orders[2].Rework || f.Orders[2].UnitID != e.unitA.ID || f.Flow.ReworkCount != 1 {
			t.Fatalf("rework orders: %+v", f.Orders)
		}
		if fu := f.FollowUps[len(f.FollowUps)-1]; fu.Method != "sms" || fu.ResultRating != pipeline.RatingUnsatisfied || fu.Reasonable == nil || !*fu.Reasonable {
			t.Fatalf("follow-up after rework: %+v", fu)
		}
		if n := len(outMessages(e.ticket(no), ticket.ReplyTransferred)); n != 1 {
			t.Fatalf("rework sent template 2 again (%d)", n)
		}
		e.do(no, pipeline.ActReply, "unit", pipeline.Input{Text: goodReply + "已更换整条线路。"})
		e.do(no, pipeline.ActFollowUp, auth.RoleFollowUp, pipeline.Input{ResultRate: pipeline.RatingBasic, ServiceRate: pipeline.RatingSatisfied, UnitReplied: ptr(true)})
		tk = e.ticket(no)
		if tk.Status != ticket.StatusClosed {
			t.Fatalf("closed: %s", tk.Status)
		}
		if q, _ := e.st.Queue(e.ctx, store.QueueFilter{Open: true}); len(q) != 0 {
			t.Fatalf("closed ticket still supervised: %+v", q)
		}
		res = e.do(no, pipeline.ActArchive, auth.RoleSupervisor, pipeline.Input{})
		if res.To != ticket.StatusArchived || len(res.Allowed) != 0 {
			t.Fatalf("archive: %+v", res)
		}
		exp, err := e.st.ExportTicket(e.ctx, no)
		if err != nil || exp.Ticket.Status != ticket.StatusArchived || len(exp.Orders) != 3 || len(exp.FollowUps) != 2 || len(exp.Ratings) != 1 {
			t.Fatalf("export: %v %+v", err, exp)
		}
		// Every move left its audit event, in order.
		var moves []string
		for _, ev := range exp.Ticket.Events {
			if ev.From != ev.To && ev.To != "" {
				moves = append(moves, ev.To)
			}
		}
		want := "intake transfer_review dispatched handling extension_requested handling replied supervising handling replied closed archived"
		if strings.Join(moves, " ") != want {
			t.Fatalf("moves %v\nwant %s", moves, want)
		}
	})
}

func ptr[T any](v T) *T { return &v }

func TestExtensionRules(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		no := e.walk(normalize.SMS, ticket.StatusHandling)
		if err := e.refused(no, pipeline.ActRequestExtension, "unit", pipeline.Input{Days: 2}); inputErrCode(err) != "missing_reason" {
			t.Fatalf("no reason: %v", err)
		}
		if err := e.refused(no, pipeline.ActRequestExtension, "unit", pipeline.Input{Days: 0, Reason: "x"}); inputErrCode(err) != "invalid_days" {
			t.Fatalf("0 days: %v", err)
		}
		if err := e.refused(no, pipeline.ActRequestExtension, "unit2", pipeline.Input{Days: 2, Reason: "x"}); !isForbidden(err) {
			t.Fatalf("another unit: %v", err)
		}
		// First: refused by the clerk with a reason.
		e.do(no, pipeline.ActRequestExtension, "unit", pipeline.Input{Days: 7, Reason: "需召开协调会"})
		if err := e.refused(no, pipeline.ActRefuseExtension, auth.RoleTransfer, pipeline.Input{}); inputErrCode(err) != "missing_reason" {
			t.Fatalf("refusal without reason: %v", err)
		}
		dueBefore := *e.flow(no).Flow.ReplyDueAt
		e.do(no, pipeline.ActRefuseExtension, auth.RoleTransfer, pipeline.Input{Reason: "理由不充分，请按期办理"})
		f := e.flow(no)
		if f.Extensions[0].Status != "refused" || f.Extensions[0].DecisionNote != "理由不充分，请按期办理" || !f.Flow.ReplyDueAt.Equal(dueBefore) {
			t.Fatalf("refused extension: %+v", f.Extensions[0])
		}
		// Second: only the supervision office decides.
		e.do(no, pipeline.ActRequestExtension, "unit", pipeline.Input{Days: 5, Reason: "情况复杂"})
		err := e.refused(no, pipeline.ActApproveExtension, auth.RoleTransfer, pipeline.Input{})
		var te *pipeline.TransitionError
		if !errors.As(err, &te) || !te.Forbidden || te.Message != "第二次延期须经督办室批准" {
			t.Fatalf("second extension by the clerk: %v", err)
		}
		allowed, _, _ := e.svc.Allowed(e.ctx, no, e.users[auth.RoleTransfer])
		for _, a := range allowed {
			if a == pipeline.ActApproveExtension {
				t.Fatalf("clerk offered approve on a second extension: %v", allowed)
			}
		}
		e.do(no, pipeline.ActApproveExtension, auth.RoleSupervisor, pipeline.Input{Note: "已收到盖章的延期回复申请单"})
		if f := e.flow(no); f.Flow.ExtensionCount != 1 || f.Extensions[1].Status != "approved" || !f.Flow.ReplyDueAt.After(dueBefore) {
			t.Fatalf("second extension: %+v", f)
		}
		// No third.
		if err := e.refused(no, pipeline.ActRequestExtension, "unit", pipeline.Input{Days: 1, Reason: "再延"}); inputErrCode(err) != "extension_limit" {
			t.Fatalf("third extension: %v", err)
		}
		// Not after the deadline passed (超出时限不予批复).
		late := e.walk(normalize.SMS, ticket.StatusHandling)
		e.svc.SetClock(func() time.Time { return time.Now().Add(60 * 24 * time.Hour) })
		defer e.svc.SetClock(time.Now)
		if err := e.refused(late, pipeline.ActRequestExtension, "unit", pipeline.Input{Days: 2, Reason: "x"}); inputErrCode(err) != "extension_too_late" {
			t.Fatalf("late extension: %v", err)
		}
	})
}

func TestReturnsAndBouncing(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		no := e.walk(normalize.Voice, ticket.StatusDispatched, "co")
		if err := e.refused(no, pipeline.ActReturn, "unit", pipeline.Input{}); inputErrCode(err) != "missing_reason" {
			t.Fatalf("return without reason: %v", err)
		}
		e.do(no, pipeline.ActReturn, "unit", pipeline.Input{Reason: "属住建部门职责"})
		tk := e.ticket(no)
		if tk.UnitID != nil || tk.Unit != "" || tk.DueAt == nil {
			t.Fatalf("returned ticket keeps its unit: %+v", tk)
		}
		f := e.flow(no)
		if f.Orders[0].Status != store.OrderReturned || f.Orders[1].Status != store.OrderCancelled || f.Flow.ReturnCount != 1 {
			t.Fatalf("orders after return: %+v", f.Orders)
		}
		if q, _ := e.st.Queue(e.ctx, store.QueueFilter{Open: true}); len(q) != 0 {
			t.Fatalf("one return is not bouncing: %+v", q)
		}
		// Re-transferred by the clerk; the second unit returns it too: supervision.
		e.do(no, pipeline.ActRetransfer, auth.RoleTransfer, pipeline.Input{UnitID: e.unitB.ID})
		if err := e.refused(no, pipeline.ActReturn, "unit", pipeline.Input{Reason: "x"}); !isForbidden(err) {
			t.Fatalf("the first unit acts after re-transfer: %v", err)
		}
		e.do(no, pipeline.ActReturn, "unit2", pipeline.Input{Reason: "属城管部门职责"})
		q, _ := e.st.Queue(e.ctx, store.QueueFilter{Open: true, Reason: "bounced"})
		if len(q) != 1 || q[0].TicketNo != no {
			t.Fatalf("bounced case not supervised: %+v", q)
		}
		alerts, _ := e.st.ListAlerts(e.ctx, true, 10)
		if len(alerts) != 1 || alerts[0].Kind != "bounced" {
			t.Fatalf("alerts: %+v", alerts)
		}
		// Counted per unit per month.
		now := time.Now().In(loc)
		from := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, loc)
		counts, err := e.st.UnitReturns(e.ctx, from, from.AddDate(0, 1, 0))
		if err != nil || len(counts) != 2 || counts[0].Returns != 1 || counts[1].Returns != 1 {
			t.Fatalf("returns per unit: %+v %v", counts, err)
		}
		e.do(no, pipeline.ActRetransfer, auth.RoleSupervisor, pipeline.Input{UnitID: e.unitA.ID})
		if q, _ := e.st.Queue(e.ctx, store.QueueFilter{Open: true, Reason: "bounced"}); len(q) != 0 {
			t.Fatalf("re-transfer did not resolve the bounce: %+v", q)
		}
		// A voice ticket gets no SMS on transfer.
		if n := len(outMessages(e.ticket(no), "")); n != 0 {
			t.Fatalf("voice ticket got %d outbound messages", n)
		}
	})
}

func TestSendBack(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		no := e.walk(normalize.SMS, ticket.StatusTransferReview)
		e.do(no, pipeline.ActSendBack, auth.RoleTransfer, pipeline.Input{Kind: "kb_answered", Department: "市人力资源和社会保障局"})
		tk := e.ticket(no)
		ev := tk.Events[len(tk.Events)-1]
		if tk.Status != ticket.StatusIntake || ev.Note != "市人力资源和社会保障局知识库已有明确答复" {
			t.Fatalf("send back: %s %+v", tk.Status, ev)
		}
		if f := e.flow(no); f.Flow.TransferDueAt != nil || tk.DueAt != nil {
			t.Fatalf("a KB-answered ticket is still due for transfer")
		}
		e.do(no, pipeline.ActAnswer, auth.RoleIntake, pipeline.Input{Text: "灵活就业人员可在网上缴纳养老保险"})
		if a := outMessages(e.ticket(no), ticket.ReplyAnswered); len(a) != 1 ||
			a[0].Text != "您好！您的短信已收到，现已落实，答复结果如下：灵活就业人员可在网上缴纳养老保险。感谢您对我们的信任！" {
			t.Fatalf("template 1: %+v", a)
		}

		no = e.walk(normalize.SMS, ticket.StatusTransferReview)
		if err := e.refused(no, pipeline.ActSendBack, auth.RoleTransfer, pipeline.Input{Kind: "incomplete"}); inputErrCode(err) != "missing_note" {
			t.Fatalf("incomplete without note: %v", err)
		}
		e.do(no, pipeline.ActSendBack, auth.RoleTransfer, pipeline.Input{Kind: "incomplete", Note: "缺少详细地址"})
		var tr store.Ticket
		e.st.DB().Where("no = ?", no).Take(&tr)
		if tr.AssigneeID == nil || *tr.AssigneeID != e.users[auth.RoleIntake].ID || e.flow(no).Flow.TransferDueAt == nil {
			t.Fatalf("incomplete: back to the intake agent with the transfer still due: %+v", tr)
		}
	})
}

func TestEscalateAndInstruct(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		no := e.walk(normalize.Website, ticket.StatusEscalated)
		e.do(no, pipeline.ActInstruct, auth.RoleSupervisor, pipeline.Input{Text: "请市城管局三日内解决并回复", UnitID: e.unitA.ID})
		f := e.flow(no)
		if e.status(no) != ticket.StatusDispatched || f.Orders[0].Instruction != "请市城管局三日内解决并回复" || !f.Flow.Leader {
			t.Fatalf("instruction: %s %+v", e.status(no), f)
		}
		if q, _ := e.st.Queue(e.ctx, store.QueueFilter{Open: true, Reason: "leader"}); len(q) != 1 {
			t.Fatalf("leader-instructed case not supervised: %+v", q)
		}
	})
}

func TestFollowUpRules(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		// Two failed contacts: unreachable, closed.
		no := e.walk(normalize.SMS, ticket.StatusReplied)
		e.do(no, pipeline.ActContactFailed, auth.RoleFollowUp, pipeline.Input{})
		if e.status(no) != ticket.StatusReplied {
			t.Fatal("one failed contact closed the ticket")
		}
		e.do(no, pipeline.ActContactFailed, auth.RoleFollowUp, pipeline.Input{})
		if f := e.flow(no); e.status(no) != ticket.StatusClosed || !f.Flow.Unreachable || f.FollowUps[1].Outcome != "unreachable" {
			t.Fatalf("unreachable: %s %+v", e.status(no), f.FollowUps)
		}

		// The citizen called for the result: told and asked; no second call.
		no = e.walk(normalize.SMS, ticket.StatusReplied)
		e.do(no, pipeline.ActResultTold, auth.RoleIntake, pipeline.Input{ResultRate: pipeline.RatingSatisfied})
		if err := e.refused(no, pipeline.ActFollowUp, auth.RoleFollowUp, pipeline.Input{ResultRate: pipeline.RatingSatisfied}); !isConflict(err) {
			t.Fatalf("second follow-up call: %v", err)
		}

		// Unsatisfied and unreasonable: supervision closes it, the demand is judged unreasonable.
		no = e.walk(normalize.SMS, ticket.StatusReplied)
		e.do(no, pipeline.ActFollowUp, auth.RoleFollowUp, pipeline.Input{ResultRate: pipeline.RatingUnsatisfied, Reasonable: "unclear"})
		e.do(no, pipeline.ActClose, auth.RoleSupervisor, pipeline.Input{Note: "诉求与政策规定不相符"})
		if fu := e.flow(no).FollowUps[0]; fu.Reasonable == nil || *fu.Reasonable {
			t.Fatalf("closed by supervision: reasonable %v", fu.Reasonable)
		}

		// Confidential tickets: only the citizen's own number.
		no = e.newTicket(normalize.Website, "13700000001", "举报某单位违规收费")
		e.st.DB().Model(&store.Ticket{}).Where("no = ?", no).Update("confidential", true)
		e.do(no, pipeline.ActTransfer, auth.RoleIntake, pipeline.Input{UnitID: e.unitA.ID})
		e.do(no, pipeline.ActDispatch, auth.RoleTransfer, pipeline.Input{})
		e.do(no, pipeline.ActAccept, "unit", pipeline.Input{})
		e.do(no, pipeline.ActReply, "unit", pipeline.Input{Text: goodReply})
		if err := e.refused(no, pipeline.ActFollowUp, auth.RoleFollowUp, pipeline.Input{ResultRate: pipeline.RatingSatisfied, CalledNumber: "13900000009"}); inputErrCode(err) != "confidential_number" {
			t.Fatalf("confidential follow-up to another number: %v", err)
		}
		e.do(no, pipeline.ActFollowUp, auth.RoleFollowUp, pipeline.Input{ResultRate: pipeline.RatingSatisfied, CalledNumber: "137 0000 0001"})
		if fu := e.flow(no).FollowUps[0]; !fu.Confidential {
			t.Fatalf("follow-up of a confidential ticket not marked: %+v", fu)
		}

		// A citizen without a mobile number gets no survey.
		no = e.newTicket(normalize.Voice, "05342345678", "噪音扰民")
		e.do(no, pipeline.ActTransfer, auth.RoleIntake, pipeline.Input{UnitID: e.unitA.ID})
		e.do(no, pipeline.ActDispatch, auth.RoleTransfer, pipeline.Input{})
		e.do(no, pipeline.ActAccept, "unit", pipeline.Input{})
		e.do(no, pipeline.ActReply, "unit", pipeline.Input{Text: goodReply})
		if err := e.refused(no, pipeline.ActSendSurvey, auth.RoleFollowUp, pipeline.Input{}); inputErrCode(err) != "no_mobile" {
			t.Fatalf("survey to a landline: %v", err)
		}
	})
}

func TestAnswerThroughChannel(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		voice := e.newTicket(normalize.Voice, "13800138001", "咨询公积金提取")
		e.do(voice, pipeline.ActAnswer, auth.RoleIntake, pipeline.Input{Text: "可携带身份证到公积金中心办理"})
		a := outMessages(e.ticket(voice), ticket.ReplyAnswered)
		if len(a) != 1 || a[0].Delivery != ticket.DeliverySent || a[0].Text != "可携带身份证到公积金中心办理" {
			t.Fatalf("voice answer: %+v", a)
		}
		var n int64
		e.st.DB().Model(&store.OutboxItem{}).Where("message_id = ?", a[0].ID).Count(&n)
		if n != 0 {
			t.Fatal("a phone answer was queued for delivery")
		}
		web := e.newTicket(normalize.Website, "13800138002", "咨询公积金提取")
		e.do(web, pipeline.ActAnswer, auth.RoleIntake, pipeline.Input{Text: "可网上办理"})
		a = outMessages(e.ticket(web), ticket.ReplyAnswered)
		if len(a) != 1 || a[0].Text != "可网上办理" || e.outboxFor(a[0].ID).Kind != ticket.ViaSMS {
			t.Fatalf("website answer: %+v", a)
		}
		if tk := e.ticket(web); tk.Status != ticket.StatusClosed {
			t.Fatalf("answered ticket not closed: %s", tk.Status)
		}
		if e.queued == 0 {
			t.Fatal("the outbox was not woken")
		}
	})
}

func TestReplyQuality(t *testing.T) {
	for _, c := range []struct {
		text string
		want string
	}{
		{"", pipeline.ReasonEmpty},
		{"已安排***部门处理", pipeline.ReasonVague},
		{"您好，已安排市路灯管理所处理。谢谢！", pipeline.ReasonVague},
		{"已联系德城区住建局调查", pipeline.ReasonVague},
		{"正在协调处理中，请耐心等待。", pipeline.ReasonVague},
		{"已处理", pipeline.ReasonTooShort},
		{"经核实，来电人要求不合理，不予解决。根据《物业管理条例》第三十二条，该费用由业主承担。", pipeline.ReasonUnreasonable},
		{goodReply, ""},
		{"经调查，反映情况与实际有出入：该工地持有夜间施工许可（许可证号2026-118），许可期至12月5日；已要求其22时后停止高噪声作业。", ""},
		{"已安排市路灯管理所处理：经现场核实路灯线路老化属实，已于11月28日更换电缆200米，现已恢复照明。", ""},
	} {
		got := pipeline.CheckReply(c.text)
		if c.want == "" && len(got) > 0 {
			t.Errorf("%q refused: %v", c.text, got)
		}
		if c.want != "" && (len(got) == 0 || got[0] != c.want) {
			t.Errorf("%q: reasons %v, want %s", c.text, got, c.want)
		}
	}
}

func TestParseSurvey(t *testing.T) {
	for in, want := range map[string]string{"1": pipeline.RatingSatisfied, " 2 ": pipeline.RatingBasic, "３": pipeline.RatingUnsatisfied,
		"不满意！": pipeline.RatingUnsatisfied, "满意。": pipeline.RatingSatisfied, "12": "", "路灯又坏了": "", "": ""} {
		got, ok := pipeline.ParseSurvey(in)
		if got != want || ok != (want != "") {
			t.Errorf("ParseSurvey(%q) = %q %v, want %q", in, got, ok, want)
		}
	}
}

// TestConcurrentTransitionsSerialize: many agents take the same step at once;
// the ticket moves once, the others are refused with 409, one audit event.
func TestConcurrentTransitionsSerialize(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		no := e.walk(normalize.SMS, ticket.StatusTransferReview)
		const n = 8
		errs := make(chan error, n)
		for i := 0; i < n; i++ {
			go func() {
				_, err := e.svc.Transition(e.ctx, no, pipeline.ActDispatch, e.users[auth.RoleTransfer], pipeline.Input{})
				errs <- err
			}()
		}
		ok, conflicts := 0, 0
		for i := 0; i < n; i++ {
			switch err := <-errs; {
			case err == nil:
				ok++
			case isConflict(err):
				conflicts++
			default:
				t.Errorf("unexpected error: %v", err)
			}
		}
		if ok != 1 || conflicts != n-1 {
			t.Fatalf("%d succeeded, %d conflicts", ok, conflicts)
		}
		f := e.flow(no)
		sms := outMessages(e.ticket(no), ticket.ReplyTransferred)
		if len(f.Orders) != 1 || len(sms) != 1 {
			t.Fatalf("%d orders, %d template-2 messages after concurrent dispatches", len(f.Orders), len(sms))
		}
	})
}
