package inbox

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"hotline/api"
	"hotline/auth"
	"hotline/store"
	"hotline/ticket"
)

const (
	sessionCookie = "hotline_session"
	loginCookie   = "hotline_login" // CSRF of the sign-in form, before a session exists
	userKey       = "inbox.user"
	tokenKey      = "inbox.token"
	csrfKey       = "inbox.csrf"
	// CSRFHeader carries the token on the script's requests.
	CSRFHeader = "X-CSRF-Token"
)

// Failed sign-ins allowed per client IP and per user name within LoginWindow.
var (
	LoginAttempts int64 = 10
	LoginWindow         = 15 * time.Minute
)

// csrfFor derives the session's CSRF token from its secret: a cross-site page
// can make the browser send the HttpOnly cookie but can neither read it nor
// compute this, and every instance derives the same token without shared state.
func csrfFor(secret, purpose string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("hotline inbox csrf\x00" + purpose))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func randomToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func currentUser(c *gin.Context) (store.UserView, bool) {
	v, ok := c.Get(userKey)
	u, _ := v.(store.UserView)
	return u, ok
}

func centre(u store.UserView) bool { return auth.CentreStaff(u.Role) }

// resolve reads the session cookie; it sets the user on c when valid.
func (h *Handler) resolve(c *gin.Context) (store.UserView, bool) {
	if u, ok := currentUser(c); ok {
		return u, true
	}
	tok, err := c.Cookie(sessionCookie)
	if err != nil || tok == "" || len(tok) > 200 {
		return store.UserView{}, false
	}
	u, err := h.Store.UserByToken(c.Request.Context(), tok)
	if err != nil {
		if !errors.Is(err, ticket.ErrNotFound) {
			h.Log.Error("inbox session", "err", err)
		}
		return store.UserView{}, false
	}
	c.Set(userKey, u)
	c.Set(tokenKey, tok)
	c.Set(csrfKey, csrfFor(tok, "session"))
	api.SetUser(c, u) // API handlers chained after this see the same user
	return u, true
}

// session requires a signed-in user: pages redirect to the sign-in form,
// everything else answers 401.
func (h *Handler) session(c *gin.Context) {
	if _, ok := h.resolve(c); ok {
		return
	}
	if c.Request.Method == http.MethodGet && !strings.HasSuffix(c.Request.URL.Path, "/events") &&
		!strings.Contains(c.GetHeader("Accept"), "application/json") {
		c.Redirect(http.StatusSeeOther, "/login?next="+url.QueryEscape(c.Request.URL.RequestURI()))
		c.Abort()
		return
	}
	h.errorPage(c, http.StatusUnauthorized, "请先登录", "登录已过期，请重新登录。")
}

// checkCSRF refuses every non-GET request without the session's token (form
// field csrf or header X-CSRF-Token).
func (h *Handler) checkCSRF(c *gin.Context) {
	switch c.Request.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return
	}
	want := c.GetString(csrfKey)
	got := c.GetHeader(CSRFHeader)
	if got == "" {
		got = c.PostForm("csrf")
	}
	if want == "" || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		h.errorPage(c, http.StatusForbidden, "请求已失效", "页面已过期或请求来源不可信，请刷新页面后重试。")
	}
}

func (h *Handler) centreOnly(c *gin.Context) {
	if u, _ := currentUser(c); !centre(u) {
		h.errorPage(c, http.StatusForbidden, "无权操作", "您的角色不能进行此操作。")
	}
}

func (h *Handler) adminOnly(c *gin.Context) {
	if u, _ := currentUser(c); u.Role != auth.RoleAdmin {
		h.errorPage(c, http.StatusForbidden, "无权访问", "仅管理员可以管理用户。")
	}
}

func (h *Handler) setCookie(c *gin.Context, name, value string, maxAge int) {
	http.SetCookie(c.Writer, &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: maxAge, HttpOnly: true,
		Secure: h.Opt.SecureCookie || c.Request.TLS != nil, SameSite: http.SameSiteLaxMode})
}

type loginView struct {
	base
	Next     string
	Username string
}

func (h *Handler) loginPage(c *gin.Context) {
	if _, ok := h.resolve(c); ok {
		c.Redirect(http.StatusSeeOther, safeNext(c.Query("next")))
		return
	}
	h.renderLogin(c, http.StatusOK, "", "")
}

func (h *Handler) renderLogin(c *gin.Context, status int, username, msg string) {
	v, _ := c.Cookie(loginCookie)
	if len(v) < 32 || len(v) > 100 {
		v = randomToken()
		h.setCookie(c, loginCookie, v, 3600)
	}
	p := loginView{base: h.base(c, "登录", "login"), Next: safeNext(c.Query("next")), Username: username}
	if n := c.PostForm("next"); n != "" {
		p.Next = safeNext(n)
	}
	p.CSRF = csrfFor(v, "login")
	p.Error = msg
	h.render(c, status, "login.html", p)
}

func (h *Handler) loginPost(c *gin.Context) {
	v, _ := c.Cookie(loginCookie)
	username := strings.TrimSpace(c.PostForm("username"))
	if len(v) < 32 || subtle.ConstantTimeCompare([]byte(c.PostForm("csrf")), []byte(csrfFor(v, "login"))) != 1 {
		h.renderLogin(c, http.StatusForbidden, username, "页面已过期，请重新输入后登录。")
		return
	}
	pw := c.PostForm("password")
	if username == "" || pw == "" || len(username) > 64 || len(pw) > 200 {
		h.renderLogin(c, http.StatusBadRequest, username, "请输入用户名和密码。")
		return
	}
	keys := []string{"inbox:login:ip:" + c.ClientIP(), "inbox:login:user:" + strings.ToLower(username)}
	if h.Limiter != nil {
		for _, k := range keys {
			if n, err := h.Limiter.Count(c.Request.Context(), k); err == nil && n >= LoginAttempts {
				h.renderLogin(c, http.StatusTooManyRequests, username, "登录失败次数过多，请 15 分钟后再试。")
				return
			}
		}
	}
	tok, _, ok := h.Login(c, username, pw)
	if c.IsAborted() { // the store failed; Login has answered
		return
	}
	if !ok {
		if h.Limiter != nil {
			for _, k := range keys {
				if _, err := h.Limiter.Hit(c.Request.Context(), k, LoginWindow); err != nil {
					h.Log.Warn("inbox login limiter", "err", err)
				}
			}
		}
		h.renderLogin(c, http.StatusUnauthorized, username, "用户名或密码错误。")
		return
	}
	h.setCookie(c, sessionCookie, tok, int(h.Opt.SessionTTL.Seconds()))
	h.setCookie(c, loginCookie, "", -1)
	c.Redirect(http.StatusSeeOther, safeNext(c.PostForm("next")))
}

func (h *Handler) logout(c *gin.Context) {
	if err := h.Store.DeleteToken(c.Request.Context(), c.GetString(tokenKey)); err != nil {
		h.internal(c, "logout", err)
		return
	}
	h.setCookie(c, sessionCookie, "", -1)
	c.Redirect(http.StatusSeeOther, "/login")
}

// safeNext keeps a post-login redirect on this site's inbox.
func safeNext(n string) string {
	if strings.HasPrefix(n, "/inbox") && !strings.ContainsAny(n, "\\\r\n") && !strings.HasPrefix(n, "//") {
		return n
	}
	return "/inbox"
}
