package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"hotline/httpx"
	"hotline/normalize"
	"hotline/store"
	"hotline/ticket"
)

// ContactStore is what the contact endpoints read and write (*store.Store).
type ContactStore interface {
	WeChatBinding(ctx context.Context, openid string) (store.WeChatBindingView, error)
	ConfirmPhoneBinding(ctx context.Context, openid, phone, actor string) (string, error)
	UnbindPhone(ctx context.Context, openid, actor string) (string, error)
}

// Contacts serves the centre's contact endpoints: the phone binding of a
// WeChat user (see store/wechat.go for how a binding is trusted). It shares the
// agent API's authentication and error mapping through the embedded *API.
type Contacts struct {
	*API
	Contacts ContactStore
}

// Routes registers the endpoints on r (centre staff only: they show and change
// whose phone a WeChat user speaks for).
func (h *Contacts) Routes(r gin.IRouter) {
	g := r.Group("/api/v1/contacts/wechat/:openid", h.RequireUser, h.requireRole(centreRoles...), h.checkOpenID)
	g.GET("/binding", h.binding)
	g.POST("/binding/confirm", h.confirmBinding)
	g.DELETE("/binding", h.unbind)
}

// checkOpenID refuses what cannot be an openid (WeChat's are 28 characters of
// letters, digits, '-' and '_').
func (h *Contacts) checkOpenID(c *gin.Context) {
	id := c.Param("openid")
	ok := id != "" && len(id) <= 64
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			ok = false
			break
		}
	}
	if !ok {
		httpx.Error(c, http.StatusBadRequest, "invalid_openid", "openid must be 1-64 letters, digits, '-' or '_'")
	}
}

// binding: GET /contacts/wechat/{openid}/binding.
func (h *Contacts) binding(c *gin.Context) {
	v, err := h.Contacts.WeChatBinding(c.Request.Context(), c.Param("openid"))
	if err != nil {
		h.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, v)
}

// confirmBinding: POST /contacts/wechat/{openid}/binding/confirm binds the
// phone given, or else the one the citizen asked for ("绑定 <mobile>"), on the
// agent's word: for a citizen who cannot receive the code, after the agent
// has spoken to them on that phone.
func (h *Contacts) confirmBinding(c *gin.Context) {
	var req struct {
		Phone string `json:"phone"`
	}
	if !h.bindJSON(c, &req) {
		return
	}
	ctx, openid := c.Request.Context(), c.Param("openid")
	v, err := h.Contacts.WeChatBinding(ctx, openid)
	if err != nil {
		h.fail(c, err)
		return
	}
	phone := req.Phone
	if phone == "" {
		phone = v.Phone
	}
	if phone == "" {
		httpx.Error(c, http.StatusBadRequest, "phone_required", "no pending binding: give the phone to bind")
		return
	}
	p, ok := normalize.Phone(phone)
	if !ok {
		httpx.Error(c, http.StatusBadRequest, "invalid_phone", "invalid phone number")
		return
	}
	if v.Status == store.BindingVerified && v.Phone == p {
		c.JSON(http.StatusOK, v) // already bound: keep who bound it and when
		return
	}
	outcome, err := h.Contacts.ConfirmPhoneBinding(ctx, openid, p, CurrentUser(c).Username)
	switch {
	case errors.Is(err, normalize.ErrInvalid):
		httpx.Error(c, http.StatusBadRequest, "invalid_phone", "invalid phone number")
		return
	case err != nil:
		h.fail(c, err)
		return
	}
	switch outcome {
	case store.BindVerified:
	case store.BindPhoneTaken:
		httpx.Error(c, http.StatusConflict, outcome, "the phone is bound to another WeChat user; unbind that one first")
		return
	case store.BindOtherPhone:
		httpx.Error(c, http.StatusConflict, outcome, "this WeChat user is bound to another phone; unbind it first")
		return
	default:
		h.fail(c, errors.New("confirm binding: unexpected outcome "+outcome))
		return
	}
	if v, err = h.Contacts.WeChatBinding(ctx, openid); err != nil {
		h.fail(c, err)
		return
	}
	h.Log.Info("wechat binding confirmed", "openid", openid, "phone", normalize.MaskPhone(p), "by", CurrentUser(c).Username)
	c.JSON(http.StatusOK, v)
}

// unbind: DELETE /contacts/wechat/{openid}/binding undoes a binding (or
// cancels a pending one).
func (h *Contacts) unbind(c *gin.Context) {
	openid := c.Param("openid")
	phone, err := h.Contacts.UnbindPhone(c.Request.Context(), openid, CurrentUser(c).Username)
	if err != nil {
		if errors.Is(err, ticket.ErrNotFound) {
			httpx.Error(c, http.StatusNotFound, "not_found", "no binding for this WeChat user")
			return
		}
		h.fail(c, err)
		return
	}
	h.Log.Info("wechat binding removed", "openid", openid, "phone", normalize.MaskPhone(phone), "by", CurrentUser(c).Username)
	c.Status(http.StatusNoContent)
}
