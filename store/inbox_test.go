package store_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	"hotline/normalize"
	"hotline/store"
	"hotline/store/storetest"
	"hotline/ticket"
)

func nos(items []store.InboxItem) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it.No
	}
	return out
}

func TestInboxListFiltersClaimsAndFeed(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		start := time.Now().UTC().Add(-time.Second)
		ingest := func(env normalize.Envelope) string {
			t.Helper()
			r, err := s.Ingest(ctx, env, store.IngestOptions{}, keep)
			if err != nil {
				t.Fatal(err)
			}
			return r.TicketNo
		}
		n1 := ingest(sms("k1", "13800138001", "路灯坏了 100% 不亮"))
		n2 := ingest(sms("k2", "13800138002", "小区停水三天"))
		n3 := ingest(sms("k3", "13800138001", "噪音扰民，晚上施工"))
		voice := ingest(normalize.Envelope{Channel: normalize.Voice, DedupKey: "call:1", Sender: normalize.Sender{Phone: "13700137000"},
			Text: "咨询落户", ReceivedAt: time.Now()})
		if _, err := s.Reply(ctx, n2, "zhang", ticket.Reply{Kind: ticket.ReplyAgent, Text: "已转水务集团"}); err != nil {
			t.Fatal(err)
		}
		zhang, err := s.CreateUser(ctx, "zhang", "张三", "intake_agent", "x", nil)
		if err != nil {
			t.Fatal(err)
		}
		li, _ := s.CreateUser(ctx, "li", "李四", "intake_agent", "x", nil)

		list := func(f store.InboxFilter) []string {
			t.Helper()
			items, _, err := s.ListInbox(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			return nos(items)
		}
		if got := list(store.InboxFilter{}); !slices.Equal(got, []string{voice, n3, n2, n1}) {
			t.Fatalf("all: %v", got)
		}
		// waiting for an answer: n1 and n3; n2 was answered; calls never wait
		items, _, _ := s.ListInbox(ctx, store.InboxFilter{})
		for _, it := range items {
			waiting := it.No == n1 || it.No == n3
			if (it.WaitingSince != nil) != waiting {
				t.Errorf("%s waiting=%v", it.No, it.WaitingSince != nil)
			}
		}
		late := store.InboxFilter{Overdue: true, SLA: 3 * time.Minute, Now: time.Now().Add(10 * time.Minute)}
		if got := list(late); !slices.Equal(got, []string{n3, n1}) {
			t.Fatalf("overdue: %v", got)
		}
		if got := list(store.InboxFilter{Overdue: true, SLA: 3 * time.Minute}); len(got) != 0 {
			t.Fatalf("overdue too early: %v", got)
		}
		for q, want := range map[string][]string{
			"13800138001": {n3, n1}, n2: {n2}, "100%": {n1}, "施工": {n3}, "_": nil,
		} {
			if got := list(store.InboxFilter{Query: q}); !slices.Equal(got, want) {
				t.Errorf("query %q: %v, want %v", q, got, want)
			}
		}
		if got := list(store.InboxFilter{Channel: "voice"}); !slices.Equal(got, []string{voice}) {
			t.Errorf("channel: %v", got)
		}

		// claiming
		if err := s.Claim(ctx, n1, zhang, false); err != nil {
			t.Fatal(err)
		}
		if err := s.Claim(ctx, n1, zhang, false); err != nil {
			t.Fatalf("claim again by the holder: %v", err)
		}
		err = s.Claim(ctx, n1, li, false)
		var held *store.HeldError
		if !errors.As(err, &held) || held.Holder != "张三" || held.HolderID != zhang.ID || !errors.Is(err, ticket.ErrConflict) {
			t.Fatalf("second claim: %v", err)
		}
		if got := list(store.InboxFilter{Assignee: &zhang.ID}); !slices.Equal(got, []string{n1}) {
			t.Fatalf("mine: %v", got)
		}
		if got := list(store.InboxFilter{Unassigned: true}); slices.Contains(got, n1) || len(got) != 3 {
			t.Fatalf("unassigned: %v", got)
		}
		if err := s.Claim(ctx, n1, li, true); err != nil {
			t.Fatal(err)
		}
		if h, _ := s.TicketHolder(ctx, items[3].ID); h == nil || h.ID != li.ID || h.Name != "李四" {
			t.Fatalf("holder after take-over: %+v", h)
		}
		if err := s.Release(ctx, n1, zhang); !errors.Is(err, ticket.ErrConflict) {
			t.Fatalf("release by a non-holder: %v", err)
		}
		if err := s.Release(ctx, n1, li); err != nil {
			t.Fatal(err)
		}
		if err := s.Claim(ctx, "20990101-000001", li, false); !errors.Is(err, ticket.ErrNotFound) {
			t.Fatalf("claim unknown: %v", err)
		}
		tk, _ := s.GetTicket(ctx, n1)
		var types []string
		for _, e := range tk.Events {
			types = append(types, e.Type)
		}
		if !slices.Equal(types, []string{"created", "claimed", "taken_over", "released"}) {
			t.Fatalf("events %v", types)
		}

		// reclassification is audited; the same values again are not
		if err := s.SetClassification(ctx, n1, ticket.Complaint, "服务业", "zhang"); err != nil {
			t.Fatal(err)
		}
		if err := s.SetClassification(ctx, n1, ticket.Complaint, "服务业", "zhang"); err != nil {
			t.Fatal(err)
		}
		if err := s.SetClassification(ctx, n1, "nonsense", "服务业", "zhang"); !errors.Is(err, normalize.ErrInvalid) {
			t.Fatalf("bad nature: %v", err)
		}
		tk, _ = s.GetTicket(ctx, n1)
		if tk.Nature != ticket.Complaint || tk.Category != "服务业" || tk.Events[len(tk.Events)-1].Note != "求助·城建环保 → 投诉·服务业" ||
			tk.Events[len(tk.Events)-2].Type != "released" {
			t.Fatalf("reclassified %+v", tk.Events)
		}

		// units
		u := int64(9)
		if err := s.DB().Exec(`UPDATE tickets SET unit_id = ? WHERE no = ?`, u, n3).Error; err != nil {
			t.Fatal(err)
		}
		if got := list(store.InboxFilter{UnitID: &u}); !slices.Equal(got, []string{n3}) {
			t.Fatalf("unit: %v", got)
		}

		// the citizen's other tickets
		hist, err := s.ContactTickets(ctx, tk.ContactID, tk.ID, nil, 10)
		if err != nil || len(hist) != 1 || hist[0].No != n3 {
			t.Fatalf("history %v %v", hist, err)
		}
		if hist, _ := s.ContactTickets(ctx, tk.ContactID, tk.ID, new(int64(3)), 10); len(hist) != 0 {
			t.Fatalf("history of another unit: %v", hist)
		}

		// keyset pages cover everything once
		var seen []string
		var cur *store.Cursor
		for {
			items, next, err := s.ListInbox(ctx, store.InboxFilter{Limit: 1, Before: cur})
			if err != nil {
				t.Fatal(err)
			}
			seen = append(seen, nos(items)...)
			if next == nil {
				break
			}
			cur = next
		}
		if !slices.Equal(seen, []string{voice, n3, n2, n1}) {
			t.Fatalf("pages: %v", seen)
		}

		// the change feed sees rows and deliveries
		ch, cut, err := s.TicketChanges(ctx, start, 100)
		if err != nil || !cut.IsZero() {
			t.Fatal(err, cut)
		}
		got := map[string]bool{}
		for _, c := range ch {
			got[c.No] = true
		}
		for _, no := range []string{n1, n2, n3, voice} {
			if !got[no] {
				t.Errorf("feed lacks %s", no)
			}
		}
		mark := time.Now().UTC()
		jobs, err := s.ClaimOutbox(ctx, 10, time.Minute)
		if err != nil || len(jobs) != 1 {
			t.Fatal(jobs, err)
		}
		if err := s.OutboxSent(ctx, jobs[0]); err != nil {
			t.Fatal(err)
		}
		ch, _, _ = s.TicketChanges(ctx, mark, 100)
		if len(ch) != 1 || !ch[0].Delivery || ch[0].No != n2 {
			t.Fatalf("delivery change: %+v", ch)
		}
		newest, cut, _ := s.TicketChanges(ctx, start, 2)
		if cut.IsZero() || len(newest) < 2 || newest[len(newest)-1].No != n2 {
			t.Fatalf("limit: newest %+v cut %v", newest, cut)
		}
		st, err := s.InboxStatuses(ctx)
		if err != nil || !slices.Equal(st, []string{"intake"}) {
			t.Fatalf("statuses %v %v", st, err)
		}
	})
}

// BenchmarkInboxPagination fills a database with 1,000,000 tickets (one bulk
// INSERT ... SELECT: a recursive CTE on SQLite, generate_series on PostgreSQL)
// and times the inbox list: the first page and a deep page (cursor 900,000
// rows down), unfiltered and with each filter. Run it on purpose:
//
//	go test ./store -run '^$' -bench InboxPagination -benchtime 20x
//
// HOTLINE_BENCH_TICKETS changes the size.
func BenchmarkInboxPagination(b *testing.B) {
	n := 1_000_000
	if v := os.Getenv("HOTLINE_BENCH_TICKETS"); v != "" {
		fmt.Sscan(v, &n)
	}
	for _, d := range storetest.Drivers() {
		b.Run(d, func(b *testing.B) {
			ctx := context.Background()
			s := storetest.Open(b, d)
			t0 := time.Now()
			if err := fillTickets(s, n); err != nil {
				b.Fatal(err)
			}
			b.Logf("%s: inserted %d tickets in %s", d, n, time.Since(t0).Round(time.Millisecond))
			// the cursor of the row 90 % down the newest-first order
			var deep struct {
				CreatedAt time.Time
				ID        int64
			}
			if err := s.DB().Raw(`SELECT created_at, id FROM tickets ORDER BY created_at DESC, id DESC LIMIT 1 OFFSET ?`, n*9/10).Scan(&deep).Error; err != nil {
				b.Fatal(err)
			}
			deepCur := &store.Cursor{CreatedAt: deep.CreatedAt, ID: deep.ID}
			unit, user := int64(42), int64(1)
			now := time.Now()
			cases := []struct {
				name string
				f    store.InboxFilter
			}{
				{"first", store.InboxFilter{}},
				{"deep", store.InboxFilter{Before: deepCur}},
				{"status_first", store.InboxFilter{Status: "intake"}},
				{"status_deep", store.InboxFilter{Status: "intake", Before: deepCur}},
				{"channel_deep", store.InboxFilter{Channel: "wechat", Before: deepCur}},
				{"category_deep", store.InboxFilter{Category: "农业经济", Before: deepCur}},
				{"unit_first", store.InboxFilter{UnitID: &unit}},
				{"unit_deep", store.InboxFilter{UnitID: &unit, Before: deepCur}},
				{"mine_first", store.InboxFilter{Assignee: &user}},
				{"unassigned_deep", store.InboxFilter{Unassigned: true, Before: deepCur}},
				{"overdue_first", store.InboxFilter{Overdue: true, SLA: 3 * time.Minute, Now: now}},
				{"search_phone", store.InboxFilter{Query: "13900004242"}},
				{"search_ticket_no", store.InboxFilter{Query: "20260005-012345"}},
				{"search_text_common", store.InboxFilter{Query: "路灯"}},
				{"search_text_rare", store.InboxFilter{Query: "第999999号"}},
			}
			for _, c := range cases {
				b.Run(c.name, func(b *testing.B) {
					c.f.Limit = 50
					var rows int
					for b.Loop() {
						items, _, err := s.ListInbox(ctx, c.f)
						if err != nil {
							b.Fatal(err)
						}
						rows = len(items)
					}
					b.ReportMetric(float64(rows), "rows")
				})
			}
		})
	}
}

// fillTickets bulk-inserts n tickets spread over the last ~4 years (two
// minutes apart), 10,000 contacts, 350 units, every 50th ticket still at
// intake with its inbound message, every 100th claimed by user 1.
func fillTickets(s *store.Store, n int) error {
	db := s.DB()
	base := time.Now().UTC()
	cats := `CASE i % 9 WHEN 0 THEN '城建环保' WHEN 1 THEN '农业经济' WHEN 2 THEN '司法民政' WHEN 3 THEN '工业交通'
		WHEN 4 THEN '劳动人事' WHEN 5 THEN '科教文卫' WHEN 6 THEN '财税金融' WHEN 7 THEN '服务业' ELSE '其他' END`
	chans := `CASE i % 10 WHEN 4 THEN 'voice' WHEN 5 THEN 'voice' WHEN 6 THEN 'wechat' WHEN 7 THEN 'website'
		WHEN 8 THEN 'mayor_mailbox' WHEN 9 THEN 'province_mailbox' ELSE 'sms' END`
	natures := `CASE i % 4 WHEN 0 THEN 'consult' WHEN 1 THEN 'help' WHEN 2 THEN 'suggestion' ELSE 'complaint' END`
	if _, err := s.CreateUser(context.Background(), "bench", "压测", "intake_agent", "x", nil); err != nil {
		return err
	}
	if s.Driver() == "postgres" {
		stmts := []string{
			`INSERT INTO contacts (id, name, phone, email, openid, address, created_at, updated_at)
			 SELECT i, '市民' || i, '139' || lpad(i::text, 8, '0'), '', '', '', now(), now() FROM generate_series(1, 10000) i`,
			`SELECT setval(pg_get_serial_sequence('contacts', 'id'), 10000)`,
			fmt.Sprintf(`INSERT INTO tickets (no, channel, status, nature, category, flags, contact_id, confidential, reply_wanted,
			   title, content, unit_id, unit_name, assignee_id, call_id, external_ref, created_at, updated_at)
			 SELECT lpad((20260000 + i / 100000)::text, 8, '0') || '-' || lpad((i %% 100000)::text, 6, '0'), %s,
			   CASE WHEN i %% 50 = 0 THEN 'intake' ELSE 'closed' END, %s, %s, '', i %% 10000 + 1, false, true,
			   '', '市民反映第' || i || '号问题：小区路灯不亮，夜间出行不便', i %% 350 + 1, '', CASE WHEN i %% 100 = 0 THEN 1 END, '', '',
			   $1::timestamptz - (%d - i) * interval '2 minutes', $1::timestamptz - (%d - i) * interval '2 minutes'
			 FROM generate_series(1, %d) i`, chans, natures, cats, n, n, n),
			`INSERT INTO messages (ticket_id, channel, direction, kind, text, attachments, delivery, error, attempts, actor, at, created_at)
			 SELECT id, channel, 'in', '', content, '', 'received', '', 0, 'system', created_at, created_at FROM tickets WHERE status = 'intake'`,
			`ANALYZE`,
		}
		for _, q := range stmts {
			args := []any{}
			if len(q) > 0 && containsArg(q) {
				args = append(args, base)
			}
			if err := db.Exec(q, args...).Error; err != nil {
				return fmt.Errorf("%.60s: %w", q, err)
			}
		}
		return nil
	}
	ts := func(expr string) string {
		return fmt.Sprintf(`strftime('%%Y-%%m-%%d %%H:%%M:%%S', '%s', '-' || (%s) || ' seconds') || '+00:00'`, base.Format("2006-01-02 15:04:05"), expr)
	}
	stmts := []string{
		`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10000)
		 INSERT INTO contacts (id, name, phone, email, openid, address, created_at, updated_at)
		 SELECT i, '市民' || i, printf('139%08d', i), '', '', '', datetime('now'), datetime('now') FROM n`,
		fmt.Sprintf(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %d)
		 INSERT INTO tickets (no, channel, status, nature, category, flags, contact_id, confidential, reply_wanted,
		   title, content, unit_id, unit_name, assignee_id, call_id, external_ref, created_at, updated_at)
		 SELECT printf('%%08d-%%06d', 20260000 + i / 100000, i %% 100000), %s,
		   CASE WHEN i %% 50 = 0 THEN 'intake' ELSE 'closed' END, %s, %s, '', i %% 10000 + 1, 0, 1,
		   '', '市民反映第' || i || '号问题：小区路灯不亮，夜间出行不便', i %% 350 + 1, '', CASE WHEN i %% 100 = 0 THEN 1 END, '', '',
		   %s, %s FROM n`, n, chans, natures, cats, ts(fmt.Sprintf("(%d - i) * 120", n)), ts(fmt.Sprintf("(%d - i) * 120", n))),
		`INSERT INTO messages (ticket_id, channel, direction, kind, text, attachments, delivery, error, attempts, actor, at, created_at)
		 SELECT id, channel, 'in', '', content, '', 'received', '', 0, 'system', created_at, created_at FROM tickets WHERE status = 'intake'`,
		`ANALYZE`,
	}
	for _, q := range stmts {
		if err := db.Exec(q).Error; err != nil {
			return fmt.Errorf("%.60s: %w", q, err)
		}
	}
	return nil
}

func containsArg(q string) bool {
	for i := 0; i+1 < len(q); i++ {
		if q[i] == '$' && q[i+1] == '1' {
			return true
		}
	}
	return false
}
