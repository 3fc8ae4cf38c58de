package province

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"path"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"hotline/normalize"
)

// Case is a case on the wire, in both directions (contract: POST
// /channels/province/cases and POST {province.base_url}/cases).
type Case struct {
	CaseID       string       `json:"case_id"`
	Source       string       `json:"source"`
	Title        string       `json:"title"`
	Content      string       `json:"content"`
	Citizen      Citizen      `json:"citizen"`
	Confidential bool         `json:"confidential"`
	ReplyWanted  bool         `json:"reply_wanted"`
	ReceivedAt   string       `json:"received_at"`
	DueAt        string       `json:"due_at"`
	Attachments  []Attachment `json:"attachments"`
}

// Citizen is who wrote to the province.
type Citizen struct {
	Name    string `json:"name"`
	Phone   string `json:"phone"`
	Address string `json:"address"`
}

// Attachment is a file the receiver fetches from URL.
type Attachment struct {
	Name string `json:"name"`
	URL  string `json:"url"`
}

// Inbound is a parsed, checked case sent down by the province.
type Inbound struct {
	Case
	Received time.Time // zero when the province did not say
	Due      time.Time // zero when the province set no deadline
	// Hash identifies the canonical payload: the same case sent again hashes
	// the same whatever its key order or spacing; a changed case does not.
	Hash string
}

// Limits of an inbound case.
const (
	MaxCaseIDLen   = 64
	MaxAttachments = 20
)

func invalid(format string, a ...any) error {
	return fmt.Errorf("%w: %s", normalize.ErrInvalid, fmt.Sprintf(format, a...))
}

// ParseCase decodes and checks an inbound case. Times are RFC 3339, or
// "2006-01-02 15:04:05" / "2006-01-02" in the city's time zone loc (a due date
// without a time means the end of that day). Every error wraps
// normalize.ErrInvalid. Fields the contract does not name are ignored.
func ParseCase(body []byte, loc *time.Location) (Inbound, error) {
	var c Case
	if err := json.Unmarshal(body, &c); err != nil {
		return Inbound{}, invalid("case is not a JSON object: %v", err)
	}
	c.CaseID = strings.TrimSpace(c.CaseID)
	if err := checkCaseID(c.CaseID); err != nil {
		return Inbound{}, err
	}
	in := Inbound{Case: c}
	if p := strings.TrimSpace(c.Citizen.Phone); p != "" {
		n, ok := normalize.Phone(p)
		if !ok {
			return Inbound{}, invalid("citizen.phone %q is not a phone number", clipRunes(p, 40))
		}
		in.Citizen.Phone = n
	}
	var err error
	if in.Received, err = parseTime(c.ReceivedAt, loc, false); err != nil {
		return Inbound{}, invalid("received_at: %v", err)
	}
	if in.Due, err = parseTime(c.DueAt, loc, true); err != nil {
		return Inbound{}, invalid("due_at: %v", err)
	}
	if len(c.Attachments) > MaxAttachments {
		return Inbound{}, invalid("more than %d attachments", MaxAttachments)
	}
	in.Attachments = make([]Attachment, len(c.Attachments))
	for i, a := range c.Attachments {
		u, err := url.Parse(strings.TrimSpace(a.URL))
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(a.URL) > 2000 {
			return Inbound{}, invalid("attachments[%d].url must be an http(s) URL", i)
		}
		name := CleanFileName(a.Name)
		if name == "" {
			name = CleanFileName(path.Base(u.Path))
		}
		if name == "" {
			name = fmt.Sprintf("attachment-%d", i+1)
		}
		in.Attachments[i] = Attachment{Name: name, URL: u.String()}
	}
	if normalize.CleanText(c.Content) == "" && normalize.CleanText(c.Title) == "" && len(in.Attachments) == 0 {
		return Inbound{}, invalid("case has no title, content or attachments")
	}
	in.Hash = in.canonicalHash()
	return in, nil
}

func checkCaseID(id string) error {
	switch {
	case id == "":
		return invalid("case_id is required")
	case len(id) > MaxCaseIDLen:
		return invalid("case_id longer than %d bytes", MaxCaseIDLen)
	case !utf8.ValidString(id):
		return invalid("case_id is not UTF-8")
	}
	for _, r := range id {
		if unicode.IsSpace(r) || unicode.IsControl(r) || r == '/' || r == '\\' || r == '?' || r == '#' || r == '%' {
			return invalid("case_id contains %q", r)
		}
	}
	return nil
}

// parseTime reads the contract's times; empty is the zero time.
func parseTime(s string, loc *time.Location, endOfDay bool) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	if loc == nil {
		loc = time.UTC
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	for _, layout := range []string{"2006-01-02 15:04:05", "2006-01-02T15:04:05", "2006-01-02 15:04"} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, nil
		}
	}
	if t, err := time.ParseInLocation("2006-01-02", s, loc); err == nil {
		if endOfDay {
			t = t.Add(24*time.Hour - time.Second)
		}
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%q is not an RFC 3339 time", clipRunes(s, 40))
}

// canonicalHash hashes the case as understood: cleaned texts, normalized
// phone, times in UTC, attachments in order.
func (in Inbound) canonicalHash() string {
	ts := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format(time.RFC3339)
	}
	canon := Case{
		CaseID: in.CaseID, Source: normalize.CleanText(in.Source), Title: normalize.CleanText(in.Title),
		Content:      normalize.CleanText(in.Content),
		Citizen:      Citizen{Name: normalize.CleanText(in.Citizen.Name), Phone: in.Citizen.Phone, Address: normalize.CleanText(in.Citizen.Address)},
		Confidential: in.Confidential, ReplyWanted: in.ReplyWanted,
		ReceivedAt: ts(in.Received), DueAt: ts(in.Due), Attachments: in.Attachments,
	}
	b, _ := json.Marshal(canon)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// Meta keys of a province envelope (normalize.Envelope.Meta).
const (
	MetaCaseID   = "case_id" // becomes tickets.external_ref
	MetaCaseHash = "case_hash"
	MetaSource   = "source"
	MetaDueAt    = "due_at" // RFC 3339, UTC
)

// Envelope is the case as a province_mailbox message; its dedup key is
// "case:" + case_id.
func (in Inbound) Envelope(raw []byte) normalize.Envelope {
	env := normalize.Envelope{
		Channel:  normalize.ProvinceMailbox,
		DedupKey: "case:" + in.CaseID,
		Sender:   normalize.Sender{Name: in.Citizen.Name, Phone: in.Citizen.Phone, Address: in.Citizen.Address},
		Title:    in.Title, Text: in.Content, ReceivedAt: in.Received, Raw: raw,
		Confidential: in.Confidential, ReplyWanted: in.ReplyWanted,
		Meta: map[string]string{MetaCaseID: in.CaseID, MetaCaseHash: in.Hash, MetaSource: clipRunes(normalize.CleanText(in.Source), 100)},
	}
	if env.Text == "" {
		env.Text = in.Title // a case with a title only is still a case
	}
	if !in.Due.IsZero() {
		env.Meta[MetaDueAt] = in.Due.UTC().Format(time.RFC3339)
	}
	for _, a := range in.Attachments {
		env.Attachments = append(env.Attachments, normalize.Attachment{Name: a.Name, URL: a.URL})
	}
	return env
}

// Events hotline reports back, in the contract's words.
const (
	EventAccepted           = "accepted"
	EventTransferred        = "transferred"
	EventExtensionRequested = "extension_requested"
	EventExtended           = "extended"
	EventReplied            = "replied"
	EventReturned           = "returned"
	EventClosed             = "closed"
)

// EventNames lists the contract's events.
var EventNames = []string{EventAccepted, EventTransferred, EventExtensionRequested, EventExtended, EventReplied, EventReturned, EventClosed}

// ValidEvent reports whether e is one of the contract's events.
func ValidEvent(e string) bool { return slices.Contains(EventNames, e) }

// Event is what hotline posts to {province.base_url}/cases/{case_id}/events.
type Event struct {
	Event    string `json:"event"`
	At       string `json:"at"`
	TicketNo string `json:"ticket_no"`
	Unit     string `json:"unit"`
	Text     string `json:"text"`
}

// ParseEvent decodes and checks an event (the simulator's side).
func ParseEvent(body []byte) (Event, error) {
	var e Event
	if err := json.Unmarshal(body, &e); err != nil {
		return Event{}, invalid("event is not a JSON object: %v", err)
	}
	if !ValidEvent(e.Event) {
		return Event{}, invalid("unknown event %q", clipRunes(e.Event, 40))
	}
	if e.TicketNo == "" {
		return Event{}, invalid("ticket_no is required")
	}
	if _, err := time.Parse(time.RFC3339, e.At); err != nil {
		return Event{}, invalid("at is not an RFC 3339 time")
	}
	return e, nil
}

// CleanFileName keeps the last path element of a declared file name, without
// control characters or separators, at most 100 characters.
func CleanFileName(name string) string {
	name = strings.ReplaceAll(name, "\\", "/")
	if i := strings.LastIndex(name, "/"); i >= 0 {
		name = name[i+1:]
	}
	name = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == utf8.RuneError || r == '"' {
			return -1
		}
		return r
	}, name)
	name = strings.TrimSpace(name)
	if name == "." || name == ".." {
		return ""
	}
	return clipRunes(name, 100)
}

func clipRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}
