package inbox

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"hotline/auth"
	"hotline/normalize"
	"hotline/pipeline"
	"hotline/store"
	"hotline/ticket"
)

// queueDef is one work queue (the API's GET /api/v1/queues/{queue}) and the
// roles that may open it in the inbox.
type queueDef struct {
	Key, Label string
	Statuses   []ticket.Status
	Open       bool   // tickets with an open supervision item
	Reason     string // only this supervision reason
	Roles      []string
	Empty      string
}

var queueDefs = []queueDef{
	{Key: "transfer", Label: "待转办审核", Statuses: []ticket.Status{ticket.StatusTransferReview},
		Roles: []string{auth.RoleTransfer, auth.RoleSupervisor, auth.RoleAdmin}, Empty: "没有待审核的承办单。"},
	{Key: "returned", Label: "单位回退", Statuses: []ticket.Status{ticket.StatusUnitReturned},
		Roles: []string{auth.RoleTransfer, auth.RoleSupervisor, auth.RoleAdmin}, Empty: "没有单位回退件。"},
	{Key: "extensions", Label: "延期申请", Statuses: []ticket.Status{ticket.StatusExtensionRequested},
		Roles: []string{auth.RoleTransfer, auth.RoleSupervisor, auth.RoleAdmin}, Empty: "没有待审批的延期申请。"},
	{Key: "supervision", Label: "督办件", Open: true,
		Roles: []string{auth.RoleSupervisor, auth.RoleAdmin}, Empty: "没有督办件。"},
	{Key: "overdue", Label: "逾期", Open: true, Reason: "overdue",
		Roles: []string{auth.RoleSupervisor, auth.RoleTransfer, auth.RoleAdmin}, Empty: "没有逾期件。"},
	{Key: "escalated", Label: "呈报待批示", Statuses: []ticket.Status{ticket.StatusEscalated},
		Roles: []string{auth.RoleSupervisor, auth.RoleAdmin}, Empty: "没有待批示的呈阅件。"},
	{Key: "followup", Label: "待回访", Statuses: []ticket.Status{ticket.StatusReplied},
		Roles: []string{auth.RoleFollowUp, auth.RoleSupervisor, auth.RoleAdmin}, Empty: "没有待回访的工单。"},
	{Key: "unit", Label: "本单位待办", Statuses: []ticket.Status{ticket.StatusDispatched, ticket.StatusHandling, ticket.StatusExtensionRequested},
		Roles: []string{auth.RoleUnit, auth.RoleTransfer, auth.RoleSupervisor, auth.RoleAdmin}, Empty: "本单位没有待办的承办单。"},
}

// queueGroup is a nav entry: a role's queues as tabs of one page.
type queueGroup struct {
	Label string
	Tabs  []string
	Roles []string
}

var queueGroups = []queueGroup{
	{"待转办", []string{"transfer", "returned", "extensions", "overdue"}, []string{auth.RoleTransfer, auth.RoleAdmin}},
	{"本单位", []string{"unit"}, []string{auth.RoleUnit}},
	{"督办", []string{"supervision", "overdue", "escalated", "extensions"}, []string{auth.RoleSupervisor, auth.RoleAdmin}},
	{"待回访", []string{"followup"}, []string{auth.RoleFollowUp, auth.RoleAdmin}},
}

func queueByKey(k string) (queueDef, bool) {
	for _, q := range queueDefs {
		if q.Key == k {
			return q, true
		}
	}
	return queueDef{}, false
}

// navLinks are the nav's work queues and pages for u's role.
func (h *Handler) navLinks(u store.UserView) []option {
	var out []option
	if h.Work != nil {
		for _, g := range queueGroups {
			if slices.Contains(g.Roles, u.Role) {
				out = append(out, option{"/inbox/queues/" + g.Tabs[0], g.Label})
			}
		}
	}
	if h.KPI != nil && kpiRole(u) {
		out = append(out, option{"/inbox/kpis", "工作指标"})
	}
	return out
}

type queueRow struct {
	No          string
	Channel     normalize.Channel
	ChannelName string
	Status      ticket.Status
	Nature      ticket.Nature
	Category    string
	FirstLine   string
	Unit        string
	Role        string
	Urgent      bool
	Overdue     bool
	Confidentl  bool
	Reasons     []string
	Created     time.Time
	Age         string
	Deadline    *deadlineView
}

type queueView struct {
	base
	Q        queueDef
	Tabs     []option
	Rows     []queueRow
	PageNo   int
	Next     string
	Prev     string
	Group    string
	UnitPick bool // centre staff choose the unit of the unit queue
	UnitRef  string
	Units    []store.UnitView
}

// queuePage lists a work queue: GET /inbox/queues/{queue}.
func (h *Handler) queuePage(c *gin.Context) {
	u, _ := currentUser(c)
	q, ok := queueByKey(c.Param("queue"))
	if !ok || h.Work == nil {
		h.errorPage(c, http.StatusNotFound, "没有这个队列", "没有这个工作队列。")
		return
	}
	if !slices.Contains(q.Roles, u.Role) {
		h.errorPage(c, http.StatusForbidden, "无权访问", "您的角色不能查看“"+q.Label+"”队列。")
		return
	}
	v := queueView{base: h.base(c, q.Label, "queue"), Q: q, PageNo: 1}
	for _, g := range queueGroups {
		if slices.Contains(g.Roles, u.Role) && slices.Contains(g.Tabs, q.Key) {
			v.Group = g.Label
			for _, k := range g.Tabs {
				if d, ok := queueByKey(k); ok && slices.Contains(d.Roles, u.Role) {
					v.Tabs = append(v.Tabs, option{k, d.Label})
				}
			}
			break
		}
	}
	if v.Group == "" {
		v.Group = q.Label
	}
	v.Title = v.Group + " · " + q.Label
	if n, err := strconv.Atoi(c.Query("page")); err == nil && n > 1 && n <= 1000 {
		v.PageNo = n
	}
	if d := pipeline.Action(c.Query("done")); slices.Contains(pipeline.Actions(), d) {
		v.Flash = "工单 " + c.Query("no") + "：“" + d.Label() + "”已完成。"
		if d == pipeline.ActReturn {
			v.Flash += "该件已退回转办坐席。"
		}
	}
	const limit = 50
	f := store.QueueFilter{Open: q.Open, Reason: q.Reason, Limit: limit, Page: v.PageNo}
	for _, s := range q.Statuses {
		f.Statuses = append(f.Statuses, string(s))
	}
	ctx := c.Request.Context()
	if q.Key == "unit" {
		if u.Role == auth.RoleUnit {
			if u.UnitID == nil {
				h.render(c, http.StatusOK, "queue.html", v)
				return
			}
			f.UnitID = u.UnitID
		} else {
			v.UnitPick = true
			units, err := h.Work.ListUnits(ctx)
			if err != nil {
				h.internal(c, "units", err)
				return
			}
			v.Units = units
			v.UnitRef = strings.TrimSpace(c.Query("unit"))
			if v.UnitRef == "" {
				h.render(c, http.StatusOK, "queue.html", v)
				return
			}
			un, ok := findUnit(units, v.UnitRef)
			if !ok {
				v.Error = "找不到承办单位“" + v.UnitRef + "”，请从列表中选择。"
				h.render(c, http.StatusBadRequest, "queue.html", v)
				return
			}
			f.UnitID = &un.ID
		}
	}
	items, err := h.Work.Queue(ctx, f)
	if err != nil {
		h.internal(c, "queue", err)
		return
	}
	now := time.Now()
	for _, it := range items {
		r := queueRow{No: it.TicketNo, Channel: normalize.Channel(it.Channel), ChannelName: channelName(normalize.Channel(it.Channel)),
			Status: ticket.Status(it.Status), Nature: ticket.Nature(it.Nature), Category: it.Category, Unit: it.Unit,
			FirstLine: firstLine(strings.TrimSpace(it.Title+"\n"+it.Content), 60), Urgent: it.Urgent, Overdue: it.Overdue,
			Confidentl: it.Confidential, Created: it.CreatedAt, Age: age(now.Sub(it.CreatedAt))}
		switch it.OrderRole {
		case "main":
			r.Role = "主办"
		case "co":
			r.Role = "协办"
		}
		for _, reason := range it.Reasons {
			r.Reasons = append(r.Reasons, label(supervisionNames, reason))
		}
		if it.DueAt != nil {
			r.Deadline = &deadlineView{At: *it.DueAt, Label: "期限", Text: countdown(*it.DueAt, now), Over: it.DueAt.Before(now)}
		}
		v.Rows = append(v.Rows, r)
	}
	page := func(n int) string {
		qs := url.Values{}
		if v.UnitRef != "" {
			qs.Set("unit", v.UnitRef)
		}
		if n > 1 {
			qs.Set("page", strconv.Itoa(n))
		}
		s := "/inbox/queues/" + q.Key
		if len(qs) > 0 {
			s += "?" + qs.Encode()
		}
		return s
	}
	if len(items) == limit {
		v.Next = page(v.PageNo + 1)
	}
	if v.PageNo > 1 {
		v.Prev = page(v.PageNo - 1)
	}
	h.render(c, http.StatusOK, "queue.html", v)
}
