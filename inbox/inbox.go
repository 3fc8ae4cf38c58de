// Package inbox serves the unified inbox: server-rendered Chinese pages where
// agents sign in, see every channel's tickets in one list, open a ticket's
// conversation, claim it and answer it through its channel, with live updates
// over Server-Sent Events.
//
// Pages are html/template (everything a citizen wrote is escaped as text), the
// CSS and the one script are embedded and served from this origin, and the
// Content-Security-Policy allows no inline script. The session is a token of
// the agent API's tokens table in an HttpOnly cookie; every non-GET request
// carries a CSRF token derived from it. Handling-unit users see only their
// unit's tickets, and confidential tickets hide the citizen's contact data from
// them: both are enforced here, on the server, for every page and stream.
package inbox

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"html/template"
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"hotline/kb"
	"hotline/kpi"
	"hotline/live"
	"hotline/normalize"
	"hotline/replies"
	"hotline/store"
	"hotline/ticket"
)

// Store is what the inbox reads and writes.
type Store interface {
	ListInbox(ctx context.Context, f store.InboxFilter) ([]store.InboxItem, *store.Cursor, error)
	InboxStatuses(ctx context.Context) ([]string, error)
	GetTicket(ctx context.Context, no string) (ticket.Ticket, error)
	TicketHolder(ctx context.Context, ticketID int64) (*store.InboxHolder, error)
	WaitingSince(ctx context.Context, ticketID int64) (*time.Time, error)
	ContactTickets(ctx context.Context, contactID, except int64, unitID *int64, limit int) ([]ticket.Ticket, error)
	// ReplyVia queues a reply on the ticket's own route (via "") or a chosen one.
	ReplyVia(ctx context.Context, no, actor string, rep ticket.Reply, via string) (ticket.Message, error)
	Claim(ctx context.Context, no string, user store.UserView, takeover bool) error
	Release(ctx context.Context, no string, user store.UserView) error
	SetClassification(ctx context.Context, no string, nature ticket.Nature, category, actor string) error
	UserByToken(ctx context.Context, tok string) (store.UserView, error)
	DeleteToken(ctx context.Context, tok string) error
	ListUsers(ctx context.Context) ([]store.UserView, error)
	CreateUser(ctx context.Context, username, display, role, hash string, unitID *int64) (store.UserView, error)
}

// KB answers the knowledge-base search beside the reply box.
type KB interface {
	Search(q string, n int) ([]kb.Hit, error)
}

// Files serves stored attachments (the caller has authorized the request).
type Files interface {
	Serve(w http.ResponseWriter, r *http.Request, att normalize.Attachment)
}

// Limiter counts failed sign-ins (channels/web's memory or Redis limiter).
type Limiter interface {
	Hit(ctx context.Context, key string, window time.Duration) (int64, error)
	Count(ctx context.Context, key string) (int64, error)
}

// LoginFunc checks a user name and password and issues a session token: the
// agent API's Login, so the inbox and the API share accounts and tokens.
type LoginFunc func(c *gin.Context, username, password string) (token string, u store.UserView, ok bool)

// Options tune the inbox.
type Options struct {
	// SLA is the time within which a message must be answered (GB/T 33358:
	// SMS and other media within 3 minutes); the list counts down to it.
	SLA time.Duration
	// Canned are the agents' common phrases offered beside the standard replies.
	Canned []string
	// Categories are the nine content categories (classification editing).
	Categories []string
	// Site is the name in the page header; City and Province prefill the
	// out-of-remit reply's placeholders.
	Site, City, Province string
	Location             *time.Location
	// SecureCookie marks the session cookie Secure (public URL is https).
	SecureCookie bool
	SessionTTL   time.Duration
	MaxBody      int64
	BcryptCost   int
	PageSize     int
	// ExtensionMaxDays bounds the days a unit may ask for (deadlines.extension_max_days).
	ExtensionMaxDays int
	// Hot tunes the hot-issue list of the KPI dashboard.
	Hot kpi.HotOptions
	// AnswerAlertWithin is the scheduler's pipeline.answer_alert_within: under
	// SLA, its "unanswered" alerts come before the 3 minutes are missed.
	AnswerAlertWithin time.Duration
}

// Handler serves the inbox.
type Handler struct {
	Store   Store
	Login   LoginFunc
	KB      KB    // nil: no knowledge-base search
	Files   Files // nil: attachments are listed but not downloadable
	Hub     live.Hub
	Limiter Limiter                           // nil: sign-ins are not throttled
	Replies map[normalize.Channel]replies.Set // the six texts per channel; SMS is the fallback
	Notify  func()                            // wakes the outbox after a reply
	// Pipeline and Work serve the handling panel, the handling record and the
	// work queues; KPI the dashboard. nil: those pages are off.
	Pipeline Pipeline
	Work     Work
	KPI      KPI
	// Alerts serves the alert page and the nav's count. nil: off.
	Alerts Alerts
	Opt    Options
	Log    *slog.Logger

	sc  statusCache
	tpl *template.Template
}

//go:embed templates/*.html
var templateFS embed.FS

//go:embed assets
var assetFS embed.FS

var pages = template.Must(template.New("").Funcs(funcs).ParseFS(templateFS, "templates/*.html"))

// assetVersion busts browser caches when the embedded assets change.
var assetVersion = func() string {
	h := sha256.New()
	for _, n := range []string{"assets/inbox.css", "assets/inbox.js"} {
		b, _ := assetFS.ReadFile(n)
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))[:10]
}()

// Routes registers the inbox on r.
func (h *Handler) Routes(r gin.IRouter) {
	if h.Opt.PageSize <= 0 {
		h.Opt.PageSize = 50
	}
	if h.Opt.SLA <= 0 {
		h.Opt.SLA = 3 * time.Minute
	}
	if h.Opt.Location == nil {
		h.Opt.Location = time.Local
	}
	if h.Log == nil {
		h.Log = slog.Default()
	}
	loc := h.Opt.Location
	h.tpl = template.Must(pages.Clone()).Funcs(template.FuncMap{
		"when": func(t time.Time) string {
			t = t.In(loc)
			if t.Year() == time.Now().In(loc).Year() {
				return t.Format("01-02 15:04:05")
			}
			return t.Format("2006-01-02 15:04")
		},
		"dateOf": func(t time.Time) string { return t.In(loc).Format("2006-01-02 15:04") },
	})
	r.GET("/", h.root)
	r.GET("/login", h.loginPage)
	r.POST("/login", h.limitBody, h.loginPost)
	r.POST("/logout", h.limitBody, h.session, h.checkCSRF, h.logout)
	r.GET("/inbox/assets/inbox.css", asset("assets/inbox.css", "text/css; charset=utf-8"))
	r.GET("/inbox/assets/inbox.js", asset("assets/inbox.js", "text/javascript; charset=utf-8"))

	g := r.Group("/inbox", h.limitBody, h.session, h.checkCSRF)
	g.GET("", h.list)
	g.GET("/events", h.events)
	g.GET("/kb", h.centreOnly, h.kbSearch)
	g.GET("/tickets/:no", h.ticketPage)
	g.GET("/tickets/:no/attachments/:msg/:idx", h.attachment)
	g.POST("/tickets/:no/reply", h.centreOnly, h.reply)
	g.POST("/tickets/:no/claim", h.centreOnly, h.claim)
	g.POST("/tickets/:no/release", h.centreOnly, h.release)
	g.POST("/tickets/:no/classify", h.centreOnly, h.classify)
	g.POST("/tickets/:no/act/:action", h.act)
	g.GET("/queues/:queue", h.queuePage)
	g.GET("/kpis", h.kpiOnly, h.kpiPage)
	g.GET("/kpis.xlsx", h.kpiOnly, h.kpiXLSX)
	g.GET("/alerts", h.alertsOn, h.alertsPage)
	g.POST("/alerts/:id/ack", h.alertsOn, h.centreOnly, h.ackAlert)
	g.GET("/admin/users", h.adminOnly, h.usersPage)
	g.POST("/admin/users", h.adminOnly, h.addUser)
}

func asset(name, ct string) gin.HandlerFunc {
	b, err := assetFS.ReadFile(name)
	if err != nil {
		panic(err)
	}
	return func(c *gin.Context) {
		c.Header("Cache-Control", "public, max-age=86400")
		c.Header("X-Content-Type-Options", "nosniff")
		c.Data(http.StatusOK, ct, b)
	}
}

// pageCSP allows nothing inline and nothing from elsewhere: the stylesheet,
// the script, the live stream and fetches come from this origin only.
const pageCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

func securityHeaders(c *gin.Context) {
	hd := c.Writer.Header()
	hd.Set("Content-Security-Policy", pageCSP)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Referrer-Policy", "same-origin")
	hd.Set("Cache-Control", "no-store")
}

func (h *Handler) render(c *gin.Context, status int, name string, data any) {
	var buf bytes.Buffer
	tpl := h.tpl
	if tpl == nil {
		tpl = pages
	}
	if err := tpl.ExecuteTemplate(&buf, name, data); err != nil {
		h.Log.Error("inbox template", "template", name, "err", err)
		c.AbortWithStatus(http.StatusInternalServerError)
		return
	}
	securityHeaders(c)
	c.Data(status, "text/html; charset=utf-8", buf.Bytes())
}

// base is what every page template gets.
type base struct {
	Title      string
	Site       string
	User       store.UserView
	Signed     bool
	CSRF       string
	ServerNow  int64 // Unix ms: the script corrects the browser's clock with it
	AssetV     string
	Nav        string
	IsAdmin    bool
	IsCentre   bool
	RoleName   string
	Flash      string
	Error      string
	Page       string // body class: list, ticket, users, login, queue, kpis, alerts
	SLASeconds int
	Links      []option // the role's work queues and pages (value: path)
	AlertsNav  bool     // the nav shows "预警" with AlertCount open alerts
	AlertCount int64
}

func (h *Handler) base(c *gin.Context, title, page string) base {
	b := base{Title: title, Site: h.Opt.Site, ServerNow: time.Now().UnixMilli(), AssetV: assetVersion, Page: page,
		SLASeconds: int(h.Opt.SLA.Seconds())}
	if u, ok := currentUser(c); ok {
		b.User, b.Signed, b.CSRF = u, true, c.GetString(csrfKey)
		b.IsAdmin = u.Role == "admin"
		b.IsCentre = centre(u)
		b.RoleName = roleName(u.Role)
		b.Links = h.navLinks(u)
		b.Nav = c.Request.URL.Path
		h.alertNav(c, &b)
	}
	return b
}

// errorPage answers with a small page (status 4xx/5xx).
func (h *Handler) errorPage(c *gin.Context, status int, title, msg string) {
	p := struct {
		base
		Message string
	}{h.base(c, title, "error"), msg}
	h.render(c, status, "error.html", p)
	c.Abort()
}

func (h *Handler) internal(c *gin.Context, where string, err error) {
	h.Log.Error("inbox", "where", where, "path", c.FullPath(), "err", err)
	h.errorPage(c, http.StatusInternalServerError, "系统错误", "系统繁忙，请稍后重试。")
}

func (h *Handler) limitBody(c *gin.Context) {
	if c.Request.Body != nil && h.Opt.MaxBody > 0 {
		c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, h.Opt.MaxBody)
	}
}

func (h *Handler) root(c *gin.Context) {
	if _, ok := h.resolve(c); ok {
		c.Redirect(http.StatusSeeOther, "/inbox")
		return
	}
	c.Redirect(http.StatusSeeOther, "/login")
}
