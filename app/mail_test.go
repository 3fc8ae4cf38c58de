package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
	gomail "github.com/emersion/go-message/mail"
	"github.com/emersion/go-smtp"

	"hotline/app"
	"hotline/configs"
	"hotline/normalize"
	"hotline/store/storetest"
	"hotline/ticket"
)

// smtpSink keeps the messages hotline sends.
type smtpSink struct {
	mu   sync.Mutex
	msgs [][]byte
}

type sinkSess struct{ s *smtpSink }

func (ss sinkSess) Reset()                               {}
func (ss sinkSess) Logout() error                        { return nil }
func (ss sinkSess) Mail(string, *smtp.MailOptions) error { return nil }
func (ss sinkSess) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (ss sinkSess) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	ss.s.mu.Lock()
	ss.s.msgs = append(ss.s.msgs, b)
	ss.s.mu.Unlock()
	return err
}

func (s *smtpSink) all() [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([][]byte(nil), s.msgs...)
}

func listen(t *testing.T) net.Listener {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

type mailEnv struct {
	base string
	a    *app.App
	sink *smtpSink
	imap string
}

// startMailApp runs the whole process (Serve) with an in-memory IMAP server
// and a local SMTP sink as the mayor's mailbox.
func startMailApp(t *testing.T, driver string) *mailEnv {
	mem := imapmemserver.New()
	user := imapmemserver.NewUser("szxx", "pw")
	user.Create("INBOX", nil)
	mem.AddUser(user)
	isrv := imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return mem.NewSession(), nil, nil
		},
		InsecureAuth: true, Caps: imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapIMAP4rev2: {}},
		Logger: slog.NewLogLogger(slog.NewTextHandler(io.Discard, nil), slog.LevelError),
	})
	iln := listen(t)
	go isrv.Serve(iln)
	t.Cleanup(func() { isrv.Close() })

	sink := &smtpSink{}
	ssrv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return sinkSess{sink}, nil }))
	ssrv.Domain = "sink.test"
	sln := listen(t)
	go ssrv.Serve(sln)
	t.Cleanup(func() { ssrv.Close() })

	o := storetest.Options(t, driver)
	cfg, err := configs.Load("")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Store.Driver, cfg.Store.DSN = o.Driver, o.DSN
	cfg.Admin.Password, cfg.Auth.BcryptCost = "admin-pass-123", 4
	cfg.HTTP.Addr, cfg.HTTP.PublicURL = "127.0.0.1:0", "https://12345.example.gov.cn"
	cfg.Outbox.PollInterval, cfg.Outbox.BackoffBase = 20*time.Millisecond, 10*time.Millisecond
	cfg.Website.AttachmentsDir = t.TempDir()
	cfg.Mailbox.IMAP.Addr, cfg.Mailbox.IMAP.Username, cfg.Mailbox.IMAP.Password = iln.Addr().String(), "szxx", "pw"
	cfg.Mailbox.IMAP.TLS, cfg.Mailbox.IMAP.PollInterval = "none", 50*time.Millisecond
	cfg.Mailbox.SMTP.Addr, cfg.Mailbox.SMTP.TLS, cfg.Mailbox.SMTP.From = sln.Addr().String(), "none", "szxx@dezhou.gov.example"
	a, err := app.New(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	addr := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx, func(s string) { addr <- s }) }()
	e := &mailEnv{base: "http://" + <-addr, a: a, sink: sink, imap: iln.Addr().String()}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
		a.Close()
	})
	return e
}

func (e *mailEnv) deliver(t *testing.T, raw []byte) {
	c, err := imapclient.DialInsecure(e.imap, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login("szxx", "pw").Wait(); err != nil {
		t.Fatal(err)
	}
	cmd := c.Append("INBOX", int64(len(raw)), nil)
	cmd.Write(raw)
	cmd.Close()
	if _, err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
}

func (e *mailEnv) status(t *testing.T, no, code string) (int, map[string]any) {
	resp, err := http.Get(e.base + "/api/v1/submissions/" + no + "?query_code=" + code)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

var receiptRE = regexp.MustCompile(`工单号：(\d{8}-\d+)，查询码：([A-Z0-9]{10})`)

func TestMayorMailboxEndToEnd(t *testing.T) {
	for _, driver := range storetest.Drivers() {
		t.Run(driver, func(t *testing.T) {
			e := startMailApp(t, driver)
			gbk, err := os.ReadFile("../channels/mail/testdata/gbk.eml")
			if err != nil {
				t.Fatal(err)
			}
			auto, _ := os.ReadFile("../channels/mail/testdata/autoreply.eml")
			e.deliver(t, auto)
			e.deliver(t, gbk)
			eventually(t, "the receipt is sent", func() bool { return len(e.sink.all()) == 1 })

			mr, err := gomail.CreateReader(bytes.NewReader(e.sink.all()[0]))
			if err != nil {
				t.Fatal(err)
			}
			irt, _ := mr.Header.MsgIDList("In-Reply-To")
			subj, _ := mr.Header.Subject()
			p, _ := mr.NextPart()
			body, _ := io.ReadAll(p.Body)
			m := receiptRE.FindStringSubmatch(string(body))
			if m == nil || len(irt) != 1 || irt[0] != "20261126091200.GBK001@example.cn" || subj != "Re: 反映路灯损坏问题" ||
				!strings.Contains(string(body), "https://12345.example.gov.cn/query") {
				t.Fatalf("receipt: irt=%v subject=%q body=%s", irt, subj, body)
			}
			no, code := m[1], m[2]
			tk, err := e.a.Store.GetTicket(context.Background(), no)
			if err != nil {
				t.Fatal(err)
			}
			if tk.Channel != normalize.MayorMailbox || tk.Title != "反映路灯损坏问题" || !strings.Contains(tk.Content, "张喆") ||
				tk.Citizen.Email != "zhangzhe@example.cn" {
				t.Fatalf("ticket %+v", tk)
			}
			for _, msg := range tk.Messages {
				if strings.Contains(msg.Text, code) {
					t.Fatal("query code stored in a message")
				}
			}
			if st, out := e.status(t, no, code); st != 200 || out["channel"] != "mayor_mailbox" {
				t.Fatalf("status %d %v", st, out)
			}
			if st, _ := e.status(t, no, "ABCDEFGHJK"); st != 404 {
				t.Fatalf("wrong code: %d", st)
			}

			// The out-of-office letter is a ticket too, but nothing answers it.
			list, _, err := e.a.Store.ListTickets(context.Background(), storeFilter(normalize.MayorMailbox))
			if err != nil || len(list) != 2 {
				t.Fatalf("tickets %d %v", len(list), err)
			}
			for _, tk := range list {
				full, _ := e.a.Store.GetTicket(context.Background(), tk.No)
				outs := 0
				for _, m := range full.Messages {
					if m.Direction == "out" {
						outs++
					}
				}
				if full.Title == "自动回复：您的来信已收到" && outs != 0 {
					t.Fatalf("auto-reply answered: %+v", full.Messages)
				}
			}

			// An agent's reply goes out by e-mail in the same thread.
			if _, err := e.a.Store.Reply(context.Background(), no, "admin", ticket.Reply{Kind: ticket.ReplyAgent, Text: "路灯已修复。"}); err != nil {
				t.Fatal(err)
			}
			e.a.Outbox.Notify()
			eventually(t, "the reply is sent", func() bool { return len(e.sink.all()) == 2 })
			mr, _ = gomail.CreateReader(bytes.NewReader(e.sink.all()[1]))
			irt, _ = mr.Header.MsgIDList("In-Reply-To")
			if len(irt) != 1 || irt[0] != "20261126091200.GBK001@example.cn" {
				t.Fatalf("reply not threaded: %v", irt)
			}
			if st, out := e.status(t, no, code); st != 200 || out["result"].(map[string]any)["text"] != "路灯已修复。" {
				t.Fatalf("status after reply %d %v", st, out)
			}
		})
	}
}

// TestMailReplyJoinsTicket: the citizen's answer to our receipt joins the
// ticket (no new ticket, no second receipt, the content unchanged); once the
// ticket has been closed for longer than intake.thread_window, an answer opens
// a new ticket whose audit trail names the old one. The receiver's metrics
// show on /metrics.
func TestMailReplyJoinsTicket(t *testing.T) {
	for _, driver := range storetest.Drivers() {
		t.Run(driver, func(t *testing.T) {
			e := startMailApp(t, driver)
			ctx := context.Background()
			gbk, _ := os.ReadFile("../channels/mail/testdata/gbk.eml")
			reply, _ := os.ReadFile("../channels/mail/testdata/reply.eml")
			e.deliver(t, gbk)
			eventually(t, "the receipt is sent", func() bool { return len(e.sink.all()) == 1 })
			mr, err := gomail.CreateReader(bytes.NewReader(e.sink.all()[0]))
			if err != nil {
				t.Fatal(err)
			}
			receiptID, _ := mr.Header.MessageID()
			p, _ := mr.NextPart()
			body, _ := io.ReadAll(p.Body)
			m := receiptRE.FindStringSubmatch(string(body))
			if m == nil || receiptID == "" {
				t.Fatalf("receipt %q %s", receiptID, body)
			}
			no := m[1]
			// reply.eml answers "our mail hotline.1.20261127000001@…": make it this receipt.
			answer := bytes.ReplaceAll(reply, []byte("hotline.1.20261127000001@dezhou.gov.example"), []byte(receiptID))
			e.deliver(t, answer)

			inbound := func(no string) []ticket.Message {
				tk, err := e.a.Store.GetTicket(ctx, no)
				if err != nil {
					t.Fatal(err)
				}
				var in []ticket.Message
				for _, m := range tk.Messages {
					if m.Direction == "in" {
						in = append(in, m)
					}
				}
				return in
			}
			eventually(t, "the answer joins the ticket", func() bool { return len(inbound(no)) == 2 })
			tk, _ := e.a.Store.GetTicket(ctx, no)
			if in := inbound(no); !strings.Contains(in[1].Text, "一共三盏") || strings.Contains(tk.Content, "一共三盏") {
				t.Fatalf("joined message %q, content %q", in[1].Text, tk.Content)
			}
			joined := false
			for _, ev := range tk.Events {
				joined = joined || (ev.Type == "message_joined" && ev.Note == "市民来信回复")
			}
			if !joined {
				t.Fatalf("events %+v", tk.Events)
			}
			if list, _, _ := e.a.Store.ListTickets(ctx, storeFilter(normalize.MayorMailbox)); len(list) != 1 {
				t.Fatalf("%d tickets", len(list))
			}

			// Closed three days ago (window 24h): the next answer is a new ticket.
			err = e.a.Store.DB().Exec(`UPDATE tickets SET status = ?, closed_at = ? WHERE no = ?`,
				"closed", time.Now().Add(-72*time.Hour).UTC(), no).Error
			if err != nil {
				t.Fatal(err)
			}
			late := bytes.Replace(answer, []byte("Message-ID: <"), []byte("Message-ID: <late."), 1)
			e.deliver(t, late)
			var list []ticket.Ticket
			eventually(t, "a new ticket", func() bool {
				list, _, _ = e.a.Store.ListTickets(ctx, storeFilter(normalize.MayorMailbox))
				return len(list) == 2
			})
			newNo := list[0].No
			if newNo == no {
				newNo = list[1].No
			}
			nt, _ := e.a.Store.GetTicket(ctx, newNo)
			named := false
			for _, ev := range nt.Events {
				named = named || (ev.Type == "mail_follow_up" && strings.Contains(ev.Note, no))
			}
			if !named || len(inbound(no)) != 2 {
				t.Fatalf("new ticket events %+v", nt.Events)
			}
			eventually(t, "the new ticket's receipt", func() bool { return len(e.sink.all()) == 2 })

			resp, err := http.Get(e.base + "/metrics")
			if err != nil {
				t.Fatal(err)
			}
			metrics, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			for _, want := range []string{
				`hotline_mail_letters_total{outcome="ticket"} 2`,
				`hotline_mail_letters_total{outcome="joined"} 1`,
				`hotline_mail_letters_total{outcome="error"} 0`,
				"hotline_mail_connected 1",
				`hotline_wechat_passive_replies_total{kind="reply"} 0`,
			} {
				if !strings.Contains(string(metrics), want) {
					t.Errorf("/metrics lacks %q", want)
				}
			}
		})
	}
}
