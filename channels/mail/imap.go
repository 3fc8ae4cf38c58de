package mail

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"mime"
	"net"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-message/charset"

	"hotline/normalize"
	"hotline/ticket"
)

// Ingester commits an envelope and returns once it is stored.
type Ingester interface {
	IngestEnvelope(ctx context.Context, env normalize.Envelope) (ticket.Receipt, error)
	// IngestInto adds a letter to ticket no as an inbound message, leaving the
	// ticket's content and classification as they are and answering nothing
	// (a citizen's answer to one of our mails); ticket.ErrNotFound when there
	// is no such ticket.
	IngestInto(ctx context.Context, env normalize.Envelope, no string) (ticket.Receipt, error)
}

// Store keeps the receiver's checkpoint and what replies by e-mail need.
type Store interface {
	// MailCheckpoint returns the UIDVALIDITY and the last committed UID.
	MailCheckpoint(ctx context.Context, mailbox string) (uidValidity, lastUID uint32, err error)
	SaveMailCheckpoint(ctx context.Context, mailbox string, uidValidity, lastUID uint32) error
	// SaveThread remembers the letter a ticket started from (first call wins).
	SaveThread(ctx context.Context, ticketID int64, t Thread) error
	// QueueReceipt queues the acknowledgment of a ticket once (queued=false
	// when it already has one).
	QueueReceipt(ctx context.Context, ticketID int64, to, text string) (queued bool, err error)
	// ReplyTicket finds the ticket a letter from address from answers: the
	// first of ids (the Message-IDs it refers to, nearest first) that is one of
	// our mails to from or an earlier letter of from; ok is false when none is.
	ReplyTicket(ctx context.Context, ids []string, from string) (t ReplyTarget, ok bool, err error)
	// NoteFollowUp records on ticket ticketID that its letter answers the
	// ticket oldNo, ended too long ago to take it (recording it twice changes
	// nothing).
	NoteFollowUp(ctx context.Context, ticketID int64, oldNo string) error
}

// Thread is the letter a ticket started from, for replies to refer to.
type Thread struct {
	MessageID  string // without angle brackets
	References string // header form: "<a@b> <c@d>"
	Subject    string
	From       string // the sender's address (SaveThread records every letter's Message-ID with it)
}

// ReplyTarget is the ticket a letter answers.
type ReplyTarget struct {
	TicketID int64
	TicketNo string
	// EndedAt is when the ticket was closed, archived or discarded; zero
	// while it is open.
	EndedAt time.Time
}

// Outcomes of a letter, as counted by Observer.MailLetter.
const (
	OutcomeTicket    = "ticket"    // a new ticket
	OutcomeJoined    = "joined"    // a citizen's answer, added to its ticket
	OutcomeDuplicate = "duplicate" // already stored (a rescan, a second instance)
	OutcomeRejected  = "rejected"  // can never be a ticket: left on the server
	OutcomeError     = "error"     // not stored this time: tried again later
)

// Observer is told what became of each letter and whether the receiver is
// connected to the mailbox (metrics.Metrics is one).
type Observer interface {
	MailLetter(outcome string)
	MailConnected(up bool)
}

// AttachmentSaver keeps attachments (the website channel's store does).
type AttachmentSaver interface {
	Save(name string, r io.Reader) (normalize.Attachment, error)
	Remove(atts []normalize.Attachment)
}

// Lease lets one instance follow a mailbox at a time.
type Lease interface {
	AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error)
	ReleaseLease(ctx context.Context, name, holder string) error
}

// Config of the receiver.
type Config struct {
	Addr     string
	Username string
	Password string
	Folder   string
	// TLS is "tls" (implicit), "starttls" or "none" (tests only).
	TLS       string
	TLSConfig *tls.Config
	// PollInterval: how often to look for mail without IDLE, and how long one
	// IDLE lasts before it is renewed.
	PollInterval time.Duration
	// After is what happens to a letter once its ticket is committed:
	// "leave", "seen" (flag \Seen) or "move" (to MoveTo).
	After  string
	MoveTo string
	// Acknowledge queues ReceiptText to the sender of every letter that may
	// be answered; {ticket_no} is filled here, {query_code} by the sender.
	Acknowledge bool
	ReceiptText string
	// MaxChars bounds the text of one letter (longer ones are cut).
	MaxChars int
	// ThreadWindow: a citizen's answer to a ticket that was closed, archived
	// or discarded longer ago than this opens a new ticket (which names the
	// old one) instead of joining it (intake.thread_window).
	ThreadWindow time.Duration
	// MaxMessageBytes: only this much of a letter is fetched.
	MaxMessageBytes int64
	// LeaseTTL is how long the lease lasts without renewal.
	LeaseTTL time.Duration
	// Holder names this instance in the lease.
	Holder string
	// BackoffMin and BackoffMax bound the wait before reconnecting.
	BackoffMin time.Duration
	BackoffMax time.Duration
}

// DefaultReceiptText is the acknowledgment of a letter.
const DefaultReceiptText = "您好！您写给市长信箱的来信已收到，工单号：{ticket_no}，查询码：{query_code}。" +
	"请妥善保存工单号和查询码，凭此可在网上查询办理进度。感谢您对政府工作的支持！（本邮件由系统自动发送）"

// ReceiptText is DefaultReceiptText naming the status page when its URL is
// known (e.g. "https://12345.example.gov.cn/query").
func ReceiptText(queryURL string) string {
	if queryURL == "" {
		return DefaultReceiptText
	}
	return strings.Replace(DefaultReceiptText, "凭此可在网上查询办理进度。", "凭此可在 "+queryURL+" 查询办理进度。", 1)
}

// Receiver follows one IMAP folder and turns every letter into a ticket.
type Receiver struct {
	Cfg    Config
	Intake Ingester
	Store  Store
	Files  AttachmentSaver // nil: attachments are listed, not kept
	Lease  Lease           // nil: no coordination (a single instance)
	Notify func()          // wakes the outbox after a receipt is queued
	Log    *slog.Logger
	// Observe, when set, counts letters and tells whether the receiver is
	// connected.
	Observe Observer

	// dial is replaced in tests.
	dial func(ctx context.Context, opts *imapclient.Options) (*imapclient.Client, error)
	// onDone is called after each letter is checkpointed, onIdle when an
	// IDLE has begun (tests).
	onDone func(uid uint32)
	onIdle func()
}

// Name identifies the followed folder (checkpoint and lease key).
func (r *Receiver) Name() string {
	return r.Cfg.Username + "@" + r.Cfg.Addr + "/" + r.Cfg.Folder
}

func (r *Receiver) defaults() {
	c := &r.Cfg
	if c.Folder == "" {
		c.Folder = "INBOX"
	}
	if c.PollInterval <= 0 {
		c.PollInterval = time.Minute
	}
	if c.LeaseTTL <= 0 {
		c.LeaseTTL = 30 * time.Second
	}
	if c.BackoffMin <= 0 {
		c.BackoffMin = time.Second
	}
	if c.BackoffMax < c.BackoffMin {
		c.BackoffMax = 5 * time.Minute
	}
	if c.MaxMessageBytes <= 0 {
		c.MaxMessageBytes = 50 << 20
	}
	if c.ReceiptText == "" {
		c.ReceiptText = DefaultReceiptText
	}
	if c.Holder == "" {
		c.Holder = randomHolder()
	}
}

// Run follows the mailbox until ctx is cancelled: it takes the lease (waiting
// while another instance holds it), connects, reads what is new, waits with
// IDLE (or polls), and after any failure reconnects with exponential backoff.
// A letter being processed when ctx is cancelled is finished first.
func (r *Receiver) Run(ctx context.Context) {
	r.defaults()
	for ctx.Err() == nil {
		if !r.acquire(ctx) {
			return
		}
		lctx, lost := r.holdLease(ctx)
		r.follow(lctx)
		lost()
	}
}

// acquire blocks until this instance holds the lease; false when ctx ended.
func (r *Receiver) acquire(ctx context.Context) bool {
	if r.Lease == nil {
		return ctx.Err() == nil
	}
	logged := false
	for {
		ok, err := r.Lease.AcquireLease(ctx, "mail:"+r.Name(), r.Cfg.Holder, r.Cfg.LeaseTTL)
		switch {
		case err != nil && ctx.Err() == nil:
			r.Log.Warn("mail lease", "mailbox", r.Name(), "err", err)
		case ok:
			r.Log.Info("mail lease taken", "mailbox", r.Name(), "holder", r.Cfg.Holder)
			return true
		case !logged:
			r.Log.Info("mailbox followed by another instance; standing by", "mailbox", r.Name())
			logged = true
		}
		if !sleep(ctx, r.Cfg.LeaseTTL/3) {
			return false
		}
	}
}

// holdLease renews the lease in the background; the returned context ends
// when ctx does or the lease is lost, and release stops renewing and gives
// the lease up.
func (r *Receiver) holdLease(ctx context.Context) (context.Context, func()) {
	lctx, cancel := context.WithCancel(ctx)
	if r.Lease == nil {
		return lctx, cancel
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(r.Cfg.LeaseTTL / 3)
		defer t.Stop()
		for {
			select {
			case <-lctx.Done():
				return
			case <-t.C:
			}
			ok, err := r.Lease.AcquireLease(lctx, "mail:"+r.Name(), r.Cfg.Holder, r.Cfg.LeaseTTL)
			if lctx.Err() != nil {
				return
			}
			if err != nil {
				// Keep going until the lease would have expired.
				r.Log.Warn("mail lease renewal", "err", err)
				continue
			}
			if !ok {
				r.Log.Warn("mail lease lost", "mailbox", r.Name())
				cancel()
				return
			}
		}
	}()
	return lctx, func() {
		cancel()
		<-done
		rctx, c := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer c()
		if err := r.Lease.ReleaseLease(rctx, "mail:"+r.Name(), r.Cfg.Holder); err != nil {
			r.Log.Warn("mail lease release", "err", err)
		}
	}
}

// follow runs sessions until ctx ends, backing off after failures.
func (r *Receiver) follow(ctx context.Context) {
	backoff := r.Cfg.BackoffMin
	for ctx.Err() == nil {
		start := time.Now()
		err := r.session(ctx)
		if ctx.Err() != nil {
			return
		}
		if time.Since(start) > 2*r.Cfg.BackoffMax {
			backoff = r.Cfg.BackoffMin // it ran fine for a while
		}
		d := time.Duration(float64(backoff) * (0.8 + 0.4*rand.Float64()))
		r.Log.Warn("imap session ended; reconnecting", "mailbox", r.Name(), "err", err, "in", d.Round(time.Millisecond))
		if !sleep(ctx, d) {
			return
		}
		backoff = min(backoff*2, r.Cfg.BackoffMax)
	}
}

func (r *Receiver) connect(ctx context.Context, opts *imapclient.Options) (*imapclient.Client, error) {
	if r.dial != nil {
		return r.dial(ctx, opts)
	}
	opts.Dialer = &net.Dialer{Timeout: 30 * time.Second}
	if r.Cfg.TLSConfig != nil {
		opts.TLSConfig = r.Cfg.TLSConfig
	}
	switch r.Cfg.TLS {
	case "none":
		return imapclient.DialInsecure(r.Cfg.Addr, opts)
	case "starttls":
		return imapclient.DialStartTLS(r.Cfg.Addr, opts)
	default:
		return imapclient.DialTLS(r.Cfg.Addr, opts)
	}
}

// session is one connection: log in, select, then read and wait in turn.
func (r *Receiver) session(ctx context.Context) error {
	newMail := make(chan struct{}, 1)
	opts := &imapclient.Options{
		WordDecoder: &mime.WordDecoder{CharsetReader: charset.Reader},
		UnilateralDataHandler: &imapclient.UnilateralDataHandler{
			Mailbox: func(d *imapclient.UnilateralDataMailbox) {
				if d.NumMessages != nil {
					select {
					case newMail <- struct{}{}:
					default:
					}
				}
			},
		},
	}
	c, err := r.connect(ctx, opts)
	if err != nil {
		return fmt.Errorf("connect %s: %w", r.Cfg.Addr, err)
	}
	defer c.Close()
	// Cancellation closes the connection, which unblocks any command.
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()

	if err := c.Login(r.Cfg.Username, r.Cfg.Password).Wait(); err != nil {
		return fmt.Errorf("login: %w", err)
	}
	caps := c.Caps()
	if caps.Has(imap.CapID) {
		// Some providers (163.com, 126.com) refuse SELECT from clients that
		// do not identify themselves.
		if _, err := c.ID(&imap.IDData{Name: "hotline", Version: "1", Vendor: "hotline 12345"}).Wait(); err != nil {
			r.Log.Warn("imap ID", "err", err)
		}
	}
	if r.Cfg.After == "move" && r.Cfg.MoveTo != "" {
		if err := c.Create(r.Cfg.MoveTo, nil).Wait(); err != nil && !isNo(err) {
			return fmt.Errorf("create %s: %w", r.Cfg.MoveTo, err)
		}
	}
	sel, err := c.Select(r.Cfg.Folder, nil).Wait()
	if err != nil {
		return fmt.Errorf("select %s: %w", r.Cfg.Folder, err)
	}
	if r.Observe != nil {
		r.Observe.MailConnected(true)
		defer r.Observe.MailConnected(false)
	}
	validity := sel.UIDValidity
	storedV, last, err := r.Store.MailCheckpoint(ctx, r.Name())
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	if storedV != validity {
		if storedV != 0 {
			// The server renumbered the folder: read it all again; the
			// Message-ID dedup keeps the letters already stored from
			// becoming tickets twice.
			r.Log.Warn("UIDVALIDITY changed; rescanning the folder", "mailbox", r.Name(), "old", storedV, "new", validity)
		}
		last = 0
		if err := r.Store.SaveMailCheckpoint(ctx, r.Name(), validity, 0); err != nil {
			return fmt.Errorf("checkpoint: %w", err)
		}
	}
	idle := caps.Has(imap.CapIdle) || caps.Has(imap.CapIMAP4rev2)
	r.Log.Info("following mailbox", "mailbox", r.Name(), "uidvalidity", validity, "last_uid", last, "idle", idle)
	for {
		if last, err = r.drain(ctx, c, caps, validity, last); err != nil {
			return err
		}
		if idle {
			cmd, err := c.Idle()
			if err != nil {
				return fmt.Errorf("idle: %w", err)
			}
			if r.onIdle != nil {
				r.onIdle()
			}
			select {
			case <-newMail:
			case <-time.After(r.Cfg.PollInterval):
			case <-ctx.Done():
			}
			if err := cmd.Close(); err != nil {
				return fmt.Errorf("idle: %w", err)
			}
			if err := cmd.Wait(); err != nil {
				return fmt.Errorf("idle: %w", err)
			}
		} else {
			select {
			case <-newMail:
			case <-time.After(r.Cfg.PollInterval):
			case <-ctx.Done():
			}
			if ctx.Err() == nil {
				if err := c.Noop().Wait(); err != nil {
					return fmt.Errorf("noop: %w", err)
				}
			}
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
}

// drain processes every letter above last in UID order, saving the
// checkpoint after each; it returns the new last UID.
func (r *Receiver) drain(ctx context.Context, c *imapclient.Client, caps imap.CapSet, validity, last uint32) (uint32, error) {
	crit := &imap.SearchCriteria{UID: []imap.UIDSet{{imap.UIDRange{Start: imap.UID(last + 1), Stop: 0}}}}
	data, err := c.UIDSearch(crit, nil).Wait()
	if err != nil {
		return last, fmt.Errorf("search: %w", err)
	}
	var uids []imap.UID
	for _, u := range data.AllUIDs() {
		if uint32(u) > last { // "n:*" also matches the last message when n is beyond it
			uids = append(uids, u)
		}
	}
	slices.Sort(uids)
	section := &imap.FetchItemBodySection{Peek: true, Partial: &imap.SectionPartial{Offset: 0, Size: r.Cfg.MaxMessageBytes}}
	for _, uid := range uids {
		if ctx.Err() != nil {
			return last, ctx.Err()
		}
		msgs, err := c.Fetch(imap.UIDSetNum(uid), &imap.FetchOptions{UID: true, InternalDate: true, BodySection: []*imap.FetchItemBodySection{section}}).Collect()
		if err != nil {
			return last, fmt.Errorf("fetch %d: %w", uid, err)
		}
		if len(msgs) == 0 {
			continue // expunged meanwhile
		}
		raw := msgs[0].FindBodySection(section)
		// Finish this letter even if we are asked to stop: the ticket, its
		// thread and receipt are one unit of work (each step is idempotent).
		wctx := context.WithoutCancel(ctx)
		if err := r.process(wctx, validity, uint32(uid), raw, msgs[0].InternalDate); err != nil {
			return last, err
		}
		if err := r.afterCommit(c, caps, uid); err != nil {
			return last, err
		}
		if err := r.Store.SaveMailCheckpoint(wctx, r.Name(), validity, uint32(uid)); err != nil {
			return last, fmt.Errorf("checkpoint: %w", err)
		}
		last = uint32(uid)
		if r.onDone != nil {
			r.onDone(last)
		}
	}
	return last, nil
}

// process makes a ticket of one letter. An error means "try again later"; a
// letter that can never become a ticket is logged and skipped (it stays on
// the server untouched for a person to look at).
func (r *Receiver) process(ctx context.Context, validity, uid uint32, raw []byte, received time.Time) error {
	outcome, err := r.letter(ctx, validity, uid, raw, received)
	if r.Observe != nil {
		r.Observe.MailLetter(outcome)
	}
	return err
}

// letter is process, returning what became of the letter.
func (r *Receiver) letter(ctx context.Context, validity, uid uint32, raw []byte, received time.Time) (string, error) {
	l, err := Parse(raw)
	if err != nil {
		r.Log.Error("mail letter unreadable; left on the server", "mailbox", r.Name(), "uid", uid, "err", err)
		return OutcomeRejected, nil
	}
	target, join, err := r.replyTarget(ctx, l)
	if err != nil {
		return OutcomeError, fmt.Errorf("reply lookup uid %d: %w", uid, err)
	}
	env := l.Envelope(validity, uid, r.Cfg.MaxChars)
	env.Raw = raw
	env.ReceivedAt = received
	if env.ReceivedAt.IsZero() {
		env.ReceivedAt = time.Now()
	}
	var kept []normalize.Attachment
	for _, p := range l.Parts {
		if r.Files != nil {
			att, err := r.Files.Save(p.Name, bytes.NewReader(p.Data))
			if err == nil {
				kept = append(kept, att)
				env.Attachments = append(env.Attachments, att)
				continue
			}
			r.Log.Info("mail attachment not kept", "uid", uid, "name", p.Name, "err", err)
		}
		// Listed without a file: agents see it existed (the raw mail has it).
		env.Attachments = append(env.Attachments, normalize.Attachment{Name: p.Name, ContentType: p.ContentType, Size: int64(len(p.Data))})
	}
	var rec ticket.Receipt
	if join {
		rec, err = r.Intake.IngestInto(ctx, env, target.TicketNo)
		if errors.Is(err, ticket.ErrNotFound) {
			join, target = false, ReplyTarget{}
		}
	}
	if !join {
		rec, err = r.Intake.IngestEnvelope(ctx, env)
	}
	if err != nil {
		if r.Files != nil {
			r.Files.Remove(kept)
		}
		if errors.Is(err, normalize.ErrInvalid) {
			r.Log.Error("mail letter rejected; left on the server", "mailbox", r.Name(), "uid", uid, "from", l.FromAddr, "err", err)
			return OutcomeRejected, nil
		}
		return OutcomeError, fmt.Errorf("ingest uid %d: %w", uid, err)
	}
	if rec.Duplicate && r.Files != nil {
		r.Files.Remove(kept)
	}
	th := Thread{MessageID: l.MessageID, Subject: l.Subject, From: l.FromAddr}
	if refs := append(slices.Clone(l.References), l.MessageID); l.MessageID != "" {
		th.References = "<" + strings.Join(refs, "> <") + ">"
	}
	if err := r.Store.SaveThread(ctx, rec.TicketID, th); err != nil {
		return OutcomeError, fmt.Errorf("thread of %s: %w", rec.TicketNo, err)
	}
	// On the ticket it answers (now, or joined before a rescan): no receipt,
	// no note.
	answered := target.TicketID != 0 && rec.TicketID == target.TicketID
	if target.TicketNo != "" && !answered {
		if err := r.Store.NoteFollowUp(ctx, rec.TicketID, target.TicketNo); err != nil {
			return OutcomeError, fmt.Errorf("follow-up note of %s: %w", rec.TicketNo, err)
		}
	}
	if r.Cfg.Acknowledge && l.NoAutoReply == "" && l.FromAddr != "" && !rec.Joined && !answered {
		text := strings.ReplaceAll(r.Cfg.ReceiptText, "{ticket_no}", rec.TicketNo)
		queued, err := r.Store.QueueReceipt(ctx, rec.TicketID, l.FromAddr, text)
		if err != nil {
			return OutcomeError, fmt.Errorf("receipt of %s: %w", rec.TicketNo, err)
		}
		if queued && r.Notify != nil {
			r.Notify()
		}
	}
	outcome := OutcomeTicket
	switch {
	case rec.Duplicate:
		outcome = OutcomeDuplicate
	case rec.Joined:
		outcome = OutcomeJoined
	}
	r.Log.Info("mail letter stored", "uid", uid, "ticket_no", rec.TicketNo, "outcome", outcome, "answers", target.TicketNo, "no_autoreply", l.NoAutoReply)
	return outcome, nil
}

// replyTarget finds the ticket a letter answers, if any, and whether the
// letter joins it: not when it ended longer than ThreadWindow ago (the letter
// then opens a new ticket naming it).
func (r *Receiver) replyTarget(ctx context.Context, l *Letter) (t ReplyTarget, join bool, err error) {
	ids := ReplyIDs(l)
	if len(ids) == 0 || l.FromAddr == "" {
		return ReplyTarget{}, false, nil
	}
	t, ok, err := r.Store.ReplyTicket(ctx, ids, l.FromAddr)
	if err != nil || !ok {
		return ReplyTarget{}, false, err
	}
	return t, t.EndedAt.IsZero() || time.Since(t.EndedAt) <= r.Cfg.ThreadWindow, nil
}

// ReplyIDs are the Message-IDs a letter refers to, nearest first: In-Reply-To,
// then References from the last (the letter answered) to the first (the
// start of the exchange); never the letter's own.
func ReplyIDs(l *Letter) []string {
	var out []string
	add := func(id string) {
		if id != "" && id != l.MessageID && !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	for _, id := range l.InReplyTo {
		add(id)
	}
	for i := len(l.References) - 1; i >= 0; i-- {
		add(l.References[i])
	}
	return out
}

// afterCommit flags or moves a letter whose ticket is committed. A refusal by
// the server is logged and ignored (the ticket exists; the letter stays); a
// broken connection is returned (the letter is handled again after
// reconnecting, which finds the ticket and repeats this step).
func (r *Receiver) afterCommit(c *imapclient.Client, caps imap.CapSet, uid imap.UID) error {
	set := imap.UIDSetNum(uid)
	var err error
	switch r.Cfg.After {
	case "seen":
		err = c.Store(set, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagSeen}}, nil).Close()
	case "move":
		if caps.Has(imap.CapMove) || caps.Has(imap.CapIMAP4rev2) {
			_, err = c.Move(set, r.Cfg.MoveTo).Wait()
			break
		}
		if _, err = c.Copy(set, r.Cfg.MoveTo).Wait(); err == nil {
			err = c.Store(set, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close()
			if err == nil && caps.Has(imap.CapUIDPlus) {
				err = c.UIDExpunge(set).Close()
			}
		}
	}
	if err != nil && isNo(err) {
		r.Log.Warn("mail after-processing refused", "action", r.Cfg.After, "uid", uid, "err", err)
		return nil
	}
	return err
}

func isNo(err error) bool {
	var ie *imap.Error
	return errors.As(err, &ie)
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func randomHolder() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s-%d-%04x", host, os.Getpid(), rand.Uint32()&0xffff)
}
