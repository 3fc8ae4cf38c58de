package inbox

import (
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"hotline/normalize"
	"hotline/store"
	"hotline/ticket"
)

type option struct{ Value, Label string }

type filterView struct {
	Q, Channel, Status, Category string
	Overdue, Mine, Unassigned    bool
	Paged                        bool
}

type deadlineView struct {
	At    time.Time
	Label string // "时限" (SLA) or "期限" (due date)
	Text  string
	Over  bool
}

type rowView struct {
	No          string
	Channel     normalize.Channel
	ChannelName string
	Citizen     citizenView
	Confidentl  bool
	FirstLine   string
	Nature      ticket.Nature
	Category    string
	Status      ticket.Status
	Assignee    string
	Mine        bool
	Created     time.Time
	Age         string
	Deadline    *deadlineView
}

type listView struct {
	base
	F          filterView
	Rows       []rowView
	Next       string
	First      string
	Channels   []option
	Statuses   []option
	Categories []string
}

var statusPattern = regexp.MustCompile(`^[a-z_]{1,24}$`)

// deadlineOf is the countdown a row shows: the answer SLA while a message
// waits for an answer, else the ticket's handling due date while it is open.
func (h *Handler) deadlineOf(t ticket.Ticket, waiting *time.Time, now time.Time) *deadlineView {
	if waiting != nil {
		at := waiting.Add(h.Opt.SLA)
		return &deadlineView{At: at, Label: "时限", Text: countdown(at, now), Over: at.Before(now)}
	}
	if t.DueAt != nil && !slices.Contains([]ticket.Status{ticket.StatusClosed, ticket.StatusArchived, ticket.StatusDiscarded}, t.Status) {
		return &deadlineView{At: *t.DueAt, Label: "期限", Text: countdown(*t.DueAt, now), Over: t.DueAt.Before(now)}
	}
	return nil
}

func (h *Handler) list(c *gin.Context) {
	u, _ := currentUser(c)
	now := time.Now()
	f := filterView{
		Q: strings.TrimSpace(c.Query("q")), Channel: c.Query("channel"), Status: c.Query("status"), Category: c.Query("category"),
		Overdue: c.Query("overdue") == "1", Mine: c.Query("mine") == "1", Unassigned: c.Query("unassigned") == "1",
	}
	if len([]rune(f.Q)) > 100 {
		f.Q = string([]rune(f.Q)[:100])
	}
	if f.Channel != "" && !normalize.Channel(f.Channel).Valid() {
		f.Channel = ""
	}
	if f.Status != "" && !statusPattern.MatchString(f.Status) {
		f.Status = ""
	}
	if f.Category != "" && !slices.Contains(h.Opt.Categories, f.Category) {
		f.Category = ""
	}
	sf := store.InboxFilter{Channel: f.Channel, Status: f.Status, Category: f.Category, Query: f.Q,
		Overdue: f.Overdue, Unassigned: f.Unassigned, SLA: h.Opt.SLA, Now: now, Limit: h.Opt.PageSize}
	if f.Mine {
		sf.Assignee = &u.ID
	}
	if cur := c.Query("cursor"); cur != "" {
		if cc, err := store.ParseCursor(cur); err == nil {
			sf.Before, f.Paged = cc, true
		}
	}
	var items []store.InboxItem
	var next *store.Cursor
	var err error
	if !centre(u) {
		sf.UnitID = u.UnitID
	}
	if centre(u) || u.UnitID != nil { // a unit user without a unit sees nothing
		items, next, err = h.Store.ListInbox(c.Request.Context(), sf)
		if err != nil {
			h.internal(c, "list", err)
			return
		}
	}
	v := listView{base: h.base(c, "工单", "list"), F: f, Categories: h.Opt.Categories}
	for _, it := range items {
		v.Rows = append(v.Rows, rowView{
			No: it.No, Channel: it.Channel, ChannelName: channelName(it.Channel), Citizen: citizenFor(u, it.Ticket, true),
			Confidentl: it.Confidential, FirstLine: firstLine(strings.TrimSpace(it.Title+"\n"+it.Content), 60),
			Nature: it.Nature, Category: it.Category, Status: it.Status, Assignee: it.AssigneeName,
			Mine: it.AssigneeID != nil && *it.AssigneeID == u.ID, Created: it.CreatedAt, Age: age(now.Sub(it.CreatedAt)),
			Deadline: h.deadlineOf(it.Ticket, it.WaitingSince, now),
		})
	}
	q := c.Request.URL.Query()
	q.Del("cursor")
	if next != nil {
		nq := url.Values{}
		for k, vs := range q {
			nq[k] = vs
		}
		nq.Set("cursor", next.Encode())
		v.Next = "/inbox?" + nq.Encode()
	}
	if f.Paged {
		v.First = "/inbox"
		if len(q) > 0 {
			v.First += "?" + q.Encode()
		}
	}
	for _, ch := range normalize.Channels {
		v.Channels = append(v.Channels, option{string(ch), channelName(ch)})
	}
	for _, s := range h.statuses(c) {
		v.Statuses = append(v.Statuses, option{s, ticket.Status(s).Label()})
	}
	if f.Status != "" && !slices.ContainsFunc(v.Statuses, func(o option) bool { return o.Value == f.Status }) {
		v.Statuses = append(v.Statuses, option{f.Status, ticket.Status(f.Status).Label()})
	}
	h.render(c, http.StatusOK, "list.html", v)
}

// statusCache keeps the statuses in use for a minute.
type statusCache struct {
	mu sync.Mutex
	ss []string
	at time.Time
}

// statuses lists the statuses in use (cached for a minute) after the intake
// statuses every hotline has.
func (h *Handler) statuses(c *gin.Context) []string {
	h.sc.mu.Lock()
	defer h.sc.mu.Unlock()
	if time.Since(h.sc.at) > time.Minute {
		ss, err := h.Store.InboxStatuses(c.Request.Context())
		if err != nil {
			h.Log.Warn("inbox statuses", "err", err)
		} else {
			h.sc.ss, h.sc.at = ss, time.Now()
		}
	}
	out := []string{string(ticket.StatusIntake), string(ticket.StatusAnswered), string(ticket.StatusClosed)}
	for _, s := range h.sc.ss {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}
