// Package ticket is the domain vocabulary shared by intake, the pipeline, the store
// and the API: statuses, natures, the ticket and message views, and what intake
// decides for an arriving message.
package ticket

import (
	"errors"
	"time"

	"hotline/normalize"
)

// Nature is the standard's 性质分类.
type Nature string

const (
	Consult    Nature = "consult"    // 咨询
	Help       Nature = "help"       // 求助
	Suggestion Nature = "suggestion" // 建议
	Complaint  Nature = "complaint"  // 投诉
)

// Flags detected on arrival.
const (
	FlagThanks     = "thanks"
	FlagSuggestion = "suggestion"
	FlagIncomplete = "incomplete"
	FlagOutOfRemit = "out_of_remit"
	FlagKBAnswer   = "kb_answer"
)

// Reply kinds: the six standard replies, plus free text from an agent.
const (
	ReplyAnswered    = "answered"
	ReplyTransferred = "transferred"
	ReplySuggestion  = "suggestion"
	ReplyThanks      = "thanks"
	ReplyOutOfRemit  = "out_of_remit"
	ReplyIncomplete  = "incomplete"
	ReplyAgent       = "agent"
)

// Delivery states of a message.
const (
	DeliveryReceived = "received" // inbound, stored
	DeliveryQueued   = "queued"   // outbound, in the outbox
	DeliverySent     = "sent"     // accepted by the provider
	DeliveryFailed   = "failed"   // an attempt failed, will be retried
	DeliveryDead     = "dead"     // gave up: dead letter, visible on the ticket
)

// Errors the domain returns; the HTTP edge maps them to status codes.
var (
	ErrNotFound  = errors.New("not found")
	ErrConflict  = errors.New("conflict")
	ErrForbidden = errors.New("forbidden")
)

// Citizen is the contact as shown on a ticket.
type Citizen struct {
	Name    string `json:"name"`
	Phone   string `json:"phone"`
	Address string `json:"address"`
	Email   string `json:"email"`
	OpenID  string `json:"openid"`
}

// Ticket is a ticket as the API shows it (contract names).
type Ticket struct {
	ID           int64             `json:"-"`
	No           string            `json:"ticket_no"`
	Channel      normalize.Channel `json:"channel"`
	Status       Status            `json:"status"`
	Nature       Nature            `json:"nature"`
	Category     string            `json:"category"`
	Flags        []string          `json:"flags"`
	Citizen      Citizen           `json:"citizen"`
	ContactID    int64             `json:"-"`
	Confidential bool              `json:"confidential"`
	ReplyWanted  bool              `json:"reply_wanted"`
	Title        string            `json:"title"`
	Content      string            `json:"content"`
	CreatedAt    time.Time         `json:"created_at"`
	UpdatedAt    time.Time         `json:"updated_at"`
	Unit         string            `json:"unit"`
	UnitID       *int64            `json:"unit_id,omitempty"`
	DueAt        *time.Time        `json:"due_at"`
	CallID       string            `json:"call_id,omitempty"`
	Messages     []Message         `json:"messages,omitempty"`
	Events       []Event           `json:"events,omitempty"`
}

// Message is one inbound or outbound message on a ticket.
type Message struct {
	ID          int64                  `json:"id"`
	Direction   string                 `json:"direction"` // in | out
	Channel     normalize.Channel      `json:"channel"`
	Kind        string                 `json:"kind,omitempty"`
	Text        string                 `json:"text"`
	At          time.Time              `json:"at"`
	Delivery    string                 `json:"delivery"`
	Error       string                 `json:"error,omitempty"`
	Attempts    int                    `json:"attempts,omitempty"`
	Attachments []normalize.Attachment `json:"attachments,omitempty"`
}

// Event is one row of the audit trail.
type Event struct {
	Type  string    `json:"type"`
	Actor string    `json:"actor"`
	From  string    `json:"from,omitempty"`
	To    string    `json:"to,omitempty"`
	Note  string    `json:"note,omitempty"`
	At    time.Time `json:"at"`
}
