package mail

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
)

// memObserver counts what the receiver reports.
type memObserver struct {
	mu        sync.Mutex
	outcomes  map[string]int
	connected []bool
}

func (o *memObserver) MailLetter(outcome string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.outcomes == nil {
		o.outcomes = map[string]int{}
	}
	o.outcomes[outcome]++
}

func (o *memObserver) MailConnected(up bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.connected = append(o.connected, up)
}

func (o *memObserver) snapshot() (map[string]int, []bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := map[string]int{}
	for k, v := range o.outcomes {
		out[k] = v
	}
	return out, append([]bool(nil), o.connected...)
}

const (
	ourReceiptID = "hotline.1.20261127000001@dezhou.gov.example"
	firstLetter  = "20261126091200.GBK001@example.cn"
)

// TestReplyJoinsItsTicket: a citizen's answer (In-Reply-To / References naming
// our mail or the citizen's own letter) joins that ticket without a receipt;
// the same answer from another address, or to a ticket ended longer than the
// thread window ago, opens a new ticket (the latter naming the old one).
func TestReplyJoinsItsTicket(t *testing.T) {
	srv := startServer(t, rev2)
	in, st, obs := &memIntake{}, newMemStore(), &memObserver{}
	rn := start(t, srv, in, st, nil, func(c *Config) { c.ThreadWindow = 24 * time.Hour },
		func(r *Receiver) { r.Observe = obs })

	srv.deliver(t, "INBOX", load(t, "gbk.eml"))
	rn.wait(t, 1)
	const first = "20261127-000001"
	// The receipt went out (the SMTP sender records its Message-ID).
	st.sent(ourReceiptID, 1, "zhangzhe@example.cn")

	// 1. The answer to our receipt (reply.eml: In-Reply-To our mail).
	reply := load(t, "reply.eml")
	srv.deliver(t, "INBOX", reply)
	rn.wait(t, 1)
	joined := in.joinedTo(first)
	if _, envs := in.snapshot(); len(envs) != 1 || len(joined) != 1 || !strings.Contains(joined[0].Text, "一共三盏") {
		t.Fatalf("reply not joined: tickets=%d joined=%+v", len(envs), joined)
	}

	// 2. An answer that names only the citizen's first letter.
	own := strings.Replace(string(withID(reply, "own.")), "In-Reply-To: <"+ourReceiptID+">", "In-Reply-To: <"+firstLetter+">", 1)
	own = strings.Replace(own, "References: <"+firstLetter+">\r\n <"+ourReceiptID+">\r\n", "", 1)
	if strings.Contains(own, ourReceiptID) {
		t.Fatal("fixture edit failed")
	}
	srv.deliver(t, "INBOX", []byte(own))
	rn.wait(t, 1)
	if n := len(in.joinedTo(first)); n != 2 {
		t.Fatalf("answer to the citizen's own letter: %d joined", n)
	}

	// 3. The same references from another address: a ticket of its own.
	spoof := strings.Replace(string(withID(reply, "spoof.")), "<ZhangZhe@Example.cn>", "<mallory@evil.example>", 1)
	srv.deliver(t, "INBOX", []byte(spoof))
	rn.wait(t, 1)
	if _, envs := in.snapshot(); len(envs) != 2 || envs[1].Sender.Email != "mallory@evil.example" {
		t.Fatalf("another sender's letter joined a ticket: %d tickets", len(envs))
	}

	// 4. The ticket ended two days ago (window 24h): a new ticket naming it.
	st.mu.Lock()
	st.ended[1] = time.Now().Add(-48 * time.Hour)
	st.mu.Unlock()
	srv.deliver(t, "INBOX", withID(reply, "late."))
	rn.wait(t, 1)
	_, envs := in.snapshot()
	st.mu.Lock()
	notes := st.notes[3]
	receipts := len(st.receipts)
	st.mu.Unlock()
	if len(envs) != 3 || len(in.joinedTo(first)) != 2 || len(notes) != 1 || notes[0] != first {
		t.Fatalf("answer to an ended ticket: tickets=%d notes=%v", len(envs), notes)
	}
	// Receipts: the first letter, the other sender's, the new ticket; never an answer that joined.
	if receipts != 3 {
		t.Fatalf("receipts %d", receipts)
	}

	// 5. Ended an hour ago: still within the window, it joins.
	st.mu.Lock()
	st.ended[1] = time.Now().Add(-time.Hour)
	st.mu.Unlock()
	srv.deliver(t, "INBOX", withID(reply, "soon."))
	rn.wait(t, 1)
	if n := len(in.joinedTo(first)); n != 3 {
		t.Fatalf("answer within the window: %d joined", n)
	}
	for uid, fl := range srv.flags(t, "INBOX") {
		if !hasFlag(fl, imap.FlagSeen) {
			t.Fatalf("uid %d not flagged seen", uid)
		}
	}

	// 6. A rescan changes nothing: every letter is a duplicate. The ticket has
	// ended meanwhile: the answers it holds get neither a receipt nor a note.
	// (Its first letter is gone from the folder and its receipt forgotten, as
	// for a web form's ticket answered by e-mail.)
	rn.stop()
	c := srv.client(t)
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if err := c.Store(imap.UIDSetNum(1), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Expunge().Close(); err != nil {
		t.Fatal(err)
	}
	c.Close()
	st.mu.Lock()
	st.validity, st.last = map[string]uint32{}, map[string]uint32{}
	st.ended[1] = time.Now().Add(-72 * time.Hour)
	delete(st.receipts, 1)
	st.mu.Unlock()
	rn = start(t, srv, in, st, nil, func(c *Config) { c.ThreadWindow = 24 * time.Hour },
		func(r *Receiver) { r.Observe = obs })
	rn.wait(t, 5)
	rn.stop()
	if _, envs := in.snapshot(); len(envs) != 3 || len(in.joinedTo(first)) != 3 {
		t.Fatalf("rescan: tickets=%d joined=%d", len(envs), len(in.joinedTo(first)))
	}
	st.mu.Lock()
	if len(st.receipts) != 2 || st.receipts[1] != "" || len(st.notes[1]) != 0 || len(st.notes[3]) != 1 {
		t.Fatalf("after rescan: receipts %v notes %v", st.receipts, st.notes)
	}
	st.mu.Unlock()
	outcomes, conn := obs.snapshot()
	if outcomes[OutcomeTicket] != 3 || outcomes[OutcomeJoined] != 3 || outcomes[OutcomeDuplicate] != 5 || len(outcomes) != 3 {
		t.Fatalf("outcomes %v", outcomes)
	}
	if len(conn) < 4 || !conn[0] || conn[len(conn)-1] {
		t.Fatalf("connected %v", conn)
	}
}
