package store

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"time"

	"github.com/go-gormigrate/gormigrate/v2"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"hotline/normalize"
	"hotline/ticket"
)

// What the WeChat channel needs from the store: passive replies recorded with
// the message they answer, status queries by openid, and phone binding.
//
// How a bound phone is trusted. A citizen asks with "绑定 <mobile>"; hotline
// then only records a pending binding and texts a six-digit code to that
// mobile. The phone is bound once the citizen sends the code back from the same
// WeChat user ("验证 <code>", at most 5 tries, 10 minutes) or an agent confirms
// the binding (ConfirmPhoneBinding through POST
// /api/v1/contacts/wechat/{openid}/binding/confirm, after calling the citizen;
// UnbindPhone undoes a binding). Until then
// nothing about the contacts changes, so nobody can attach their WeChat to
// someone else's number. Binding merges identities: the WeChat contact gets the
// phone, or, when another contact already has that phone, the openid moves to
// that contact and the WeChat contact's tickets follow it. A phone that already
// belongs to another WeChat user, or a WeChat user already bound to another
// phone, is refused (an agent sorts such cases out).
//
// What a binding grants: a WeChat user may always query the tickets they wrote
// through WeChat (the inbound messages record the openid as their actor, see
// WeChatActor); a bound user may also query the non-confidential tickets of the
// bound phone (SMS, calls ...). Confidential tickets answer only the openid that
// wrote them, never on the strength of a binding.

// WeChatActor is the actor recorded on the messages a WeChat user sends: it
// ties a ticket to the openid that wrote it, whatever contact it belongs to.
func WeChatActor(openid string) string { return "wechat:" + openid }

// Binding codes.
const (
	bindCodeTTL      = 10 * time.Minute
	bindResendAfter  = time.Minute
	bindMaxAttempts  = 5
	bindMaxSendsDay  = 5
	bindOutboxKind   = "bind_code"
	bindOrderKeyPref = "sms:bind:"
)

// Outcomes of the binding methods (the channel shows each with its own text).
const (
	BindCodeSent        = "code_sent"
	BindTooSoon         = "too_soon"
	BindAlreadyVerified = "already_verified"
	BindPhoneTaken      = "phone_taken"
	BindOtherPhone      = "other_phone"
	BindVerified        = "verified"
	BindBadCode         = "bad_code"
)

type wechatBinding struct {
	OpenID      string `gorm:"column:openid;primaryKey;size:64"`
	Phone       string `gorm:"size:20;index"`
	CodeHash    string `gorm:"size:64"`
	CodeSentAt  *time.Time
	CodeExpires *time.Time
	Attempts    int
	Sends       int // codes sent since SendsSince
	SendsSince  *time.Time
	VerifiedAt  *time.Time
	VerifiedBy  string `gorm:"size:64"`
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

func (wechatBinding) TableName() string { return "wechat_bindings" }

// passiveReply links an auto-reply answered in a channel's HTTP response to
// the inbound message it answered, so that a redelivery gets the same answer.
type passiveReply struct {
	MessageID int64 `gorm:"primaryKey;autoIncrement:false"` // the outbound message
	InboundID int64 `gorm:"index;not null"`
}

func (passiveReply) TableName() string { return "passive_replies" }

func init() {
	register(&gormigrate.Migration{
		ID: "2026112710_wechat",
		Migrate: func(tx *gorm.DB) error {
			return tx.AutoMigrate(&wechatBinding{}, &passiveReply{})
		},
	})
}

// recordPassiveReply stores an auto-reply that the channel answers itself in
// its HTTP response (IngestOptions.PassiveReplies): an outbound message already
// "sent", kind kept, and no outbox item.
func recordPassiveReply(tx *gorm.DB, t *Ticket, rep ticket.Reply, inboundID int64, now time.Time) error {
	m := Message{TicketID: t.ID, Channel: t.Channel, Direction: "out", Kind: rep.Kind, Text: rep.Text,
		Delivery: ticket.DeliverySent, Attempts: 1, Actor: "system", At: now, CreatedAt: now}
	if err := tx.Create(&m).Error; err != nil {
		return err
	}
	if err := tx.Create(&passiveReply{MessageID: m.ID, InboundID: inboundID}).Error; err != nil {
		return err
	}
	return addEvent(tx, t.ID, "reply_passive", "system", "", "", rep.Kind)
}

// PassiveReply returns the text of the first auto-reply answered passively to
// inbound message id, "" when there was none.
func (s *Store) PassiveReply(ctx context.Context, inboundID int64) (string, error) {
	var texts []string
	err := s.db.WithContext(ctx).Table("passive_replies p").Select("m.text").
		Joins("JOIN messages m ON m.id = p.message_id").
		Where("p.inbound_id = ?", inboundID).Order("m.id").Limit(1).Pluck("m.text", &texts).Error
	if err != nil || len(texts) == 0 {
		return "", err
	}
	return texts[0], nil
}

// WeChatStatus is what a WeChat user learns about a ticket.
type WeChatStatus struct {
	TicketNo string
	Status   ticket.Status
	// Result is the latest answer sent (standard reply "answered" or an
	// agent's reply), as in PublicStatus.
	Result string
}

// TicketStatusForOpenID returns ticket no if openid may see it (see the rule
// above), else ticket.ErrNotFound: an unknown ticket and someone else's look
// the same.
func (s *Store) TicketStatusForOpenID(ctx context.Context, openid, no string) (WeChatStatus, error) {
	return s.statusForOpenID(ctx, openid, no)
}

// LatestTicketForOpenID returns the newest ticket openid may see, or
// ticket.ErrNotFound.
func (s *Store) LatestTicketForOpenID(ctx context.Context, openid string) (WeChatStatus, error) {
	return s.statusForOpenID(ctx, openid, "")
}

func (s *Store) statusForOpenID(ctx context.Context, openid, no string) (WeChatStatus, error) {
	if openid == "" {
		return WeChatStatus{}, ticket.ErrNotFound
	}
	db := s.db.WithContext(ctx)
	verified, err := s.bindingVerified(db, openid)
	if err != nil {
		return WeChatStatus{}, err
	}
	own := db.Table("messages m").Select("1").
		Where("m.ticket_id = t.id AND m.direction = ? AND m.channel = ? AND m.actor = ?", "in", string(normalize.WeChat), WeChatActor(openid))
	q := db.Table("tickets t").Select("t.id, t.no, t.status").
		Joins("JOIN contacts c ON c.id = t.contact_id").Where("c.openid = ?", openid)
	if verified {
		q = q.Where("(EXISTS (?) OR t.confidential = ?)", own, false)
	} else {
		q = q.Where("EXISTS (?)", own)
	}
	if no != "" {
		q = q.Where("t.no = ?", no)
	}
	var row struct {
		ID     int64
		No     string
		Status string
	}
	if err := q.Order("t.created_at DESC, t.id DESC").Limit(1).Scan(&row).Error; err != nil {
		return WeChatStatus{}, err
	}
	if row.ID == 0 {
		return WeChatStatus{}, ticket.ErrNotFound
	}
	out := WeChatStatus{TicketNo: row.No, Status: ticket.Status(row.Status)}
	var texts []string
	err = db.Model(&Message{}).Where("ticket_id = ? AND direction = ? AND kind IN ?", row.ID, "out", []string{ticket.ReplyAnswered, ticket.ReplyAgent}).
		Order("at DESC, id DESC").Limit(1).Pluck("text", &texts).Error
	if err != nil {
		return WeChatStatus{}, err
	}
	if len(texts) > 0 {
		out.Result = texts[0]
	}
	return out, nil
}

func (s *Store) bindingVerified(db *gorm.DB, openid string) (bool, error) {
	var n int64
	err := db.Model(&wechatBinding{}).Where("openid = ? AND verified_at IS NOT NULL", openid).Count(&n).Error
	return n > 0, err
}

// BoundPhone returns the phone of the contact that has openid and whether a
// verified binding put it there.
func (s *Store) BoundPhone(ctx context.Context, openid string) (phone string, verified bool, err error) {
	db := s.db.WithContext(ctx)
	var c Contact
	if err := db.Where("openid = ?", openid).Limit(1).Find(&c).Error; err != nil || c.ID == 0 || c.Phone == "" {
		return "", false, err
	}
	v, err := s.bindingVerified(db, openid)
	return c.Phone, v, err
}

func codeHash(openid, code string) string {
	sum := sha256.Sum256([]byte("hotline-bind\x00" + openid + "\x00" + code))
	return hex.EncodeToString(sum[:])
}

// RequestPhoneBinding starts binding phone to openid: it records a pending
// binding with code (only its hash is kept) and queues smsText, which carries
// the code, to the phone through the outbox. It refuses phones of other WeChat
// users and limits codes to one a minute and five a day per openid.
func (s *Store) RequestPhoneBinding(ctx context.Context, openid, phone, code, smsText string) (string, error) {
	if openid == "" || phone == "" || code == "" {
		return "", errors.New("request binding: openid, phone and code are required")
	}
	var outcome string
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		now := time.Now().UTC()
		var b wechatBinding
		if err := tx.Where("openid = ?", openid).Limit(1).Find(&b).Error; err != nil {
			return err
		}
		if b.VerifiedAt != nil {
			outcome = BindOtherPhone
			if b.Phone == phone {
				outcome = BindAlreadyVerified
			}
			return nil
		}
		if o, err := bindConflict(tx, openid, phone); err != nil || o != "" {
			outcome = o
			return err
		}
		if b.OpenID != "" && b.Phone == phone && b.CodeSentAt != nil && now.Sub(*b.CodeSentAt) < bindResendAfter {
			outcome = BindTooSoon
			return nil
		}
		if b.SendsSince == nil || now.Sub(*b.SendsSince) > 24*time.Hour {
			b.Sends, b.SendsSince = 0, &now
		}
		if b.Sends >= bindMaxSendsDay {
			outcome = BindTooSoon
			return nil
		}
		exp := now.Add(bindCodeTTL)
		b = wechatBinding{OpenID: openid, Phone: phone, CodeHash: codeHash(openid, code), CodeSentAt: &now, CodeExpires: &exp,
			Sends: b.Sends + 1, SendsSince: b.SendsSince, CreatedAt: now, UpdatedAt: now}
		if err := tx.Clauses(clause.OnConflict{
			Columns:   []clause.Column{{Name: "openid"}},
			DoUpdates: clause.AssignmentColumns([]string{"phone", "code_hash", "code_sent_at", "code_expires", "attempts", "sends", "sends_since", "updated_at"}),
		}).Create(&b).Error; err != nil {
			return err
		}
		payload, _ := json.Marshal(map[string]string{"text": smsText, "ticket_no": "", "kind": bindOutboxKind})
		item := OutboxItem{Kind: ticket.ViaSMS, OrderKey: bindOrderKeyPref + phone, Recipient: phone, Payload: string(payload),
			Status: outboxPending, NextAttemptAt: now, CreatedAt: now, UpdatedAt: now}
		if err := tx.Create(&item).Error; err != nil {
			return err
		}
		outcome = BindCodeSent
		return nil
	})
	return outcome, err
}

// bindConflict returns BindPhoneTaken when phone belongs to a contact of
// another WeChat user, BindOtherPhone when openid's contact has another phone.
func bindConflict(tx *gorm.DB, openid, phone string) (string, error) {
	var n int64
	if err := tx.Model(&Contact{}).Where("phone = ? AND openid <> '' AND openid <> ?", phone, openid).Count(&n).Error; err != nil || n > 0 {
		if n > 0 {
			return BindPhoneTaken, nil
		}
		return "", err
	}
	if err := tx.Model(&Contact{}).Where("openid = ? AND phone <> '' AND phone <> ?", openid, phone).Count(&n).Error; err != nil || n > 0 {
		if n > 0 {
			return BindOtherPhone, nil
		}
		return "", err
	}
	return "", nil
}

// VerifyPhoneBinding completes a pending binding when code is the one sent
// (at most five tries, within ten minutes) and returns the outcome and the
// phone concerned.
func (s *Store) VerifyPhoneBinding(ctx context.Context, openid, code string) (outcome, phone string, err error) {
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		now := time.Now().UTC()
		var b wechatBinding
		if err := tx.Where("openid = ?", openid).Limit(1).Find(&b).Error; err != nil {
			return err
		}
		phone = b.Phone
		switch {
		case b.OpenID == "":
			outcome = BindBadCode
			return nil
		case b.VerifiedAt != nil:
			outcome = BindAlreadyVerified
			return nil
		case b.CodeHash == "" || b.CodeExpires == nil || now.After(*b.CodeExpires) || b.Attempts >= bindMaxAttempts:
			outcome = BindBadCode
			return nil
		}
		if subtle.ConstantTimeCompare([]byte(codeHash(openid, code)), []byte(b.CodeHash)) != 1 {
			outcome = BindBadCode
			return tx.Model(&wechatBinding{}).Where("openid = ?", openid).
				Updates(map[string]any{"attempts": b.Attempts + 1, "updated_at": now}).Error
		}
		var err error
		outcome, err = bindTx(tx, openid, b.Phone, WeChatActor(openid), now)
		return err
	})
	return outcome, phone, err
}

// ConfirmPhoneBinding binds phone to openid on an agent's word (actor), for
// citizens who cannot receive the code: the same merge as a verified code.
func (s *Store) ConfirmPhoneBinding(ctx context.Context, openid, phone, actor string) (string, error) {
	p, ok := normalize.Phone(phone)
	if !ok || openid == "" {
		return "", normalize.ErrInvalid
	}
	var outcome string
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var err error
		outcome, err = bindTx(tx, openid, p, actor, time.Now().UTC())
		return err
	})
	return outcome, err
}

// bindTx merges the identities: afterwards one contact has both openid and
// phone, and the binding is verified. The partial unique indexes on
// contacts.phone and contacts.openid hold throughout: the openid is cleared on
// the WeChat contact before it is set on the phone's contact.
func bindTx(tx *gorm.DB, openid, phone, actor string, now time.Time) (string, error) {
	if o, err := bindConflict(tx, openid, phone); err != nil || o != "" {
		return o, err
	}
	var a, b Contact // a: the WeChat user's contact; b: the phone's
	if err := tx.Where("openid = ?", openid).Limit(1).Find(&a).Error; err != nil {
		return "", err
	}
	if err := tx.Where("phone = ?", phone).Limit(1).Find(&b).Error; err != nil {
		return "", err
	}
	switch {
	case a.ID == 0 && b.ID == 0:
		c := Contact{OpenID: openid, Phone: phone, CreatedAt: now, UpdatedAt: now}
		if err := tx.Create(&c).Error; err != nil {
			return "", err
		}
	case b.ID == 0:
		if err := tx.Model(&a).Updates(map[string]any{"phone": phone, "updated_at": now}).Error; err != nil {
			return "", err
		}
	case a.ID == 0:
		if err := tx.Model(&b).Updates(map[string]any{"openid": openid, "updated_at": now}).Error; err != nil {
			return "", err
		}
	case a.ID != b.ID:
		if err := mergeContact(tx, a, b, actor, now); err != nil {
			return "", err
		}
	}
	bind := wechatBinding{OpenID: openid, Phone: phone, VerifiedAt: &now, VerifiedBy: actor, CreatedAt: now, UpdatedAt: now}
	err := tx.Clauses(clause.OnConflict{
		Columns: []clause.Column{{Name: "openid"}},
		DoUpdates: clause.Assignments(map[string]any{"phone": phone, "verified_at": now, "verified_by": actor,
			"code_hash": "", "code_expires": nil, "attempts": 0, "updated_at": now}),
	}).Create(&bind).Error
	return BindVerified, err
}

// mergeContact moves the WeChat contact a (openid, no phone) into the phone's
// contact b: its tickets, its openid, and what b did not know (name, address,
// e-mail). a stays behind without identities, for the audit trail.
func mergeContact(tx *gorm.DB, a, b Contact, actor string, now time.Time) error {
	var ids []int64
	if err := tx.Model(&Ticket{}).Where("contact_id = ?", a.ID).Pluck("id", &ids).Error; err != nil {
		return err
	}
	if len(ids) > 0 {
		if err := tx.Model(&Ticket{}).Where("id IN ?", ids).Update("contact_id", b.ID).Error; err != nil {
			return err
		}
		for _, id := range ids {
			if err := addEvent(tx, id, "contact_merged", actor, "", "", "微信用户绑定手机 "+normalize.MaskPhone(b.Phone)); err != nil {
				return err
			}
		}
	}
	if err := tx.Model(&Contact{}).Where("id = ?", a.ID).Updates(map[string]any{"openid": "", "updated_at": now}).Error; err != nil {
		return err
	}
	upd := map[string]any{"openid": a.OpenID, "updated_at": now}
	if b.Name == "" && a.Name != "" {
		upd["name"] = a.Name
	}
	if b.Address == "" && a.Address != "" {
		upd["address"] = a.Address
	}
	if b.Email == "" && a.Email != "" {
		upd["email"] = a.Email
	}
	return tx.Model(&Contact{}).Where("id = ?", b.ID).Updates(upd).Error
}

// Binding states (WeChatBindingView.Status).
const (
	BindingNone     = "none"     // no phone bound or asked for
	BindingPending  = "pending"  // a code was sent, not yet returned
	BindingVerified = "verified" // bound (by the code or an agent)
)

// WeChatBindingView is a WeChat user's phone binding as agents see it.
type WeChatBindingView struct {
	OpenID string `json:"openid"`
	Status string `json:"status"`
	// Phone is the bound phone, or the one a pending binding asked for.
	Phone      string     `json:"phone,omitempty"`
	CodeSentAt *time.Time `json:"code_sent_at,omitempty"`
	VerifiedAt *time.Time `json:"verified_at,omitempty"`
	VerifiedBy string     `json:"verified_by,omitempty"`
}

// WeChatBinding returns openid's binding; ticket.ErrNotFound when hotline
// knows nothing of openid (no contact, no binding).
func (s *Store) WeChatBinding(ctx context.Context, openid string) (WeChatBindingView, error) {
	return s.weChatBinding(s.db.WithContext(ctx), openid)
}

func (s *Store) weChatBinding(db *gorm.DB, openid string) (WeChatBindingView, error) {
	v := WeChatBindingView{OpenID: openid, Status: BindingNone}
	if openid == "" {
		return v, ticket.ErrNotFound
	}
	var b wechatBinding
	if err := db.Where("openid = ?", openid).Limit(1).Find(&b).Error; err != nil {
		return v, err
	}
	if b.OpenID == "" {
		var n int64
		if err := db.Model(&Contact{}).Where("openid = ?", openid).Count(&n).Error; err != nil {
			return v, err
		}
		if n == 0 {
			return v, ticket.ErrNotFound
		}
		return v, nil
	}
	switch {
	case b.VerifiedAt != nil:
		v.Status, v.Phone, v.VerifiedAt, v.VerifiedBy = BindingVerified, b.Phone, b.VerifiedAt, b.VerifiedBy
	case b.Phone != "":
		v.Status, v.Phone, v.CodeSentAt = BindingPending, b.Phone, b.CodeSentAt
	}
	return v, nil
}

// EventContactSplit is the audit event of a ticket that went back to the
// WeChat user's own contact when a binding was undone.
const EventContactSplit = "contact_split"

// UnbindPhone undoes openid's phone binding on an agent's word (actor) and
// returns the phone concerned; ticket.ErrNotFound when there is no binding,
// verified or pending. A pending one is simply cancelled. A verified one
// splits the identities the binding merged: the contact keeps the phone and
// its history (SMS, calls, letters); the openid moves to a contact of its
// own, and the tickets the WeChat user wrote through WeChat follow it (each
// gets a contact_split event). From then on the WeChat user can query only
// those, until a new binding.
func (s *Store) UnbindPhone(ctx context.Context, openid, actor string) (string, error) {
	var phone string
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		now := time.Now().UTC()
		var b wechatBinding
		if err := tx.Where("openid = ?", openid).Limit(1).Find(&b).Error; err != nil {
			return err
		}
		if b.OpenID == "" || (b.VerifiedAt == nil && b.Phone == "") {
			return ticket.ErrNotFound
		}
		phone = b.Phone
		// The row stays (its daily code count still limits new requests).
		if err := tx.Model(&wechatBinding{}).Where("openid = ?", openid).Updates(map[string]any{
			"phone": "", "code_hash": "", "code_expires": nil, "attempts": 0,
			"verified_at": nil, "verified_by": "", "updated_at": now,
		}).Error; err != nil {
			return err
		}
		if b.VerifiedAt == nil {
			return nil
		}
		var c Contact
		if err := tx.Where("openid = ?", openid).Limit(1).Find(&c).Error; err != nil || c.ID == 0 || c.Phone == "" {
			return err
		}
		var ids []int64
		own := tx.Table("messages m").Select("1").Where("m.ticket_id = tickets.id AND m.direction = ? AND m.channel = ? AND m.actor = ?",
			"in", string(normalize.WeChat), WeChatActor(openid))
		if err := tx.Model(&Ticket{}).Where("contact_id = ? AND channel = ? AND EXISTS (?)", c.ID, string(normalize.WeChat), own).
			Pluck("id", &ids).Error; err != nil {
			return err
		}
		// Clear the openid first: contacts.openid is unique.
		if err := tx.Model(&Contact{}).Where("id = ?", c.ID).Updates(map[string]any{"openid": "", "updated_at": now}).Error; err != nil {
			return err
		}
		n := Contact{OpenID: openid, CreatedAt: now, UpdatedAt: now}
		if err := tx.Create(&n).Error; err != nil {
			return err
		}
		if len(ids) == 0 {
			return nil
		}
		if err := tx.Model(&Ticket{}).Where("id IN ?", ids).Update("contact_id", n.ID).Error; err != nil {
			return err
		}
		for _, id := range ids {
			if err := addEvent(tx, id, EventContactSplit, actor, "", "", "微信用户解除绑定手机 "+normalize.MaskPhone(phone)); err != nil {
				return err
			}
		}
		return nil
	})
	return phone, err
}
