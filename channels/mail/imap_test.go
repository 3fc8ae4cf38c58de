package mail

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"

	"hotline/normalize"
	"hotline/ticket"
)

// memIntake is the store's dedup in miniature: one ticket per channel+key.
type memIntake struct {
	mu      sync.Mutex
	calls   int
	tickets map[string]ticket.Receipt
	envs    []normalize.Envelope
	joined  map[string][]normalize.Envelope // ticket no -> letters added to it
	fail    error
}

func (m *memIntake) IngestInto(_ context.Context, env normalize.Envelope, no string) (ticket.Receipt, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls++
	if m.fail != nil {
		return ticket.Receipt{}, m.fail
	}
	if r, ok := m.tickets[env.DedupKey]; ok {
		r.Duplicate, r.Joined = true, false
		return r, nil
	}
	var id int64
	fmt.Sscanf(no, "20261127-%06d", &id)
	if id < 1 || int(id) > len(m.envs) {
		return ticket.Receipt{}, ticket.ErrNotFound
	}
	if m.joined == nil {
		m.joined = map[string][]normalize.Envelope{}
	}
	m.joined[no] = append(m.joined[no], env)
	r := ticket.Receipt{TicketNo: no, TicketID: id, Joined: true}
	m.tickets[env.DedupKey] = r
	return r, nil
}

func (m *memIntake) joinedTo(no string) []normalize.Envelope {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]normalize.Envelope(nil), m.joined[no]...)
}

func (m *memIntake) IngestEnvelope(_ context.Context, env normalize.Envelope) (ticket.Receipt, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls++
	if m.fail != nil {
		return ticket.Receipt{}, m.fail
	}
	if err := env.Validate(0); err != nil {
		return ticket.Receipt{}, err
	}
	if m.tickets == nil {
		m.tickets = map[string]ticket.Receipt{}
	}
	if r, ok := m.tickets[env.DedupKey]; ok {
		r.Duplicate, r.Joined = true, false // as the store's findInbound reports it
		return r, nil
	}
	m.envs = append(m.envs, env)
	r := ticket.Receipt{TicketNo: fmt.Sprintf("20261127-%06d", len(m.envs)), TicketID: int64(len(m.envs))}
	m.tickets[env.DedupKey] = r
	return r, nil
}

func (m *memIntake) snapshot() (calls int, envs []normalize.Envelope) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.calls, append([]normalize.Envelope(nil), m.envs...)
}

func (m *memIntake) setFail(err error) {
	m.mu.Lock()
	m.fail = err
	m.mu.Unlock()
}

type memStore struct {
	mu       sync.Mutex
	validity map[string]uint32
	last     map[string]uint32
	threads  map[int64]Thread
	receipts map[int64]string  // ticket -> recipient
	ids      map[string]memRef // Message-ID -> ticket and the citizen's address
	ended    map[int64]time.Time
	notes    map[int64][]string // ticket -> old tickets it follows up
}

type memRef struct {
	ticketID int64
	addr     string
}

func newMemStore() *memStore {
	return &memStore{validity: map[string]uint32{}, last: map[string]uint32{}, threads: map[int64]Thread{}, receipts: map[int64]string{},
		ids: map[string]memRef{}, ended: map[int64]time.Time{}, notes: map[int64][]string{}}
}

func (s *memStore) ReplyTicket(_ context.Context, ids []string, from string) (ReplyTarget, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range ids {
		if ref, ok := s.ids[id]; ok && ref.addr == from {
			return ReplyTarget{TicketID: ref.ticketID, TicketNo: fmt.Sprintf("20261127-%06d", ref.ticketID), EndedAt: s.ended[ref.ticketID]}, true, nil
		}
	}
	return ReplyTarget{}, false, nil
}

func (s *memStore) NoteFollowUp(_ context.Context, id int64, oldNo string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !slices.Contains(s.notes[id], oldNo) {
		s.notes[id] = append(s.notes[id], oldNo)
	}
	return nil
}

// sent records one of our mails, as the SMTP sender's SentLog does.
func (s *memStore) sent(id string, ticketID int64, to string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ids[id] = memRef{ticketID, to}
}

func (s *memStore) MailCheckpoint(_ context.Context, mb string) (uint32, uint32, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.validity[mb], s.last[mb], nil
}

func (s *memStore) SaveMailCheckpoint(_ context.Context, mb string, v, u uint32) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.validity[mb], s.last[mb] = v, u
	return nil
}

func (s *memStore) SaveThread(_ context.Context, id int64, t Thread) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.threads[id]; !ok {
		s.threads[id] = t
	}
	if _, ok := s.ids[t.MessageID]; !ok && t.MessageID != "" {
		s.ids[t.MessageID] = memRef{id, t.From}
	}
	return nil
}

func (s *memStore) QueueReceipt(_ context.Context, id int64, to, text string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.receipts[id]; ok {
		return false, nil
	}
	s.receipts[id] = to
	return true, nil
}

func (s *memStore) checkpoint(mb string) (uint32, uint32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.validity[mb], s.last[mb]
}

const (
	testUser = "szxx"
	testPass = "secret"
)

type memServer struct {
	addr string
	user *imapmemserver.User
	srv  *imapserver.Server
}

func startServer(t *testing.T, caps imap.CapSet) *memServer {
	t.Helper()
	mem := imapmemserver.New()
	user := imapmemserver.NewUser(testUser, testPass)
	if err := user.Create("INBOX", nil); err != nil {
		t.Fatal(err)
	}
	mem.AddUser(user)
	srv := imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return pollingIdle{mem.NewSession().(imapserver.SessionIMAP4rev2)}, nil, nil
		},
		InsecureAuth: true,
		Caps:         caps,
		Logger:       nopLogger{},
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return &memServer{addr: ln.Addr().String(), user: user, srv: srv}
}

// pollingIdle works around a race of imapmemserver: an update queued between
// the IDLE continuation and the tracker's subscription is only sent with the
// next one. Real servers (Dovecot) send pending updates when IDLE starts; here
// the server side of IDLE checks for updates every few milliseconds, while the
// client side is the real IDLE.
type pollingIdle struct{ imapserver.SessionIMAP4rev2 }

func (s pollingIdle) Idle(w *imapserver.UpdateWriter, stop <-chan struct{}) error {
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for {
		if err := s.Poll(w, true); err != nil {
			return err
		}
		select {
		case <-stop:
			return nil
		case <-t.C:
		}
	}
}

type nopLogger struct{}

func (nopLogger) Printf(string, ...any) {}

var rev2 = imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapIMAP4rev2: {}}

// client opens a helper connection (the "citizen's mail server" side).
func (s *memServer) client(t *testing.T) *imapclient.Client {
	t.Helper()
	c, err := imapclient.DialInsecure(s.addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Login(testUser, testPass).Wait(); err != nil {
		t.Fatal(err)
	}
	return c
}

func (s *memServer) deliver(t *testing.T, folder string, raws ...[]byte) {
	t.Helper()
	c := s.client(t)
	defer c.Close()
	for _, raw := range raws {
		cmd := c.Append(folder, int64(len(raw)), nil)
		cmd.Write(raw)
		cmd.Close()
		if _, err := cmd.Wait(); err != nil {
			t.Fatal(err)
		}
	}
}

// flags returns the flags of every message of folder by UID.
func (s *memServer) flags(t *testing.T, folder string) map[imap.UID][]imap.Flag {
	t.Helper()
	c := s.client(t)
	defer c.Close()
	sel, err := c.Select(folder, &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil {
		t.Fatal(err)
	}
	out := map[imap.UID][]imap.Flag{}
	if sel.NumMessages == 0 {
		return out
	}
	var all imap.SeqSet
	all.AddRange(1, 0)
	msgs, err := c.Fetch(all, &imap.FetchOptions{UID: true, Flags: true}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		out[m.UID] = m.Flags
	}
	return out
}

type running struct {
	r      *Receiver
	cancel context.CancelFunc
	done   chan struct{}
	uids   chan uint32
	idles  chan struct{}
}

func (rn *running) stop() {
	rn.cancel()
	<-rn.done
}

// wait blocks until n more letters were checkpointed.
func (rn *running) wait(t *testing.T, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		select {
		case <-rn.uids:
		case <-time.After(20 * time.Second): // a hang guard, not a timing assertion
			t.Fatalf("letter %d of %d never processed", i+1, n)
		}
	}
}

func start(t *testing.T, srv *memServer, in Ingester, st Store, lease Lease, mod func(*Config), opts ...func(*Receiver)) *running {
	cfg := Config{Addr: srv.addr, Username: testUser, Password: testPass, Folder: "INBOX", TLS: "none",
		PollInterval: 100 * time.Millisecond, After: "seen", Acknowledge: true, MaxChars: 5000,
		BackoffMin: 5 * time.Millisecond, BackoffMax: 50 * time.Millisecond, LeaseTTL: 300 * time.Millisecond}
	if mod != nil {
		mod(&cfg)
	}
	return run(t, cfg, in, st, lease, opts...)
}

// run starts a receiver with cfg; it is stopped when the test ends.
func run(t *testing.T, cfg Config, in Ingester, st Store, lease Lease, opts ...func(*Receiver)) *running {
	rn := &running{done: make(chan struct{}), uids: make(chan uint32, 100), idles: make(chan struct{}, 100)}
	rn.r = &Receiver{Cfg: cfg, Intake: in, Store: st, Lease: lease, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	for _, o := range opts {
		o(rn.r)
	}
	rn.r.onDone = func(uid uint32) { rn.uids <- uid }
	rn.r.onIdle = func() { rn.idles <- struct{}{} }
	ctx, cancel := context.WithCancel(context.Background())
	rn.cancel = cancel
	go func() {
		defer close(rn.done)
		rn.r.Run(ctx)
	}()
	t.Cleanup(rn.stop2)
	return rn
}

func (rn *running) stop2() {
	rn.cancel()
	<-rn.done
}

func hasFlag(fs []imap.Flag, f imap.Flag) bool {
	for _, x := range fs {
		if strings.EqualFold(string(x), string(f)) {
			return true
		}
	}
	return false
}

func withID(raw []byte, id string) []byte {
	return []byte(strings.Replace(string(raw), "Message-ID: <", "Message-ID: <"+id, 1))
}

func TestReceiverIdleRestartAndUIDValidity(t *testing.T) {
	srv := startServer(t, rev2)
	srv.deliver(t, "INBOX", load(t, "gbk.eml"), load(t, "autoreply.eml"))
	in, st := &memIntake{}, newMemStore()
	// No polling: only IDLE can bring the next letter in.
	idleOnly := func(c *Config) { c.PollInterval = time.Hour }
	rn := start(t, srv, in, st, nil, idleOnly)
	rn.wait(t, 2)

	// New mail while the receiver idles.
	select {
	case <-rn.idles:
	case <-time.After(20 * time.Second):
		t.Fatal("receiver never idled")
	}
	srv.deliver(t, "INBOX", load(t, "gb18030.eml"))
	rn.wait(t, 1)
	calls, envs := in.snapshot()
	if calls != 3 || len(envs) != 3 {
		t.Fatalf("calls=%d tickets=%d", calls, len(envs))
	}
	if envs[2].Title != "生僻字𠀀无法录入" || !strings.Contains(envs[2].Text, "𪚥") {
		t.Fatalf("gb18030 letter: %q %q", envs[2].Title, envs[2].Text)
	}
	for uid, fl := range srv.flags(t, "INBOX") {
		if !hasFlag(fl, imap.FlagSeen) {
			t.Fatalf("uid %d not flagged seen: %v", uid, fl)
		}
	}
	// the auto-reply got no receipt; the two others did
	st.mu.Lock()
	if len(st.receipts) != 2 || st.receipts[2] != "" || st.receipts[1] != "zhangzhe@example.cn" {
		t.Fatalf("receipts %v", st.receipts)
	}
	if th := st.threads[1]; th.MessageID != "20261126091200.GBK001@example.cn" || th.Subject != "反映路灯损坏问题" || th.References != "<20261126091200.GBK001@example.cn>" {
		t.Fatalf("thread %+v", th)
	}
	st.mu.Unlock()
	v1, last := st.checkpoint(rn.r.Name())
	if v1 == 0 || last != 3 {
		t.Fatalf("checkpoint %d/%d", v1, last)
	}

	// Restart: only the letter that came while it was down is read.
	rn.stop()
	srv.deliver(t, "INBOX", load(t, "utf8-qp.eml"))
	rn = start(t, srv, in, st, nil, nil)
	rn.wait(t, 1)
	if calls, envs = in.snapshot(); calls != 4 || len(envs) != 4 {
		t.Fatalf("after restart: calls=%d tickets=%d", calls, len(envs))
	}

	// UIDVALIDITY change: the folder is re-created with the same letters and
	// one new; everything is read again, nothing becomes a ticket twice.
	rn.stop()
	if err := srv.user.Delete("INBOX"); err != nil {
		t.Fatal(err)
	}
	if err := srv.user.Create("INBOX", nil); err != nil {
		t.Fatal(err)
	}
	srv.deliver(t, "INBOX", load(t, "gbk.eml"), load(t, "autoreply.eml"), load(t, "gb18030.eml"), load(t, "utf8-qp.eml"), load(t, "html-only.eml"))
	rn = start(t, srv, in, st, nil, nil)
	rn.wait(t, 5)
	calls, envs = in.snapshot()
	if calls != 9 || len(envs) != 5 {
		t.Fatalf("after UIDVALIDITY change: calls=%d tickets=%d", calls, len(envs))
	}
	v2, last := st.checkpoint(rn.r.Name())
	if v2 == v1 || last != 5 {
		t.Fatalf("checkpoint %d/%d (old validity %d)", v2, last, v1)
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if len(st.receipts) != 4 {
		t.Fatalf("receipts %v", st.receipts)
	}
}

func TestReceiverNothingFlaggedBeforeCommit(t *testing.T) {
	srv := startServer(t, rev2)
	srv.deliver(t, "INBOX", load(t, "gbk.eml"))
	in, st := &memIntake{}, newMemStore()
	in.setFail(errors.New("database down"))
	rn := start(t, srv, in, st, nil, nil)
	// wait until the receiver tried (and failed) a few times
	for {
		calls, _ := in.snapshot()
		if calls >= 3 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	for uid, fl := range srv.flags(t, "INBOX") {
		if hasFlag(fl, imap.FlagSeen) {
			t.Fatalf("uid %d flagged before its ticket was committed", uid)
		}
	}
	if _, last := st.checkpoint(rn.r.Name()); last != 0 {
		t.Fatalf("checkpoint advanced to %d", last)
	}
	in.setFail(nil)
	rn.wait(t, 1)
	if _, envs := in.snapshot(); len(envs) != 1 {
		t.Fatalf("%d tickets", len(envs))
	}
	if fl := srv.flags(t, "INBOX"); !hasFlag(fl[1], imap.FlagSeen) {
		t.Fatalf("not flagged after commit: %v", fl)
	}
}

func TestReceiverMoveAndPollWithoutIdle(t *testing.T) {
	// IMAP4rev1 without IDLE or MOVE: polling, then COPY + \Deleted + EXPUNGE.
	srv := startServer(t, imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapUIDPlus: {}})
	srv.deliver(t, "INBOX", load(t, "attachment.eml"))
	in, st := &memIntake{}, newMemStore()
	rn := start(t, srv, in, st, nil, func(c *Config) {
		c.After, c.MoveTo, c.PollInterval = "move", "已处理", 20*time.Millisecond
	})
	rn.wait(t, 1)
	srv.deliver(t, "INBOX", load(t, "bounce.eml"))
	rn.wait(t, 1)
	if n := len(srv.flags(t, "INBOX")); n != 0 {
		t.Fatalf("%d letters left in INBOX", n)
	}
	if n := len(srv.flags(t, "已处理")); n != 2 {
		t.Fatalf("%d letters in 已处理", n)
	}
	_, envs := in.snapshot()
	if len(envs) != 2 || len(envs[0].Attachments) != 2 || envs[1].Meta["no_autoreply"] != "1" {
		t.Fatalf("envs %+v", envs)
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if len(st.receipts) != 1 {
		t.Fatalf("a bounce was acknowledged: %v", st.receipts)
	}
}

func TestReceiverMoveWithMoveCap(t *testing.T) {
	srv := startServer(t, rev2)
	srv.deliver(t, "INBOX", load(t, "html-only.eml"), load(t, "no-message-id.eml"))
	in, st := &memIntake{}, newMemStore()
	rn := start(t, srv, in, st, nil, func(c *Config) { c.After, c.MoveTo = "move", "Done" })
	rn.wait(t, 2)
	if a, b := len(srv.flags(t, "INBOX")), len(srv.flags(t, "Done")); a != 0 || b != 2 {
		t.Fatalf("INBOX %d, Done %d", a, b)
	}
	_, envs := in.snapshot()
	v, _ := st.checkpoint(rn.r.Name())
	if envs[1].DedupKey != fmt.Sprintf("uid:%d:2", v) {
		t.Fatalf("key %q", envs[1].DedupKey)
	}
}

// memLease mimics the database lease.
type memLease struct {
	mu     sync.Mutex
	holder map[string]string
	until  map[string]time.Time
}

func (l *memLease) AcquireLease(_ context.Context, name, holder string, ttl time.Duration) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.holder == nil {
		l.holder, l.until = map[string]string{}, map[string]time.Time{}
	}
	if h := l.holder[name]; h != "" && h != holder && time.Now().Before(l.until[name]) {
		return false, nil
	}
	l.holder[name], l.until[name] = holder, time.Now().Add(ttl)
	return true, nil
}

func (l *memLease) ReleaseLease(_ context.Context, name, holder string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.holder[name] == holder {
		delete(l.holder, name)
	}
	return nil
}

func TestOnlyLeaseHolderFollows(t *testing.T) {
	srv := startServer(t, rev2)
	in, st, lease := &memIntake{}, newMemStore(), &memLease{}
	a := start(t, srv, in, st, lease, func(c *Config) { c.Holder, c.LeaseTTL = "a", 3*time.Second })
	srv.deliver(t, "INBOX", load(t, "gbk.eml"))
	a.wait(t, 1)
	b := start(t, srv, in, st, lease, func(c *Config) { c.Holder, c.LeaseTTL = "b", 3*time.Second })
	srv.deliver(t, "INBOX", load(t, "gb18030.eml"))
	a.wait(t, 1)
	a.stop()
	// b takes over once a has released the lease
	srv.deliver(t, "INBOX", load(t, "utf8-qp.eml"))
	b.wait(t, 1)
	calls, envs := in.snapshot()
	if calls != 3 || len(envs) != 3 {
		t.Fatalf("calls=%d tickets=%d", calls, len(envs))
	}
	select {
	case uid := <-b.uids:
		t.Fatalf("b processed extra uid %d", uid)
	default:
	}
}

func TestParseNeverPanics(t *testing.T) {
	var all [][]byte
	for _, f := range []string{"gbk.eml", "gb18030.eml", "utf8-qp.eml", "html-only.eml", "attachment.eml", "autoreply.eml", "bounce.eml", "no-message-id.eml", "reply.eml"} {
		all = append(all, load(t, f))
	}
	sort.Slice(all, func(i, j int) bool { return len(all[i]) < len(all[j]) })
	for _, raw := range all {
		for n := 0; n < len(raw); n += 7 {
			Parse(bytes.Clone(raw[:n]))
		}
	}
}
