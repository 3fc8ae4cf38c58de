package api

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"hotline/auth"
	"hotline/httpx"
	"hotline/normalize"
	"hotline/replies"
	"hotline/store"
	"hotline/ticket"
)

func (a *API) listTickets(c *gin.Context) {
	u := CurrentUser(c)
	f := store.TicketFilter{
		Channel: c.Query("channel"), Status: c.Query("status"), Category: c.Query("category"),
		Phone: c.Query("phone"), Query: c.Query("q"),
	}
	if f.Channel != "" && !normalize.Channel(f.Channel).Valid() {
		httpx.Error(c, http.StatusBadRequest, "invalid_channel", "unknown channel")
		return
	}
	var ok bool
	if f.Page, f.Limit, ok = pageParams(c); !ok {
		return
	}
	if v := c.Query("cursor"); v != "" {
		cur, err := store.ParseCursor(v)
		if err != nil {
			httpx.Error(c, http.StatusBadRequest, "invalid_cursor", "cursor is not valid")
			return
		}
		f.Before = cur
	}
	if u.Role == auth.RoleUnit {
		if u.UnitID == nil {
			c.JSON(http.StatusOK, gin.H{"tickets": []ticket.Ticket{}})
			return
		}
		f.UnitID = u.UnitID
	}
	ts, next, err := a.Store.ListTickets(c.Request.Context(), f)
	if err != nil {
		a.fail(c, err)
		return
	}
	for i := range ts {
		redact(u, &ts[i])
	}
	resp := gin.H{"tickets": ts}
	if next != nil {
		resp["next_cursor"] = next.Encode()
	}
	c.JSON(http.StatusOK, resp)
}

func (a *API) getTicket(c *gin.Context) {
	t, err := a.visibleTicket(c, c.Param("no"))
	if err != nil {
		a.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, t)
}

// visibleTicket loads a ticket the current user may see: units only their own
// (others are "not found", so numbers cannot be probed), redacted as needed.
func (a *API) visibleTicket(c *gin.Context, no string) (ticket.Ticket, error) {
	t, err := a.Store.GetTicket(c.Request.Context(), no)
	if err != nil {
		return t, err
	}
	u := CurrentUser(c)
	if u.Role == auth.RoleUnit && (u.UnitID == nil || t.Unit == "" || !sameUnit(u, t)) {
		return ticket.Ticket{}, ticket.ErrNotFound
	}
	redact(u, &t)
	return t, nil
}

// sameUnit is refined by the pipeline (which records the unit id); until a
// ticket carries a unit, units see nothing.
func sameUnit(u store.UserView, t ticket.Ticket) bool {
	return t.UnitID != nil && *t.UnitID == *u.UnitID
}

// redact hides the citizen's contact data of confidential tickets from roles
// outside the centre.
func redact(u store.UserView, t *ticket.Ticket) {
	if !t.Confidential || auth.CentreStaff(u.Role) {
		return
	}
	t.Citizen = ticket.Citizen{Name: "（保密）"}
	for i := range t.Messages {
		t.Messages[i].Attachments = nil
	}
}

type createTicketReq struct {
	Channel      string `json:"channel"`
	CallID       string `json:"call_id"`
	Name         string `json:"name"`
	Phone        string `json:"phone"`
	Email        string `json:"email"`
	Address      string `json:"address"`
	Title        string `json:"title"`
	Content      string `json:"content"`
	Confidential bool   `json:"confidential"`
	ReplyWanted  bool   `json:"reply_wanted"`
}

// createTicket records an agent-entered ticket, typically a phone call. The
// call id (or an Idempotency-Key header) makes a repeated request return the
// same ticket.
func (a *API) createTicket(c *gin.Context) {
	var req createTicketReq
	if !a.bindJSON(c, &req) {
		return
	}
	if req.Channel == "" {
		req.Channel = string(normalize.Voice)
	}
	ch := normalize.Channel(req.Channel)
	if !ch.Valid() {
		httpx.Error(c, http.StatusBadRequest, "invalid_channel", "unknown channel")
		return
	}
	key := strings.TrimSpace(c.GetHeader("Idempotency-Key"))
	switch {
	case req.CallID != "":
		key = "call:" + req.CallID
	case key != "":
		key = "agent:" + key
	default:
		key = "agent:" + strconv.FormatInt(time.Now().UnixNano(), 36) + "-" + strconv.FormatInt(CurrentUser(c).ID, 10)
	}
	if ch == normalize.Voice && req.CallID == "" {
		httpx.Error(c, http.StatusBadRequest, "missing_call_id", "a voice ticket needs the call_id")
		return
	}
	env := normalize.Envelope{
		Channel: ch, DedupKey: key, Title: req.Title, Text: req.Content,
		Sender:       normalize.Sender{Name: req.Name, Phone: req.Phone, Email: req.Email, Address: req.Address},
		Confidential: req.Confidential, ReplyWanted: req.ReplyWanted, ReceivedAt: time.Now(),
		Meta: map[string]string{"call_id": req.CallID},
	}
	raw, _ := json.Marshal(req)
	env.Raw = raw
	r, err := a.Intake.Ingest(c.Request.Context(), env, CurrentUser(c).Username)
	if err != nil {
		a.fail(c, err)
		return
	}
	t, err := a.Store.GetTicket(c.Request.Context(), r.TicketNo)
	if err != nil {
		a.fail(c, err)
		return
	}
	status := http.StatusCreated
	if r.Duplicate {
		status = http.StatusOK
	}
	if a.Notify != nil && len(r.Decision.Replies) > 0 {
		a.Notify()
	}
	c.JSON(status, t)
}

func (a *API) reply(c *gin.Context) {
	var req struct {
		Text string `json:"text"`
		Kind string `json:"kind"`
		// Via overrides the route: "sms" answers a WeChat or mail citizen on
		// their phone (e.g. after WeChat's 48-hour window closed).
		Via string `json:"via"`
	}
	if !a.bindJSON(c, &req) {
		return
	}
	req.Text = normalize.CleanText(req.Text)
	if req.Text == "" {
		httpx.Error(c, http.StatusBadRequest, "empty_text", "reply text is empty")
		return
	}
	if len([]rune(req.Text)) > 2000 {
		httpx.Error(c, http.StatusBadRequest, "text_too_long", "reply text longer than 2000 characters")
		return
	}
	if req.Kind == "" {
		req.Kind = ticket.ReplyAgent
	}
	if req.Kind != ticket.ReplyAgent && !slices.Contains(replies.Kinds, req.Kind) {
		httpx.Error(c, http.StatusBadRequest, "invalid_kind", "kind must be agent or a standard reply kind")
		return
	}
	switch req.Via {
	case "", ticket.ViaSMS, ticket.ViaWeChat, ticket.ViaEmail:
	default:
		httpx.Error(c, http.StatusBadRequest, "invalid_via", "via must be sms, wechat or email")
		return
	}
	tk, err := a.visibleTicket(c, c.Param("no"))
	if err != nil {
		a.fail(c, err)
		return
	}
	if tk.Status == ticket.StatusArchived {
		httpx.Error(c, http.StatusConflict, "archived", "the ticket is archived and read-only")
		return
	}
	m, err := a.Store.ReplyVia(c.Request.Context(), c.Param("no"), CurrentUser(c).Username, ticket.Reply{Kind: req.Kind, Text: req.Text}, req.Via)
	if err != nil {
		a.fail(c, err)
		return
	}
	if a.Notify != nil {
		a.Notify()
	}
	c.JSON(http.StatusCreated, m)
}

// pageParams reads ?page= and ?limit= (0 when absent); on a bad value it has
// answered 400.
func pageParams(c *gin.Context) (page, limit int, ok bool) {
	if v := c.Query("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			httpx.Error(c, http.StatusBadRequest, "invalid_page", "page must be a positive number")
			return 0, 0, false
		}
		page = n
	}
	if v := c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 200 {
			httpx.Error(c, http.StatusBadRequest, "invalid_limit", "limit must be 1..200")
			return 0, 0, false
		}
		limit = n
	}
	return page, limit, true
}
