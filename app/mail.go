package app

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	mailch "hotline/channels/mail"
	"hotline/channels/web"
	"hotline/normalize"
	"hotline/outbox"
	"hotline/store"
	"hotline/ticket"
)

// addMailSender registers the SMTP sender (route email: letters' receipts and
// replies, and replies to citizens reachable only by e-mail) when
// mailbox.smtp.addr is set.
func (a *App) addMailSender(out map[string]outbox.Sender) error {
	s := a.Cfg.Mailbox.SMTP
	if s.Addr == "" {
		return nil
	}
	if s.From == "" {
		return fmt.Errorf("mailbox.smtp.from is required when mailbox.smtp.addr is set")
	}
	switch s.TLS {
	case "tls", "starttls", "none":
	default:
		return fmt.Errorf("mailbox.smtp.tls must be tls, starttls or none, not %q", s.TLS)
	}
	out[ticket.ViaEmail] = &mailch.Sender{
		Cfg: mailch.SMTPConfig{Addr: s.Addr, Username: s.Username, Password: s.Password, From: s.From,
			FromName: a.Cfg.City.Name + "市长信箱", TLS: s.TLS},
		Threads: mailStore{a.Store},
		Codes:   codeIssuer{a.Store},
		Sent:    mailStore{a.Store},
	}
	return nil
}

// startMail starts following the mayor's mailbox when mailbox.imap.addr is
// set; the receiver stops when ctx ends, finishing the letter in hand, and
// wg tells when it has.
func (a *App) startMail(ctx context.Context, wg *sync.WaitGroup) {
	c := a.Cfg.Mailbox.IMAP
	if c.Addr == "" {
		return
	}
	var lease mailch.Lease = a.Store
	if a.Redis != nil {
		lease = &mailch.RedisLease{Client: a.Redis, Prefix: "hotline:lease:"}
	}
	queryURL := ""
	if u := strings.TrimRight(a.Cfg.HTTP.PublicURL, "/"); u != "" {
		queryURL = u + "/query"
	}
	a.Mail = &mailch.Receiver{
		Cfg: mailch.Config{
			Addr: c.Addr, Username: c.Username, Password: c.Password, Folder: c.Folder, TLS: c.TLS,
			PollInterval: c.PollInterval, After: c.After, MoveTo: c.MoveTo,
			// Receipts need the SMTP sender; without it they would only dead-letter.
			Acknowledge:  a.Cfg.Mailbox.Acknowledge && a.Cfg.Mailbox.SMTP.Addr != "",
			ReceiptText:  mailch.ReceiptText(queryURL),
			MaxChars:     a.Cfg.Intake.MaxTextChars,
			ThreadWindow: a.Cfg.Intake.ThreadWindow,
			LeaseTTL:     30 * time.Second,
		},
		Intake:  mailIntake{&notifying{s: a.Intake, notify: a.Outbox.Notify}},
		Store:   mailStore{a.Store},
		Files:   a.attachments(),
		Lease:   lease,
		Notify:  a.Outbox.Notify,
		Log:     a.Log.With("component", "mail"),
		Observe: a.Metrics,
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		a.Mail.Run(ctx)
	}()
}

// mailIntake adds the path of a citizen's answer by e-mail: it joins the
// ticket it answers, keeping its content and classification, and is not
// answered automatically.
type mailIntake struct{ *notifying }

func (m mailIntake) IngestInto(ctx context.Context, env normalize.Envelope, no string) (ticket.Receipt, error) {
	return m.s.IngestFollowUp(ctx, env, no, "", "市民来信回复")
}

// mailStore adapts the store to the mail channel (receiver and sender).
type mailStore struct{ *store.Store }

func (m mailStore) SaveThread(ctx context.Context, ticketID int64, t mailch.Thread) error {
	return m.Store.SaveMailThread(ctx, ticketID, store.MailThreadInfo{MessageID: t.MessageID, References: t.References, Subject: t.Subject, From: t.From})
}

func (m mailStore) ReplyTicket(ctx context.Context, ids []string, from string) (mailch.ReplyTarget, bool, error) {
	t, ok, err := m.Store.MailReplyTicket(ctx, ids, from)
	out := mailch.ReplyTarget{TicketID: t.TicketID, TicketNo: t.TicketNo}
	if t.EndedAt != nil {
		out.EndedAt = *t.EndedAt
	}
	return out, ok, err
}

func (m mailStore) NoteFollowUp(ctx context.Context, ticketID int64, oldNo string) error {
	return m.Store.NoteMailFollowUp(ctx, ticketID, oldNo)
}

func (m mailStore) RecordSent(ctx context.Context, no, messageID, to string) error {
	return m.Store.RecordMailSent(ctx, no, messageID, to)
}

func (m mailStore) QueueReceipt(ctx context.Context, ticketID int64, to, text string) (bool, error) {
	return m.Store.QueueMailReceipt(ctx, ticketID, to, text)
}

func (m mailStore) MailThread(ctx context.Context, no string) (mailch.Thread, bool, error) {
	t, ok, err := m.Store.MailThread(ctx, no)
	return mailch.Thread{MessageID: t.MessageID, References: t.References, Subject: t.Subject}, ok, err
}

// codeIssuer gives a ticket a fresh query code when its receipt is sent.
type codeIssuer struct{ s *store.Store }

func (c codeIssuer) IssueQueryCode(ctx context.Context, no string) (string, error) {
	code := web.NewQueryCode()
	if err := c.s.ReplaceQueryCode(ctx, no, web.HashQueryCode(no, code)); err != nil {
		return "", err
	}
	return code, nil
}

var (
	_ mailch.Ingester = mailIntake{}
	_ mailch.Store    = mailStore{}
	_ mailch.SentLog  = mailStore{}
)
