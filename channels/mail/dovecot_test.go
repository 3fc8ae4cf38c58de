package mail

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// Integration tests against a real IMAP server (Debian's Dovecot, set up by
// .ci/dovecot.sh):
//
//	eval "$(bash .ci/dovecot.sh start)"
//	go test ./channels/mail/ -run Dovecot -v
//
// HOTLINE_TEST_IMAP_ADDR (host:port, plain IMAP), HOTLINE_TEST_IMAP_USER and
// HOTLINE_TEST_IMAP_PASSWORD select the account; HOTLINE_TEST_IMAP_RESTART,
// if set, is a shell command that restarts the server mid-run.

type dovecotAccount struct{ addr, user, pass, restart string }

func dovecotEnv(t *testing.T) dovecotAccount {
	a := dovecotAccount{os.Getenv("HOTLINE_TEST_IMAP_ADDR"), os.Getenv("HOTLINE_TEST_IMAP_USER"),
		os.Getenv("HOTLINE_TEST_IMAP_PASSWORD"), os.Getenv("HOTLINE_TEST_IMAP_RESTART")}
	if a.addr == "" {
		t.Skip("HOTLINE_TEST_IMAP_ADDR unset: no real IMAP server to test against (see .ci/dovecot.sh)")
	}
	return a
}

func (a dovecotAccount) client(t *testing.T) *imapclient.Client {
	t.Helper()
	c, err := imapclient.DialInsecure(a.addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Login(a.user, a.pass).Wait(); err != nil {
		t.Fatal(err)
	}
	return c
}

func (a dovecotAccount) deliver(t *testing.T, folder string, raws ...[]byte) {
	t.Helper()
	c := a.client(t)
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

func TestDovecotIdleRestartAndUIDValidity(t *testing.T) {
	acc := dovecotEnv(t)
	b := make([]byte, 4)
	rand.Read(b)
	folder := "hotline-test-" + hex.EncodeToString(b)
	c := acc.client(t)
	if err := c.Create(folder, nil).Wait(); err != nil {
		t.Fatal(err)
	}
	c.Close()
	t.Cleanup(func() {
		c, err := imapclient.DialInsecure(acc.addr, nil)
		if err == nil {
			c.Login(acc.user, acc.pass).Wait()
			c.Delete(folder).Wait()
			c.Close()
		}
	})

	in, st := &memIntake{}, newMemStore()
	cfg := Config{Addr: acc.addr, Username: acc.user, Password: acc.pass, Folder: folder, TLS: "none",
		PollInterval: time.Hour, // only IDLE brings new mail in
		After:        "seen", Acknowledge: true, MaxChars: 5000, BackoffMin: 50 * time.Millisecond, BackoffMax: time.Second}
	rn := run(t, cfg, in, st, nil)

	// New mail while the receiver idles.
	select {
	case <-rn.idles:
	case <-time.After(20 * time.Second):
		t.Fatal("receiver never idled")
	}
	acc.deliver(t, folder, load(t, "gbk.eml"))
	rn.wait(t, 1)

	// The server restarts mid-run: the receiver reconnects (with backoff)
	// and resumes from its checkpoint.
	if acc.restart != "" {
		out, err := exec.Command("sh", "-c", acc.restart).CombinedOutput()
		if err != nil {
			t.Fatalf("restart: %v\n%s", err, out)
		}
	} else {
		t.Log("HOTLINE_TEST_IMAP_RESTART unset: server restart not exercised")
	}
	acc.deliver(t, folder, load(t, "gb18030.eml"))
	rn.wait(t, 1)
	calls, envs := in.snapshot()
	if calls != 2 || len(envs) != 2 || envs[1].Title != "生僻字𠀀无法录入" {
		t.Fatalf("after restart: calls=%d tickets=%d", calls, len(envs))
	}
	v1, last := st.checkpoint(rn.r.Name())

	// UIDVALIDITY changes when the folder is re-created: the same letters and
	// one more come back under new UIDs; nothing is stored twice.
	rn.stop()
	c = acc.client(t)
	if err := c.Delete(folder).Wait(); err != nil {
		t.Fatal(err)
	}
	if err := c.Create(folder, nil).Wait(); err != nil {
		t.Fatal(err)
	}
	c.Close()
	acc.deliver(t, folder, load(t, "gbk.eml"), load(t, "gb18030.eml"), load(t, "utf8-qp.eml"))
	rn = run(t, cfg, in, st, nil)
	rn.wait(t, 3)
	calls, envs = in.snapshot()
	v2, last2 := st.checkpoint(rn.r.Name())
	if calls != 5 || len(envs) != 3 || v2 == v1 || last2 != 3 {
		t.Fatalf("after UIDVALIDITY change: calls=%d tickets=%d validity %d->%d last %d->%d", calls, len(envs), v1, v2, last, last2)
	}
	// everything processed is flagged \Seen on the server
	c = acc.client(t)
	defer c.Close()
	if _, err := c.Select(folder, &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
		t.Fatal(err)
	}
	msgs, err := c.Fetch(imap.UIDSetNum(1, 2, 3), &imap.FetchOptions{Flags: true, UID: true}).Collect()
	if err != nil || len(msgs) != 3 {
		t.Fatalf("fetch %d %v", len(msgs), err)
	}
	for _, m := range msgs {
		if !hasFlag(m.Flags, imap.FlagSeen) {
			t.Fatalf("uid %d not seen: %v", m.UID, m.Flags)
		}
	}
}
