package mail

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	gomail "github.com/emersion/go-message/mail"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"hotline/ticket"
)

// sink is a small local SMTP server that keeps what it is given.
type sink struct {
	mu      sync.Mutex
	msgs    []sunk
	rcptErr error
	addr    string
}

type sunk struct {
	From, To, User string
	Data           []byte
}

type sinkSession struct {
	s    *sink
	cur  sunk
	user string
}

func (ss *sinkSession) AuthMechanisms() []string { return []string{sasl.Plain} }
func (ss *sinkSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != "mailer" || pass != "pw" {
			return errors.New("bad credentials")
		}
		ss.user = user
		return nil
	}), nil
}
func (ss *sinkSession) Reset()        { ss.cur = sunk{} }
func (ss *sinkSession) Logout() error { return nil }
func (ss *sinkSession) Mail(from string, _ *smtp.MailOptions) error {
	ss.cur.From = from
	return nil
}
func (ss *sinkSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.s.mu.Lock()
	err := ss.s.rcptErr
	ss.s.mu.Unlock()
	if err != nil {
		return err
	}
	ss.cur.To = to
	return nil
}
func (ss *sinkSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	ss.cur.Data, ss.cur.User = b, ss.user
	ss.s.mu.Lock()
	ss.s.msgs = append(ss.s.msgs, ss.cur)
	ss.s.mu.Unlock()
	return nil
}

func startSink(t *testing.T) *sink {
	s := &sink{}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &sinkSession{s: s}, nil }))
	srv.Domain, srv.AllowInsecureAuth = "sink.test", true
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.addr = ln.Addr().String()
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return s
}

type fakeThreads map[string]Thread

func (f fakeThreads) MailThread(_ context.Context, no string) (Thread, bool, error) {
	t, ok := f[no]
	return t, ok, nil
}

type fakeCodes struct{ issued []string }

func (f *fakeCodes) IssueQueryCode(_ context.Context, no string) (string, error) {
	f.issued = append(f.issued, no)
	return "ABCDEFGHJK", nil
}

func newSender(s *sink, threads fakeThreads, codes CodeIssuer) *Sender {
	return &Sender{Cfg: SMTPConfig{Addr: s.addr, Username: "mailer", Password: "pw", From: "szxx@dezhou.gov.example", FromName: "德州市市长信箱", TLS: "none"},
		Threads: threads, Codes: codes, Now: func() time.Time { return time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC) }}
}

func readMail(t *testing.T, raw []byte) (gomail.Header, string) {
	t.Helper()
	mr, err := gomail.CreateReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	p, err := mr.NextPart()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(p.Body)
	return mr.Header, string(b)
}

func TestSendReceiptThreaded(t *testing.T) {
	s := startSink(t)
	codes := &fakeCodes{}
	snd := newSender(s, fakeThreads{"20261127-000001": {MessageID: "20261126091200.GBK001@example.cn", References: "<root@example.cn> <20261126091200.GBK001@example.cn>", Subject: "反映路灯损坏问题"}}, codes)
	text := strings.ReplaceAll(DefaultReceiptText, "{ticket_no}", "20261127-000001")
	err := snd.Send(context.Background(), ticket.Outgoing{ID: 17, Via: ticket.ViaEmail, To: "ZhangZhe@example.cn", Text: text, Kind: "receipt", TicketNo: "20261127-000001"})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.msgs) != 1 || s.msgs[0].To != "ZhangZhe@example.cn" || s.msgs[0].From != "szxx@dezhou.gov.example" || s.msgs[0].User != "mailer" {
		t.Fatalf("envelope %+v", s.msgs)
	}
	h, body := readMail(t, s.msgs[0].Data)
	subj, _ := h.Subject()
	irt, _ := h.MsgIDList("In-Reply-To")
	refs, _ := h.MsgIDList("References")
	mid, _ := h.MessageID()
	if subj != "Re: 反映路灯损坏问题" || strings.Join(irt, ",") != "20261126091200.GBK001@example.cn" ||
		strings.Join(refs, ",") != "root@example.cn,20261126091200.GBK001@example.cn" || mid != "hotline.17.20261127000001@dezhou.gov.example" {
		t.Fatalf("subject=%q irt=%v refs=%v mid=%q", subj, irt, refs, mid)
	}
	if h.Get("Auto-Submitted") != "auto-replied" {
		t.Fatal("receipt not marked auto-replied")
	}
	if !strings.Contains(body, "工单号：20261127-000001，查询码：ABCDEFGHJK。") || strings.Contains(body, "{query_code}") {
		t.Fatalf("body %q", body)
	}
	if len(codes.issued) != 1 || codes.issued[0] != "20261127-000001" {
		t.Fatalf("codes %v", codes.issued)
	}
	// Our own receipt, if it came back to the mailbox, is never answered.
	l, err := Parse(s.msgs[0].Data)
	if err != nil || l.NoAutoReply == "" {
		t.Fatalf("own receipt would be answered: %v %q", err, l.NoAutoReply)
	}
}

func TestSendAgentReplyUnthreaded(t *testing.T) {
	s := startSink(t)
	snd := newSender(s, fakeThreads{}, nil)
	err := snd.Send(context.Background(), ticket.Outgoing{ID: 5, To: "w@example.com", Text: "您好，路灯已修复。\n谢谢。", Kind: ticket.ReplyAgent, TicketNo: "20261127-000002"})
	if err != nil {
		t.Fatal(err)
	}
	h, body := readMail(t, s.msgs[0].Data)
	subj, _ := h.Subject()
	if subj != "关于您的来信的答复（工单号 20261127-000002）" || h.Get("In-Reply-To") != "" || h.Get("Auto-Submitted") != "" {
		t.Fatalf("headers %v", h.Header)
	}
	if body != "您好，路灯已修复。\r\n谢谢。\r\n" {
		t.Fatalf("body %q", body)
	}
}

func TestSendErrors(t *testing.T) {
	s := startSink(t)
	snd := newSender(s, fakeThreads{}, nil)
	ctx := context.Background()
	m := ticket.Outgoing{ID: 1, To: "a@example.com", Text: "x", Kind: ticket.ReplyAgent, TicketNo: "n"}
	s.rcptErr = &smtp.SMTPError{Code: 550, Message: "no such user"}
	if err := snd.Send(ctx, m); !errors.Is(err, ticket.ErrPermanent) {
		t.Fatalf("550: %v", err)
	}
	s.rcptErr = &smtp.SMTPError{Code: 451, Message: "try later"}
	if err := snd.Send(ctx, m); err == nil || errors.Is(err, ticket.ErrPermanent) {
		t.Fatalf("451: %v", err)
	}
	s.rcptErr = nil
	if err := snd.Send(ctx, ticket.Outgoing{To: "not an address", Text: "x"}); !errors.Is(err, ticket.ErrPermanent) {
		t.Fatalf("bad address: %v", err)
	}
	if err := snd.Send(ctx, ticket.Outgoing{To: "a@example.com", Text: "code {query_code}"}); !errors.Is(err, ticket.ErrPermanent) {
		t.Fatalf("placeholder without issuer: %v", err)
	}
	snd.Cfg.Password = "wrong"
	if err := snd.Send(ctx, m); err == nil || errors.Is(err, ticket.ErrPermanent) {
		t.Fatalf("auth failure must be retried: %v", err)
	}
	snd.Cfg.Addr = "127.0.0.1:1"
	if err := snd.Send(ctx, m); err == nil || errors.Is(err, ticket.ErrPermanent) {
		t.Fatalf("connection refused must be retried: %v", err)
	}
}

type fakeSent struct {
	recs []string // "ticket messageID to"
	err  error
}

func (f *fakeSent) RecordSent(_ context.Context, no, id, to string) error {
	if f.err != nil {
		return f.err
	}
	f.recs = append(f.recs, no+" "+id+" "+to)
	return nil
}

// TestSendRecordsMessageID: the Message-ID of every mail is recorded with its
// ticket and recipient before it goes out; when recording fails nothing is
// sent (the outbox retries), unless the ticket is unknown.
func TestSendRecordsMessageID(t *testing.T) {
	s := startSink(t)
	snd := newSender(s, fakeThreads{}, nil)
	sent := &fakeSent{}
	snd.Sent = sent
	ctx := context.Background()
	m := ticket.Outgoing{ID: 9, To: "Citizen <w@example.com>", Text: "答复", Kind: ticket.ReplyAgent, TicketNo: "20261127-000002"}
	if err := snd.Send(ctx, m); err != nil {
		t.Fatal(err)
	}
	h, _ := readMail(t, s.msgs[0].Data)
	mid, _ := h.MessageID()
	if len(sent.recs) != 1 || sent.recs[0] != "20261127-000002 "+mid+" w@example.com" || mid != snd.MessageID(m) {
		t.Fatalf("recorded %v (message-id %q)", sent.recs, mid)
	}
	sent.err = errors.New("database down")
	if err := snd.Send(ctx, m); err == nil || errors.Is(err, ticket.ErrPermanent) || len(s.msgs) != 1 {
		t.Fatalf("unrecorded mail: err=%v sent=%d", err, len(s.msgs))
	}
	sent.err = ticket.ErrNotFound
	if err := snd.Send(ctx, m); err != nil || len(s.msgs) != 2 {
		t.Fatalf("unknown ticket: err=%v sent=%d", err, len(s.msgs))
	}
}
