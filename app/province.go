package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/gin-gonic/gin"

	"hotline/api"
	"hotline/auth"
	"hotline/channels/province"
	"hotline/httpx"
	"hotline/intake"
	"hotline/normalize"
	"hotline/outbox"
	"hotline/store"
	"hotline/ticket"
)

// The provincial exchange (province.*; see docs/province.md): cases sent down
// by the province become province_mailbox tickets, their events go back
// through the outbox, and agents send cases up.

// provinceRoutes registers POST /channels/province/cases and the agents'
// POST /api/v1/tickets/{no}/province.
func (a *App) provinceRoutes(r gin.IRouter) {
	c := a.Cfg.Province
	var nonces province.NonceStore = provinceNonces{a.Store}
	if a.Redis != nil {
		nonces = province.RedisNonces{RDB: a.Redis, Prefix: "hotline:province:nonce:"}
	}
	(&province.Webhook{
		Intake:   a.Intake,
		Cases:    a.Store,
		Verifier: &province.Verifier{Secrets: func() []string { return []string{c.Secret, c.PreviousSecret} }, Nonces: nonces},
		MaxBody:  a.Cfg.HTTP.MaxBodyBytes,
		Loc:      a.Cfg.City.Location(),
		Log:      a.Log.With("component", "province"),
		Notify:   a.Outbox.Notify,
	}).Routes(r)
	ap := &api.API{Store: a.Store, Intake: a.Intake, Notify: a.Outbox.Notify, TokenTTL: a.Cfg.Auth.TokenTTL, MaxBody: a.Cfg.HTTP.MaxBodyBytes, Log: a.Log}
	r.POST("/api/v1/tickets/:no/province", ap.RequireUser, requireCentreStaff, a.sendUpToProvince)
}

func requireCentreStaff(c *gin.Context) {
	if !auth.CentreStaff(api.CurrentUser(c).Role) {
		httpx.Error(c, http.StatusForbidden, "forbidden", "not allowed for your role")
	}
}

// sendUpToProvince queues the ticket's case for the province: POST
// {province.base_url}/cases in the inbound case's shape, through the outbox;
// the province's answer is recorded on the ticket when it comes. Body
// (optional): {"note": "why it belongs to the province"}. 202 {"ticket_no",
// "case_id"}; 409 when the ticket came from the province or was already sent up.
func (a *App) sendUpToProvince(c *gin.Context) {
	if a.Cfg.Province.BaseURL == "" || a.Cfg.Province.Secret == "" {
		httpx.Error(c, http.StatusServiceUnavailable, "province_not_configured", "province.base_url and province.secret must be set")
		return
	}
	var req struct {
		Note string `json:"note"`
	}
	body, ok := httpx.ReadBody(c, a.Cfg.HTTP.MaxBodyBytes)
	if !ok {
		return
	}
	if len(body) > 0 {
		if err := json.Unmarshal(body, &req); err != nil {
			httpx.Error(c, http.StatusBadRequest, "malformed_json", err.Error())
			return
		}
	}
	ctx := c.Request.Context()
	no := c.Param("no")
	t, err := a.Store.GetTicket(ctx, no)
	if err != nil {
		a.provinceFail(c, err)
		return
	}
	cs := a.caseUp(t)
	b, _ := json.Marshal(cs)
	u := api.CurrentUser(c)
	if err := a.Store.SendUpToProvince(ctx, no, u.Username, store.ProvinceCaseUp{CaseID: cs.CaseID, Body: b, Note: normalize.CleanText(req.Note)}); err != nil {
		a.provinceFail(c, err)
		return
	}
	a.Outbox.Notify()
	c.JSON(http.StatusAccepted, gin.H{"ticket_no": t.No, "case_id": cs.CaseID})
}

// caseUp is the ticket as a case for the province: the inbound shape, the
// ticket number as case_id. Local attachments are not offered (the contract's
// attachments are URLs the province would fetch).
func (a *App) caseUp(t ticket.Ticket) province.Case {
	loc := a.Cfg.City.Location()
	cs := province.Case{
		CaseID: t.No, Source: a.Cfg.City.Name + "12345热线", Title: t.Title, Content: t.Content,
		Citizen:      province.Citizen{Name: t.Citizen.Name, Phone: t.Citizen.Phone, Address: t.Citizen.Address},
		Confidential: t.Confidential, ReplyWanted: t.ReplyWanted,
		ReceivedAt: t.CreatedAt.In(loc).Format(time.RFC3339), Attachments: []province.Attachment{},
	}
	if t.DueAt != nil {
		cs.DueAt = t.DueAt.In(loc).Format(time.RFC3339)
	}
	return cs
}

func (a *App) provinceFail(c *gin.Context, err error) {
	switch {
	case errors.Is(err, ticket.ErrNotFound):
		httpx.Error(c, http.StatusNotFound, "not_found", "no such ticket")
	case errors.Is(err, ticket.ErrConflict):
		httpx.Error(c, http.StatusConflict, "conflict", err.Error())
	default:
		a.Log.Error("province", "request_id", httpx.ID(c), "err", err)
		httpx.Error(c, http.StatusInternalServerError, "internal", "internal error")
	}
}

// addProvinceSenders adds the outbox senders of the exchange: events and
// sent-up cases (ticket.ViaProvince), and attachment fetches; it checks the
// province.* configuration.
func (a *App) addProvinceSenders(out map[string]outbox.Sender) error {
	c := a.Cfg.Province
	if c.BaseURL != "" {
		u, err := url.Parse(c.BaseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("province.base_url must be an http(s) URL")
		}
	}
	if c.AttachmentMaxBytes <= 0 {
		return errors.New("province.attachment_max_bytes must be positive")
	}
	// A download must end within the outbox lease, or another worker would
	// start the same one.
	lease := max(a.Cfg.Outbox.Lease, 2*a.Cfg.SMS.Outbound.Timeout)
	if c.AttachmentTimeout <= 0 || c.AttachmentTimeout >= lease {
		return fmt.Errorf("province.attachment_timeout must be positive and shorter than outbox.lease (%s)", lease)
	}
	out[ticket.ViaProvince] = &province.Sender{
		BaseURL: c.BaseURL, Secret: func() string { return c.Secret },
		Client: &http.Client{}, Answers: a.Store, Cases: a.Store, // the outbox bounds each attempt
	}
	out[store.ProvinceFetchKind] = &province.Fetcher{
		Dir: c.AttachmentsDir, MaxBytes: c.AttachmentMaxBytes, Timeout: c.AttachmentTimeout,
		Client: &http.Client{}, Store: provinceAttachments{a.Store},
	}
	return nil
}

// provinceNonces keeps nonces in the database when there is no Redis.
type provinceNonces struct{ s *store.Store }

func (n provinceNonces) Claim(ctx context.Context, nonce string, ttl time.Duration) (bool, error) {
	return n.s.ClaimProvinceNonce(ctx, nonce, ttl)
}

type provinceAttachments struct{ s *store.Store }

func (p provinceAttachments) AttachmentFetched(ctx context.Context, no string, index int, att normalize.Attachment) (bool, error) {
	return p.s.ProvinceAttachmentFetched(ctx, no, index, att)
}

var (
	_ province.NonceStore  = provinceNonces{}
	_ province.Attachments = provinceAttachments{}
	_ province.Cases       = (*store.Store)(nil)
	_ province.Answers     = (*store.Store)(nil)
	_ province.CaseOf      = (*store.Store)(nil)
	_ province.Ingester    = (*intake.Service)(nil)
)
