package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/go-gormigrate/gormigrate/v2"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"hotline/normalize"
	"hotline/ticket"
)

// The handling pipeline's tables. Package pipeline owns the rules (which
// transition is allowed, what it does); this file only reads and writes, always
// inside the one transaction a transition runs in (see InTicketTx).

// TicketFlow is the pipeline state of one ticket (1:1 with tickets): deadlines,
// counters and the flags the supervision queue and the KPIs read.
type TicketFlow struct {
	TicketID         int64 `gorm:"primaryKey;autoIncrement:false"`
	Urgent           bool  `gorm:"not null;default:false"`
	SubmittedBy      *int64
	ProposedUnitID   *int64
	ProposedCoUnits  string `gorm:"size:200"` // comma-separated unit ids
	TransferNote     string `gorm:"type:text"`
	TransferDueAt    *time.Time
	TransferredAt    *time.Time // first dispatch to a unit
	ProvinceDueAt    *time.Time // the provincial case's own due date
	EscalationText   string     `gorm:"type:text"` // 呈阅件
	Instruction      string     `gorm:"type:text"` // the leader's instruction (批示)
	ReplyDueAt       *time.Time
	RepliedAt        *time.Time
	Result           string `gorm:"type:text"` // the unit's reply
	ExtensionCount   int    `gorm:"not null;default:0"`
	ReturnCount      int    `gorm:"not null;default:0"`
	ReworkCount      int    `gorm:"not null;default:0"`
	OverdueAt        *time.Time
	FollowupDueAt    *time.Time
	FollowedUpAt     *time.Time
	FollowupFailures int  `gorm:"not null;default:0"`
	Unreachable      bool `gorm:"not null;default:false"`
	SurveyPendingAt  *time.Time
	StaffComplaint   bool `gorm:"not null;default:false"`
	Hot              bool `gorm:"not null;default:false"`
	Media            bool `gorm:"not null;default:false"`
	Leader           bool `gorm:"not null;default:false"`
	UpdatedAt        time.Time
}

func (TicketFlow) TableName() string { return "ticket_flows" }

// Order states of a 承办单.
const (
	OrderDispatched = "dispatched"
	OrderAccepted   = "accepted"
	OrderReturned   = "returned"
	OrderReplied    = "replied"
	OrderCancelled  = "cancelled"
)

// WorkOrder is a 承办单: the order to one unit, main (主办) or co-unit (协办).
// A rework (退回重办) is a new main order to the same unit.
type WorkOrder struct {
	ID           int64  `gorm:"primaryKey"`
	TicketID     int64  `gorm:"index"`
	UnitID       int64  `gorm:"index"`
	UnitName     string `gorm:"size:100"`
	Role         string `gorm:"size:8"` // main | co
	Status       string `gorm:"size:12;index"`
	Rework       bool   `gorm:"not null;default:false"`
	Instruction  string `gorm:"type:text"`
	Note         string `gorm:"type:text"`
	DispatchedAt time.Time
	DueAt        *time.Time
	AcceptedAt   *time.Time
	ReturnedAt   *time.Time
	ReturnReason string `gorm:"type:text"`
	RepliedAt    *time.Time
	ReplyText    string `gorm:"type:text"`
	Actor        string `gorm:"size:64"`
}

func (WorkOrder) TableName() string { return "work_orders" }

// Extension is a request to extend a unit's deadline (延期申请).
type Extension struct {
	ID           int64 `gorm:"primaryKey"`
	TicketID     int64 `gorm:"index"`
	OrderID      int64
	UnitID       int64
	Seq          int
	Days         int
	Reason       string `gorm:"type:text"`
	Text         string `gorm:"type:text"` // the standard's sentence
	Status       string `gorm:"size:12"`   // requested | approved | refused
	RequestedBy  string `gorm:"size:64"`
	RequestedAt  time.Time
	DecidedBy    string `gorm:"size:64"`
	DecidedAt    *time.Time
	DecisionNote string `gorm:"type:text"`
	OldDueAt     *time.Time
	NewDueAt     *time.Time
}

func (Extension) TableName() string { return "extensions" }

// FollowUp is one follow-up (回访) attempt or result.
type FollowUp struct {
	ID            int64  `gorm:"primaryKey"`
	TicketID      int64  `gorm:"index"`
	UnitID        *int64 `gorm:"index"`
	Method        string `gorm:"size:8"`  // call | sms | inbound
	Outcome       string `gorm:"size:12"` // reached | no_answer | unreachable | pending
	ServiceRating string `gorm:"size:12"` // satisfied | basic | unsatisfied | ""
	ResultRating  string `gorm:"size:12"`
	Reasonable    *bool
	UnitReplied   *bool
	Confidential  bool `gorm:"not null;default:false"`
	Note          string
	Actor         string    `gorm:"size:64"`
	At            time.Time `gorm:"index"`
	AnsweredAt    *time.Time
}

func (FollowUp) TableName() string { return "followups" }

// SupervisionItem puts a ticket in the supervision queue (督办) for a reason.
type SupervisionItem struct {
	ID         int64  `gorm:"primaryKey"`
	TicketID   int64  `gorm:"index"`
	Reason     string `gorm:"size:16;index"` // overdue | hot | media | leader | rework_request | close_request | decide | bounced
	Note       string `gorm:"type:text"`
	OpenedBy   string `gorm:"size:64"`
	OpenedAt   time.Time
	ResolvedBy string     `gorm:"size:64"`
	ResolvedAt *time.Time `gorm:"index"`
	Resolution string     `gorm:"size:32"`
}

func (SupervisionItem) TableName() string { return "supervision_items" }

// ServiceRating is a rating of an agent's service on a call (KPI 5): by the
// caller after an inbound call, or asked on a follow-up call.
type ServiceRating struct {
	ID        int64     `gorm:"primaryKey"`
	TicketID  *int64    `gorm:"index"`
	CallID    string    `gorm:"size:64"`
	Direction string    `gorm:"size:3"`  // in | out
	Rating    string    `gorm:"size:12"` // satisfied | basic | unsatisfied
	Actor     string    `gorm:"size:64"`
	At        time.Time `gorm:"index"`
}

func (ServiceRating) TableName() string { return "service_ratings" }

// Alert is something a shift lead must see (overdue, an SMS waiting too long).
// (kind, ref) is unique: an alert is raised once.
type Alert struct {
	ID       int64     `gorm:"primaryKey"`
	Kind     string    `gorm:"size:32;uniqueIndex:ux_alert"`
	Ref      string    `gorm:"size:64;uniqueIndex:ux_alert"`
	TicketID *int64    `gorm:"index"`
	Message  string    `gorm:"type:text"`
	At       time.Time `gorm:"index"`
	AckAt    *time.Time
	AckBy    string `gorm:"size:64"`
}

func (Alert) TableName() string { return "alerts" }

func init() {
	register(&gormigrate.Migration{
		ID: "2026112730_pipeline",
		Migrate: func(tx *gorm.DB) error {
			if err := tx.AutoMigrate(&Unit{}, &TicketFlow{}, &WorkOrder{}, &Extension{}, &FollowUp{},
				&SupervisionItem{}, &ServiceRating{}, &Alert{}); err != nil {
				return err
			}
			return execAll(tx,
				`CREATE INDEX IF NOT EXISTS ix_tickets_status_due ON tickets (status, due_at)`,
				`CREATE INDEX IF NOT EXISTS ix_orders_unit_status ON work_orders (unit_id, status)`,
				`CREATE INDEX IF NOT EXISTS ix_orders_due ON work_orders (due_at)`,
				`CREATE INDEX IF NOT EXISTS ix_flows_transfer_due ON ticket_flows (transfer_due_at)`,
				`CREATE INDEX IF NOT EXISTS ix_flows_followup_due ON ticket_flows (followup_due_at)`,
				`CREATE INDEX IF NOT EXISTS ix_messages_at ON messages (channel, direction, at)`,
			)
		},
	})
}

// provinceEventHook queues an outbound provincial event (accepted, transferred,
// extension_requested, extended, replied, returned, closed) for a ticket of
// channel province_mailbox, in the caller's transaction. The provincial
// exchange replaces it with queueProvinceEvent (store/province.go); until then
// it does nothing.
var provinceEventHook = func(tx *gorm.DB, t *Ticket, event, unit, text string) error { return nil }

// FlowTx is one pipeline transition in progress: the ticket, locked, with its
// flow state, and the writes a transition may make, all in one transaction.
type FlowTx struct {
	tx      *gorm.DB
	s       *Store
	Ticket  *Ticket
	Flow    *TicketFlow
	Citizen ticket.Citizen
	Now     time.Time
	from    string
}

// InTicketTx runs fn in a transaction holding ticket no (locked on PostgreSQL;
// SQLite transactions are serialized). The flow row is created on first use and
// saved after fn. ticket.ErrNotFound when there is no such ticket.
func (s *Store) InTicketTx(ctx context.Context, no string, now time.Time, fn func(x *FlowTx) error) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var t Ticket
		q := tx.Where("no = ?", no)
		if s.driver == "postgres" {
			q = q.Clauses(clause.Locking{Strength: "UPDATE"})
		}
		if err := q.Take(&t).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return ticket.ErrNotFound
			}
			return err
		}
		var f TicketFlow
		if err := tx.Where("ticket_id = ?", t.ID).Limit(1).Find(&f).Error; err != nil {
			return err
		}
		if f.TicketID == 0 {
			f.TicketID = t.ID
			if t.Channel == string(normalize.ProvinceMailbox) && t.ExternalRef != "" && t.DueAt != nil {
				d := *t.DueAt
				f.ProvinceDueAt = &d
			}
		}
		var c Contact
		if err := tx.Where("id = ?", t.ContactID).Limit(1).Find(&c).Error; err != nil {
			return err
		}
		x := &FlowTx{tx: tx, s: s, Ticket: &t, Flow: &f, Citizen: citizenOf(c), Now: now.UTC(), from: t.Status}
		if err := fn(x); err != nil {
			return err
		}
		f.UpdatedAt = x.Now
		return tx.Clauses(clause.OnConflict{UpdateAll: true}).Create(&f).Error
	})
}

// Move sets the ticket's status (and the columns in set: unit_id, unit_name,
// due_at, closed_at, assignee_id) and writes the audit event.
func (x *FlowTx) Move(to ticket.Status, evType, actor, note string, set map[string]any) error {
	upd := map[string]any{"status": string(to), "updated_at": x.Now}
	for k, v := range set {
		upd[k] = v
	}
	if err := x.tx.Model(&Ticket{}).Where("id = ?", x.Ticket.ID).Updates(upd).Error; err != nil {
		return err
	}
	if err := x.tx.Where("id = ?", x.Ticket.ID).Take(x.Ticket).Error; err != nil {
		return err
	}
	return x.Event(evType, actor, x.from, string(to), note)
}

// Event writes an audit row.
func (x *FlowTx) Event(typ, actor, from, to, note string) error {
	return x.tx.Create(&TicketEvent{TicketID: x.Ticket.ID, Type: typ, Actor: actor, From: from, To: to, Note: note, At: x.Now}).Error
}

// Orders lists the ticket's 承办单, oldest first.
func (x *FlowTx) Orders() ([]WorkOrder, error) {
	var os []WorkOrder
	err := x.tx.Where("ticket_id = ?", x.Ticket.ID).Order("id").Find(&os).Error
	return os, err
}

// CurrentOrder is the newest main order still with the unit (dispatched or
// accepted), nil if none.
func (x *FlowTx) CurrentOrder() (*WorkOrder, error) {
	var o WorkOrder
	err := x.tx.Where("ticket_id = ? AND role = ? AND status IN ?", x.Ticket.ID, "main", []string{OrderDispatched, OrderAccepted}).
		Order("id DESC").Limit(1).Find(&o).Error
	if err != nil || o.ID == 0 {
		return nil, err
	}
	return &o, nil
}

// LastRepliedOrder is the newest main order with a reply, nil if none.
func (x *FlowTx) LastRepliedOrder() (*WorkOrder, error) {
	var o WorkOrder
	err := x.tx.Where("ticket_id = ? AND role = ? AND status = ?", x.Ticket.ID, "main", OrderReplied).
		Order("id DESC").Limit(1).Find(&o).Error
	if err != nil || o.ID == 0 {
		return nil, err
	}
	return &o, nil
}

// CreateOrder inserts a 承办单.
func (x *FlowTx) CreateOrder(o *WorkOrder) error {
	o.TicketID = x.Ticket.ID
	return x.tx.Create(o).Error
}

// UpdateOrder changes columns of order id.
func (x *FlowTx) UpdateOrder(id int64, set map[string]any) error {
	return x.tx.Model(&WorkOrder{}).Where("id = ? AND ticket_id = ?", id, x.Ticket.ID).Updates(set).Error
}

// CancelOpenOrders cancels the orders still with units (main and co).
func (x *FlowTx) CancelOpenOrders() error {
	return x.tx.Model(&WorkOrder{}).Where("ticket_id = ? AND status IN ?", x.Ticket.ID, []string{OrderDispatched, OrderAccepted}).
		Update("status", OrderCancelled).Error
}

// ReturnedUnits are the distinct units that sent this ticket back.
func (x *FlowTx) ReturnedUnits() ([]int64, error) {
	var ids []int64
	err := x.tx.Model(&WorkOrder{}).Where("ticket_id = ? AND status = ?", x.Ticket.ID, OrderReturned).
		Distinct("unit_id").Pluck("unit_id", &ids).Error
	return ids, err
}

// Extensions lists the ticket's extension requests, oldest first.
func (x *FlowTx) Extensions() ([]Extension, error) {
	var es []Extension
	err := x.tx.Where("ticket_id = ?", x.Ticket.ID).Order("seq, id").Find(&es).Error
	return es, err
}

// CreateExtension inserts an extension request.
func (x *FlowTx) CreateExtension(e *Extension) error {
	e.TicketID = x.Ticket.ID
	return x.tx.Create(e).Error
}

// UpdateExtension changes columns of extension id.
func (x *FlowTx) UpdateExtension(id int64, set map[string]any) error {
	return x.tx.Model(&Extension{}).Where("id = ? AND ticket_id = ?", id, x.Ticket.ID).Updates(set).Error
}

// LatestFollowUp is the newest follow-up row, nil if none.
func (x *FlowTx) LatestFollowUp(outcome ...string) (*FollowUp, error) {
	var f FollowUp
	q := x.tx.Where("ticket_id = ?", x.Ticket.ID)
	if len(outcome) > 0 {
		q = q.Where("outcome IN ?", outcome)
	}
	err := q.Order("id DESC").Limit(1).Find(&f).Error
	if err != nil || f.ID == 0 {
		return nil, err
	}
	return &f, nil
}

// SaveFollowUp inserts (ID 0) or updates a follow-up row.
func (x *FlowTx) SaveFollowUp(f *FollowUp) error {
	f.TicketID = x.Ticket.ID
	return x.tx.Save(f).Error
}

// AddRating records a service rating (KPI 5).
func (x *FlowTx) AddRating(r *ServiceRating) error {
	id := x.Ticket.ID
	r.TicketID = &id
	return x.tx.Create(r).Error
}

// Supervise opens a supervision item for reason unless one is open already.
func (x *FlowTx) Supervise(reason, note, actor string) (opened bool, err error) {
	var n int64
	if err := x.tx.Model(&SupervisionItem{}).Where("ticket_id = ? AND reason = ? AND resolved_at IS NULL", x.Ticket.ID, reason).
		Count(&n).Error; err != nil || n > 0 {
		return false, err
	}
	return true, x.tx.Create(&SupervisionItem{TicketID: x.Ticket.ID, Reason: reason, Note: note, OpenedBy: actor, OpenedAt: x.Now}).Error
}

// OpenSupervision lists the open supervision items.
func (x *FlowTx) OpenSupervision() ([]SupervisionItem, error) {
	var items []SupervisionItem
	err := x.tx.Where("ticket_id = ? AND resolved_at IS NULL", x.Ticket.ID).Order("id").Find(&items).Error
	return items, err
}

// ResolveSupervision closes the open items of the given reasons (all when none).
func (x *FlowTx) ResolveSupervision(actor, resolution string, reasons ...string) error {
	q := x.tx.Model(&SupervisionItem{}).Where("ticket_id = ? AND resolved_at IS NULL", x.Ticket.ID)
	if len(reasons) > 0 {
		q = q.Where("reason IN ?", reasons)
	}
	return q.Updates(map[string]any{"resolved_at": x.Now, "resolved_by": actor, "resolution": resolution}).Error
}

// QueueReply writes an outbound reply through the ticket's channel and its
// outbox item.
func (x *FlowTx) QueueReply(rep ticket.Reply, actor string) (Message, error) {
	return queueReply(x.tx, x.Ticket, x.Citizen, rep, actor, x.Now)
}

// QueueSMS queues an SMS to the citizen's own phone whatever the channel
// (follow-up surveys; confidential tickets are followed up only there).
func (x *FlowTx) QueueSMS(rep ticket.Reply, actor string) (Message, error) {
	c := ticket.Citizen{Phone: x.Citizen.Phone}
	t := *x.Ticket
	t.Channel = string(normalize.SMS)
	return queueReply(x.tx, &t, c, rep, actor, x.Now)
}

// RecordSaid records what an agent told the citizen on the phone: an outbound
// message with nothing to deliver.
func (x *FlowTx) RecordSaid(rep ticket.Reply, actor string) (Message, error) {
	m := Message{TicketID: x.Ticket.ID, Channel: x.Ticket.Channel, Direction: "out", Kind: rep.Kind, Text: rep.Text,
		Delivery: ticket.DeliverySent, Actor: actor, At: x.Now, CreatedAt: x.Now}
	return m, x.tx.Create(&m).Error
}

// ProvinceEvent queues the provincial exchange's event for a province_mailbox
// ticket (nothing for other channels).
func (x *FlowTx) ProvinceEvent(event, unit, text string) error {
	if x.Ticket.Channel != string(normalize.ProvinceMailbox) {
		return nil
	}
	return provinceEventHook(x.tx, x.Ticket, event, unit, text)
}

// Alert raises an alert once per (kind, ref).
func (x *FlowTx) Alert(kind, ref, msg string) error {
	id := x.Ticket.ID
	return x.tx.Clauses(clause.OnConflict{DoNothing: true}).
		Create(&Alert{Kind: kind, Ref: ref, TicketID: &id, Message: msg, At: x.Now}).Error
}

// Unit returns an active unit by id (ticket.ErrNotFound if unknown or inactive).
func (x *FlowTx) Unit(id int64) (Unit, error) {
	var u Unit
	err := x.tx.Where("id = ? AND active = ?", id, true).Take(&u).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return u, fmt.Errorf("unit %d: %w", id, ticket.ErrNotFound)
	}
	return u, err
}

// RaiseAlert records an alert outside a transition (scheduler); once per
// (kind, ref).
func (s *Store) RaiseAlert(ctx context.Context, kind, ref string, ticketID *int64, msg string, at time.Time) (bool, error) {
	res := s.db.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).
		Create(&Alert{Kind: kind, Ref: ref, TicketID: ticketID, Message: msg, At: at.UTC()})
	return res.RowsAffected == 1, res.Error
}

// AlertView is an alert with its ticket number.
type AlertView struct {
	ID       int64      `json:"id"`
	Kind     string     `json:"kind"`
	TicketNo string     `json:"ticket_no,omitempty"`
	Message  string     `json:"message"`
	At       time.Time  `json:"at"`
	AckAt    *time.Time `json:"ack_at,omitempty"`
	AckBy    string     `json:"ack_by,omitempty"`
}

// ListAlerts returns the newest alerts (unacknowledged only when open).
func (s *Store) ListAlerts(ctx context.Context, open bool, limit int) ([]AlertView, error) {
	if limit <= 0 || limit > 500 {
		limit = 100
	}
	q := s.db.WithContext(ctx).Table("alerts a").Select("a.id, a.kind, t.no AS ticket_no, a.message, a.at, a.ack_at, a.ack_by").
		Joins("LEFT JOIN tickets t ON t.id = a.ticket_id")
	if open {
		q = q.Where("a.ack_at IS NULL")
	}
	var out []AlertView
	err := q.Order("a.at DESC, a.id DESC").Limit(limit).Scan(&out).Error
	return out, err
}

// AckAlert acknowledges an alert.
func (s *Store) AckAlert(ctx context.Context, id int64, by string) error {
	res := s.db.WithContext(ctx).Model(&Alert{}).Where("id = ? AND ack_at IS NULL", id).
		Updates(map[string]any{"ack_at": time.Now().UTC(), "ack_by": by})
	if res.Error == nil && res.RowsAffected == 0 {
		return ticket.ErrNotFound
	}
	return res.Error
}

// AddServiceRating records a rating of an inbound call's service (KPI 5) sent
// by the call centre or an agent; ticketNo may be empty.
func (s *Store) AddServiceRating(ctx context.Context, ticketNo, callID, direction, rating, actor string, at time.Time) error {
	r := ServiceRating{CallID: clip(callID, 64), Direction: direction, Rating: rating, Actor: actor, At: at.UTC()}
	db := s.db.WithContext(ctx)
	if ticketNo != "" {
		var id int64
		if err := db.Model(&Ticket{}).Where("no = ?", ticketNo).Limit(1).Pluck("id", &id).Error; err != nil {
			return err
		}
		if id == 0 {
			return ticket.ErrNotFound
		}
		r.TicketID = &id
	}
	return db.Create(&r).Error
}

// FlowView is the pipeline side of a ticket for the API and the archive.
type FlowView struct {
	Flow        TicketFlow        `json:"flow"`
	Orders      []WorkOrder       `json:"orders"`
	Extensions  []Extension       `json:"extensions"`
	FollowUps   []FollowUp        `json:"followups"`
	Supervision []SupervisionItem `json:"supervision"`
}

// GetFlow returns the pipeline records of ticket no.
func (s *Store) GetFlow(ctx context.Context, no string) (FlowView, error) {
	db := s.db.WithContext(ctx)
	var id int64
	if err := db.Model(&Ticket{}).Where("no = ?", no).Limit(1).Pluck("id", &id).Error; err != nil {
		return FlowView{}, err
	}
	if id == 0 {
		return FlowView{}, ticket.ErrNotFound
	}
	v := FlowView{Orders: []WorkOrder{}, Extensions: []Extension{}, FollowUps: []FollowUp{}, Supervision: []SupervisionItem{}}
	if err := db.Where("ticket_id = ?", id).Limit(1).Find(&v.Flow).Error; err != nil {
		return v, err
	}
	v.Flow.TicketID = id
	for _, q := range []struct {
		dst   any
		order string
	}{{&v.Orders, "id"}, {&v.Extensions, "seq, id"}, {&v.FollowUps, "id"}, {&v.Supervision, "id"}} {
		if err := db.Where("ticket_id = ?", id).Order(q.order).Find(q.dst).Error; err != nil {
			return v, err
		}
	}
	return v, nil
}

// QueueFilter selects the tickets of a work queue.
type QueueFilter struct {
	Statuses []string
	UnitID   *int64 // tickets with an open order (main or co) to this unit
	Open     bool   // supervision: tickets with an open supervision item
	Reason   string // supervision: only this reason
	Limit    int
	Page     int
}

// QueueItem is one row of a work queue.
type QueueItem struct {
	TicketNo     string     `json:"ticket_no"`
	Channel      string     `json:"channel"`
	Status       string     `json:"status"`
	Nature       string     `json:"nature"`
	Category     string     `json:"category"`
	Title        string     `json:"title"`
	Content      string     `json:"content"`
	Confidential bool       `json:"confidential"`
	Unit         string     `json:"unit"`
	UnitID       *int64     `json:"unit_id"`
	DueAt        *time.Time `json:"due_at"`
	Urgent       bool       `json:"urgent"`
	Overdue      bool       `json:"overdue"`
	Reasons      []string   `json:"reasons,omitempty" gorm:"-"`
	OrderRole    string     `json:"order_role,omitempty"`
	CreatedAt    time.Time  `json:"created_at"`
}

// Queue lists a work queue: urgent first, then by due date, then oldest.
func (s *Store) Queue(ctx context.Context, f QueueFilter) ([]QueueItem, error) {
	if f.Limit <= 0 || f.Limit > 200 {
		f.Limit = 50
	}
	db := s.db.WithContext(ctx)
	q := db.Table("tickets t").
		Select("t.no AS ticket_no, t.channel, t.status, t.nature, t.category, t.title, t.content, t.confidential, t.unit_name AS unit, t.unit_id, t.due_at, t.created_at, " +
			"COALESCE(f.urgent, false) AS urgent, (f.overdue_at IS NOT NULL) AS overdue, t.id AS id").
		Joins("LEFT JOIN ticket_flows f ON f.ticket_id = t.id")
	if len(f.Statuses) > 0 {
		q = q.Where("t.status IN ?", f.Statuses)
	}
	if f.UnitID != nil {
		q = q.Where("EXISTS (SELECT 1 FROM work_orders o WHERE o.ticket_id = t.id AND o.unit_id = ? AND o.status IN ?)",
			*f.UnitID, []string{OrderDispatched, OrderAccepted})
	}
	if f.Open {
		sub := "EXISTS (SELECT 1 FROM supervision_items si WHERE si.ticket_id = t.id AND si.resolved_at IS NULL"
		if f.Reason != "" {
			q = q.Where(sub+" AND si.reason = ?)", f.Reason)
		} else {
			q = q.Where(sub + ")")
		}
	}
	if f.Page > 1 {
		q = q.Offset((f.Page - 1) * f.Limit)
	}
	var rows []struct {
		QueueItem
		ID int64
	}
	err := q.Order("urgent DESC").Order("t.due_at IS NULL").Order("t.due_at").Order("t.created_at").Order("t.id").
		Limit(f.Limit).Scan(&rows).Error
	if err != nil {
		return nil, err
	}
	out := make([]QueueItem, len(rows))
	ids := make([]int64, len(rows))
	for i, r := range rows {
		out[i] = r.QueueItem
		ids[i] = r.ID
	}
	if len(ids) == 0 {
		return out, nil
	}
	var items []SupervisionItem
	if err := db.Where("ticket_id IN ? AND resolved_at IS NULL", ids).Order("id").Find(&items).Error; err != nil {
		return nil, err
	}
	idx := map[int64]int{}
	for i, id := range ids {
		idx[id] = i
	}
	for _, it := range items {
		i := idx[it.TicketID]
		out[i].Reasons = append(out[i].Reasons, it.Reason)
	}
	if f.UnitID != nil {
		var os []WorkOrder
		if err := db.Where("ticket_id IN ? AND unit_id = ? AND status IN ?", ids, *f.UnitID, []string{OrderDispatched, OrderAccepted}).
			Find(&os).Error; err != nil {
			return nil, err
		}
		for _, o := range os {
			out[idx[o.TicketID]].OrderRole = o.Role
		}
	}
	return out, nil
}

// OrderOf returns the open order of unit on ticket no (main or co), or
// ticket.ErrNotFound: how co-units see the tickets they assist with.
func (s *Store) OrderOf(ctx context.Context, no string, unitID int64) (WorkOrder, error) {
	var o WorkOrder
	err := s.db.WithContext(ctx).Table("work_orders o").Select("o.*").Joins("JOIN tickets t ON t.id = o.ticket_id").
		Where("t.no = ? AND o.unit_id = ?", no, unitID).Order("o.id DESC").Limit(1).Scan(&o).Error
	if err == nil && o.ID == 0 {
		return o, ticket.ErrNotFound
	}
	return o, err
}

// DueTicket is a ticket whose due time has passed.
type DueTicket struct {
	No     string
	Status string
	DueAt  time.Time
}

// OverdueCandidates lists tickets in statuses whose due_at is before now and
// that were not marked overdue since their due date last moved.
func (s *Store) OverdueCandidates(ctx context.Context, statuses []string, now time.Time, limit int) ([]DueTicket, error) {
	var out []DueTicket
	err := s.db.WithContext(ctx).Table("tickets t").Select("t.no, t.status, t.due_at").
		Joins("LEFT JOIN ticket_flows f ON f.ticket_id = t.id").
		Where("t.status IN ? AND t.due_at IS NOT NULL AND t.due_at < ?", statuses, now.UTC()).
		Where("(f.overdue_at IS NULL OR f.overdue_at < t.due_at)").
		Order("t.due_at").Limit(limit).Scan(&out).Error
	return out, err
}

// FollowupLate lists replied tickets whose follow-up is due before now.
func (s *Store) FollowupLate(ctx context.Context, now time.Time, limit int) ([]DueTicket, error) {
	var out []DueTicket
	err := s.db.WithContext(ctx).Table("tickets t").Select("t.no, t.status, f.followup_due_at AS due_at").
		Joins("JOIN ticket_flows f ON f.ticket_id = t.id").
		Where("t.status = ? AND f.followup_due_at < ?", string(ticket.StatusReplied), now.UTC()).
		Order("f.followup_due_at").Limit(limit).Scan(&out).Error
	return out, err
}

// ClosedBefore lists closed (or discarded) tickets closed before t, to archive.
func (s *Store) ClosedBefore(ctx context.Context, t time.Time, limit int) ([]string, error) {
	var nos []string
	err := s.db.WithContext(ctx).Model(&Ticket{}).
		Where("status IN ? AND closed_at IS NOT NULL AND closed_at < ?", []string{string(ticket.StatusClosed), string(ticket.StatusDiscarded)}, t.UTC()).
		Order("closed_at").Limit(limit).Pluck("no", &nos).Error
	return nos, err
}

// WaitingMessage is an inbound written message without an answer yet.
type WaitingMessage struct {
	MessageID int64
	TicketID  int64
	TicketNo  string
	Channel   string
	At        time.Time
}

// UnansweredMessages lists inbound messages of channels received between since
// and before that have no outbound message on their ticket at or after them
// (GB/T 33358's 3-minute answer; KPI 3's same-day SMS reply).
func (s *Store) UnansweredMessages(ctx context.Context, channels []string, since, before time.Time, limit int) ([]WaitingMessage, error) {
	var out []WaitingMessage
	err := s.db.WithContext(ctx).Table("messages m").
		Select("m.id AS message_id, m.ticket_id, t.no AS ticket_no, m.channel, m.at").
		Joins("JOIN tickets t ON t.id = m.ticket_id").
		Where("m.direction = ? AND m.channel IN ? AND m.at >= ? AND m.at < ? AND t.status <> ?", "in", channels, since.UTC(), before.UTC(), string(ticket.StatusDiscarded)).
		Where("NOT EXISTS (SELECT 1 FROM messages o WHERE o.ticket_id = m.ticket_id AND o.direction = 'out' AND o.at >= m.at AND o.delivery <> ?)", ticket.DeliveryDead).
		Order("m.at").Limit(limit).Scan(&out).Error
	return out, err
}

// SurveyTicket finds the newest ticket of the citizen with phone whose SMS
// survey is waiting for an answer ("" when none).
func (s *Store) SurveyTicket(ctx context.Context, phone string, since time.Time) (string, error) {
	var nos []string
	err := s.db.WithContext(ctx).Table("tickets t").Select("t.no").
		Joins("JOIN ticket_flows f ON f.ticket_id = t.id").Joins("JOIN contacts c ON c.id = t.contact_id").
		Where("c.phone = ? AND t.status = ? AND f.survey_pending_at IS NOT NULL AND f.survey_pending_at >= ?", phone, string(ticket.StatusReplied), since.UTC()).
		Order("f.survey_pending_at DESC").Limit(1).Pluck("t.no", &nos).Error
	if err != nil || len(nos) == 0 {
		return "", err
	}
	return nos[0], nil
}

// ArchiveExport is everything kept about a ticket: the ticket with its
// messages and audit trail, and its pipeline records.
type ArchiveExport struct {
	Ticket ticket.Ticket `json:"ticket"`
	FlowView
	Ratings []ServiceRating `json:"ratings"`
}

// ExportTicket gathers the archive record of ticket no.
func (s *Store) ExportTicket(ctx context.Context, no string) (ArchiveExport, error) {
	t, err := s.GetTicket(ctx, no)
	if err != nil {
		return ArchiveExport{}, err
	}
	f, err := s.GetFlow(ctx, no)
	if err != nil {
		return ArchiveExport{}, err
	}
	out := ArchiveExport{Ticket: t, FlowView: f, Ratings: []ServiceRating{}}
	err = s.db.WithContext(ctx).Where("ticket_id = ?", t.ID).Order("id").Find(&out.Ratings).Error
	return out, err
}

// MarshalArchive renders an export as indented JSON.
func MarshalArchive(e ArchiveExport) ([]byte, error) { return json.MarshalIndent(e, "", "  ") }

// HotRow is a ticket's creation time, category and text, for spike detection.
type HotRow struct {
	No        string
	Category  string
	Title     string
	Content   string
	CreatedAt time.Time
}

// TicketsCreated lists tickets created in [from, to) (not discarded).
func (s *Store) TicketsCreated(ctx context.Context, from, to time.Time, limit int) ([]HotRow, error) {
	var out []HotRow
	err := s.db.WithContext(ctx).Model(&Ticket{}).Select("no, category, title, content, created_at").
		Where("created_at >= ? AND created_at < ? AND status <> ?", from.UTC(), to.UTC(), string(ticket.StatusDiscarded)).
		Order("created_at").Limit(limit).Scan(&out).Error
	return out, err
}

// OpenOrderOf returns the open order (dispatched or accepted) of unit on this
// ticket, nil if none.
func (x *FlowTx) OpenOrderOf(unitID int64) (*WorkOrder, error) {
	var o WorkOrder
	err := x.tx.Where("ticket_id = ? AND unit_id = ? AND status IN ?", x.Ticket.ID, unitID, []string{OrderDispatched, OrderAccepted}).
		Order("id DESC").Limit(1).Find(&o).Error
	if err != nil || o.ID == 0 {
		return nil, err
	}
	return &o, nil
}

// AddTicketEvent writes an audit row outside a transition (a refused reply is
// recorded although nothing else changes).
func (s *Store) AddTicketEvent(ctx context.Context, no, typ, actor, note string) error {
	db := s.db.WithContext(ctx)
	var t Ticket
	if err := db.Select("id", "status").Where("no = ?", no).Take(&t).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return ticket.ErrNotFound
		}
		return err
	}
	return addEvent(db, t.ID, typ, actor, t.Status, t.Status, note)
}
