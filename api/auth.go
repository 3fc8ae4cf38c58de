package api

import (
	"errors"
	"net/http"
	"slices"
	"time"

	"github.com/gin-gonic/gin"

	"hotline/auth"
	"hotline/httpx"
	"hotline/store"
	"hotline/ticket"
)

const userKey = "user"

// CurrentUser returns the authenticated user of c.
func CurrentUser(c *gin.Context) store.UserView {
	u, _ := c.Get(userKey)
	v, _ := u.(store.UserView)
	return v
}

// SetUser lets another authenticator (the inbox's session cookie) hand the user
// to the API's handlers.
func SetUser(c *gin.Context, u store.UserView) { c.Set(userKey, u) }

// RequireUser resolves the bearer token (or a user set before) or answers 401.
func (a *API) RequireUser(c *gin.Context) {
	if _, ok := c.Get(userKey); ok {
		return
	}
	tok := bearer(c)
	if tok == "" {
		httpx.Error(c, http.StatusUnauthorized, "unauthenticated", "missing bearer token")
		return
	}
	u, err := a.Store.UserByToken(c.Request.Context(), tok)
	if err != nil {
		if errors.Is(err, ticket.ErrNotFound) {
			httpx.Error(c, http.StatusUnauthorized, "unauthenticated", "invalid or expired token")
			return
		}
		a.fail(c, err)
		return
	}
	SetUser(c, u)
}

func (a *API) requireRole(roles ...string) gin.HandlerFunc {
	return func(c *gin.Context) {
		if !slices.Contains(roles, CurrentUser(c).Role) {
			httpx.Error(c, http.StatusForbidden, "forbidden", "not allowed for your role")
		}
	}
}

// Login checks a user name and password and issues a token; shared with the
// inbox's sign-in form.
func (a *API) Login(c *gin.Context, username, password string) (string, store.UserView, bool) {
	u, hash, err := a.Store.UserForLogin(c.Request.Context(), username)
	if err != nil {
		auth.CheckMissing(password)
		return "", store.UserView{}, false
	}
	if !auth.Check(hash, password) {
		return "", store.UserView{}, false
	}
	tok := auth.NewToken()
	if err := a.Store.SaveToken(c.Request.Context(), tok, u.ID, time.Now().Add(a.TokenTTL)); err != nil {
		a.fail(c, err)
		return "", store.UserView{}, false
	}
	return tok, u, true
}

func (a *API) login(c *gin.Context) {
	var req struct {
		Username string `json:"username"`
		Password string `json:"password"`
	}
	if !a.bindJSON(c, &req) {
		return
	}
	tok, u, ok := a.Login(c, req.Username, req.Password)
	if !ok {
		if !c.IsAborted() {
			httpx.Error(c, http.StatusUnauthorized, "bad_credentials", "wrong user name or password")
		}
		return
	}
	c.JSON(http.StatusOK, gin.H{"token": tok, "expires_in": int(a.TokenTTL.Seconds()), "user": u})
}

func (a *API) logout(c *gin.Context) {
	if tok := bearer(c); tok != "" {
		if err := a.Store.DeleteToken(c.Request.Context(), tok); err != nil {
			a.fail(c, err)
			return
		}
	}
	c.Status(http.StatusNoContent)
}

func (a *API) me(c *gin.Context) { c.JSON(http.StatusOK, CurrentUser(c)) }
