package ticket

import (
	"errors"
	"fmt"
)

// Outgoing is one delivery the outbox hands to a channel's sender.
type Outgoing struct {
	ID       int64  // outbox item id: stable across retries, an idempotency key
	Via      string // ViaSMS, ViaWeChat, ViaEmail, ViaProvince
	To       string
	Text     string
	Kind     string // reply kind
	TicketNo string
	Meta     map[string]string // channel extras (subject, in-reply-to, case id...)
}

// ErrPermanent marks a delivery failure retrying cannot fix (a 4xx, a blocked
// user): the outbox dead-letters it at once.
var ErrPermanent = errors.New("permanent delivery failure")

// Permanent wraps err as a permanent failure.
func Permanent(err error) error { return fmt.Errorf("%w: %w", ErrPermanent, err) }
