package api

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"hotline/auth"
	"hotline/httpx"
	"hotline/kpi"
	"hotline/pipeline"
	"hotline/store"
	"hotline/ticket"
)

// Pipeline serves the handling pipeline (every step of the loop), the work
// queues, the units, the alerts, the KPIs and the hot issues. It shares the
// agent API's authentication and error mapping through the embedded *API.
type Pipeline struct {
	*API
	Service *pipeline.Service
	Store   *store.Store
	KPI     *kpi.Service
	Hot     kpi.HotOptions
	Now     func() time.Time
}

// Routes registers the pipeline's endpoints on r (GET /api/v1/openapi.json
// needs no sign-in).
func (p *Pipeline) Routes(r gin.IRouter) {
	if p.Now == nil {
		p.Now = time.Now
	}
	v1 := r.Group("/api/v1")
	v1.GET("/openapi.json", OpenAPI)
	authed := v1.Group("", p.RequireUser)
	centre := p.requireRole(centreRoles...)
	authed.GET("/pipeline", p.table)
	authed.GET("/tickets/:no/actions", p.allowedActions)
	authed.POST("/tickets/:no/actions/:action", p.act)
	authed.GET("/tickets/:no/flow", p.flow)
	authed.GET("/tickets/:no/archive", centre, p.archive)
	authed.GET("/queues/:queue", p.queue)
	authed.GET("/units", p.units)
	authed.GET("/units/returns", centre, p.unitReturns)
	authed.GET("/alerts", centre, p.alerts)
	authed.POST("/alerts/:id/ack", centre, p.ackAlert)
	authed.POST("/ratings", centre, p.rating)
	authed.GET("/kpis", p.kpis)
	authed.GET("/kpis/detail", p.kpiDetail)
	authed.GET("/kpis.xlsx", p.kpiXLSX)
	authed.GET("/hot", centre, p.hot)
}

// pipelineFail maps the pipeline's errors: a refused transition is 409 (wrong
// status) or 403 (wrong role) with the allowed actions; an input the standard
// refuses is 422 with the reasons.
func (p *Pipeline) pipelineFail(c *gin.Context, err error) {
	var te *pipeline.TransitionError
	var ie *pipeline.InputError
	switch {
	case errors.As(err, &te):
		status := http.StatusConflict
		if te.Forbidden {
			status = http.StatusForbidden
		}
		allowed := te.Allowed
		if allowed == nil {
			allowed = []pipeline.Action{}
		}
		c.AbortWithStatusJSON(status, gin.H{"error": httpx.ErrorDetail{Code: te.Code, Message: te.Message},
			"status": te.From, "allowed": allowed})
	case errors.As(err, &ie):
		reasons := ie.Reasons
		if reasons == nil {
			reasons = []string{}
		}
		c.AbortWithStatusJSON(http.StatusUnprocessableEntity, gin.H{"error": httpx.ErrorDetail{Code: ie.Code, Message: ie.Message},
			"reasons": reasons})
	default:
		p.fail(c, err)
	}
}

// canSee loads ticket no for the current user: centre staff see every
// ticket, a unit user those its unit holds or assists with (co-unit); others
// are "not found".
func (p *Pipeline) canSee(c *gin.Context, no string) (ticket.Ticket, error) {
	ctx := c.Request.Context()
	t, err := p.Store.GetTicket(ctx, no)
	if err != nil {
		return t, err
	}
	u := CurrentUser(c)
	if u.Role == auth.RoleUnit {
		if u.UnitID == nil {
			return ticket.Ticket{}, ticket.ErrNotFound
		}
		if !sameUnit(u, t) {
			if _, err := p.Store.OrderOf(ctx, no, *u.UnitID); err != nil {
				return ticket.Ticket{}, ticket.ErrNotFound
			}
		}
	}
	redact(u, &t)
	return t, nil
}

func (p *Pipeline) table(c *gin.Context) {
	type status struct {
		Key   ticket.Status `json:"key"`
		Label string        `json:"label"`
	}
	type action struct {
		Key   pipeline.Action `json:"key"`
		Label string          `json:"label"`
	}
	type rule struct {
		From   ticket.Status   `json:"from"`
		Action pipeline.Action `json:"action"`
		Guard  pipeline.Guard  `json:"guard,omitempty"`
		To     ticket.Status   `json:"to"`
		Roles  []string        `json:"roles"`
		Unit   string          `json:"unit,omitempty"`
	}
	var ss []status
	for _, s := range ticket.Statuses {
		ss = append(ss, status{s, s.Label()})
	}
	var as []action
	for _, a := range pipeline.Actions() {
		as = append(as, action{a, a.Label()})
	}
	var rs []rule
	for _, r := range pipeline.Table {
		rs = append(rs, rule{r.From, r.Action, r.Guard, r.To, r.Roles, string(r.Unit)})
	}
	c.JSON(http.StatusOK, gin.H{"statuses": ss, "actions": as, "rules": rs, "mermaid": pipeline.Mermaid()})
}

func (p *Pipeline) allowedActions(c *gin.Context) {
	no := c.Param("no")
	if _, err := p.canSee(c, no); err != nil {
		p.fail(c, err)
		return
	}
	allowed, st, err := p.Service.Allowed(c.Request.Context(), no, pipeline.ActorOf(CurrentUser(c)))
	if err != nil {
		p.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"ticket_no": no, "status": st, "allowed": allowed})
}

func (p *Pipeline) act(c *gin.Context) {
	no, a := c.Param("no"), pipeline.Action(c.Param("action"))
	if !slices.Contains(pipeline.Actions(), a) {
		httpx.Error(c, http.StatusNotFound, "unknown_action", "no such action: "+string(a))
		return
	}
	var in pipeline.Input
	body, ok := httpx.ReadBody(c, p.MaxBody)
	if !ok {
		return
	}
	if len(bytes.TrimSpace(body)) > 0 {
		if err := decodeStrict(body, &in); err != nil {
			httpx.Error(c, http.StatusBadRequest, "malformed_json", err.Error())
			return
		}
	}
	if _, err := p.canSee(c, no); err != nil {
		p.fail(c, err)
		return
	}
	res, err := p.Service.Transition(c.Request.Context(), no, a, pipeline.ActorOf(CurrentUser(c)), in)
	if err != nil {
		p.pipelineFail(c, err)
		return
	}
	t, err := p.canSee(c, no)
	if errors.Is(err, ticket.ErrNotFound) {
		// A unit that returned the case no longer sees it.
		c.JSON(http.StatusOK, gin.H{"ticket_no": res.TicketNo, "action": res.Action, "from": res.From, "to": res.To, "allowed": res.Allowed})
		return
	}
	if err != nil {
		p.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"ticket_no": res.TicketNo, "action": res.Action, "from": res.From, "to": res.To, "allowed": res.Allowed, "ticket": t})
}

func (p *Pipeline) flow(c *gin.Context) {
	no := c.Param("no")
	t, err := p.canSee(c, no)
	if err != nil {
		p.fail(c, err)
		return
	}
	f, err := p.Store.GetFlow(c.Request.Context(), no)
	if err != nil {
		p.fail(c, err)
		return
	}
	allowed, _, err := p.Service.Allowed(c.Request.Context(), no, pipeline.ActorOf(CurrentUser(c)))
	if err != nil {
		p.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"ticket": t, "flow": f, "allowed": allowed})
}

// archive exports everything kept about a ticket as a JSON file (the archive
// record of 整理归档; any status, typically archived).
func (p *Pipeline) archive(c *gin.Context) {
	e, err := p.Store.ExportTicket(c.Request.Context(), c.Param("no"))
	if err != nil {
		p.fail(c, err)
		return
	}
	b, err := store.MarshalArchive(e)
	if err != nil {
		p.fail(c, err)
		return
	}
	c.Header("Content-Disposition", fmt.Sprintf(`attachment; filename="ticket-%s.json"`, e.Ticket.No))
	c.Data(http.StatusOK, "application/json; charset=utf-8", b)
}

// queues are the work lists of the roles.
var queues = map[string]struct {
	statuses []ticket.Status
	open     bool
	reason   string
}{
	"intake":      {statuses: []ticket.Status{ticket.StatusIntake}},
	"transfer":    {statuses: []ticket.Status{ticket.StatusTransferReview}},
	"returned":    {statuses: []ticket.Status{ticket.StatusUnitReturned}},
	"extensions":  {statuses: []ticket.Status{ticket.StatusExtensionRequested}},
	"escalated":   {statuses: []ticket.Status{ticket.StatusEscalated}},
	"followup":    {statuses: []ticket.Status{ticket.StatusReplied}},
	"supervision": {open: true},
	"overdue":     {open: true, reason: "overdue"},
	"unit":        {statuses: []ticket.Status{ticket.StatusDispatched, ticket.StatusHandling, ticket.StatusExtensionRequested}},
}

func (p *Pipeline) queue(c *gin.Context) {
	name := c.Param("queue")
	q, ok := queues[name]
	if !ok {
		httpx.Error(c, http.StatusNotFound, "unknown_queue", "queues: intake, transfer, returned, extensions, escalated, followup, supervision, overdue, unit")
		return
	}
	u := CurrentUser(c)
	f := store.QueueFilter{Open: q.open, Reason: q.reason}
	for _, s := range q.statuses {
		f.Statuses = append(f.Statuses, string(s))
	}
	if v := c.Query("reason"); v != "" && q.open {
		f.Reason = v
	}
	if f.Page, f.Limit, ok = pageParams(c); !ok {
		return
	}
	switch {
	case u.Role == auth.RoleUnit:
		if name != "unit" || u.UnitID == nil {
			httpx.Error(c, http.StatusForbidden, "forbidden", "a unit sees only its own queue (unit)")
			return
		}
		f.UnitID = u.UnitID
	case name == "unit":
		id, err := strconv.ParseInt(c.Query("unit"), 10, 64)
		if err != nil {
			httpx.Error(c, http.StatusBadRequest, "missing_unit", "the unit queue needs ?unit=ID")
			return
		}
		f.UnitID = &id
	}
	items, err := p.Store.Queue(c.Request.Context(), f)
	if err != nil {
		p.fail(c, err)
		return
	}
	if items == nil {
		items = []store.QueueItem{}
	}
	c.JSON(http.StatusOK, gin.H{"queue": name, "tickets": items})
}

func (p *Pipeline) units(c *gin.Context) {
	us, err := p.Store.ListUnits(c.Request.Context())
	if err != nil {
		p.fail(c, err)
		return
	}
	if q := strings.TrimSpace(c.Query("q")); q != "" {
		var out []store.UnitView
		for _, u := range us {
			if strings.Contains(u.Name, q) || u.Code == q {
				out = append(out, u)
			}
		}
		us = out
	}
	if us == nil {
		us = []store.UnitView{}
	}
	c.JSON(http.StatusOK, gin.H{"units": us})
}

// unitReturns counts 回退 per unit in a month (?month=YYYY-MM, default this month).
func (p *Pipeline) unitReturns(c *gin.Context) {
	loc := p.KPI.Loc
	month := c.Query("month")
	if month == "" {
		month = p.Now().In(loc).Format("2006-01")
	}
	from, err := time.ParseInLocation("2006-01", month, loc)
	if err != nil {
		httpx.Error(c, http.StatusBadRequest, "invalid_month", "month must be YYYY-MM")
		return
	}
	rs, err := p.Store.UnitReturns(c.Request.Context(), from, from.AddDate(0, 1, 0))
	if err != nil {
		p.fail(c, err)
		return
	}
	if rs == nil {
		rs = []store.UnitReturnCount{}
	}
	c.JSON(http.StatusOK, gin.H{"month": month, "units": rs})
}

func (p *Pipeline) alerts(c *gin.Context) {
	as, err := p.Store.ListAlerts(c.Request.Context(), c.Query("all") == "", 200)
	if err != nil {
		p.fail(c, err)
		return
	}
	if as == nil {
		as = []store.AlertView{}
	}
	c.JSON(http.StatusOK, gin.H{"alerts": as})
}

func (p *Pipeline) ackAlert(c *gin.Context) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		httpx.Error(c, http.StatusNotFound, "not_found", "no such alert")
		return
	}
	if err := p.Store.AckAlert(c.Request.Context(), id, CurrentUser(c).Username); err != nil {
		p.fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// rating records a service rating of a call (KPI 5): from the call centre's
// after-call survey or an agent.
func (p *Pipeline) rating(c *gin.Context) {
	var req struct {
		TicketNo  string     `json:"ticket_no"`
		CallID    string     `json:"call_id"`
		Direction string     `json:"direction"`
		Rating    string     `json:"rating"`
		At        *time.Time `json:"at"`
	}
	if !p.bindJSON(c, &req) {
		return
	}
	if req.Direction == "" {
		req.Direction = "in"
	}
	if req.Direction != "in" && req.Direction != "out" {
		httpx.Error(c, http.StatusBadRequest, "invalid_direction", "direction must be in or out")
		return
	}
	switch req.Rating {
	case pipeline.RatingSatisfied, pipeline.RatingBasic, pipeline.RatingUnsatisfied:
	default:
		httpx.Error(c, http.StatusBadRequest, "invalid_rating", "rating must be satisfied, basic or unsatisfied")
		return
	}
	if req.TicketNo == "" && req.CallID == "" {
		httpx.Error(c, http.StatusBadRequest, "missing_reference", "ticket_no or call_id is required")
		return
	}
	at := p.Now()
	if req.At != nil {
		at = *req.At
	}
	if err := p.Store.AddServiceRating(c.Request.Context(), req.TicketNo, req.CallID, req.Direction, req.Rating, CurrentUser(c).Username, at); err != nil {
		p.fail(c, err)
		return
	}
	c.Status(http.StatusCreated)
}

// kpiQuery reads from, to and unit; a unit user always gets its own unit.
func (p *Pipeline) kpiQuery(c *gin.Context) (kpi.Query, bool) {
	from, to, err := kpi.ParseDates(c.Query("from"), c.Query("to"), p.KPI.Loc)
	if err != nil {
		httpx.Error(c, http.StatusBadRequest, "invalid_period", err.Error())
		return kpi.Query{}, false
	}
	q := kpi.Query{From: from, To: to, Subtree: c.Query("subtree") == "1" || c.Query("subtree") == "true"}
	u := CurrentUser(c)
	ref := strings.TrimSpace(c.Query("unit"))
	if u.Role == auth.RoleUnit {
		if u.UnitID == nil {
			httpx.Error(c, http.StatusForbidden, "forbidden", "no unit")
			return q, false
		}
		ref = strconv.FormatInt(*u.UnitID, 10)
	}
	if ref != "" {
		unit, err := p.Store.FindUnit(c.Request.Context(), ref)
		if err != nil {
			if errors.Is(err, ticket.ErrNotFound) {
				httpx.Error(c, http.StatusBadRequest, "unknown_unit", "unknown unit "+ref)
			} else {
				p.fail(c, err)
			}
			return q, false
		}
		q.Unit = &unit
	}
	return q, true
}

func (p *Pipeline) kpis(c *gin.Context) {
	q, ok := p.kpiQuery(c)
	if !ok {
		return
	}
	r, err := p.KPI.Report(c.Request.Context(), q)
	if err != nil {
		p.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, r)
}

func (p *Pipeline) kpiDetail(c *gin.Context) {
	q, ok := p.kpiQuery(c)
	if !ok {
		return
	}
	d, err := p.KPI.Detail(c.Request.Context(), q)
	if err != nil {
		p.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, d)
}

func (p *Pipeline) kpiXLSX(c *gin.Context) {
	q, ok := p.kpiQuery(c)
	if !ok {
		return
	}
	d, err := p.KPI.Detail(c.Request.Context(), q)
	if err != nil {
		p.fail(c, err)
		return
	}
	var buf bytes.Buffer
	if err := p.KPI.WriteXLSX(d, &buf); err != nil {
		p.fail(c, err)
		return
	}
	name := fmt.Sprintf("kpi-%s-%s.xlsx", d.From, d.To)
	c.Header("Content-Disposition", fmt.Sprintf(`attachment; filename="%s"`, name))
	c.Data(http.StatusOK, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", buf.Bytes())
}

// hot flags the spikes of the last window (?window=1h, ?at=RFC3339 to look back).
func (p *Pipeline) hot(c *gin.Context) {
	o := p.Hot
	if v := c.Query("window"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Minute || d > 7*24*time.Hour {
			httpx.Error(c, http.StatusBadRequest, "invalid_window", "window must be a duration between 1m and 168h")
			return
		}
		o.Window = d
	}
	now := p.Now()
	if v := c.Query("at"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			httpx.Error(c, http.StatusBadRequest, "invalid_at", "at must be an RFC 3339 time")
			return
		}
		now = t
	}
	r, err := p.KPI.Hot(c.Request.Context(), now, o)
	if err != nil {
		p.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, r)
}
