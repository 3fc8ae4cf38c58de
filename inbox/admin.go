package inbox

import (
	"errors"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"hotline/auth"
	"hotline/store"
	"hotline/ticket"
)

type usersView struct {
	base
	Users []store.UserView
	Roles []option
	New   newUser
}

type newUser struct {
	Username, Display, Role, Unit string
}

var usernameRE = regexp.MustCompile(`^[A-Za-z0-9._@-]{2,64}$`)

func (h *Handler) usersPage(c *gin.Context) {
	h.renderUsers(c, http.StatusOK, newUser{Role: auth.RoleIntake}, "")
}

func (h *Handler) renderUsers(c *gin.Context, status int, nu newUser, msg string) {
	us, err := h.Store.ListUsers(c.Request.Context())
	if err != nil {
		h.internal(c, "users", err)
		return
	}
	v := usersView{base: h.base(c, "用户管理", "users"), Users: us, New: nu}
	for _, r := range auth.Roles {
		v.Roles = append(v.Roles, option{r.Key, r.Name})
	}
	v.Error = msg
	if c.Query("done") == "added" {
		v.Flash = "用户已添加。"
	}
	h.render(c, status, "users.html", v)
}

func (h *Handler) addUser(c *gin.Context) {
	nu := newUser{Username: strings.TrimSpace(c.PostForm("username")), Display: strings.TrimSpace(c.PostForm("display_name")),
		Role: c.PostForm("role"), Unit: strings.TrimSpace(c.PostForm("unit_id"))}
	pw := c.PostForm("password")
	var unitID *int64
	if nu.Unit != "" {
		n, err := strconv.ParseInt(nu.Unit, 10, 64)
		if err != nil || n <= 0 {
			h.renderUsers(c, http.StatusBadRequest, nu, "承办单位编号应为正整数。")
			return
		}
		unitID = &n
	}
	switch {
	case !usernameRE.MatchString(nu.Username):
		h.renderUsers(c, http.StatusBadRequest, nu, "用户名为 2–64 位字母、数字或 ._@-。")
		return
	case !auth.ValidRole(nu.Role):
		h.renderUsers(c, http.StatusBadRequest, nu, "请选择角色。")
		return
	case nu.Role == auth.RoleUnit && unitID == nil:
		h.renderUsers(c, http.StatusBadRequest, nu, "承办单位用户须填写承办单位编号。")
		return
	case len([]rune(nu.Display)) > 50:
		h.renderUsers(c, http.StatusBadRequest, nu, "姓名过长。")
		return
	}
	if len(pw) > 72 { // bcrypt's limit
		h.renderUsers(c, http.StatusBadRequest, nu, "密码不能超过 72 个字节。")
		return
	}
	if nu.Role != auth.RoleUnit {
		unitID = nil
	}
	if nu.Display == "" {
		nu.Display = nu.Username
	}
	hash, err := auth.Hash(pw, h.Opt.BcryptCost)
	if errors.Is(err, auth.ErrWeakPassword) {
		h.renderUsers(c, http.StatusBadRequest, nu, "密码至少 8 位。")
		return
	}
	if err != nil {
		h.internal(c, "hash", err)
		return
	}
	if _, err := h.Store.CreateUser(c.Request.Context(), nu.Username, nu.Display, nu.Role, hash, unitID); err != nil {
		if errors.Is(err, ticket.ErrConflict) {
			h.renderUsers(c, http.StatusConflict, nu, "用户名已存在。")
			return
		}
		h.internal(c, "create user", err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/inbox/admin/users?done=added")
}
