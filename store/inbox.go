package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/go-gormigrate/gormigrate/v2"
	"gorm.io/gorm"

	"hotline/normalize"
	"hotline/ticket"
)

// The unified inbox: its list query (keyset pagination with the filters of the
// agents' work), claiming, reclassification, the citizen's history, and the
// change feed the live updates poll.

func init() {
	register(&gormigrate.Migration{
		ID: "2026112730_inbox",
		Migrate: func(tx *gorm.DB) error {
			return execAll(tx,
				// Keyset pages of one filter value stay an index seek at any depth.
				`CREATE INDEX IF NOT EXISTS ix_inbox_status_created ON tickets (status, created_at DESC, id DESC)`,
				`CREATE INDEX IF NOT EXISTS ix_inbox_channel_created ON tickets (channel, created_at DESC, id DESC)`,
				`CREATE INDEX IF NOT EXISTS ix_inbox_category_created ON tickets (category, created_at DESC, id DESC)`,
				`CREATE INDEX IF NOT EXISTS ix_inbox_unit_created ON tickets (unit_id, created_at DESC, id DESC)`,
				`CREATE INDEX IF NOT EXISTS ix_inbox_assignee_created ON tickets (assignee_id, created_at DESC, id DESC)`,
				// The live poller's change feed.
				`CREATE INDEX IF NOT EXISTS ix_inbox_tickets_updated ON tickets (updated_at)`,
				`CREATE INDEX IF NOT EXISTS ix_inbox_outbox_updated ON outbox_items (updated_at)`,
				// "Answered since?" looks at a ticket's messages by direction.
				`CREATE INDEX IF NOT EXISTS ix_inbox_messages_ticket_dir ON messages (ticket_id, direction, created_at)`,
			)
		},
	})
}

// InboxFilter selects the inbox list. Empty fields do not filter.
type InboxFilter struct {
	Channel  string
	Status   string
	Category string
	// Query is a ticket number, a phone number or a piece of the title/content.
	Query  string
	UnitID *int64 // handling-unit users: only their unit's tickets
	// Assignee: only tickets claimed by this user ("mine"); Unassigned: only
	// tickets nobody claimed.
	Assignee   *int64
	Unassigned bool
	// Overdue: tickets at intake whose oldest unanswered inbound message is older
	// than SLA at Now (voice tickets are answered on the call and never overdue).
	Overdue bool
	SLA     time.Duration
	Now     time.Time
	// Phone: only this citizen's tickets (the API's ?phone=).
	Phone  string
	Limit  int
	Before *Cursor
	// Offset skips rows when there is no cursor (the API's ?page=).
	Offset int
}

// InboxItem is one row of the inbox list.
type InboxItem struct {
	ticket.Ticket
	AssigneeID   *int64
	AssigneeName string
	// WaitingSince is when the oldest inbound message still without an answer
	// arrived (our clock); nil when the ticket is not waiting for an answer.
	WaitingSince *time.Time
}

// ListInbox returns a page of the inbox, newest first, and the cursor of the
// next page (nil at the end). Each filter has an index led by its column and
// followed by (created_at, id), so the first and the ten-thousandth page are
// both an index seek plus Limit rows.
func (s *Store) ListInbox(ctx context.Context, f InboxFilter) ([]InboxItem, *Cursor, error) {
	if f.Limit <= 0 || f.Limit > 200 {
		f.Limit = 50
	}
	if f.Now.IsZero() {
		f.Now = time.Now()
	}
	q := s.db.WithContext(ctx).Table("tickets t").
		Select("t.*, c.name AS c_name, c.phone AS c_phone, c.email AS c_email, c.openid AS c_openid, c.address AS c_address, u.display_name AS assignee_name").
		Joins("LEFT JOIN contacts c ON c.id = t.contact_id").
		Joins("LEFT JOIN users u ON u.id = t.assignee_id")
	if f.Channel != "" {
		q = q.Where("t.channel = ?", f.Channel)
	}
	if f.Status != "" {
		q = q.Where("t.status = ?", f.Status)
	}
	if f.Category != "" {
		q = q.Where("t.category = ?", f.Category)
	}
	if f.UnitID != nil {
		q = q.Where("t.unit_id = ?", *f.UnitID)
	}
	if f.Assignee != nil {
		q = q.Where("t.assignee_id = ?", *f.Assignee)
	}
	if f.Unassigned {
		q = q.Where("t.assignee_id IS NULL")
	}
	if f.Overdue {
		deadline := f.Now.UTC().Add(-f.SLA)
		// A scalar subquery, not EXISTS: PostgreSQL would turn EXISTS into a
		// hash semi-join over every waiting ticket and sort them; this keeps
		// the ordered (status, created_at, id) index scan that stops at Limit.
		q = q.Where(`t.status = ? AND t.channel <> ? AND t.created_at < ? AND (
			SELECT 1 FROM messages m WHERE m.ticket_id = t.id AND m.direction = 'in' AND m.created_at < ?
			AND NOT EXISTS (SELECT 1 FROM messages o WHERE o.ticket_id = t.id AND o.direction = 'out' AND o.created_at >= m.created_at)
			LIMIT 1) = 1`,
			string(ticket.StatusIntake), string(normalize.Voice), deadline, deadline)
	}
	if v := strings.TrimSpace(f.Query); v != "" {
		if p, ok := normalize.Phone(v); ok {
			q = q.Where("t.contact_id IN (SELECT id FROM contacts WHERE phone = ?)", p)
		} else if looksLikeTicketNo(v) {
			q = q.Where("t.no = ?", v)
		} else {
			like := "%" + escapeLike(v) + "%"
			q = q.Where("(t.content LIKE ? ESCAPE '\\' OR t.title LIKE ? ESCAPE '\\')", like, like)
		}
	}
	if f.Phone != "" {
		p, _ := normalize.Phone(f.Phone)
		q = q.Where("t.contact_id IN (SELECT id FROM contacts WHERE phone = ?)", p)
	}
	if f.Before == nil && f.Offset > 0 {
		q = q.Offset(f.Offset)
	}
	if f.Before != nil {
		// The first conjunct is a range on the (..., created_at, id) indexes, so
		// a deep page seeks instead of scanning; the second drops the rows of
		// the same instant at or after the cursor.
		q = q.Where("t.created_at <= ? AND (t.created_at < ? OR t.id < ?)", f.Before.CreatedAt, f.Before.CreatedAt, f.Before.ID)
	}
	var rows []inboxRow
	if err := q.Order("t.created_at DESC, t.id DESC").Limit(f.Limit + 1).Scan(&rows).Error; err != nil {
		return nil, nil, fmt.Errorf("list inbox: %w", err)
	}
	var next *Cursor
	if len(rows) > f.Limit {
		rows = rows[:f.Limit]
		last := rows[len(rows)-1]
		next = &Cursor{CreatedAt: last.CreatedAt, ID: last.ID}
	}
	out := make([]InboxItem, len(rows))
	var waiting []int64
	for i, r := range rows {
		out[i] = InboxItem{Ticket: r.ticketRow().view(), AssigneeID: r.AssigneeID, AssigneeName: r.AssigneeName}
		if r.Status == string(ticket.StatusIntake) && r.Channel != string(normalize.Voice) {
			waiting = append(waiting, r.ID)
		}
	}
	since, err := s.waitingSince(ctx, waiting)
	if err != nil {
		return nil, nil, err
	}
	for i := range out {
		if t, ok := since[out[i].ID]; ok {
			out[i].WaitingSince = &t
		}
	}
	return out, next, nil
}

// inboxRow is a scanned list row (gorm maps only exported embedded structs).
type inboxRow struct {
	Ticket
	CName        string
	CPhone       string
	CEmail       string
	COpenid      string
	CAddress     string
	AssigneeName string
}

func (r inboxRow) ticketRow() ticketRow {
	return ticketRow{Ticket: r.Ticket, CName: r.CName, CPhone: r.CPhone, CEmail: r.CEmail, COpenid: r.COpenid, CAddress: r.CAddress}
}

// waitingSince returns, per ticket, when its oldest inbound message that no
// outbound message followed arrived. Tickets without one are absent.
func (s *Store) waitingSince(ctx context.Context, ids []int64) (map[int64]time.Time, error) {
	out := map[int64]time.Time{}
	if len(ids) == 0 {
		return out, nil
	}
	var rows []struct {
		TicketID  int64
		CreatedAt time.Time
	}
	err := s.db.WithContext(ctx).Raw(`SELECT m.ticket_id, m.created_at FROM messages m
		WHERE m.ticket_id IN ? AND m.direction = 'in'
		AND NOT EXISTS (SELECT 1 FROM messages o WHERE o.ticket_id = m.ticket_id AND o.direction = 'out' AND o.created_at >= m.created_at)`,
		ids).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("waiting since: %w", err)
	}
	for _, r := range rows {
		if t, ok := out[r.TicketID]; !ok || r.CreatedAt.Before(t) {
			out[r.TicketID] = r.CreatedAt
		}
	}
	return out, nil
}

// WaitingSince is waitingSince for one ticket (nil: not waiting).
func (s *Store) WaitingSince(ctx context.Context, ticketID int64) (*time.Time, error) {
	m, err := s.waitingSince(ctx, []int64{ticketID})
	if err != nil {
		return nil, err
	}
	if t, ok := m[ticketID]; ok {
		return &t, nil
	}
	return nil, nil
}

// HeldError is returned by Claim when another user holds the ticket; it wraps
// ticket.ErrConflict.
type HeldError struct {
	HolderID int64
	Holder   string // display name
}

func (e *HeldError) Error() string { return "ticket is held by " + e.Holder }
func (e *HeldError) Unwrap() error { return ticket.ErrConflict }

// InboxHolder is who claimed a ticket.
type InboxHolder struct {
	ID   int64
	Name string // display name, else user name
}

// TicketHolder returns who holds the ticket (nil: nobody).
func (s *Store) TicketHolder(ctx context.Context, ticketID int64) (*InboxHolder, error) {
	var row struct {
		AssigneeID  *int64
		DisplayName string
		Username    string
	}
	err := s.db.WithContext(ctx).Raw(`SELECT t.assignee_id, u.display_name, u.username FROM tickets t
		LEFT JOIN users u ON u.id = t.assignee_id WHERE t.id = ?`, ticketID).Scan(&row).Error
	if err != nil || row.AssigneeID == nil {
		return nil, err
	}
	return &InboxHolder{ID: *row.AssigneeID, Name: inboxName(row.DisplayName, row.Username)}, nil
}

func inboxName(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// Claim makes user the ticket's holder (tickets.assignee_id). A ticket held by
// someone else is refused with *HeldError unless takeover is set; a take-over is
// recorded in the audit trail with the previous holder's name. Claiming a
// ticket one already holds changes nothing.
func (s *Store) Claim(ctx context.Context, no string, user UserView, takeover bool) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		t, err := inboxTicketByNo(tx, no)
		if err != nil {
			return err
		}
		now := time.Now().UTC()
		actor := user.Username
		res := tx.Model(&Ticket{}).Where("id = ? AND assignee_id IS NULL", t.ID).
			Updates(map[string]any{"assignee_id": user.ID, "updated_at": now})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 1 {
			return addEvent(tx, t.ID, "claimed", actor, "", "", inboxName(user.DisplayName, user.Username))
		}
		h, err := inboxHolderTx(tx, t.ID)
		if err != nil {
			return err
		}
		if h == nil { // released between our two statements: try once more
			if err := tx.Model(&Ticket{}).Where("id = ?", t.ID).Updates(map[string]any{"assignee_id": user.ID, "updated_at": now}).Error; err != nil {
				return err
			}
			return addEvent(tx, t.ID, "claimed", actor, "", "", inboxName(user.DisplayName, user.Username))
		}
		if h.ID == user.ID {
			return nil
		}
		if !takeover {
			return &HeldError{HolderID: h.ID, Holder: h.Name}
		}
		res = tx.Model(&Ticket{}).Where("id = ? AND assignee_id = ?", t.ID, h.ID).
			Updates(map[string]any{"assignee_id": user.ID, "updated_at": now})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return fmt.Errorf("claim %s: holder changed meanwhile: %w", no, ticket.ErrConflict)
		}
		return addEvent(tx, t.ID, "taken_over", actor, "", "", "从 "+h.Name+" 接管")
	})
}

// Release gives a claimed ticket back; only its holder can (others get
// ErrConflict).
func (s *Store) Release(ctx context.Context, no string, user UserView) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		t, err := inboxTicketByNo(tx, no)
		if err != nil {
			return err
		}
		res := tx.Model(&Ticket{}).Where("id = ? AND assignee_id = ?", t.ID, user.ID).
			Updates(map[string]any{"assignee_id": nil, "updated_at": time.Now().UTC()})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return fmt.Errorf("release %s: not held by %s: %w", no, user.Username, ticket.ErrConflict)
		}
		return addEvent(tx, t.ID, "released", user.Username, "", "", "")
	})
}

func inboxHolderTx(tx *gorm.DB, ticketID int64) (*InboxHolder, error) {
	var row struct {
		AssigneeID  *int64
		DisplayName string
		Username    string
	}
	err := tx.Raw(`SELECT t.assignee_id, u.display_name, u.username FROM tickets t
		LEFT JOIN users u ON u.id = t.assignee_id WHERE t.id = ?`, ticketID).Scan(&row).Error
	if err != nil || row.AssigneeID == nil {
		return nil, err
	}
	return &InboxHolder{ID: *row.AssigneeID, Name: inboxName(row.DisplayName, row.Username)}, nil
}

func inboxTicketByNo(tx *gorm.DB, no string) (Ticket, error) {
	var t Ticket
	if err := tx.Select("id", "no", "nature", "category", "assignee_id").Where("no = ?", no).Take(&t).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return t, ticket.ErrNotFound
		}
		return t, err
	}
	return t, nil
}

var inboxNatures = []ticket.Nature{ticket.Consult, ticket.Help, ticket.Suggestion, ticket.Complaint}

// InboxNatures lists the four natures in the standard's order.
func InboxNatures() []ticket.Nature { return slices.Clone(inboxNatures) }

// SetClassification changes a ticket's nature and content category and records
// the change (old → new) in the audit trail. Setting the same values again
// records nothing.
func (s *Store) SetClassification(ctx context.Context, no string, nature ticket.Nature, category, actor string) error {
	if !slices.Contains(inboxNatures, nature) {
		return fmt.Errorf("nature %q: %w", nature, normalize.ErrInvalid)
	}
	if category == "" || len(category) > 16*4 {
		return fmt.Errorf("category %q: %w", category, normalize.ErrInvalid)
	}
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		t, err := inboxTicketByNo(tx, no)
		if err != nil {
			return err
		}
		if t.Nature == string(nature) && t.Category == category {
			return nil
		}
		if err := tx.Model(&Ticket{}).Where("id = ?", t.ID).Updates(map[string]any{
			"nature": string(nature), "category": category, "updated_at": time.Now().UTC(),
		}).Error; err != nil {
			return err
		}
		note := fmt.Sprintf("%s·%s → %s·%s", ticket.Nature(t.Nature).Label(), inboxName(t.Category, "未分类"), nature.Label(), category)
		return addEvent(tx, t.ID, "reclassified", actor, "", "", note)
	})
}

// ContactTickets lists a citizen's tickets on every channel, newest first,
// except one (the ticket being viewed); unitID, if set, limits them to a unit's.
func (s *Store) ContactTickets(ctx context.Context, contactID, except int64, unitID *int64, limit int) ([]ticket.Ticket, error) {
	if contactID == 0 {
		return nil, nil
	}
	if limit <= 0 {
		limit = 20
	}
	q := s.db.WithContext(ctx).Model(&Ticket{}).
		Select("id, no, channel, status, nature, category, title, substr(content, 1, 200) AS content, unit_id, unit_name, created_at, updated_at, confidential").
		Where("contact_id = ? AND id <> ?", contactID, except)
	if unitID != nil {
		q = q.Where("unit_id = ?", *unitID)
	}
	var ts []Ticket
	if err := q.Order("created_at DESC, id DESC").Limit(limit).Find(&ts).Error; err != nil {
		return nil, fmt.Errorf("contact tickets: %w", err)
	}
	out := make([]ticket.Ticket, len(ts))
	for i, t := range ts {
		out[i] = viewOf(t)
	}
	return out, nil
}

// TicketChange is one entry of the change feed: a ticket row changed (status,
// classification, holder, a message joined or a reply queued), or a delivery of
// one of its messages progressed.
type TicketChange struct {
	TicketID int64
	No       string
	UnitID   *int64
	At       time.Time
	Delivery bool
}

// TicketChanges returns what changed after since, oldest first: the newest
// limit changes of each kind. When a kind had more, cut is the time of its
// oldest returned change: changes at or before it may be missing (zero: none
// is missing). Taking the newest rows keeps a reader that polls with an
// overlap from getting stuck behind a burst.
func (s *Store) TicketChanges(ctx context.Context, since time.Time, limit int) (out []TicketChange, cut time.Time, err error) {
	db := s.db.WithContext(ctx)
	since = since.UTC()
	var ts []struct {
		ID        int64
		No        string
		UnitID    *int64
		UpdatedAt time.Time
	}
	if err := db.Raw(`SELECT id, no, unit_id, updated_at FROM tickets WHERE updated_at > ? ORDER BY updated_at DESC LIMIT ?`,
		since, limit+1).Scan(&ts).Error; err != nil {
		return nil, cut, fmt.Errorf("ticket changes: %w", err)
	}
	if len(ts) > limit {
		ts = ts[:limit]
		cut = ts[len(ts)-1].UpdatedAt
	}
	for _, t := range ts {
		out = append(out, TicketChange{TicketID: t.ID, No: t.No, UnitID: t.UnitID, At: t.UpdatedAt})
	}
	var ds []struct {
		TicketID  int64
		No        string
		UnitID    *int64
		UpdatedAt time.Time
	}
	if err := db.Raw(`SELECT o.ticket_id, t.no, t.unit_id, o.updated_at FROM outbox_items o JOIN tickets t ON t.id = o.ticket_id
		WHERE o.updated_at > ? ORDER BY o.updated_at DESC LIMIT ?`, since, limit+1).Scan(&ds).Error; err != nil {
		return nil, cut, fmt.Errorf("delivery changes: %w", err)
	}
	if len(ds) > limit {
		ds = ds[:limit]
		if c := ds[len(ds)-1].UpdatedAt; c.After(cut) {
			cut = c
		}
	}
	for _, d := range ds {
		out = append(out, TicketChange{TicketID: d.TicketID, No: d.No, UnitID: d.UnitID, At: d.UpdatedAt, Delivery: true})
	}
	slices.SortStableFunc(out, func(a, b TicketChange) int { return a.At.Compare(b.At) })
	return out, cut, nil
}

// InboxStatuses lists the statuses tickets have, by a loose index scan (one
// index seek per distinct status, not a scan of the table).
func (s *Store) InboxStatuses(ctx context.Context) ([]string, error) {
	var out []string
	err := s.db.WithContext(ctx).Raw(`WITH RECURSIVE st(v) AS (
		SELECT MIN(status) FROM tickets
		UNION ALL
		SELECT (SELECT MIN(status) FROM tickets WHERE status > st.v) FROM st WHERE st.v IS NOT NULL)
		SELECT v FROM st WHERE v IS NOT NULL`).Scan(&out).Error
	if err != nil {
		return nil, fmt.Errorf("inbox statuses: %w", err)
	}
	return out, nil
}
