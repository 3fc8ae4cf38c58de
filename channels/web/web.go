package web

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"hotline/httpx"
	"hotline/normalize"
	"hotline/ticket"
)

// Ingester commits an envelope and returns once it is stored.
type Ingester interface {
	IngestEnvelope(ctx context.Context, env normalize.Envelope) (ticket.Receipt, error)
}

// Store keeps query codes (hashes only) and answers the public status query.
type Store interface {
	// SaveQueryCode stores hash unless the ticket has a code already.
	SaveQueryCode(ctx context.Context, ticketID int64, hash string) (saved bool, err error)
	// PublicStatus returns ticket.ErrNotFound for an unknown ticket and for a
	// wrong code alike.
	PublicStatus(ctx context.Context, ticketNo, hash string) (Status, error)
}

// Status is the public view of a ticket: no contact data.
type Status struct {
	TicketNo  string
	Channel   string
	Status    string
	Title     string
	Unit      string
	CreatedAt time.Time
	UpdatedAt time.Time
	ClosedAt  *time.Time
	Result    string
	ResultAt  *time.Time
}

// Limits of the public endpoints.
type Limits struct {
	PerIP      int           // submissions per client IP per Window (0: none)
	PerPhone   int           // submissions per phone number per Window (0: none)
	Window     time.Duration // fixed window of all counters
	QueryPerIP int           // wrong query codes per client IP per Window (0: none)
	MaxContent int           // characters of the content (0: DefaultMaxContent)
}

// Handler serves the forms, the submissions API and the status query.
type Handler struct {
	Intake  Ingester
	Store   Store
	Limiter Limiter
	// Files stores attachments; nil refuses them.
	Files *Attachments
	// CSRFKey returns the server key of the form tokens (shared by all
	// instances); called per request, so it may load lazily.
	CSRFKey func(ctx context.Context) ([]byte, error)
	Limits  Limits
	// MaxBody bounds a post without files (JSON, urlencoded, the text fields of
	// a multipart post); files add Files.MaxFiles × Files.MaxBytes.
	MaxBody int64
	// Site is the name shown in the page header, e.g. "德州市12345市民热线".
	Site string
	Log  *slog.Logger
}

//go:embed templates/*.html
var templateFS embed.FS

//go:embed assets
var assetFS embed.FS

var pages = template.Must(template.New("").Funcs(template.FuncMap{
	"statusText":  StatusText,
	"channelName": func(v any) string { return channelName(fmt.Sprint(v)) },
	"fmtTime": func(t time.Time) string {
		return t.In(cst).Format("2006-01-02 15:04")
	},
}).ParseFS(templateFS, "templates/*.html"))

var cst = func() *time.Location {
	if loc, err := time.LoadLocation("Asia/Shanghai"); err == nil {
		return loc
	}
	return time.FixedZone("CST", 8*3600)
}()

// Routes registers the public pages and endpoints on r.
func (h *Handler) Routes(r gin.IRouter) {
	r.GET("/submit", h.formPage(normalize.Website))
	r.GET("/mayor", h.formPage(normalize.MayorMailbox))
	r.POST("/api/v1/submissions", h.submit)
	r.GET("/api/v1/submissions/:ticket_no", h.status)
	r.GET("/query", h.query)
	r.POST("/query", h.query)
	r.GET("/forms/assets/style.css", asset("assets/style.css", "text/css; charset=utf-8"))
	r.GET("/forms/assets/print.js", asset("assets/print.js", "text/javascript; charset=utf-8"))
}

func asset(name, ct string) gin.HandlerFunc {
	b, err := assetFS.ReadFile(name)
	if err != nil {
		panic(err)
	}
	return func(c *gin.Context) {
		c.Header("Cache-Control", "public, max-age=3600")
		c.Header("X-Content-Type-Options", "nosniff")
		c.Data(http.StatusOK, ct, b)
	}
}

// pageCSP allows nothing inline: styles and the print script come from this
// origin only.
const pageCSP = "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

func (h *Handler) render(c *gin.Context, status int, name string, data any) {
	var buf bytes.Buffer
	if err := pages.ExecuteTemplate(&buf, name, data); err != nil {
		h.Log.Error("web template", "template", name, "err", err)
		c.AbortWithStatus(http.StatusInternalServerError)
		return
	}
	hd := c.Writer.Header()
	hd.Set("Content-Security-Policy", pageCSP)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("Cache-Control", "no-store")
	c.Data(status, "text/html; charset=utf-8", buf.Bytes())
}

// page is what every template gets.
type page struct {
	Site  string
	Title string
}

type formPage struct {
	page
	Channel      normalize.Channel
	Intro        string
	CSRF         string
	FormID       string
	Sub          Submission
	Errors       FieldErrors
	ErrorList    []fieldError
	MaxFiles     int
	MaxFileSize  string
	MaxContent   int
	FilesEnabled bool
}

type fieldError struct{ Field, Message string }

func (h *Handler) formPage(ch normalize.Channel) gin.HandlerFunc {
	return func(c *gin.Context) {
		h.renderForm(c, http.StatusOK, Submission{Channel: ch}, nil)
	}
}

// renderForm shows the form of sub.Channel with sub's values and errors fe,
// setting the CSRF cookie when the browser has none.
func (h *Handler) renderForm(c *gin.Context, status int, sub Submission, fe FieldErrors) {
	key, err := h.CSRFKey(c.Request.Context())
	if err != nil {
		h.Log.Error("web csrf key", "err", err)
		h.errorPage(c, http.StatusServiceUnavailable, "服务暂不可用", "系统繁忙，请稍后再试。")
		return
	}
	cookie, _ := c.Cookie(csrfCookie)
	if len(cookie) < 32 {
		cookie = newCookieValue()
		http.SetCookie(c.Writer, &http.Cookie{Name: csrfCookie, Value: cookie, Path: "/", HttpOnly: true,
			Secure: secureRequest(c.Request), SameSite: http.SameSiteLaxMode})
	}
	p := formPage{
		page: page{Site: h.Site}, Channel: sub.Channel, CSRF: csrfToken(key, cookie), FormID: randomHex(16),
		Sub: sub, Errors: fe, MaxContent: h.maxContent(),
	}
	if h.Files != nil && h.Files.MaxFiles > 0 {
		p.FilesEnabled, p.MaxFiles, p.MaxFileSize = true, h.Files.MaxFiles, humanSize(h.Files.MaxBytes)
	}
	if sub.Channel == normalize.MayorMailbox {
		p.Title = "市长信箱"
		p.Intro = "欢迎您给市长写信。请如实反映问题，留下联系方式以便答复；我们会在受理后给您工单号和查询码。"
	} else {
		p.Title = "网上留言"
		p.Intro = "您可以在这里反映问题、咨询政策、提出建议或投诉。提交后会得到工单号和查询码，凭此查询办理进度。"
	}
	for _, f := range fieldOrder {
		if m, ok := fe[f]; ok {
			p.ErrorList = append(p.ErrorList, fieldError{f, m})
		}
	}
	h.render(c, status, "form.html", p)
}

func (h *Handler) maxContent() int {
	if h.Limits.MaxContent > 0 {
		return h.Limits.MaxContent
	}
	return DefaultMaxContent
}

func (h *Handler) errorPage(c *gin.Context, status int, title, msg string) {
	h.render(c, status, "error.html", struct {
		page
		Message string
	}{page{Site: h.Site, Title: title}, msg})
	c.Abort()
}

// errRateLimited, errNotStored and errInvalid are the outcomes a submission
// can fail with after parsing.
var (
	errRateLimited = errors.New("提交过于频繁，请稍后再试")
	errNotStored   = errors.New("系统繁忙，留言未能保存，请稍后重新提交")
)

// result is what became of a submission.
type result struct {
	TicketNo  string
	QueryCode string // empty when it was shown before (a repeated post)
	Duplicate bool
	Channel   normalize.Channel
	Subject   string
	At        time.Time
	Files     int
}

func (h *Handler) submit(c *gin.Context) {
	ct, _, _ := mime.ParseMediaType(c.GetHeader("Content-Type"))
	switch ct {
	case "application/json":
		h.submitJSON(c)
	case "multipart/form-data", "application/x-www-form-urlencoded":
		h.submitForm(c, ct)
	default:
		httpx.Error(c, http.StatusUnsupportedMediaType, "unsupported_media_type",
			"Content-Type must be application/json, multipart/form-data or application/x-www-form-urlencoded")
	}
}

func (h *Handler) submitJSON(c *gin.Context) {
	ctx := c.Request.Context()
	if h.over(ctx, "ip:"+c.ClientIP(), h.Limits.PerIP) {
		httpx.Error(c, http.StatusTooManyRequests, "rate_limited", errRateLimited.Error())
		return
	}
	body, ok := httpx.ReadBody(c, h.MaxBody)
	if !ok {
		return
	}
	sub, err := ParseJSON(body)
	if err != nil {
		httpx.Error(c, http.StatusBadRequest, "malformed", err.Error())
		return
	}
	sub, fe := sub.Normalize(h.maxContent())
	if fe != nil {
		c.AbortWithStatusJSON(http.StatusBadRequest, gin.H{"error": httpx.ErrorDetail{Code: "invalid", Message: fe.Error()}, "fields": fe})
		return
	}
	key := "api:" + randomHex(16)
	if k := c.GetHeader("Idempotency-Key"); k != "" && len(k) <= 200 {
		sum := sha256.Sum256([]byte(k))
		key = "api:" + hex.EncodeToString(sum[:20])
	}
	raw, _ := json.Marshal(sub)
	res, err := h.process(c, sub, key, raw, nil)
	switch {
	case errors.Is(err, errRateLimited):
		httpx.Error(c, http.StatusTooManyRequests, "rate_limited", err.Error())
	case errors.Is(err, normalize.ErrInvalid):
		httpx.Error(c, http.StatusBadRequest, "invalid", err.Error())
	case err != nil:
		httpx.Error(c, http.StatusServiceUnavailable, "store_unavailable", err.Error())
	case res.Duplicate:
		// The same Idempotency-Key again: the same ticket; the code was
		// returned the first time (or now, if it never was).
		c.JSON(http.StatusOK, gin.H{"ticket_no": res.TicketNo, "query_code": res.QueryCode, "duplicate": true})
	default:
		c.JSON(http.StatusCreated, gin.H{"ticket_no": res.TicketNo, "query_code": res.QueryCode})
	}
}

// maxField bounds one text field of a multipart post.
const maxField = 64 << 10

func (h *Handler) submitForm(c *gin.Context, ct string) {
	ctx := c.Request.Context()
	if h.over(ctx, "ip:"+c.ClientIP(), h.Limits.PerIP) {
		h.errorPage(c, http.StatusTooManyRequests, "提交过于频繁", "您提交得太频繁了，请稍后再试。")
		return
	}
	limit := h.MaxBody
	if h.Files != nil {
		limit += int64(h.Files.MaxFiles) * (h.Files.MaxBytes + 4096)
	}
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, limit)
	values, atts, fileErr, err := h.readForm(c.Request, ct)
	if err != nil {
		h.Files.removeAll(atts)
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			h.errorPage(c, http.StatusRequestEntityTooLarge, "提交内容过大", "提交的内容或附件过大，请减少附件后重试。")
		} else {
			h.errorPage(c, http.StatusBadRequest, "提交失败", "提交的内容无法读取，请返回后重试。")
		}
		return
	}
	cookie, _ := c.Cookie(csrfCookie)
	key, kerr := h.CSRFKey(ctx)
	if kerr != nil || !csrfOK(key, cookie, values.Get("csrf_token")) {
		h.Files.removeAll(atts)
		if kerr != nil {
			h.Log.Error("web csrf key", "err", kerr)
		}
		h.errorPage(c, http.StatusForbidden, "页面已过期", "页面已过期或浏览器未允许 Cookie。请重新打开留言页面后再提交。")
		return
	}
	sub, fe := ParseValues(values).Normalize(h.maxContent())
	if fileErr != "" {
		if fe == nil {
			fe = FieldErrors{}
		}
		fe["attachments"] = fileErr
	}
	if fe != nil {
		h.Files.removeAll(atts)
		if len(atts) > 0 && fileErr == "" {
			fe["attachments"] = "请重新选择附件"
		}
		h.renderForm(c, http.StatusBadRequest, sub, fe)
		return
	}
	dedup := "form:" + randomHex(16)
	if id := values.Get("form_id"); len(id) >= 16 && len(id) <= 64 {
		dedup = formDedupKey(cookie, id)
	}
	raw, _ := json.Marshal(sub)
	res, err := h.process(c, sub, dedup, raw, atts)
	switch {
	case errors.Is(err, errRateLimited):
		h.errorPage(c, http.StatusTooManyRequests, "提交过于频繁", "您提交得太频繁了，请稍后再试。")
	case errors.Is(err, normalize.ErrInvalid):
		h.renderForm(c, http.StatusBadRequest, sub, FieldErrors{"form": "留言未能受理：" + err.Error()})
	case err != nil:
		h.errorPage(c, http.StatusServiceUnavailable, "提交失败", err.Error())
	default:
		h.render(c, http.StatusOK, "receipt.html", struct {
			page
			result
		}{page{Site: h.Site, Title: "提交成功"}, res})
	}
}

// readForm reads the fields and stores the files of a form post. fileErr is a
// problem with the attachments to show on the form; err means the body could
// not be read at all. Files stored so far are returned in both cases, for the
// caller to remove.
func (h *Handler) readForm(r *http.Request, ct string) (values url.Values, atts []normalize.Attachment, fileErr string, err error) {
	if ct == "application/x-www-form-urlencoded" {
		if err := r.ParseForm(); err != nil {
			return nil, nil, "", err
		}
		return r.PostForm, nil, "", nil
	}
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, nil, "", err
	}
	values = url.Values{}
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return values, atts, fileErr, err
		}
		name := part.FormName()
		if part.FileName() == "" {
			b, err := io.ReadAll(io.LimitReader(part, maxField+1))
			if err != nil {
				return values, atts, fileErr, err
			}
			if len(b) > maxField {
				return values, atts, fileErr, &http.MaxBytesError{Limit: maxField}
			}
			values.Add(name, string(b))
			continue
		}
		if name != "attachments" {
			continue // a file in another field: ignore it
		}
		switch {
		case fileErr != "":
			io.Copy(io.Discard, part)
		case h.Files == nil || h.Files.MaxFiles <= 0:
			fileErr = "暂不支持上传附件"
		case len(atts) >= h.Files.MaxFiles:
			fileErr = fmt.Sprintf("附件最多%d个", h.Files.MaxFiles)
		default:
			att, err := h.Files.Save(part.FileName(), part)
			switch {
			case errors.Is(err, ErrAttachmentType), errors.Is(err, ErrAttachmentTooLarge), errors.Is(err, ErrAttachmentEmpty):
				fileErr = err.Error()
			case err != nil:
				var tooLarge *http.MaxBytesError
				if errors.As(err, &tooLarge) {
					return values, atts, fileErr, err
				}
				h.Log.Error("web attachment", "err", err)
				fileErr = "附件保存失败，请稍后再试"
			default:
				atts = append(atts, att)
			}
		}
		part.Close()
	}
	return values, atts, fileErr, nil
}

func (a *Attachments) removeAll(atts []normalize.Attachment) {
	if a != nil && len(atts) > 0 {
		a.Remove(atts)
	}
}

// process applies the per-phone limit, commits the ticket and issues its query
// code. Stored files are removed unless they now belong to the new ticket.
func (h *Handler) process(c *gin.Context, sub Submission, dedup string, raw []byte, atts []normalize.Attachment) (result, error) {
	ctx := c.Request.Context()
	kept := false
	defer func() {
		if !kept {
			h.Files.removeAll(atts)
		}
	}()
	h.hit(ctx, "ip:"+c.ClientIP())
	if sub.Phone != "" && h.hit(ctx, "phone:"+sub.Phone) > int64(h.Limits.PerPhone) && h.Limits.PerPhone > 0 {
		return result{}, errRateLimited
	}
	env := sub.Envelope(dedup, raw)
	env.Attachments = atts
	env.ReceivedAt = time.Now()
	r, err := h.Intake.IngestEnvelope(ctx, env)
	if err != nil {
		if errors.Is(err, normalize.ErrInvalid) {
			return result{}, err
		}
		h.Log.Error("web ingest", "request_id", httpx.ID(c), "err", err)
		return result{}, errNotStored
	}
	kept = !r.Duplicate
	res := result{TicketNo: r.TicketNo, Duplicate: r.Duplicate, Channel: sub.Channel, Subject: sub.Title, At: env.ReceivedAt, Files: len(atts)}
	// The ticket is committed; its code is stored right after, keyed by the
	// ticket, only if it has none yet. Should this fail, the citizen is told
	// to post again: the same form (or Idempotency-Key) finds the same ticket
	// and completes the code then.
	code := NewQueryCode()
	saved, err := h.Store.SaveQueryCode(ctx, r.TicketID, HashQueryCode(r.TicketNo, code))
	if err != nil {
		h.Log.Error("web query code", "request_id", httpx.ID(c), "ticket_no", r.TicketNo, "err", err)
		return result{}, fmt.Errorf("留言已受理（工单号 %s），但查询码未能生成，请稍后重新提交同一表单以获取查询码", r.TicketNo)
	}
	if saved {
		res.QueryCode = code
	}
	return res, nil
}

// over reports whether key has reached limit already (without counting).
// Limiter failures let the request through: a broken Redis must not close
// the hotline's front door.
func (h *Handler) over(ctx context.Context, key string, limit int) bool {
	if limit <= 0 || h.Limiter == nil {
		return false
	}
	n, err := h.Limiter.Count(ctx, key)
	if err != nil {
		h.Log.Warn("rate limiter", "err", err)
		return false
	}
	return n >= int64(limit)
}

func (h *Handler) hit(ctx context.Context, key string) int64 {
	if h.Limiter == nil {
		return 0
	}
	n, err := h.Limiter.Hit(ctx, key, h.window())
	if err != nil {
		h.Log.Warn("rate limiter", "err", err)
		return 0
	}
	return n
}

func (h *Handler) window() time.Duration {
	if h.Limits.Window > 0 {
		return h.Limits.Window
	}
	return time.Hour
}

// lookup answers a status query; an unknown ticket and a wrong code are both
// ticket.ErrNotFound, and both count against the client's failed attempts.
func (h *Handler) lookup(c *gin.Context, no, code string) (Status, error) {
	ctx := c.Request.Context()
	no = strings.TrimSpace(no)
	code = CleanQueryCode(code)
	if no == "" || code == "" || len(no) > 32 || len(code) > 32 {
		h.hit(ctx, "query:"+c.ClientIP())
		return Status{}, ticket.ErrNotFound
	}
	st, err := h.Store.PublicStatus(ctx, no, HashQueryCode(no, code))
	if errors.Is(err, ticket.ErrNotFound) {
		h.hit(ctx, "query:"+c.ClientIP())
	}
	return st, err
}

// StatusJSON is the public status answer of the API.
type StatusJSON struct {
	TicketNo   string      `json:"ticket_no"`
	Channel    string      `json:"channel"`
	Status     string      `json:"status"`
	StatusText string      `json:"status_text"`
	Title      string      `json:"title"`
	Unit       string      `json:"unit"`
	CreatedAt  time.Time   `json:"created_at"`
	UpdatedAt  time.Time   `json:"updated_at"`
	ClosedAt   *time.Time  `json:"closed_at"`
	Result     *ResultJSON `json:"result"`
}

// ResultJSON is the latest answer given to the citizen.
type ResultJSON struct {
	Text string    `json:"text"`
	At   time.Time `json:"at"`
}

func (h *Handler) status(c *gin.Context) {
	if h.over(c.Request.Context(), "query:"+c.ClientIP(), h.Limits.QueryPerIP) {
		httpx.Error(c, http.StatusTooManyRequests, "rate_limited", "too many wrong query codes, try again later")
		return
	}
	st, err := h.lookup(c, c.Param("ticket_no"), c.Query("query_code"))
	switch {
	case errors.Is(err, ticket.ErrNotFound):
		httpx.Error(c, http.StatusNotFound, "not_found", "not found")
		return
	case err != nil:
		h.Log.Error("web status", "request_id", httpx.ID(c), "err", err)
		httpx.Error(c, http.StatusServiceUnavailable, "store_unavailable", "please retry")
		return
	}
	out := StatusJSON{TicketNo: st.TicketNo, Channel: st.Channel, Status: st.Status, StatusText: StatusText(st.Status),
		Title: st.Title, Unit: st.Unit, CreatedAt: st.CreatedAt, UpdatedAt: st.UpdatedAt, ClosedAt: st.ClosedAt}
	if st.ResultAt != nil {
		out.Result = &ResultJSON{Text: st.Result, At: *st.ResultAt}
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, out)
}

type queryPage struct {
	page
	TicketNo string
	Asked    bool
	Found    bool
	Error    string
	Status   Status
}

// query is the /query page: GET shows the form (or the answer, when both
// parameters are given), POST answers the form.
func (h *Handler) query(c *gin.Context) {
	p := queryPage{page: page{Site: h.Site, Title: "办理进度查询"}}
	var no, code string
	if c.Request.Method == http.MethodPost {
		no, code = c.PostForm("ticket_no"), c.PostForm("query_code")
		p.Asked = true
	} else {
		no, code = c.Query("ticket_no"), c.Query("query_code")
		p.Asked = no != "" || code != ""
	}
	p.TicketNo = strings.TrimSpace(no)
	if !p.Asked {
		h.render(c, http.StatusOK, "query.html", p)
		return
	}
	if h.over(c.Request.Context(), "query:"+c.ClientIP(), h.Limits.QueryPerIP) {
		p.Error = "查询次数过多，请稍后再试。"
		h.render(c, http.StatusTooManyRequests, "query.html", p)
		return
	}
	st, err := h.lookup(c, no, code)
	switch {
	case errors.Is(err, ticket.ErrNotFound):
		p.Error = "未找到该工单，或查询码不正确。请核对工单号和查询码。"
		h.render(c, http.StatusNotFound, "query.html", p)
	case err != nil:
		h.Log.Error("web query", "request_id", httpx.ID(c), "err", err)
		p.Error = "系统繁忙，请稍后再试。"
		h.render(c, http.StatusServiceUnavailable, "query.html", p)
	default:
		p.Found, p.Status = true, st
		h.render(c, http.StatusOK, "query.html", p)
	}
}

// StatusText is the Chinese name of a ticket status for citizens.
func StatusText(s string) string {
	switch ticket.Status(s) {
	case ticket.StatusIntake:
		return "已受理，正在处理"
	case ticket.StatusAnswered:
		return "已答复"
	case ticket.StatusClosed, ticket.StatusArchived:
		return "已办结"
	case ticket.StatusDiscarded:
		return "不予受理"
	}
	return "办理中"
}

func channelName(ch string) string {
	switch normalize.Channel(ch) {
	case normalize.MayorMailbox:
		return "市长信箱"
	case normalize.Website:
		return "网上留言"
	}
	return ch
}
