package store

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"gorm.io/gorm"

	"hotline/normalize"
	"hotline/ticket"
)

// TestProvinceEventInTransaction: a province_mailbox ticket's transition calls
// the provincial hook inside the transition's transaction (rolled back with
// it); other channels never call it.
func TestProvinceEventInTransaction(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, Options{Driver: "sqlite", DSN: filepath.Join(t.TempDir(), "h.db"), NumberBlock: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	old := provinceEventHook
	defer func() { provinceEventHook = old }()
	var calls []string
	provinceEventHook = func(tx *gorm.DB, tk *Ticket, event, unit, text string) error {
		calls = append(calls, event)
		return tx.Create(&Setting{Key: "province:" + event, Value: tk.No}).Error
	}
	mk := func(ch normalize.Channel, key string) string {
		r, err := s.Ingest(ctx, normalize.Envelope{Channel: ch, DedupKey: key, Text: "x", ReceivedAt: time.Now(),
			Sender: normalize.Sender{Phone: "13800138000"}, Meta: map[string]string{"case_id": key}},
			IngestOptions{}, func(*ticket.Thread) ticket.Decision { return ticket.Decision{} })
		if err != nil {
			t.Fatal(err)
		}
		return r.TicketNo
	}
	prov, sms := mk(normalize.ProvinceMailbox, "case-1"), mk(normalize.SMS, "m1")
	if err := s.InTicketTx(ctx, sms, time.Now(), func(x *FlowTx) error { return x.ProvinceEvent("accepted", "", "") }); err != nil {
		t.Fatal(err)
	}
	if len(calls) != 0 {
		t.Fatalf("hook called for an SMS ticket: %v", calls)
	}
	boom := errors.New("boom")
	err = s.InTicketTx(ctx, prov, time.Now(), func(x *FlowTx) error {
		if err := x.ProvinceEvent("transferred", "市城市管理局", ""); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatal(err)
	}
	if v, _ := s.Setting(ctx, "province:transferred"); v != "" {
		t.Fatal("the hook's write survived the rollback")
	}
	if err := s.InTicketTx(ctx, prov, time.Now(), func(x *FlowTx) error { return x.ProvinceEvent("replied", "u", "r") }); err != nil {
		t.Fatal(err)
	}
	if v, _ := s.Setting(ctx, "province:replied"); v != prov {
		t.Fatalf("hook write not committed: %q", v)
	}
}
