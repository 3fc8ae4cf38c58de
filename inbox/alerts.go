package inbox

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"hotline/auth"
	"hotline/normalize"
	"hotline/store"
	"hotline/ticket"
)

// Alerts is what the alert page and the nav's count read and write
// (store.Store): the pipeline scheduler's alerts table.
type Alerts interface {
	CountOpenAlerts(ctx context.Context, unitID *int64) (int64, error)
	InboxAlerts(ctx context.Context, f store.AlertFilter) ([]store.InboxAlert, error)
	AckAlert(ctx context.Context, id int64, by string) error
}

// alertScope is which alerts u may see: centre staff all of them (unit nil),
// a unit user those of their unit's tickets; ok false hides the page.
func alertScope(u store.UserView) (unit *int64, ok bool) {
	if centre(u) {
		return nil, true
	}
	if u.Role == auth.RoleUnit && u.UnitID != nil {
		return u.UnitID, true
	}
	return nil, false
}

// alertNav fills the nav's "预警" item: one COUNT query per page render.
func (h *Handler) alertNav(c *gin.Context, b *base) {
	if h.Alerts == nil {
		return
	}
	unit, ok := alertScope(b.User)
	if !ok {
		return
	}
	b.AlertsNav = true
	n, err := h.Alerts.CountOpenAlerts(c.Request.Context(), unit)
	if err != nil {
		h.Log.Warn("inbox: count alerts", "err", err)
		return
	}
	b.AlertCount = n
}

// alertKindLabel names an alert kind in Chinese; every kind the pipeline
// writes (scheduler and transitions) has a label (TestAlertKindsLabelled).
func (h *Handler) alertKindLabel(kind, channel string) string {
	switch kind {
	case "unanswered":
		ch := "消息"
		if channel != "" {
			ch = channelName(normalize.Channel(channel))
		}
		mins := int(h.Opt.SLA.Minutes())
		if w := h.Opt.AnswerAlertWithin; w > 0 && w >= h.Opt.SLA {
			return fmt.Sprintf("%s超过%d分钟未答复", ch, mins)
		}
		return fmt.Sprintf("%s即将超过%d分钟未答复", ch, mins)
	case "overdue":
		return "工单逾期"
	case "followup_late":
		return "回访超期"
	case "bounced":
		return "多个单位回退（疑似推诿）"
	}
	return "其他预警（" + kind + "）"
}

// alertKinds are the kinds alertKindLabel knows.
var alertKinds = []string{"unanswered", "overdue", "followup_late", "bounced"}

type alertRow struct {
	ID        int64
	Kind      string
	KindLabel string
	TicketNo  string
	Channel   normalize.Channel
	Unit      string
	Message   string
	At        time.Time
	Age       string
	AckAt     *time.Time
	AckBy     string
}

type alertsView struct {
	base
	Rows   []alertRow
	All    bool // acknowledged ones shown too
	CanAck bool
}

// alertsOn answers 404 without the pipeline and 403 to users who see no alerts.
func (h *Handler) alertsOn(c *gin.Context) {
	if h.Alerts == nil {
		h.errorPage(c, http.StatusNotFound, "未启用", "预警未启用。")
		return
	}
	u, _ := currentUser(c)
	if _, ok := alertScope(u); !ok {
		h.errorPage(c, http.StatusForbidden, "无权访问", "您的账号不能查看预警。")
	}
}

// alertsPage lists the open alerts, newest first (all=1: acknowledged too):
// GET /inbox/alerts.
func (h *Handler) alertsPage(c *gin.Context) {
	u, _ := currentUser(c)
	unit, _ := alertScope(u)
	v := alertsView{base: h.base(c, "预警", "alerts"), All: c.Query("all") == "1", CanAck: centre(u)}
	switch {
	case c.Query("acked") == "1":
		v.Flash = "已知悉该预警。"
	case c.Query("gone") == "1":
		v.Flash = "该预警已被他人知悉。"
	}
	as, err := h.Alerts.InboxAlerts(c.Request.Context(), store.AlertFilter{UnitID: unit, All: v.All, Limit: 200})
	if err != nil {
		h.internal(c, "alerts", err)
		return
	}
	now := time.Now()
	for _, a := range as {
		v.Rows = append(v.Rows, alertRow{ID: a.ID, Kind: a.Kind, KindLabel: h.alertKindLabel(a.Kind, a.Channel),
			TicketNo: a.TicketNo, Channel: normalize.Channel(a.Channel), Unit: a.UnitName, Message: a.Message,
			At: a.At, Age: age(now.Sub(a.At)), AckAt: a.AckAt, AckBy: a.AckBy})
	}
	h.render(c, http.StatusOK, "alerts.html", v)
}

// ackAlert acknowledges an alert (已知悉): POST /inbox/alerts/{id}/ack,
// centre staff only.
func (h *Handler) ackAlert(c *gin.Context) {
	u, _ := currentUser(c)
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		h.errorPage(c, http.StatusNotFound, "没有这条预警", "没有这条预警。")
		return
	}
	qs := url.Values{}
	if c.PostForm("all") == "1" {
		qs.Set("all", "1")
	}
	switch err := h.Alerts.AckAlert(c.Request.Context(), id, u.Username); {
	case err == nil:
		qs.Set("acked", "1")
	case errors.Is(err, ticket.ErrNotFound): // acknowledged meanwhile (or never was)
		qs.Set("gone", "1")
	default:
		h.internal(c, "ack alert", err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/inbox/alerts?"+qs.Encode())
}
