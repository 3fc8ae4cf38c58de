package inbox

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"hotline/normalize"
	"hotline/pipeline"
	"hotline/store"
	"hotline/ticket"
)

// Pipeline is the handling loop as the inbox uses it: pipeline.Service. The
// panel lists what Allowed says, and every post goes through Transition, which
// checks role, unit and state itself.
type Pipeline interface {
	Allowed(ctx context.Context, no string, a pipeline.Actor) ([]pipeline.Action, ticket.Status, error)
	Transition(ctx context.Context, no string, a pipeline.Action, actor pipeline.Actor, in pipeline.Input) (pipeline.Result, error)
}

// Work is what the handling panel, the handling record and the queues read
// (store.Store).
type Work interface {
	GetFlow(ctx context.Context, no string) (store.FlowView, error)
	Queue(ctx context.Context, f store.QueueFilter) ([]store.QueueItem, error)
	ListUnits(ctx context.Context) ([]store.UnitView, error)
	OrderOf(ctx context.Context, no string, unitID int64) (store.WorkOrder, error)
}

// field is one input of an action's form.
type field struct {
	Name        string // form field name
	Kind        string // text, textarea, unit, counits, days, select, check
	Label       string
	Required    bool
	Options     []option
	Value       string
	Values      []string // counits
	Placeholder string
	Max         int
	Hint        string
}

// actionView is one action the user may take now, as a form.
type actionView struct {
	Key     string
	Label   string
	Hint    string
	Fields  []field
	Open    bool // the form the user posted (shown again with an error)
	Primary bool
	Submit  string
}

// panelView is the 办理 panel of a ticket page.
type panelView struct {
	Enabled  bool
	Status   string
	Actions  []actionView
	Error    string   // the refusal of the last post, readable
	Reasons  []string // e.g. why a reply was refused
	NeedUnit bool     // a unit picker is shown: the page carries the datalist
}

// actionForm is what was posted (shown again after an error).
type actionForm struct {
	Action  string
	Values  url.Values
	Error   string
	Reasons []string
}

// Extra event types (not pipeline actions) and the audit trail's wording.
var actionHints = map[pipeline.Action]string{
	pipeline.ActAnswer:           "直接答复来电人并办结。短信、微信件按规范答复模板 1 发送，网站、信箱件发送答复内容。",
	pipeline.ActTransfer:         "填写承办单，提交转办坐席审核。",
	pipeline.ActEscalate:         "重要事项形成呈阅件，报领导批示。",
	pipeline.ActDiscard:          "无效来电、来信，不计入办理。",
	pipeline.ActSendBack:         "承办单不符合记录标准，或部门知识库已有明确答复的，退回受理坐席。",
	pipeline.ActDispatch:         "审核通过，向承办单位派发承办单（短信、微信件发送规范答复 2）。",
	pipeline.ActRetransfer:       "重新指定承办单位派发承办单。",
	pipeline.ActInstruct:         "录入领导批示。指定承办单位的直接转派，未指定的退回受理坐席办理。",
	pipeline.ActAccept:           "签收承办单，开始办理。",
	pipeline.ActReturn:           "非本单位职责的，说明理由后回退转办坐席。",
	pipeline.ActReply:            "写明反映问题是否属实、能否解决、如何解决及办理时限；不能解决的说明原因和政策依据。",
	pipeline.ActCoOpinion:        "协办单位提出办理意见，供主办单位答复。",
	pipeline.ActApproveExtension: "同意延期，期限按工作日顺延。",
	pipeline.ActRefuseExtension:  "不同意延期，须说明理由。",
	pipeline.ActUrge:             "向承办单位催办。",
	pipeline.ActSupervise:        "热点、媒体曝光、领导批示件列入督办。",
	pipeline.ActRework:           "办理结果不到位的，退回承办单位重新办理。",
	pipeline.ActClose:            "督办结束，办结此件。",
	pipeline.ActStaffComplaint:   "对中心工作人员的有效投诉（计入投诉率）。",
	pipeline.ActFollowUp:         "电话回访来电人：服务是否满意、办理结果是否满意、诉求是否合理。",
	pipeline.ActContactFailed:    "回访未联系上。第二次联系不上按联系不上办结，不计入合理诉求满意率和答复率。",
	pipeline.ActSendSurvey:       "向来电人本人手机发送短信回访（回复 1 满意、2 基本满意、3 不满意）。",
	pipeline.ActResultTold:       "来电人来电询问结果：已告知，并询问是否满意。",
	pipeline.ActArchive:          "整理归档，归档后只读。",
}

var ratingOptions = []option{{"", "请选择"}, {pipeline.RatingSatisfied, "满意"}, {pipeline.RatingBasic, "基本满意"}, {pipeline.RatingUnsatisfied, "不满意"}}

// fieldsOf are the inputs each action needs (pipeline.Input's fields).
func (h *Handler) fieldsOf(a pipeline.Action, t ticket.Ticket, fv *store.FlowView, units map[int64]store.UnitView) []field {
	maxDays := h.Opt.ExtensionMaxDays
	if maxDays <= 0 {
		maxDays = 7
	}
	unitName := func(id *int64) string {
		if id == nil {
			return ""
		}
		return units[*id].Name
	}
	note := func(label string, required bool) field {
		return field{Name: "note", Kind: "text", Label: label, Required: required, Max: 2000}
	}
	reason := func(label string) field {
		return field{Name: "reason", Kind: "textarea", Label: label, Required: true, Max: 2000}
	}
	switch a {
	case pipeline.ActAnswer:
		fs := []field{{Name: "text", Kind: "textarea", Label: "答复内容", Required: true, Max: 4000,
			Placeholder: "答复结果（短信、微信件填入规范答复模板 1）"}}
		if t.Channel == normalize.Voice {
			fs = append(fs, field{Name: "notify_sms", Kind: "check", Label: "同时短信告知来电人"})
		}
		return fs
	case pipeline.ActTransfer:
		return []field{{Name: "unit", Kind: "unit", Label: "主办单位", Required: true},
			{Name: "co_unit", Kind: "counits", Label: "协办单位"},
			{Name: "urgent", Kind: "check", Label: "紧急件（优先转办）"},
			note("转办说明", false)}
	case pipeline.ActEscalate:
		return []field{{Name: "text", Kind: "textarea", Label: "呈阅件内容", Required: true, Max: 4000}}
	case pipeline.ActDiscard:
		return []field{note("无效原因", false)}
	case pipeline.ActSendBack:
		return []field{{Name: "kind", Kind: "select", Label: "退回原因", Required: true, Options: []option{
			{"incomplete", "承办单不符合记录标准，需补充修改"}, {"kb_answered", "部门知识库已有明确答复"}}},
			{Name: "note", Kind: "text", Label: "需补充修改的内容", Max: 2000},
			{Name: "department", Kind: "text", Label: "知识库已有答复的部门", Max: 100}}
	case pipeline.ActDispatch:
		f := []field{{Name: "unit", Kind: "unit", Label: "主办单位", Required: true}, {Name: "co_unit", Kind: "counits", Label: "协办单位"},
			note("转办意见", false)}
		if fv != nil {
			f[0].Value = unitName(fv.Flow.ProposedUnitID)
			for _, s := range strings.Split(fv.Flow.ProposedCoUnits, ",") {
				if id, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64); err == nil {
					f[1].Values = append(f[1].Values, unitName(&id))
				}
			}
		}
		return f
	case pipeline.ActRetransfer:
		return []field{{Name: "unit", Kind: "unit", Label: "主办单位", Required: true}, {Name: "co_unit", Kind: "counits", Label: "协办单位"},
			note("转办意见", false)}
	case pipeline.ActInstruct:
		return []field{{Name: "text", Kind: "textarea", Label: "领导批示", Required: true, Max: 4000},
			{Name: "unit", Kind: "unit", Label: "指定承办单位", Hint: "不指定则退回受理坐席按批示办理"},
			{Name: "co_unit", Kind: "counits", Label: "协办单位"}}
	case pipeline.ActReturn:
		return []field{reason("回退原因")}
	case pipeline.ActRequestExtension:
		return []field{{Name: "days", Kind: "days", Label: "延期天数（工作日）", Required: true, Max: maxDays, Value: "3"},
			reason("延期原因")}
	case pipeline.ActReply:
		return []field{{Name: "text", Kind: "textarea", Label: "办理结果", Required: true, Max: 4000,
			Placeholder: "经核实……（是否属实、能否解决、如何解决、何时解决；不能解决的说明原因及政策依据）"}}
	case pipeline.ActCoOpinion:
		return []field{{Name: "text", Kind: "textarea", Label: "协办意见", Required: true, Max: 4000}}
	case pipeline.ActApproveExtension:
		return []field{note("审批意见", false)}
	case pipeline.ActRefuseExtension:
		return []field{reason("不予批准的原因")}
	case pipeline.ActUrge:
		return []field{{Name: "note", Kind: "text", Label: "催办意见", Max: 2000, Placeholder: "请抓紧办理"}}
	case pipeline.ActSupervise:
		return []field{{Name: "kind", Kind: "select", Label: "督办类型", Required: true, Options: []option{
			{"hot", "热点问题"}, {"media", "媒体曝光"}, {"leader", "领导批示"}}}, note("督办说明", false)}
	case pipeline.ActRework:
		return []field{reason("退回重办的原因"),
			{Name: "unit", Kind: "unit", Label: "承办单位", Hint: "不填则退回原承办单位"}}
	case pipeline.ActClose:
		return []field{{Name: "note", Kind: "textarea", Label: "办结说明", Required: true, Max: 2000}}
	case pipeline.ActStaffComplaint:
		return []field{{Name: "valid", Kind: "select", Label: "认定", Required: true, Options: []option{{"1", "有效投诉"}, {"0", "撤销有效投诉"}}},
			note("说明", false)}
	case pipeline.ActFollowUp, pipeline.ActResultTold:
		fs := []field{
			{Name: "service_rating", Kind: "select", Label: "服务是否满意", Options: append([]option{{"", "未评价"}}, ratingOptions[1:]...)},
			{Name: "result_rating", Kind: "select", Label: "办理结果是否满意", Required: true, Options: ratingOptions},
			{Name: "reasonable", Kind: "select", Label: "诉求是否合理", Options: []option{{"", "未判断（满意即视为合理）"}, {"yes", "合理"}, {"no", "不合理"}, {"unclear", "难以判断，由督办室认定"}}},
			{Name: "unit_replied", Kind: "select", Label: "承办单位是否已答复来电人", Options: []option{{"", "未询问"}, {"1", "是"}, {"0", "否"}}},
		}
		if a == pipeline.ActFollowUp && t.Confidential {
			fs = append(fs, field{Name: "called_number", Kind: "text", Label: "回访号码", Max: 20, Hint: "保密件只能通过来电人本人号码回访"})
		}
		return append(fs, note("回访记录", false))
	case pipeline.ActContactFailed:
		f := note("说明", false)
		f.Placeholder = "如：无人接听、关机、空号"
		return []field{f}
	case pipeline.ActArchive:
		return []field{note("归档说明", false)}
	}
	return nil // accept, send_survey: nothing to fill in
}

// submitLabels are the buttons' words where the action's name alone reads oddly.
var submitLabels = map[pipeline.Action]string{
	pipeline.ActAnswer: "答复并办结", pipeline.ActTransfer: "提交转办", pipeline.ActEscalate: "呈报", pipeline.ActDispatch: "转派",
	pipeline.ActReply: "提交办理结果", pipeline.ActFollowUp: "记录回访", pipeline.ActResultTold: "记录", pipeline.ActContactFailed: "记录联系不上",
	pipeline.ActSendSurvey: "发送短信回访", pipeline.ActInstruct: "录入批示", pipeline.ActRequestExtension: "申请延期",
}

// primary actions move the case forward; the others are secondary.
var primaryActions = []pipeline.Action{pipeline.ActTransfer, pipeline.ActDispatch, pipeline.ActAccept, pipeline.ActReply,
	pipeline.ActFollowUp, pipeline.ActRetransfer, pipeline.ActApproveExtension, pipeline.ActInstruct, pipeline.ActRework}

// panel builds the 办理 panel for u on t (form: what was posted, when shown again).
func (h *Handler) panel(c *gin.Context, u store.UserView, t ticket.Ticket, fv *store.FlowView, form *actionForm) (panelView, []store.UnitView, error) {
	p := panelView{Enabled: h.Pipeline != nil, Status: t.Status.Label()}
	if h.Pipeline == nil {
		return p, nil, nil
	}
	allowed, _, err := h.Pipeline.Allowed(c.Request.Context(), t.No, pipeline.ActorOf(u))
	if err != nil {
		return p, nil, err
	}
	var units []store.UnitView
	byID := map[int64]store.UnitView{}
	needUnits := false
	for _, a := range allowed {
		switch a {
		case pipeline.ActTransfer, pipeline.ActDispatch, pipeline.ActRetransfer, pipeline.ActInstruct, pipeline.ActRework:
			needUnits = true
		}
	}
	if needUnits && h.Work != nil {
		if units, err = h.Work.ListUnits(c.Request.Context()); err != nil {
			return p, nil, err
		}
		for _, x := range units {
			byID[x.ID] = x
		}
		p.NeedUnit = true
	}
	for _, a := range allowed {
		av := actionView{Key: string(a), Label: a.Label(), Hint: actionHints[a], Fields: h.fieldsOf(a, t, fv, byID),
			Primary: slices.Contains(primaryActions, a), Submit: submitLabels[a]}
		if av.Submit == "" {
			av.Submit = av.Label
		}
		switch a {
		case pipeline.ActApproveExtension, pipeline.ActRefuseExtension:
			if fv != nil {
				for _, e := range fv.Extensions {
					if e.Status == "requested" {
						av.Hint = e.Text
						if e.Seq == 2 {
							av.Hint += "（第二次延期，须督办室批准）"
						}
					}
				}
			}
		case pipeline.ActRequestExtension:
			max := h.Opt.ExtensionMaxDays
			if max <= 0 {
				max = 7
			}
			av.Hint = fmt.Sprintf("不能按期办结的，在期限内申请延期（不超过 %d 个工作日；第二次须督办室批准，最多两次）。", max)
		case pipeline.ActContactFailed:
			if fv != nil && fv.Flow.FollowupFailures > 0 {
				av.Hint = "已联系不上 1 次：再次联系不上将按联系不上办结（不计入合理诉求满意率和答复率）。"
			}
		}
		if form != nil && form.Action == string(a) {
			av.Open = true
			for i := range av.Fields {
				f := &av.Fields[i]
				if f.Kind == "counits" {
					f.Values = form.Values[f.Name]
				} else {
					f.Value = form.Values.Get(f.Name)
				}
			}
		}
		p.Actions = append(p.Actions, av)
	}
	if form != nil {
		p.Error, p.Reasons = form.Error, form.Reasons
	}
	return p, units, nil
}

// act posts an action of the panel: POST /inbox/tickets/{no}/act/{action}.
func (h *Handler) act(c *gin.Context) {
	u, _ := currentUser(c)
	no := c.Param("no")
	if h.Pipeline == nil {
		h.errorPage(c, http.StatusNotFound, "未启用", "办理流程未启用。")
		return
	}
	if _, ok := h.visible(c, no); !ok {
		return
	}
	a := pipeline.Action(c.Param("action"))
	if !slices.Contains(pipeline.Actions(), a) {
		h.errorPage(c, http.StatusNotFound, "没有这个操作", "没有这个办理操作。")
		return
	}
	if err := c.Request.ParseForm(); err != nil {
		h.errorPage(c, http.StatusBadRequest, "请求无效", "表单无效。")
		return
	}
	form := &actionForm{Action: string(a), Values: c.Request.PostForm}
	in, msg, err := h.inputOf(c.Request.Context(), a, c.Request.PostForm)
	if err != nil {
		h.internal(c, "units", err)
		return
	}
	if msg != "" {
		form.Error = msg
		h.renderTicketAct(c, http.StatusUnprocessableEntity, form)
		return
	}
	res, err := h.Pipeline.Transition(c.Request.Context(), no, a, pipeline.ActorOf(u), in)
	var te *pipeline.TransitionError
	var ie *pipeline.InputError
	switch {
	case err == nil:
	case errors.As(err, &te):
		status := http.StatusConflict
		if te.Forbidden {
			status = http.StatusForbidden
		}
		form.Error = transitionMessage(te, u)
		h.renderTicketAct(c, status, form)
		return
	case errors.As(err, &ie):
		form.Error, form.Reasons = inputMessage(a, ie), ie.Reasons
		h.renderTicketAct(c, http.StatusUnprocessableEntity, form)
		return
	case errors.Is(err, ticket.ErrNotFound):
		h.errorPage(c, http.StatusNotFound, "工单不存在", "没有这个工单，或者您无权查看。")
		return
	default:
		h.internal(c, "transition "+string(a), err)
		return
	}
	// A unit that returned the case no longer sees it: back to its queue.
	if !centre(u) && !h.canSee(c, u, no) {
		c.Redirect(http.StatusSeeOther, "/inbox/queues/unit?done="+url.QueryEscape(string(res.Action))+"&no="+url.QueryEscape(no))
		return
	}
	c.Redirect(http.StatusSeeOther, "/inbox/tickets/"+url.PathEscape(no)+"?done=act&action="+url.QueryEscape(string(res.Action))+"#handling")
}

// canSee reports whether a unit user still sees ticket no (main unit or an
// open co-unit order).
func (h *Handler) canSee(c *gin.Context, u store.UserView, no string) bool {
	t, err := h.Store.GetTicket(c.Request.Context(), no)
	if err != nil {
		return false
	}
	return h.unitSees(c.Request.Context(), u, t)
}

// unitSees: a unit user sees the tickets its unit holds, and those it assists
// with as a co-unit while its order is open.
func (h *Handler) unitSees(ctx context.Context, u store.UserView, t ticket.Ticket) bool {
	if u.UnitID == nil {
		return false
	}
	if t.UnitID != nil && *t.UnitID == *u.UnitID {
		return true
	}
	if h.Work == nil {
		return false
	}
	o, err := h.Work.OrderOf(ctx, t.No, *u.UnitID)
	return err == nil && o.Role == "co" && (o.Status == store.OrderDispatched || o.Status == store.OrderAccepted)
}

func (h *Handler) renderTicketAct(c *gin.Context, status int, form *actionForm) {
	h.renderTicketWith(c, status, replyForm{}, form)
}

// inputOf reads an action's form into the pipeline's Input; msg is a readable
// refusal of what cannot be read (an unknown unit, a bad number).
func (h *Handler) inputOf(ctx context.Context, a pipeline.Action, f url.Values) (in pipeline.Input, msg string, err error) {
	get := func(k string) string { return strings.TrimSpace(f.Get(k)) }
	in.Text, in.Note, in.Reason = get("text"), get("note"), get("reason")
	in.Kind, in.Department, in.CalledNumber = get("kind"), get("department"), get("called_number")
	in.ServiceRate, in.ResultRate, in.Reasonable = get("service_rating"), get("result_rating"), get("reasonable")
	in.NotifySMS = get("notify_sms") == "1"
	if a == pipeline.ActTransfer {
		v := get("urgent") == "1"
		in.Urgent = &v
	}
	switch get("unit_replied") {
	case "1":
		v := true
		in.UnitReplied = &v
	case "0":
		v := false
		in.UnitReplied = &v
	}
	if a == pipeline.ActStaffComplaint {
		v := get("valid") != "0"
		in.Valid = &v
	}
	if s := get("days"); s != "" {
		n, e := strconv.Atoi(s)
		if e != nil {
			return in, "延期天数应为整数。", nil
		}
		in.Days = n
	}
	refs := []string{get("unit")}
	for _, s := range f["co_unit"] {
		if s = strings.TrimSpace(s); s != "" {
			refs = append(refs, s)
		}
	}
	if len(refs) == 1 && refs[0] == "" {
		return in, "", nil
	}
	if h.Work == nil {
		return in, "", nil
	}
	units, err := h.Work.ListUnits(ctx)
	if err != nil {
		return in, "", err
	}
	for i, ref := range refs {
		if ref == "" {
			continue
		}
		u, ok := findUnit(units, ref)
		if !ok {
			return in, fmt.Sprintf("找不到承办单位“%s”，请从列表中选择。", ref), nil
		}
		if i == 0 {
			in.UnitID = u.ID
		} else if !slices.Contains(in.CoUnitIDs, u.ID) {
			in.CoUnitIDs = append(in.CoUnitIDs, u.ID)
		}
	}
	return in, "", nil
}

// findUnit resolves what the unit picker sent: a name (the list's value), a
// code or an id.
func findUnit(us []store.UnitView, ref string) (store.UnitView, bool) {
	for _, u := range us {
		if u.Active && (u.Name == ref || u.Code == ref) {
			return u, true
		}
	}
	if id, err := strconv.ParseInt(ref, 10, 64); err == nil {
		for _, u := range us {
			if u.Active && u.ID == id {
				return u, true
			}
		}
	}
	return store.UnitView{}, false
}

// rawKey matches the pipeline's "(action)" and "(field)" annotations meant for
// API clients; the pages show Chinese only.
var rawKey = regexp.MustCompile(`\s*[（(][a-z_][a-z0-9_ .]*[）)]`)

var latin = regexp.MustCompile(`[A-Za-z]{3,}`)

func readable(msg string) string { return rawKey.ReplaceAllString(msg, "") }

// transitionMessage says why an action was refused and what the user may do.
func transitionMessage(te *pipeline.TransitionError, u store.UserView) string {
	var msg string
	if te.Forbidden {
		msg = readable(te.Message)
		if latin.MatchString(msg) {
			msg = fmt.Sprintf("“%s”不属于您的职责（%s）", te.Action.Label(), roleName(u.Role))
		}
	} else {
		msg = fmt.Sprintf("工单当前状态为“%s”，不能进行“%s”（可能已由他人办理，请查看最新状态）", te.From.Label(), te.Action.Label())
	}
	msg += "。"
	if len(te.Allowed) == 0 {
		return msg + "您现在没有可进行的办理操作。"
	}
	names := make([]string, len(te.Allowed))
	for i, a := range te.Allowed {
		names[i] = "“" + a.Label() + "”"
	}
	return msg + "您现在可以：" + strings.Join(names, "、") + "。"
}

// inputMessages are the Chinese words of the pipeline's input refusals whose
// message is meant for API clients.
var inputMessages = map[string]string{
	"text_too_long":          "内容过长：正文不超过 4000 字，说明和原因不超过 2000 字。",
	"invalid_service_rating": "请选择服务是否满意。",
	"invalid_result_rating":  "请选择办理结果是否满意。",
	"invalid_reasonable":     "请选择诉求是否合理。",
	"invalid_survey_answer":  "短信评价应为 1、2 或 3。",
	"invalid_co_units":       "主办单位不能同时是协办单位。",
}

func inputMessage(a pipeline.Action, ie *pipeline.InputError) string {
	if m, ok := inputMessages[ie.Code]; ok {
		return m
	}
	if ie.Code == "invalid_kind" {
		if a == pipeline.ActSupervise {
			return "请选择督办类型。"
		}
		return "请选择退回原因。"
	}
	msg := readable(ie.Message)
	if latin.MatchString(msg) {
		return "输入不完整或无效，请检查后重试。"
	}
	if !strings.HasSuffix(msg, "。") {
		msg += "。"
	}
	return msg
}

// ---- the handling record (承办记录) ---------------------------------------

type orderView struct {
	Unit, Role, Status, Instruction, Note, Text, Actor string
	Rework                                             bool
	Dispatched                                         time.Time
	Due, Accepted, Done                                *time.Time
	Late                                               bool
}

type extView struct {
	Seq, Days                              int
	Reason, Status, By, DecidedBy, Comment string
	At                                     time.Time
	NewDue                                 *time.Time
}

type followView struct {
	Method, Outcome, Service, Result, Reasonable, UnitReplied, Note, Actor string
	At                                                                     time.Time
}

type supView struct {
	Reason, Note, By, Resolution string
	At                           time.Time
	Resolved                     *time.Time
}

type recordView struct {
	Escalation, Instruction, Result string
	TransferDue, ReplyDue           *time.Time
	FollowupDue, FollowedUp         *time.Time
	Urgent, Unreachable             bool
	Extensions, Returns, Reworks    int
	Orders                          []orderView
	Exts                            []extView
	FollowUps                       []followView
	Supervision                     []supView
	Empty                           bool
}

var orderStatusNames = map[string]string{
	store.OrderDispatched: "待签收", store.OrderAccepted: "办理中", store.OrderReturned: "已回退",
	store.OrderReplied: "已回复", store.OrderCancelled: "已撤销",
}

var extStatusNames = map[string]string{"requested": "待审批", "approved": "已批准", "refused": "不予批准"}

var methodNames = map[string]string{"call": "电话回访", "sms": "短信回访", "inbound": "来电告知"}

var outcomeNames = map[string]string{"reached": "已联系", "no_answer": "未接通", "unreachable": "联系不上", "pending": "待回复"}

var ratingNames = map[string]string{pipeline.RatingSatisfied: "满意", pipeline.RatingBasic: "基本满意", pipeline.RatingUnsatisfied: "不满意", "": "—"}

var supervisionNames = map[string]string{"hot": "热点问题", "media": "媒体曝光", "leader": "领导批示", "overdue": "逾期未办结",
	"rework_request": "回访不满意（合理诉求）", "close_request": "回访不满意（诉求不合理）", "decide": "回访不满意（待督办室认定）",
	"bounced": "单位相互推诿"}

var resolutionNames = map[string]string{"answered": "已答复", "retransferred": "已重新转办", "extended": "已延期", "replied": "单位已回复",
	"rework": "已退回重办", "closed": "已办结", "followed_up": "已回访", "unreachable": "联系不上办结", "archived": "已归档"}

func yesNo(b *bool) string {
	switch {
	case b == nil:
		return "—"
	case *b:
		return "是"
	}
	return "否"
}

func record(fv store.FlowView) recordView {
	f := fv.Flow
	r := recordView{Escalation: f.EscalationText, Instruction: f.Instruction, Result: f.Result, TransferDue: f.TransferDueAt,
		ReplyDue: f.ReplyDueAt, FollowupDue: f.FollowupDueAt, FollowedUp: f.FollowedUpAt, Urgent: f.Urgent,
		Unreachable: f.Unreachable, Extensions: f.ExtensionCount, Returns: f.ReturnCount, Reworks: f.ReworkCount}
	for _, o := range fv.Orders {
		ov := orderView{Unit: o.UnitName, Role: map[string]string{"main": "主办", "co": "协办"}[o.Role], Status: label(orderStatusNames, o.Status),
			Instruction: o.Instruction, Note: o.Note, Actor: o.Actor, Rework: o.Rework, Dispatched: o.DispatchedAt, Due: o.DueAt,
			Accepted: o.AcceptedAt}
		switch o.Status {
		case store.OrderReturned:
			ov.Done, ov.Text = o.ReturnedAt, "回退原因："+o.ReturnReason
		case store.OrderReplied:
			ov.Done, ov.Text = o.RepliedAt, o.ReplyText
			ov.Late = o.DueAt != nil && o.RepliedAt != nil && o.RepliedAt.After(*o.DueAt)
		}
		r.Orders = append(r.Orders, ov)
	}
	for _, e := range fv.Extensions {
		r.Exts = append(r.Exts, extView{Seq: e.Seq, Days: e.Days, Reason: e.Reason, Status: label(extStatusNames, e.Status),
			By: e.RequestedBy, DecidedBy: e.DecidedBy, Comment: e.DecisionNote, At: e.RequestedAt, NewDue: e.NewDueAt})
	}
	for _, x := range fv.FollowUps {
		r.FollowUps = append(r.FollowUps, followView{Method: label(methodNames, x.Method), Outcome: label(outcomeNames, x.Outcome),
			Service: label(ratingNames, x.ServiceRating), Result: label(ratingNames, x.ResultRating),
			Reasonable: yesNo(x.Reasonable), UnitReplied: yesNo(x.UnitReplied), Note: x.Note, Actor: x.Actor, At: x.At})
	}
	for _, s := range fv.Supervision {
		r.Supervision = append(r.Supervision, supView{Reason: label(supervisionNames, s.Reason), Note: s.Note, By: s.OpenedBy,
			Resolution: label(resolutionNames, s.Resolution), At: s.OpenedAt, Resolved: s.ResolvedAt})
	}
	r.Empty = len(r.Orders) == 0 && len(r.Exts) == 0 && len(r.FollowUps) == 0 && len(r.Supervision) == 0 &&
		r.Escalation == "" && r.Instruction == "" && r.TransferDue == nil
	return r
}
