// Package pipeline is the handling loop of the work standard as data: the
// statuses of package ticket, the actions of the standard's roles, and one
// table saying which action moves a ticket from which status to which, by
// whom. Transition checks the table and applies an action's side effects
// (承办单, standard replies, extensions, follow-ups, the supervision queue,
// provincial events) in one transaction with its audit event.
package pipeline

import (
	"slices"

	"hotline/auth"
	"hotline/ticket"
)

// Action is a step a role takes on a ticket.
type Action string

const (
	// 分类处置 (intake agent)
	ActAnswer   Action = "answer"   // 答复: close with the answer, sent through the channel
	ActTransfer Action = "transfer" // 转办: a 承办单 to one main unit (+ co-units), to transfer review
	ActEscalate Action = "escalate" // 呈报: a 呈阅件 to the leadership
	ActDiscard  Action = "discard"  // 无效

	// 转办审核 (transfer clerk)
	ActSendBack   Action = "send_back"  // 退回受理坐席: incomplete, or "**部门知识库已有明确答复"
	ActDispatch   Action = "dispatch"   // 审核通过，转派承办单位
	ActRetransfer Action = "retransfer" // 回退件重新转办

	// 呈报 (the leader's instruction, recorded by the supervision office)
	ActInstruct Action = "instruct" // 领导批示: becomes the handling order

	// 承办单位 (unit users)
	ActAccept           Action = "accept"            // 签收
	ActReturn           Action = "return"            // 回退 (wrong unit), with the reason
	ActRequestExtension Action = "request_extension" // 申请延期 (≤ 7 days)
	ActReply            Action = "reply"             // 回复办理结果 (quality-checked)
	ActCoOpinion        Action = "co_opinion"        // 协办单位意见

	// 延期审批 (transfer clerk; the second by the supervision office)
	ActApproveExtension Action = "approve_extension"
	ActRefuseExtension  Action = "refuse_extension"

	// 跟踪督办 (supervision office)
	ActUrge           Action = "urge"            // 催办
	ActSupervise      Action = "supervise"       // 列入督办: hot, media-exposed, leader-instructed
	ActRework         Action = "rework"          // 退回重办
	ActClose          Action = "close"           // 办结
	ActStaffComplaint Action = "staff_complaint" // 有效投诉 (about the centre's staff: KPI 4)

	// 回访反馈 (follow-up agent)
	ActFollowUp      Action = "followup"       // 回访: reached the citizen
	ActContactFailed Action = "contact_failed" // 联系不上 (twice: unreachable)
	ActSendSurvey    Action = "send_survey"    // 短信回访
	ActSurveyAnswer  Action = "survey_answer"  // the citizen's SMS answer 1/2/3 (system)
	ActResultTold    Action = "result_told"    // the citizen called for the result: told, and asked

	// 整理归档
	ActArchive Action = "archive"

	// scheduler (system)
	ActMarkOverdue Action = "mark_overdue"
)

// RoleSystem is the scheduler's and the SMS survey's role; no user has it.
const RoleSystem = "system"

// Guard selects between rules of the same status and action by the ticket's
// state or the input (e.g. the first extension is the clerk's, the second the
// supervision office's).
type Guard string

const (
	GuardNone            Guard = ""
	GuardSatisfied       Guard = "satisfied"        // the citizen is (basically) satisfied with the result
	GuardUnsatisfied     Guard = "unsatisfied"      // not satisfied: supervision decides
	GuardFirstFailure    Guard = "first_failure"    // first failed contact
	GuardSecondFailure   Guard = "second_failure"   // second failed contact: unreachable
	GuardFirstExtension  Guard = "first_extension"  // the unit's first extension request
	GuardSecondExtension Guard = "second_extension" // a second request: supervision office only
	GuardWithUnit        Guard = "with_unit"        // the instruction names a unit: dispatched at once
	GuardWithoutUnit     Guard = "without_unit"     // back to the intake agent to act on it
)

// UnitScope says which unit users may take a unit action.
type UnitScope string

const (
	UnitNone UnitScope = ""     // not a unit action
	UnitMain UnitScope = "main" // the unit the ticket is with (主办)
	UnitCo   UnitScope = "co"   // a co-unit with an open order (协办)
)

// Rule is one row of the table: From × Action (× Guard) → To, by Roles.
type Rule struct {
	From   ticket.Status
	Action Action
	Guard  Guard
	To     ticket.Status
	Roles  []string
	Unit   UnitScope
}

// Self reports whether the rule keeps the status (an event without a move).
func (r Rule) Self() bool { return r.From == r.To }

const (
	intakeAgent = auth.RoleIntake
	clerk       = auth.RoleTransfer
	followup    = auth.RoleFollowUp
	supervisor  = auth.RoleSupervisor
	unitUser    = auth.RoleUnit
	admin       = auth.RoleAdmin
)

func roles(rs ...string) []string { return rs }

// The statuses the groups of self-transitions apply to.
var (
	withUnit   = []ticket.Status{ticket.StatusDispatched, ticket.StatusHandling, ticket.StatusExtensionRequested}
	inProgress = []ticket.Status{ticket.StatusIntake, ticket.StatusTransferReview, ticket.StatusEscalated, ticket.StatusDispatched,
		ticket.StatusHandling, ticket.StatusExtensionRequested, ticket.StatusUnitReturned, ticket.StatusReplied, ticket.StatusSupervising}
	// Deadlines run in these statuses (tickets.due_at: the transfer or the reply).
	overdueable = []ticket.Status{ticket.StatusIntake, ticket.StatusTransferReview, ticket.StatusDispatched, ticket.StatusHandling,
		ticket.StatusExtensionRequested, ticket.StatusUnitReturned}
)

// Table is the pipeline: every allowed transition. Nothing else moves a ticket.
var Table = buildTable()

func buildTable() []Rule {
	S := func(s ticket.Status) ticket.Status { return s }
	t := []Rule{
		// 受理 → 分类处置
		{S(ticket.StatusIntake), ActAnswer, GuardNone, ticket.StatusClosed, roles(intakeAgent, supervisor, admin), UnitNone},
		{S(ticket.StatusIntake), ActTransfer, GuardNone, ticket.StatusTransferReview, roles(intakeAgent, admin), UnitNone},
		{S(ticket.StatusIntake), ActEscalate, GuardNone, ticket.StatusEscalated, roles(intakeAgent, supervisor, admin), UnitNone},
		{S(ticket.StatusIntake), ActDiscard, GuardNone, ticket.StatusDiscarded, roles(intakeAgent, admin), UnitNone},

		// 转办审核
		{S(ticket.StatusTransferReview), ActSendBack, GuardNone, ticket.StatusIntake, roles(clerk, admin), UnitNone},
		{S(ticket.StatusTransferReview), ActDispatch, GuardNone, ticket.StatusDispatched, roles(clerk, admin), UnitNone},

		// 呈报 → 批示
		{S(ticket.StatusEscalated), ActInstruct, GuardWithUnit, ticket.StatusDispatched, roles(supervisor, admin), UnitNone},
		{S(ticket.StatusEscalated), ActInstruct, GuardWithoutUnit, ticket.StatusIntake, roles(supervisor, admin), UnitNone},

		// 承办办理
		{S(ticket.StatusDispatched), ActAccept, GuardNone, ticket.StatusHandling, roles(unitUser), UnitMain},
		{S(ticket.StatusDispatched), ActReturn, GuardNone, ticket.StatusUnitReturned, roles(unitUser), UnitMain},
		{S(ticket.StatusHandling), ActReturn, GuardNone, ticket.StatusUnitReturned, roles(unitUser), UnitMain},
		{S(ticket.StatusHandling), ActRequestExtension, GuardNone, ticket.StatusExtensionRequested, roles(unitUser), UnitMain},
		{S(ticket.StatusHandling), ActReply, GuardNone, ticket.StatusReplied, roles(unitUser), UnitMain},
		{S(ticket.StatusUnitReturned), ActRetransfer, GuardNone, ticket.StatusDispatched, roles(clerk, supervisor, admin), UnitNone},

		// 延期
		{S(ticket.StatusExtensionRequested), ActApproveExtension, GuardFirstExtension, ticket.StatusHandling, roles(clerk, admin), UnitNone},
		{S(ticket.StatusExtensionRequested), ActApproveExtension, GuardSecondExtension, ticket.StatusHandling, roles(supervisor, admin), UnitNone},
		{S(ticket.StatusExtensionRequested), ActRefuseExtension, GuardFirstExtension, ticket.StatusHandling, roles(clerk, admin), UnitNone},
		{S(ticket.StatusExtensionRequested), ActRefuseExtension, GuardSecondExtension, ticket.StatusHandling, roles(supervisor, admin), UnitNone},

		// 回访反馈
		{S(ticket.StatusReplied), ActFollowUp, GuardSatisfied, ticket.StatusClosed, roles(followup, admin), UnitNone},
		{S(ticket.StatusReplied), ActFollowUp, GuardUnsatisfied, ticket.StatusSupervising, roles(followup, admin), UnitNone},
		{S(ticket.StatusReplied), ActResultTold, GuardSatisfied, ticket.StatusClosed, roles(intakeAgent, followup, admin), UnitNone},
		{S(ticket.StatusReplied), ActResultTold, GuardUnsatisfied, ticket.StatusSupervising, roles(intakeAgent, followup, admin), UnitNone},
		{S(ticket.StatusReplied), ActContactFailed, GuardFirstFailure, ticket.StatusReplied, roles(followup, admin), UnitNone},
		{S(ticket.StatusReplied), ActContactFailed, GuardSecondFailure, ticket.StatusClosed, roles(followup, admin), UnitNone},
		{S(ticket.StatusReplied), ActSendSurvey, GuardNone, ticket.StatusReplied, roles(followup, admin), UnitNone},
		{S(ticket.StatusReplied), ActSurveyAnswer, GuardSatisfied, ticket.StatusClosed, roles(RoleSystem), UnitNone},
		{S(ticket.StatusReplied), ActSurveyAnswer, GuardUnsatisfied, ticket.StatusSupervising, roles(RoleSystem), UnitNone},

		// 跟踪督办
		{S(ticket.StatusReplied), ActRework, GuardNone, ticket.StatusHandling, roles(supervisor, admin), UnitNone},
		{S(ticket.StatusSupervising), ActRework, GuardNone, ticket.StatusHandling, roles(supervisor, admin), UnitNone},
		{S(ticket.StatusSupervising), ActRetransfer, GuardNone, ticket.StatusDispatched, roles(supervisor, admin), UnitNone},
		{S(ticket.StatusSupervising), ActClose, GuardNone, ticket.StatusClosed, roles(supervisor, admin), UnitNone},
		{S(ticket.StatusAnswered), ActClose, GuardNone, ticket.StatusClosed, roles(followup, supervisor, admin), UnitNone},

		// 整理归档
		{S(ticket.StatusClosed), ActArchive, GuardNone, ticket.StatusArchived, roles(followup, supervisor, admin, RoleSystem), UnitNone},
		{S(ticket.StatusDiscarded), ActArchive, GuardNone, ticket.StatusArchived, roles(supervisor, admin, RoleSystem), UnitNone},
	}
	// Events that keep the status.
	for _, s := range withUnit {
		t = append(t,
			Rule{s, ActUrge, GuardNone, s, roles(supervisor, admin), UnitNone},
			Rule{s, ActCoOpinion, GuardNone, s, roles(unitUser), UnitCo},
		)
	}
	t = append(t, Rule{ticket.StatusUnitReturned, ActUrge, GuardNone, ticket.StatusUnitReturned, roles(supervisor, admin), UnitNone})
	for _, s := range inProgress {
		t = append(t, Rule{s, ActSupervise, GuardNone, s, roles(supervisor, admin), UnitNone})
	}
	for _, s := range append(slices.Clone(inProgress), ticket.StatusClosed) {
		t = append(t, Rule{s, ActStaffComplaint, GuardNone, s, roles(supervisor, admin), UnitNone})
	}
	for _, s := range overdueable {
		t = append(t, Rule{s, ActMarkOverdue, GuardNone, s, roles(RoleSystem), UnitNone})
	}
	return t
}

// Actions lists every action once, in table order.
func Actions() []Action {
	var out []Action
	for _, r := range Table {
		if !slices.Contains(out, r.Action) {
			out = append(out, r.Action)
		}
	}
	return out
}

// rulesFor returns the rows for a status and action.
func rulesFor(from ticket.Status, a Action) []Rule {
	var out []Rule
	for _, r := range Table {
		if r.From == from && r.Action == a {
			out = append(out, r)
		}
	}
	return out
}

// actionLabels are the standard's names of the actions.
var actionLabels = map[Action]string{
	ActAnswer: "答复", ActTransfer: "转办", ActEscalate: "呈报", ActDiscard: "无效件",
	ActSendBack: "退回受理", ActDispatch: "审核转派", ActRetransfer: "重新转办", ActInstruct: "领导批示",
	ActAccept: "签收", ActReturn: "回退", ActRequestExtension: "申请延期", ActReply: "回复结果", ActCoOpinion: "协办意见",
	ActApproveExtension: "批准延期", ActRefuseExtension: "不予延期",
	ActUrge: "催办", ActSupervise: "列入督办", ActRework: "退回重办", ActClose: "办结", ActStaffComplaint: "有效投诉",
	ActFollowUp: "回访", ActContactFailed: "联系不上", ActSendSurvey: "短信回访", ActSurveyAnswer: "短信评价",
	ActResultTold: "来电告知结果", ActArchive: "归档", ActMarkOverdue: "逾期",
}

// Label returns the Chinese name of a.
func (a Action) Label() string {
	if l, ok := actionLabels[a]; ok {
		return l
	}
	return string(a)
}

var guardLabels = map[Guard]string{
	GuardSatisfied: "满意", GuardUnsatisfied: "不满意", GuardFirstFailure: "第一次", GuardSecondFailure: "第二次",
	GuardFirstExtension: "首次", GuardSecondExtension: "第二次", GuardWithUnit: "指定单位", GuardWithoutUnit: "未指定单位",
}

// Label returns the Chinese name of g.
func (g Guard) Label() string { return guardLabels[g] }
