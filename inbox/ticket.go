package inbox

import (
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"hotline/normalize"
	"hotline/pipeline"
	"hotline/replies"
	"hotline/store"
	"hotline/ticket"
)

// timelineItem is a message or an audit event, in time order.
type timelineItem struct {
	At      time.Time
	Message *ticket.Message
	Event   *ticket.Event
}

type attachmentView struct {
	Name, ContentType, URL, Note string
	Size                         int64
	Href                         string // our download link, when stored here
}

type templateView struct {
	Kind, Label, Text string
}

type kbHitView struct {
	Question, Answer, Unit string
	Score                  int
}

// replyForm is what the reply box shows (again, after an error).
type replyForm struct {
	Text, Kind, Via string
	Error           string
}

type ticketView struct {
	base
	T           ticket.Ticket
	ChannelName string
	Citizen     citizenView
	Holder      *store.InboxHolder
	HeldByMe    bool
	HeldByOther bool
	Deadline    *deadlineView
	Timeline    []timelineItem
	Attachments []attachmentView
	History     []ticket.Ticket
	Templates   []templateView
	Canned      []string
	Natures     []option
	Categories  []string
	Form        replyForm
	Place       string
	Target      string
	KBQuery     string
	KBHits      []kbHitView
	KBSearched  bool
	ReplyWay    string
	Routes      []option // other ways to reach the citizen (value: ticket.Via*)
	Panel       panelView
	Units       []store.UnitView // the unit picker's list (only when an action needs it)
	Record      *recordView      // the handling record (承办记录), nil without the pipeline
}

var flashes = map[string]string{
	"sent": "回复已提交，正在发送。", "claimed": "已认领此工单。", "released": "已释放此工单。",
	"classified": "分类已更新。", "taken": "已接管此工单。",
}

// visible loads a ticket the user may see: units only their own unit's
// tickets (others are "not found", so numbers cannot be probed), without a
// confidential ticket's contact data and attachments.
func (h *Handler) visible(c *gin.Context, no string) (ticket.Ticket, bool) {
	u, _ := currentUser(c)
	t, err := h.Store.GetTicket(c.Request.Context(), no)
	if err == nil && !centre(u) && !h.unitSees(c.Request.Context(), u, t) {
		err = ticket.ErrNotFound
	}
	if errors.Is(err, ticket.ErrNotFound) {
		h.errorPage(c, http.StatusNotFound, "工单不存在", "没有这个工单，或者您无权查看。")
		return t, false
	}
	if err != nil {
		h.internal(c, "get ticket", err)
		return t, false
	}
	if t.Confidential && !centre(u) {
		t.Citizen = ticket.Citizen{Name: "（保密）"}
		for i := range t.Messages {
			t.Messages[i].Attachments = nil
		}
	}
	return t, true
}

func (h *Handler) ticketPage(c *gin.Context) {
	h.renderTicket(c, http.StatusOK, replyForm{})
}

func (h *Handler) renderTicket(c *gin.Context, status int, form replyForm) {
	h.renderTicketWith(c, status, form, nil)
}

// renderTicketWith renders the ticket page; act is a handling action posted
// and refused (shown again with its values and the reason).
func (h *Handler) renderTicketWith(c *gin.Context, status int, form replyForm, act *actionForm) {
	u, _ := currentUser(c)
	ctx := c.Request.Context()
	t, ok := h.visible(c, c.Param("no"))
	if !ok {
		return
	}
	now := time.Now()
	v := ticketView{base: h.base(c, "工单 "+t.No, "ticket"), T: t, ChannelName: channelName(t.Channel),
		Citizen: citizenFor(u, t, false), Canned: h.Opt.Canned, Categories: h.Opt.Categories, Form: form,
		Place: "省级", Target: h.Opt.Province + "相关部门"}
	v.Flash = flashes[c.Query("done")]
	if c.Query("done") == "act" {
		if a := pipeline.Action(c.Query("action")); slices.Contains(pipeline.Actions(), a) {
			v.Flash = "“" + a.Label() + "”已完成。"
		}
	}
	if h.Pipeline != nil && h.Work != nil {
		fv, err := h.Work.GetFlow(ctx, t.No)
		if err != nil {
			h.internal(c, "flow", err)
			return
		}
		rec := record(fv)
		v.Record = &rec
		if v.Panel, v.Units, err = h.panel(c, u, t, &fv, act); err != nil {
			h.internal(c, "allowed actions", err)
			return
		}
	}
	holder, err := h.Store.TicketHolder(ctx, t.ID)
	if err != nil {
		h.internal(c, "holder", err)
		return
	}
	v.Holder = holder
	v.HeldByMe = holder != nil && holder.ID == u.ID
	v.HeldByOther = holder != nil && holder.ID != u.ID
	var waiting *time.Time
	if t.Status == ticket.StatusIntake && t.Channel != normalize.Voice {
		if waiting, err = h.Store.WaitingSince(ctx, t.ID); err != nil {
			h.internal(c, "waiting", err)
			return
		}
	}
	v.Deadline = h.deadlineOf(t, waiting, now)
	for i := range t.Messages {
		m := &t.Messages[i]
		v.Timeline = append(v.Timeline, timelineItem{At: m.At, Message: m})
		for j, a := range m.Attachments {
			av := attachmentView{Name: a.Name, ContentType: a.ContentType, Size: a.Size}
			if av.Name == "" {
				av.Name = "附件" + strconv.Itoa(j+1)
			}
			switch {
			case a.Path != "":
				if h.Files != nil {
					av.Href = "/inbox/tickets/" + url.PathEscape(t.No) + "/attachments/" + strconv.FormatInt(m.ID, 10) + "/" + strconv.Itoa(j)
				}
			case a.URL != "" && (strings.HasPrefix(a.URL, "https://") || strings.HasPrefix(a.URL, "http://")):
				av.URL = a.URL
			case a.Ref != "":
				av.Note = "渠道媒体，尚未下载"
			}
			v.Attachments = append(v.Attachments, av)
		}
	}
	for i := range t.Events {
		v.Timeline = append(v.Timeline, timelineItem{At: t.Events[i].At, Event: &t.Events[i]})
	}
	sort.SliceStable(v.Timeline, func(i, j int) bool { return v.Timeline[i].At.Before(v.Timeline[j].At) })
	if !v.Citizen.Hidden {
		var unit *int64
		if !centre(u) {
			unit = u.UnitID
		}
		if v.History, err = h.Store.ContactTickets(ctx, t.ContactID, t.ID, unit, 20); err != nil {
			h.internal(c, "history", err)
			return
		}
	}
	if centre(u) {
		set := h.replySet(t.Channel)
		for _, k := range replies.Kinds {
			txt, err := set.Render(k, replies.Vars{Answer: "{answer}", Unit: "{unit}", Place: "{place}", Target: "{target}"})
			if err == nil {
				v.Templates = append(v.Templates, templateView{Kind: k, Label: label(replyKindNames, k), Text: txt})
			}
		}
		for _, n := range store.InboxNatures() {
			v.Natures = append(v.Natures, option{string(n), n.Label()})
		}
		def, to, ok := ticket.Route(t.Channel, t.Citizen)
		if ok {
			v.ReplyWay = replyWay(def, to)
		}
		for _, via := range []string{ticket.ViaSMS, ticket.ViaWeChat, ticket.ViaEmail} {
			if to, ok := ticket.RouteVia(via, t.Citizen); ok && via != def {
				v.Routes = append(v.Routes, option{via, replyWay(via, to)})
			}
		}
		if q := strings.TrimSpace(c.Query("kbq")); q != "" && h.KB != nil {
			v.KBQuery, v.KBSearched = q, true
			v.KBHits = h.searchKB(q)
		}
	}
	h.render(c, status, "ticket.html", v)
}

func replyWay(via, to string) string {
	switch via {
	case ticket.ViaSMS:
		return "短信发送至 " + normalize.MaskPhone(to)
	case ticket.ViaWeChat:
		return "微信客服消息"
	case ticket.ViaEmail:
		return "电子邮件"
	case ticket.ViaProvince:
		return "回复省平台"
	}
	return via
}

// replySet picks the six texts for a channel: WeChat's wording ("留言") for
// written channels, SMS's for SMS and calls.
func (h *Handler) replySet(ch normalize.Channel) replies.Set {
	if s, ok := h.Replies[ch]; ok {
		return s
	}
	switch ch {
	case normalize.Website, normalize.MayorMailbox, normalize.ProvinceMailbox:
		if s, ok := h.Replies[normalize.WeChat]; ok {
			return s
		}
	}
	return h.Replies[normalize.SMS]
}

func (h *Handler) searchKB(q string) []kbHitView {
	if len([]rune(q)) > 200 {
		q = string([]rune(q)[:200])
	}
	hits, err := h.KB.Search(q, 5)
	if err != nil {
		h.Log.Warn("inbox kb search", "err", err)
		return nil
	}
	out := make([]kbHitView, len(hits))
	for i, x := range hits {
		out[i] = kbHitView{Question: x.Entry.Question, Answer: x.Entry.Answer, Unit: x.Entry.Unit, Score: int(x.Score*100 + 0.5)}
	}
	return out
}

// kbSearch answers the script's search box as JSON.
func (h *Handler) kbSearch(c *gin.Context) {
	q := strings.TrimSpace(c.Query("q"))
	hits := []kbHitView{}
	if q != "" && h.KB != nil {
		hits = h.searchKB(q)
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, gin.H{"hits": hits})
}

var placeholderRE = regexp.MustCompile(`\{(answer|unit|place|target)\}`)

// standardOK tells whether text is the template of kind with every
// placeholder filled: only then is it sent as that standard reply.
func (h *Handler) standardOK(ch normalize.Channel, kind, text string) bool {
	_, ok := h.standardFill(ch, kind, text)
	return ok
}

// standardFill matches text against the standard reply kind of channel ch and
// returns what fills its placeholders, in order (for template 1: the answer).
func (h *Handler) standardFill(ch normalize.Channel, kind, text string) ([]string, bool) {
	tpl, err := h.replySet(ch).Render(kind, replies.Vars{Answer: "{answer}", Unit: "{unit}", Place: "{place}", Target: "{target}"})
	if err != nil {
		return nil, false
	}
	parts := placeholderRE.Split(tpl, -1)
	for i := range parts {
		parts[i] = regexp.QuoteMeta(parts[i])
	}
	re, err := regexp.Compile(`^` + strings.Join(parts, `(.+)`) + `$`)
	if err != nil {
		return nil, false
	}
	m := re.FindStringSubmatch(text)
	if m == nil {
		return nil, false
	}
	return m[1:], true
}

// answerDirectly is the reply box's template 1 on a ticket at intake: that is
// the standard's 答复, so it goes through the pipeline, which sends the same
// text and closes the ticket (a plain reply would leave it at intake).
func (h *Handler) answerDirectly(c *gin.Context, t ticket.Ticket, u store.UserView, form replyForm, text string) bool {
	if h.Pipeline == nil || form.Via != "" || form.Kind != ticket.ReplyAnswered || t.Status != ticket.StatusIntake {
		return false
	}
	fill, ok := h.standardFill(t.Channel, ticket.ReplyAnswered, text)
	if !ok || len(fill) != 1 {
		return false
	}
	if _, err := h.Pipeline.Transition(c.Request.Context(), t.No, pipeline.ActAnswer, pipeline.ActorOf(u), pipeline.Input{Text: fill[0]}); err != nil {
		return false // not allowed for this role or state: sent as a reply below
	}
	if h.Notify != nil {
		h.Notify()
	}
	c.Redirect(http.StatusSeeOther, "/inbox/tickets/"+url.PathEscape(t.No)+"?done=sent#timeline")
	return true
}

func (h *Handler) reply(c *gin.Context) {
	u, _ := currentUser(c)
	no := c.Param("no")
	t, ok := h.visible(c, no)
	if !ok {
		return
	}
	form := replyForm{Text: c.PostForm("text"), Kind: c.PostForm("kind"), Via: c.PostForm("via")}
	text := normalize.CleanText(form.Text)
	switch {
	case !slices.Contains([]string{"", ticket.ViaSMS, ticket.ViaWeChat, ticket.ViaEmail}, form.Via):
		form.Error = "发送方式无效。"
	case text == "":
		form.Error = "回复内容为空。"
	case len([]rune(text)) > 2000:
		form.Error = "回复内容超过 2000 字。"
	case placeholderRE.MatchString(text):
		form.Error = "请先填写模板中的占位内容（{answer}、{unit}、{place}、{target}）。"
	}
	if form.Error != "" {
		h.renderTicket(c, http.StatusBadRequest, form)
		return
	}
	kind := ticket.ReplyAgent
	if slices.Contains(replies.Kinds, form.Kind) && h.standardOK(t.Channel, form.Kind, text) {
		kind = form.Kind // verbatim standard text; an edited one is the agent's own
	}
	takeover := c.PostForm("takeover") == "1"
	if err := h.Store.Claim(c.Request.Context(), no, u, takeover); err != nil {
		var held *store.HeldError
		if errors.As(err, &held) {
			form.Error = "该工单正由 " + held.Holder + " 处理。确认接管后才能回复：勾选“接管此工单”再发送。"
			h.renderTicket(c, http.StatusConflict, form)
			return
		}
		h.fail(c, "claim for reply", err)
		return
	}
	if kind == ticket.ReplyAnswered && h.answerDirectly(c, t, u, form, text) {
		return
	}
	if _, err := h.Store.ReplyVia(c.Request.Context(), no, u.Username, ticket.Reply{Kind: kind, Text: text}, form.Via); err != nil {
		if errors.Is(err, ticket.ErrConflict) { // the chosen route cannot reach the citizen
			form.Error = "无法通过所选方式联系市民，请换一种发送方式。"
			h.renderTicket(c, http.StatusConflict, form)
			return
		}
		h.fail(c, "reply", err)
		return
	}
	if h.Notify != nil {
		h.Notify()
	}
	c.Redirect(http.StatusSeeOther, "/inbox/tickets/"+url.PathEscape(no)+"?done=sent#timeline")
}

func (h *Handler) claim(c *gin.Context) {
	u, _ := currentUser(c)
	no := c.Param("no")
	if _, ok := h.visible(c, no); !ok {
		return
	}
	takeover := c.PostForm("takeover") == "1"
	if err := h.Store.Claim(c.Request.Context(), no, u, takeover); err != nil {
		var held *store.HeldError
		if errors.As(err, &held) {
			h.renderTicket(c, http.StatusConflict, replyForm{
				Error: "该工单已由 " + held.Holder + " 认领。如需接管，请点击“接管”。"})
			return
		}
		h.fail(c, "claim", err)
		return
	}
	done := "claimed"
	if takeover {
		done = "taken"
	}
	c.Redirect(http.StatusSeeOther, "/inbox/tickets/"+url.PathEscape(no)+"?done="+done)
}

func (h *Handler) release(c *gin.Context) {
	u, _ := currentUser(c)
	no := c.Param("no")
	if _, ok := h.visible(c, no); !ok {
		return
	}
	if err := h.Store.Release(c.Request.Context(), no, u); err != nil {
		if errors.Is(err, ticket.ErrConflict) {
			h.renderTicket(c, http.StatusConflict, replyForm{Error: "您没有认领此工单，无法释放。"})
			return
		}
		h.fail(c, "release", err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/inbox/tickets/"+url.PathEscape(no)+"?done=released")
}

func (h *Handler) classify(c *gin.Context) {
	u, _ := currentUser(c)
	no := c.Param("no")
	if _, ok := h.visible(c, no); !ok {
		return
	}
	nature := ticket.Nature(c.PostForm("nature"))
	category := c.PostForm("category")
	if !slices.Contains(store.InboxNatures(), nature) || !slices.Contains(h.Opt.Categories, category) {
		h.renderTicket(c, http.StatusBadRequest, replyForm{Error: "请选择有效的性质和内容分类。"})
		return
	}
	if err := h.Store.SetClassification(c.Request.Context(), no, nature, category, u.Username); err != nil {
		h.fail(c, "classify", err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/inbox/tickets/"+url.PathEscape(no)+"?done=classified")
}

// fail maps domain errors of an action to pages.
func (h *Handler) fail(c *gin.Context, where string, err error) {
	switch {
	case errors.Is(err, ticket.ErrNotFound):
		h.errorPage(c, http.StatusNotFound, "工单不存在", "没有这个工单，或者您无权查看。")
	case errors.Is(err, ticket.ErrConflict):
		h.renderTicket(c, http.StatusConflict, replyForm{Error: "操作与工单当前状态冲突，请刷新后重试。"})
	case errors.Is(err, normalize.ErrInvalid):
		h.renderTicket(c, http.StatusBadRequest, replyForm{Error: "输入无效。"})
	default:
		h.internal(c, where, err)
	}
}

func (h *Handler) attachment(c *gin.Context) {
	t, ok := h.visible(c, c.Param("no"))
	if !ok {
		return
	}
	msgID, err1 := strconv.ParseInt(c.Param("msg"), 10, 64)
	idx, err2 := strconv.Atoi(c.Param("idx"))
	if err1 == nil && err2 == nil && h.Files != nil {
		for _, m := range t.Messages {
			if m.ID == msgID && idx >= 0 && idx < len(m.Attachments) && m.Attachments[idx].Path != "" {
				h.Files.Serve(c.Writer, c.Request, m.Attachments[idx])
				return
			}
		}
	}
	h.errorPage(c, http.StatusNotFound, "附件不存在", "没有这个附件，或者您无权查看。")
}
