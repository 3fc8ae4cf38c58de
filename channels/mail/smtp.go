package mail

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	netmail "net/mail"
	"strings"
	"time"

	"github.com/emersion/go-message"
	gomail "github.com/emersion/go-message/mail"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"hotline/ticket"
)

// Threads finds the letter a ticket started from.
type Threads interface {
	MailThread(ctx context.Context, ticketNo string) (t Thread, ok bool, err error)
}

// SentLog remembers our mails' Message-IDs with their ticket and recipient,
// so that a citizen's answer to one finds the ticket (Store.ReplyTicket).
type SentLog interface {
	// RecordSent returns ticket.ErrNotFound when there is no such ticket.
	RecordSent(ctx context.Context, ticketNo, messageID, to string) error
}

// CodeIssuer issues a fresh query code for a ticket (storing only its hash)
// and returns it; the code of the last receipt sent is the valid one.
type CodeIssuer interface {
	IssueQueryCode(ctx context.Context, ticketNo string) (string, error)
}

// SMTPConfig of the sender.
type SMTPConfig struct {
	Addr     string
	Username string
	Password string
	From     string // address of the mayor's mailbox
	FromName string // display name, e.g. "德州市市长信箱"
	// TLS is "tls" (implicit, port 465), "starttls" or "none" (tests only).
	TLS       string
	TLSConfig *tls.Config
	// Hello is the name given in EHLO (default: the From domain).
	Hello string
}

// Sender delivers e-mail for the outbox (route ticket.ViaEmail): replies to a
// letter carry In-Reply-To and References and keep its subject.
type Sender struct {
	Cfg     SMTPConfig
	Threads Threads
	Codes   CodeIssuer
	// Sent, when set, records each mail's Message-ID before it is sent.
	Sent SentLog
	Now  func() time.Time
}

// QueryCodePlaceholder in a text is replaced by a freshly issued query code.
const QueryCodePlaceholder = "{query_code}"

// Send implements the outbox's Sender.
func (s *Sender) Send(ctx context.Context, m ticket.Outgoing) error {
	to, err := netmail.ParseAddress(m.To)
	if err != nil {
		return ticket.Permanent(fmt.Errorf("recipient %q: %w", m.To, err))
	}
	text := m.Text
	if strings.Contains(text, QueryCodePlaceholder) {
		if s.Codes == nil {
			return ticket.Permanent(errors.New("no query code issuer configured"))
		}
		code, err := s.Codes.IssueQueryCode(ctx, m.TicketNo)
		if err != nil {
			if errors.Is(err, ticket.ErrNotFound) {
				return ticket.Permanent(err)
			}
			return fmt.Errorf("issue query code: %w", err)
		}
		text = strings.ReplaceAll(text, QueryCodePlaceholder, code)
	}
	var th Thread
	var threaded bool
	if s.Threads != nil && m.TicketNo != "" {
		if th, threaded, err = s.Threads.MailThread(ctx, m.TicketNo); err != nil {
			return fmt.Errorf("thread: %w", err)
		}
	}
	msg, err := s.Compose(m, to.Address, text, th, threaded)
	if err != nil {
		return ticket.Permanent(err)
	}
	if s.Sent != nil && m.TicketNo != "" {
		// Before sending: an answer may come back faster than we could
		// record it afterwards. A retry records the same ID again (no-op).
		if err := s.Sent.RecordSent(ctx, m.TicketNo, s.MessageID(m), to.Address); err != nil && !errors.Is(err, ticket.ErrNotFound) {
			return fmt.Errorf("record message-id: %w", err)
		}
	}
	return s.deliver(ctx, to.Address, msg)
}

// Compose builds the message. Its Message-ID is derived from the outbox item,
// so a retried delivery is recognisably the same message.
func (s *Sender) Compose(m ticket.Outgoing, to, text string, th Thread, threaded bool) ([]byte, error) {
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	var h gomail.Header
	h.SetDate(now())
	h.SetAddressList("From", []*gomail.Address{{Name: s.Cfg.FromName, Address: s.Cfg.From}})
	h.SetAddressList("To", []*gomail.Address{{Address: to}})
	h.SetMessageID(s.MessageID(m))
	subject := fmt.Sprintf("关于您的来信的答复（工单号 %s）", m.TicketNo)
	if m.Kind == "receipt" {
		subject = fmt.Sprintf("来信已收到（工单号 %s）", m.TicketNo)
	}
	if threaded {
		if th.Subject != "" {
			subject = th.Subject
			if l := strings.ToLower(subject); !strings.HasPrefix(l, "re:") && !strings.HasPrefix(subject, "回复") {
				subject = "Re: " + subject
			}
		}
		if th.MessageID != "" {
			h.SetMsgIDList("In-Reply-To", []string{th.MessageID})
			refs := parseRefs(th.References)
			if len(refs) == 0 || refs[len(refs)-1] != th.MessageID {
				refs = append(refs, th.MessageID)
			}
			h.SetMsgIDList("References", refs)
		}
	}
	h.SetSubject(subject)
	if m.Kind != ticket.ReplyAgent {
		// Everything but an agent's own words is sent automatically (RFC 3834):
		// well-behaved auto-responders will not answer it.
		h.Set("Auto-Submitted", "auto-replied")
	}
	h.Set("X-Hotline-Ticket", m.TicketNo)
	h.SetContentType("text/plain", map[string]string{"charset": "utf-8"})
	h.Set("Content-Transfer-Encoding", "base64")
	var buf bytes.Buffer
	w, err := message.CreateWriter(&buf, h.Header)
	if err != nil {
		return nil, err
	}
	body := strings.ReplaceAll(strings.ReplaceAll(text, "\r\n", "\n"), "\n", "\r\n")
	if _, err := io.WriteString(w, body+"\r\n"); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// MessageID is the Message-ID (without angle brackets) of the mail for outbox
// item m: the same for every attempt.
func (s *Sender) MessageID(m ticket.Outgoing) string {
	return fmt.Sprintf("hotline.%d.%s@%s", m.ID, strings.ReplaceAll(m.TicketNo, "-", ""), domainOf(s.Cfg.From))
}

func parseRefs(s string) []string {
	var out []string
	for _, f := range strings.Fields(s) {
		if f = strings.Trim(f, "<>"); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func domainOf(addr string) string {
	if i := strings.LastIndexByte(addr, '@'); i >= 0 && i < len(addr)-1 {
		return addr[i+1:]
	}
	return "localhost"
}

// deliver sends one message over a fresh connection. A 5xx answer to the
// recipient or the data is permanent; everything else (connection, 4xx,
// authentication) is retried by the outbox.
func (s *Sender) deliver(ctx context.Context, to string, msg []byte) error {
	d := net.Dialer{Timeout: 30 * time.Second}
	conn, err := d.DialContext(ctx, "tcp", s.Cfg.Addr)
	if err != nil {
		return fmt.Errorf("smtp connect: %w", err)
	}
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	host, _, _ := net.SplitHostPort(s.Cfg.Addr)
	tcfg := s.Cfg.TLSConfig
	if tcfg == nil {
		tcfg = &tls.Config{ServerName: host}
	}
	var c *smtp.Client
	switch s.Cfg.TLS {
	case "tls":
		c = smtp.NewClient(tls.Client(conn, tcfg))
	case "starttls":
		if c, err = smtp.NewClientStartTLS(conn, tcfg); err != nil {
			conn.Close()
			return fmt.Errorf("smtp starttls: %w", err)
		}
	default:
		c = smtp.NewClient(conn)
	}
	defer c.Close()
	hello := s.Cfg.Hello
	if hello == "" {
		hello = domainOf(s.Cfg.From)
	}
	if err := c.Hello(hello); err != nil {
		return fmt.Errorf("smtp hello: %w", err)
	}
	if s.Cfg.Username != "" {
		if err := c.Auth(sasl.NewPlainClient("", s.Cfg.Username, s.Cfg.Password)); err != nil {
			return fmt.Errorf("smtp auth: %w", err)
		}
	}
	if err := c.Mail(s.Cfg.From, nil); err != nil {
		return fmt.Errorf("smtp mail from: %w", err)
	}
	if err := c.Rcpt(to, nil); err != nil {
		return permanentIf5xx(fmt.Errorf("smtp rcpt %s: %w", to, err))
	}
	w, err := c.Data()
	if err != nil {
		return permanentIf5xx(fmt.Errorf("smtp data: %w", err))
	}
	if _, err := w.Write(msg); err != nil {
		return fmt.Errorf("smtp data: %w", err)
	}
	if err := w.Close(); err != nil {
		return permanentIf5xx(fmt.Errorf("smtp data: %w", err))
	}
	c.Quit()
	return nil
}

func permanentIf5xx(err error) error {
	var se *smtp.SMTPError
	if errors.As(err, &se) && se.Code >= 500 {
		return ticket.Permanent(err)
	}
	return err
}
