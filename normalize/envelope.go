// Package normalize defines the one typed envelope every channel produces, and the
// checks and clean-ups (phone numbers, text) that make envelopes comparable.
package normalize

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Channel is how a contact reached the hotline (the contract's `channel`).
type Channel string

const (
	Voice           Channel = "voice"
	SMS             Channel = "sms"
	WeChat          Channel = "wechat"
	Website         Channel = "website"
	MayorMailbox    Channel = "mayor_mailbox"
	ProvinceMailbox Channel = "province_mailbox"
)

// Channels lists every channel in the contract's order.
var Channels = []Channel{Voice, SMS, WeChat, Website, MayorMailbox, ProvinceMailbox}

// Valid reports whether c is one of the contract's channels.
func (c Channel) Valid() bool {
	for _, k := range Channels {
		if c == k {
			return true
		}
	}
	return false
}

// Sender is who wrote: any of the identities may be empty, but at least one is set.
type Sender struct {
	Name    string
	Phone   string // normalized, see Phone
	Email   string
	OpenID  string // WeChat openid
	Address string
}

// Attachment references a file that came with a message. Exactly one of URL
// (remote, to fetch later), Ref (provider reference such as a WeChat MediaId) or
// Path (stored locally) is normally set.
type Attachment struct {
	Name        string `json:"name,omitempty"`
	ContentType string `json:"content_type,omitempty"`
	Size        int64  `json:"size,omitempty"`
	URL         string `json:"url,omitempty"`
	Ref         string `json:"ref,omitempty"`
	Path        string `json:"path,omitempty"`
}

// Envelope is one inbound message, whatever its channel.
type Envelope struct {
	Channel Channel
	// DedupKey identifies the message at its provider: the same key on the same
	// channel is the same message, however often it is delivered.
	DedupKey string
	Sender   Sender
	Title    string
	Text     string
	// Attachments that came with the message.
	Attachments []Attachment
	// ReceivedAt is when the provider received it (or now, if it does not say).
	ReceivedAt time.Time
	// Raw is the payload as it arrived, kept for audit.
	Raw          []byte
	Confidential bool
	ReplyWanted  bool
	// Meta carries channel facts the pipeline may need (dest_code, call_id,
	// case_id, message-id ...).
	Meta map[string]string
}

// ErrInvalid wraps every validation failure, so HTTP edges can answer 400.
var ErrInvalid = errors.New("invalid message")

func invalid(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, a...))
}

// Validate checks what every channel must provide and cleans the text.
// maxChars <= 0 means no length limit.
func (e *Envelope) Validate(maxChars int) error {
	if !e.Channel.Valid() {
		return invalid("unknown channel %q", e.Channel)
	}
	if strings.TrimSpace(e.DedupKey) == "" {
		return invalid("missing message id")
	}
	if len(e.DedupKey) > 200 {
		return invalid("message id too long")
	}
	for _, s := range []string{e.Text, e.Title, e.Sender.Name, e.Sender.Address, e.Sender.Email} {
		if !utf8.ValidString(s) {
			return invalid("text is not valid UTF-8")
		}
	}
	e.Text = CleanText(e.Text)
	e.Title = CleanText(e.Title)
	if e.Text == "" && len(e.Attachments) == 0 {
		return invalid("empty text")
	}
	if maxChars > 0 && utf8.RuneCountInString(e.Text) > maxChars {
		return invalid("text longer than %d characters", maxChars)
	}
	if e.Sender.Phone == "" && e.Sender.Email == "" && e.Sender.OpenID == "" && e.Channel != Website && e.Channel != ProvinceMailbox {
		return invalid("no sender identity")
	}
	if e.ReceivedAt.IsZero() {
		e.ReceivedAt = time.Now()
	}
	return nil
}

// CleanText trims, drops NUL and other control characters except newlines and
// tabs, and normalizes line endings.
func CleanText(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.Map(func(r rune) rune {
		switch {
		case r == '\n' || r == '\t':
			return r
		case r == '\r':
			return '\n'
		case r < 0x20 || r == 0x7f || r == utf8.RuneError:
			return -1
		}
		return r
	}, s)
	return strings.TrimSpace(s)
}
