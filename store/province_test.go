package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"hotline/channels/province"
	"hotline/normalize"
	"hotline/store"
	"hotline/store/storetest"
	"hotline/ticket"
)

func provinceEnv(t *testing.T, body string) normalize.Envelope {
	t.Helper()
	in, err := province.ParseCase([]byte(body), mustLoc())
	if err != nil {
		t.Fatal(err)
	}
	env := in.Envelope([]byte(body))
	if err := env.Validate(0); err != nil {
		t.Fatal(err)
	}
	return env
}

type payload struct {
	Text     string            `json:"text"`
	TicketNo string            `json:"ticket_no"`
	Kind     string            `json:"kind"`
	Meta     map[string]string `json:"meta"`
}

func decode(t *testing.T, j store.OutboxJob) payload {
	t.Helper()
	var p payload
	if err := json.Unmarshal([]byte(j.Payload), &p); err != nil {
		t.Fatal(err)
	}
	return p
}

func claimAll(t *testing.T, s *store.Store) []store.OutboxJob {
	t.Helper()
	jobs, err := s.ClaimOutbox(context.Background(), 100, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	return jobs
}

func TestProvinceCaseIngest(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		env := provinceEnv(t, `{"case_id":"SD-1","source":"省长信箱","title":"路灯","content":"小区路灯坏了一个月",
			"citizen":{"name":"王先生","phone":"13805340001","address":"德城区"},"confidential":true,"reply_wanted":true,
			"due_at":"2026-12-01T17:00:00+08:00","attachments":[{"name":"a.jpg","url":"http://p/a.jpg"},{"name":"b.pdf","url":"http://p/b.pdf"}]}`)
		r, err := s.Ingest(ctx, env, store.IngestOptions{}, keep)
		if err != nil {
			t.Fatal(err)
		}
		no, hash, ok, err := s.ProvinceCase(ctx, "SD-1")
		if err != nil || !ok || no != r.TicketNo || hash != env.Meta["case_hash"] {
			t.Fatalf("case: %v %v %v %v", no, hash, ok, err)
		}
		if _, _, ok, _ := s.ProvinceCase(ctx, "SD-2"); ok {
			t.Fatal("unknown case found")
		}
		tk, err := s.GetTicket(ctx, r.TicketNo)
		if err != nil {
			t.Fatal(err)
		}
		due := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
		if tk.Channel != normalize.ProvinceMailbox || !tk.Confidential || !tk.ReplyWanted || tk.DueAt == nil || !tk.DueAt.Equal(due) {
			t.Fatalf("ticket %+v", tk)
		}
		if ref, err := s.ProvinceCaseOf(ctx, r.TicketNo); err != nil || ref != "SD-1" {
			t.Fatalf("case of: %q %v", ref, err)
		}
		jobs := claimAll(t, s)
		if len(jobs) != 3 {
			t.Fatalf("want accepted + 2 fetches, got %+v", jobs)
		}
		ev := decode(t, jobs[0])
		if jobs[0].Kind != ticket.ViaProvince || jobs[0].Recipient != "SD-1" || ev.Kind != "accepted" || ev.TicketNo != r.TicketNo || ev.Meta["at"] == "" {
			t.Fatalf("accepted %+v %+v", jobs[0], ev)
		}
		for i, j := range jobs[1:] {
			p := decode(t, j)
			if j.Kind != store.ProvinceFetchKind || p.Meta["index"] != string(rune('0'+i)) || p.Meta["url"] != env.Attachments[i].URL || p.TicketNo != r.TicketNo {
				t.Fatalf("fetch %d: %+v %+v", i, j, p)
			}
		}
		// the same case again stores nothing
		again, err := s.Ingest(ctx, env, store.IngestOptions{}, keep)
		if err != nil || !again.Duplicate || again.TicketNo != r.TicketNo {
			t.Fatalf("again %+v %v", again, err)
		}
		if pending, _, _ := s.OutboxDepth(ctx); pending != 3 {
			t.Fatalf("pending %d after a duplicate", pending)
		}

		// attachments: recorded once on the message, with an event
		att := normalize.Attachment{Name: "a.jpg", Path: "202611/x.jpg", Size: 3, ContentType: "image/jpeg"}
		if ok, err := s.ProvinceAttachmentFetched(ctx, r.TicketNo, 0, att); err != nil || !ok {
			t.Fatalf("fetched: %v %v", ok, err)
		}
		if ok, err := s.ProvinceAttachmentFetched(ctx, r.TicketNo, 0, normalize.Attachment{Path: "202611/y.jpg"}); err != nil || ok {
			t.Fatalf("second fetch of the same attachment: %v %v", ok, err)
		}
		if _, err := s.ProvinceAttachmentFetched(ctx, r.TicketNo, 5, att); !errors.Is(err, ticket.ErrNotFound) {
			t.Fatalf("no such attachment: %v", err)
		}
		tk, _ = s.GetTicket(ctx, r.TicketNo)
		if a := tk.Messages[0].Attachments; len(a) != 2 || a[0].Path != "202611/x.jpg" || a[0].URL == "" || a[1].Path != "" {
			t.Fatalf("attachments %+v", a)
		}
		types := map[string]int{}
		for _, e := range tk.Events {
			types[e.Type]++
		}
		if types["created"] != 1 || types["due_set"] != 1 || types["province_event_queued"] != 1 || types["attachment_fetched"] != 1 {
			t.Fatalf("events %v", types)
		}
	})
}

func TestProvinceEventsInOrder(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		r, err := s.Ingest(ctx, provinceEnv(t, `{"case_id":"SD-7","content":"噪音扰民"}`), store.IngestOptions{}, keep)
		if err != nil {
			t.Fatal(err)
		}
		// a pipeline transition queues through the hook, in its transaction
		if err := s.InTicketTx(ctx, r.TicketNo, time.Now(), func(x *store.FlowTx) error {
			return x.ProvinceEvent("transferred", "市生态环境局", "")
		}); err != nil {
			t.Fatal(err)
		}
		if err := s.QueueProvinceEvent(ctx, r.TicketNo, "replied", "市生态环境局", "已查处"); err != nil {
			t.Fatal(err)
		}
		// an agent's reply on the ticket joins the same order
		if _, err := s.Reply(ctx, r.TicketNo, "agent", ticket.Reply{Kind: ticket.ReplyAgent, Text: "补充说明"}); err != nil {
			t.Fatal(err)
		}
		var got []string
		for range 5 {
			jobs := claimAll(t, s)
			if len(jobs) == 0 {
				break
			}
			if len(jobs) != 1 {
				t.Fatalf("one case's items must go one at a time: %+v", jobs)
			}
			p := decode(t, jobs[0])
			got = append(got, p.Kind+":"+p.Meta["unit"]+":"+p.Text)
			if err := s.OutboxSent(ctx, jobs[0]); err != nil {
				t.Fatal(err)
			}
		}
		want := []string{"accepted::已受理，工单号 " + r.TicketNo, "transferred:市生态环境局:", "replied:市生态环境局:已查处", "agent::补充说明"}
		if len(got) != len(want) {
			t.Fatalf("got %q", got)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("got %q, want %q", got, want)
			}
		}
		// other channels have nothing to report
		sr, _ := s.Ingest(ctx, sms("p1", "13800138000", "路灯坏了"), store.IngestOptions{}, keep)
		if err := s.QueueProvinceEvent(ctx, sr.TicketNo, "closed", "", ""); !errors.Is(err, ticket.ErrConflict) {
			t.Fatalf("sms ticket: %v", err)
		}
		if err := s.InTicketTx(ctx, sr.TicketNo, time.Now(), func(x *store.FlowTx) error { return x.ProvinceEvent("closed", "", "") }); err != nil {
			t.Fatal(err)
		}
		if jobs := claimAll(t, s); len(jobs) != 0 {
			t.Fatalf("queued for an sms ticket: %+v", jobs)
		}
		if err := s.QueueProvinceEvent(ctx, "20990101-000001", "closed", "", ""); !errors.Is(err, ticket.ErrNotFound) {
			t.Fatalf("unknown ticket: %v", err)
		}
	})
}

func TestProvinceCaseClosedAtIntake(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		thanks := func(*ticket.Thread) ticket.Decision {
			return ticket.Decision{Status: ticket.StatusClosed, Note: "表示感谢"}
		}
		r, err := s.Ingest(ctx, provinceEnv(t, `{"case_id":"SD-8","content":"谢谢你们"}`), store.IngestOptions{}, thanks)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for range 3 {
			jobs := claimAll(t, s)
			for _, j := range jobs {
				p := decode(t, j)
				got = append(got, p.Kind+":"+p.Text)
				s.OutboxSent(ctx, j)
			}
		}
		if len(got) != 2 || got[0] != "accepted:已受理，工单号 "+r.TicketNo || got[1] != "closed:表示感谢" {
			t.Fatalf("events %q", got)
		}
	})
}

func TestProvinceCaseConcurrentDeliveries(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		env := provinceEnv(t, `{"case_id":"SD-9","content":"路面塌陷"}`)
		var wg sync.WaitGroup
		nos := make([]string, 8)
		for i := range nos {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r, err := s.Ingest(ctx, env, store.IngestOptions{}, keep)
				if err != nil {
					t.Error(err)
				}
				nos[i] = r.TicketNo
			}()
		}
		wg.Wait()
		for _, no := range nos {
			if no != nos[0] {
				t.Fatalf("tickets %v", nos)
			}
		}
		if pending, _, _ := s.OutboxDepth(ctx); pending != 1 {
			t.Fatalf("accepted queued %d times", pending)
		}
	})
}

func TestProvinceNonces(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		if ok, err := s.ClaimProvinceNonce(ctx, "n1", time.Minute); err != nil || !ok {
			t.Fatalf("first: %v %v", ok, err)
		}
		if ok, err := s.ClaimProvinceNonce(ctx, "n1", time.Minute); err != nil || ok {
			t.Fatalf("replay: %v %v", ok, err)
		}
		if ok, err := s.ClaimProvinceNonce(ctx, "n2", -time.Second); err != nil || !ok { // already expired
			t.Fatalf("n2: %v %v", ok, err)
		}
		if ok, err := s.ClaimProvinceNonce(ctx, "n2", time.Minute); err != nil || !ok {
			t.Fatalf("an expired nonce is free again: %v %v", ok, err)
		}
		s.ClaimProvinceNonce(ctx, "n3", -time.Second)
		if n, err := s.PurgeProvinceNonces(ctx); err != nil || n != 1 {
			t.Fatalf("purge: %d %v", n, err)
		}
		if ok, _ := s.ClaimProvinceNonce(ctx, "n1", time.Minute); ok {
			t.Fatal("purge removed a live nonce")
		}
		// concurrent claims of one nonce: exactly one wins
		var wg sync.WaitGroup
		var mu sync.Mutex
		wins := 0
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ok, err := s.ClaimProvinceNonce(ctx, "race", time.Minute)
				if err != nil {
					t.Error(err)
				}
				if ok {
					mu.Lock()
					wins++
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if wins != 1 {
			t.Fatalf("%d winners", wins)
		}
	})
}

func TestSendUpToProvince(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		r, err := s.Ingest(ctx, sms("u1", "13800138000", "省属高速公路收费站拥堵"), store.IngestOptions{}, keep)
		if err != nil {
			t.Fatal(err)
		}
		up := store.ProvinceCaseUp{CaseID: r.TicketNo, Body: []byte(`{"case_id":"` + r.TicketNo + `"}`), Note: "属省级事权"}
		if err := s.SendUpToProvince(ctx, r.TicketNo, "agent1", up); err != nil {
			t.Fatal(err)
		}
		if err := s.SendUpToProvince(ctx, r.TicketNo, "agent1", up); !errors.Is(err, ticket.ErrConflict) {
			t.Fatalf("twice: %v", err)
		}
		if err := s.SendUpToProvince(ctx, "20990101-000001", "agent1", up); !errors.Is(err, ticket.ErrNotFound) {
			t.Fatalf("unknown: %v", err)
		}
		pr, _ := s.Ingest(ctx, provinceEnv(t, `{"case_id":"SD-3","content":"x"}`), store.IngestOptions{}, keep)
		if err := s.SendUpToProvince(ctx, pr.TicketNo, "agent1", store.ProvinceCaseUp{CaseID: pr.TicketNo, Body: []byte(`{}`)}); !errors.Is(err, ticket.ErrConflict) {
			t.Fatalf("a province case sent back up: %v", err)
		}
		var up1 store.OutboxJob
		for _, j := range claimAll(t, s) {
			if j.TicketID == r.TicketID {
				up1 = j
			}
		}
		p := decode(t, up1)
		if up1.Kind != ticket.ViaProvince || up1.Recipient != r.TicketNo || p.Kind != "case_up" || p.Meta["body"] != string(up.Body) {
			t.Fatalf("item %+v %+v", up1, p)
		}
		if err := s.ProvinceAnswered(ctx, r.TicketNo, r.TicketNo, 200, `{"received":true}`); err != nil {
			t.Fatal(err)
		}
		tk, _ := s.GetTicket(ctx, r.TicketNo)
		var sent, answered bool
		for _, e := range tk.Events {
			sent = sent || (e.Type == "province_sent_up" && e.Actor == "agent1" && e.Note == "属省级事权")
			answered = answered || (e.Type == "province_answered" && e.Note == `case `+r.TicketNo+`: HTTP 200 {"received":true}`)
		}
		if !sent || !answered {
			t.Fatalf("events %+v", tk.Events)
		}
	})
}
