package store

import "time"

// The gorm models. Table layout is ours to design (see the migrations for the
// indexes that carry the invariants: one inbound message per channel+dedup key,
// one contact per phone/openid/email, one ticket number). Columns that lead a
// composite index in a migration carry no single-column index of their own:
// every index costs each intake insert.

type Contact struct {
	ID        int64  `gorm:"primaryKey"`
	Name      string `gorm:"size:100"`
	Phone     string `gorm:"size:20"`
	Email     string `gorm:"size:200"`
	OpenID    string `gorm:"column:openid;size:64"`
	Address   string `gorm:"size:300"`
	CreatedAt time.Time
	UpdatedAt time.Time
}

type Ticket struct {
	ID           int64  `gorm:"primaryKey"`
	No           string `gorm:"size:24;uniqueIndex"`
	Channel      string `gorm:"size:20"`
	Status       string `gorm:"size:24"`
	Nature       string `gorm:"size:16"`
	Category     string `gorm:"size:16"`
	Flags        string `gorm:"size:100"` // comma-separated
	ContactID    int64
	Confidential bool   `gorm:"not null;default:false"`
	ReplyWanted  bool   `gorm:"not null;default:false"`
	Title        string `gorm:"size:300"`
	Content      string `gorm:"type:text"`
	UnitID       *int64
	UnitName     string `gorm:"size:100"`
	AssigneeID   *int64
	CallID       string `gorm:"size:64;index"`
	ExternalRef  string `gorm:"size:64;index"`
	DueAt        *time.Time
	ClosedAt     *time.Time
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

type Message struct {
	ID          int64 `gorm:"primaryKey"`
	TicketID    int64
	Channel     string  `gorm:"size:20"`
	Direction   string  `gorm:"size:3"` // in | out
	Kind        string  `gorm:"size:20"`
	DedupKey    *string `gorm:"size:200"` // inbound only; unique with channel
	Text        string  `gorm:"type:text"`
	Attachments string  `gorm:"type:text"` // JSON array of normalize.Attachment
	Raw         []byte
	Delivery    string `gorm:"size:12"`
	Error       string `gorm:"size:500"`
	Attempts    int
	Actor       string `gorm:"size:64"`
	At          time.Time
	CreatedAt   time.Time
}

// OutboxItem is one delivery to do; written in the same transaction as the change
// that caused it.
type OutboxItem struct {
	ID            int64  `gorm:"primaryKey"`
	TicketID      int64  `gorm:"index"`
	MessageID     *int64 `gorm:"index"`
	Kind          string `gorm:"size:24"` // sms | wechat | email | province_event ...
	OrderKey      string `gorm:"size:100;index"`
	Recipient     string `gorm:"size:200"`
	Payload       string `gorm:"type:text"`
	Status        string `gorm:"size:12"` // pending | sent | dead
	Attempts      int
	NextAttemptAt time.Time
	LockedUntil   *time.Time
	LastError     string `gorm:"size:500"`
	SentAt        *time.Time
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

type TicketEvent struct {
	ID       int64 `gorm:"primaryKey"`
	TicketID int64
	Type     string `gorm:"size:32"`
	Actor    string `gorm:"size:64"`
	From     string `gorm:"column:from_status;size:24"`
	To       string `gorm:"column:to_status;size:24"`
	Note     string `gorm:"type:text"`
	At       time.Time
}

type User struct {
	ID           int64  `gorm:"primaryKey"`
	Username     string `gorm:"size:64;uniqueIndex"`
	DisplayName  string `gorm:"size:100"`
	PasswordHash string `gorm:"size:100"`
	Role         string `gorm:"size:24"`
	UnitID       *int64
	Active       bool `gorm:"not null;default:true"`
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// Token is an API bearer token or inbox session; only its hash is stored.
type Token struct {
	ID        int64  `gorm:"primaryKey"`
	Hash      string `gorm:"size:64;uniqueIndex"`
	UserID    int64  `gorm:"index"`
	ExpiresAt time.Time
	CreatedAt time.Time
}

// CallEvent is one call-centre event (KPIs 1 and 2).
type CallEvent struct {
	ID           int64  `gorm:"primaryKey"`
	CallID       string `gorm:"size:64;uniqueIndex:idx_call_event"`
	Event        string `gorm:"size:16;uniqueIndex:idx_call_event"`
	At           time.Time
	Caller       string `gorm:"size:20"`
	AgentID      string `gorm:"size:64"`
	RecordingURL string `gorm:"size:500"`
	CreatedAt    time.Time
}

// Call is the per-call summary KPIs read: offered, answered (and after how
// long), abandoned.
type Call struct {
	CallID      string `gorm:"primaryKey;size:64"`
	Caller      string `gorm:"size:20"`
	AgentID     string `gorm:"size:64"`
	OfferedAt   *time.Time
	AnsweredAt  *time.Time
	AbandonedAt *time.Time
	EndedAt     *time.Time
	WaitSeconds *float64
	Recording   string `gorm:"size:500"`
	UpdatedAt   time.Time
}

type KBEntry struct {
	ID         int64  `gorm:"primaryKey"`
	ExternalID string `gorm:"size:64;index"`
	Question   string `gorm:"type:text"`
	Keywords   string `gorm:"size:500"` // comma-separated
	Answer     string `gorm:"type:text"`
	Unit       string `gorm:"size:100"`
	ValidUntil *time.Time
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

func (KBEntry) TableName() string { return "kb_entries" }

// Setting keeps generated secrets (webhook tokens) and similar singletons.
type Setting struct {
	Key       string `gorm:"primaryKey;size:64"`
	Value     string `gorm:"type:text"`
	UpdatedAt time.Time
}

// TicketCounter hands out per-day ticket numbers across instances.
type TicketCounter struct {
	Day  string `gorm:"primaryKey;size:8"`
	Last int64
}
