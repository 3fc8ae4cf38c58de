package store_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"hotline/normalize"
	"hotline/store"
	"hotline/store/storetest"
	"hotline/ticket"
)

func sms(key, phone, text string) normalize.Envelope {
	return normalize.Envelope{Channel: normalize.SMS, DedupKey: key, Sender: normalize.Sender{Phone: phone},
		Text: text, ReceivedAt: time.Now(), Raw: []byte(`{"raw":true}`)}
}

func keep(*ticket.Thread) ticket.Decision {
	return ticket.Decision{Classification: ticket.Classification{Nature: ticket.Help, Category: "城建环保"}}
}

var threaded = store.IngestOptions{Thread: true, ThreadWindow: time.Hour}

func TestIngestOnceAndThread(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		r1, err := s.Ingest(ctx, sms("a1", "13800138000", "小区路灯坏了"), threaded, keep)
		if err != nil {
			t.Fatal(err)
		}
		if r1.Duplicate || r1.Joined || !strings.HasPrefix(r1.TicketNo, time.Now().In(mustLoc()).Format("20060102")+"-") {
			t.Fatalf("first: %+v", r1)
		}
		again, err := s.Ingest(ctx, sms("a1", "13800138000", "小区路灯坏了"), threaded, keep)
		if err != nil || !again.Duplicate || again.TicketNo != r1.TicketNo {
			t.Fatalf("redelivery: %+v %v", again, err)
		}
		r2, err := s.Ingest(ctx, sms("a2", "+86 138 0013 8000", "在三号楼前面"), threaded, keep)
		if err != nil {
			t.Fatal(err)
		}
		if r2.Duplicate {
			t.Fatalf("different key seen as duplicate")
		}
		// the envelope phone is not normalized by the store: callers normalize
		r3, err := s.Ingest(ctx, sms("a3", "13800138000", "还有噪音"), threaded, keep)
		if err != nil || !r3.Joined || r3.TicketNo != r1.TicketNo {
			t.Fatalf("follow-up should join: %+v %v", r3, err)
		}
		tk, err := s.GetTicket(ctx, r1.TicketNo)
		if err != nil {
			t.Fatal(err)
		}
		if len(tk.Messages) != 2 || tk.Content != "小区路灯坏了\n还有噪音" || tk.Category != "城建环保" {
			t.Fatalf("ticket: %+v", tk)
		}
		if tk.Citizen.Phone != "13800138000" {
			t.Fatalf("citizen %+v", tk.Citizen)
		}
	})
}

func TestConcurrentRedeliveryStoresOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		var wg sync.WaitGroup
		nos := make([]string, 16)
		errs := make([]error, 16)
		for i := range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r, err := s.Ingest(ctx, sms("dup-1", "13900139000", "噪音扰民"), store.IngestOptions{}, keep)
				nos[i], errs[i] = r.TicketNo, err
			}()
		}
		wg.Wait()
		for i := range nos {
			if errs[i] != nil || nos[i] != nos[0] {
				t.Fatalf("delivery %d: %q %v (first %q)", i, nos[i], errs[i], nos[0])
			}
		}
		got, err := s.CountInbound(ctx, normalize.SMS, []string{"dup-1"})
		if err != nil || got["dup-1"] != 1 {
			t.Fatalf("stored %v times (%v)", got, err)
		}
	})
}

func TestTicketNumbersUniqueUnderLoad(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		var mu sync.Mutex
		seen := map[string]bool{}
		var wg sync.WaitGroup
		for w := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 10 {
					r, err := s.Ingest(ctx, sms(fmt.Sprintf("k%d-%d", w, i), fmt.Sprintf("1350000%02d%02d", w, i), "咨询公积金"), store.IngestOptions{}, keep)
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					if seen[r.TicketNo] {
						t.Errorf("number %s handed out twice", r.TicketNo)
					}
					seen[r.TicketNo] = true
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if len(seen) != 80 {
			t.Fatalf("%d tickets", len(seen))
		}
	})
}

func TestOutboxOrderRetryDead(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		reply := func(*ticket.Thread) ticket.Decision {
			return ticket.Decision{Replies: []ticket.Reply{{Kind: ticket.ReplyThanks, Text: "一"}, {Kind: ticket.ReplyAgent, Text: "二"}}}
		}
		r, err := s.Ingest(ctx, sms("o1", "13700137000", "谢谢你们"), store.IngestOptions{}, reply)
		if err != nil {
			t.Fatal(err)
		}
		jobs, err := s.ClaimOutbox(ctx, 10, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		// the second reply waits behind the first of the same ticket
		if len(jobs) != 1 || !strings.Contains(jobs[0].Payload, "一") || jobs[0].Recipient != "13700137000" || jobs[0].Kind != "sms" {
			t.Fatalf("claimed %+v", jobs)
		}
		if again, _ := s.ClaimOutbox(ctx, 10, time.Minute); len(again) != 0 {
			t.Fatalf("leased item claimed twice: %+v", again)
		}
		if err := s.OutboxRetry(ctx, jobs[0], "timeout", time.Now().Add(-time.Second)); err != nil {
			t.Fatal(err)
		}
		jobs, _ = s.ClaimOutbox(ctx, 10, time.Minute)
		if len(jobs) != 1 || jobs[0].Attempts != 1 {
			t.Fatalf("retry not due: %+v", jobs)
		}
		if err := s.OutboxSent(ctx, jobs[0]); err != nil {
			t.Fatal(err)
		}
		jobs, _ = s.ClaimOutbox(ctx, 10, time.Minute)
		if len(jobs) != 1 || !strings.Contains(jobs[0].Payload, "二") {
			t.Fatalf("second not released: %+v", jobs)
		}
		if err := s.OutboxDead(ctx, jobs[0], "400 bad number"); err != nil {
			t.Fatal(err)
		}
		tk, _ := s.GetTicket(ctx, r.TicketNo)
		var states []string
		for _, m := range tk.Messages {
			if m.Direction == "out" {
				states = append(states, m.Delivery)
			}
		}
		if strings.Join(states, ",") != "sent,dead" {
			t.Fatalf("delivery states %v", states)
		}
		last := tk.Events[len(tk.Events)-1]
		if last.Type != "delivery_dead" || !strings.Contains(last.Note, "400 bad number") {
			t.Fatalf("dead letter not on ticket: %+v", tk.Events)
		}
		pending, dead, err := s.OutboxDepth(ctx)
		if err != nil || pending != 0 || dead != 1 {
			t.Fatalf("depth %d %d %v", pending, dead, err)
		}
	})
}

func TestMigrateTwiceKeepsData(t *testing.T) {
	for _, d := range storetest.Drivers() {
		t.Run(d, func(t *testing.T) {
			ctx := context.Background()
			o := storetest.Options(t, d)
			s, err := store.Open(ctx, o)
			if err != nil {
				t.Fatal(err)
			}
			r, err := s.Ingest(ctx, sms("m1", "13600136000", "供暖不热"), store.IngestOptions{}, keep)
			if err != nil {
				t.Fatal(err)
			}
			s.Close()
			s, err = store.Open(ctx, o) // a restart or upgrade runs migrations again
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if _, err := s.GetTicket(ctx, r.TicketNo); err != nil {
				t.Fatalf("ticket lost across migrate: %v", err)
			}
			ids, err := s.Applied(ctx)
			if err != nil || len(ids) == 0 {
				t.Fatalf("applied %v %v", ids, err)
			}
		})
	}
}

func TestCallEvents(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		t0 := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
		for _, e := range []store.CallEventInput{
			{CallID: "c1", Event: "answered", At: t0.Add(12 * time.Second), AgentID: "a7"},
			{CallID: "c1", Event: "offered", At: t0, Caller: "13800138000"},
			{CallID: "c1", Event: "offered", At: t0, Caller: "13800138000"},
		} {
			if _, err := s.RecordCallEvent(ctx, e); err != nil {
				t.Fatal(err)
			}
		}
		c, err := s.GetCall(ctx, "c1")
		if err != nil || c.WaitSeconds == nil || *c.WaitSeconds != 12 || c.OfferedAt == nil {
			t.Fatalf("call %+v %v", c, err)
		}
	})
}

func mustLoc() *time.Location {
	l, _ := time.LoadLocation("Asia/Shanghai")
	return l
}

// More concurrent intakes than pooled connections must not starve the
// ticket-number reservation (it once waited for a connection that every
// blocked intake held).
func TestIngestWithSmallPool(t *testing.T) {
	for _, d := range storetest.Drivers() {
		t.Run(d, func(t *testing.T) {
			o := storetest.Options(t, d)
			o.MaxOpenConns, o.NumberBlock = 2, 1
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			s, err := store.Open(ctx, o)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			var wg sync.WaitGroup
			for i := range 24 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if _, err := s.Ingest(ctx, sms(fmt.Sprintf("p%d", i), fmt.Sprintf("135111100%02d", i), "噪音扰民"), store.IngestOptions{}, keep); err != nil {
						t.Error(err)
					}
				}()
			}
			wg.Wait()
		})
	}
}

func TestContactMatchedByPhoneLearnsButKeeps(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		first := sms("c1", "13811112222", "路灯坏了")
		first.Sender.Name = "张先生"
		r1, err := s.Ingest(ctx, first, store.IngestOptions{}, keep)
		if err != nil {
			t.Fatal(err)
		}
		web := normalize.Envelope{Channel: normalize.Website, DedupKey: "w1", Text: "噪音扰民",
			Sender: normalize.Sender{Name: "张三", Phone: "13811112222", Address: "德城区新湖大街1号", Email: "z@example.cn"}}
		r2, err := s.Ingest(ctx, web, store.IngestOptions{}, keep)
		if err != nil {
			t.Fatal(err)
		}
		a, _ := s.GetTicket(ctx, r1.TicketNo)
		b, _ := s.GetTicket(ctx, r2.TicketNo)
		if a.ContactID != b.ContactID {
			t.Fatalf("same phone, two contacts: %d %d", a.ContactID, b.ContactID)
		}
		if b.Citizen.Name != "张先生" || b.Citizen.Address != "德城区新湖大街1号" || b.Citizen.Email != "z@example.cn" {
			t.Fatalf("contact %+v", b.Citizen)
		}
	})
}
