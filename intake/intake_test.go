package intake_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"hotline/classify"
	"hotline/configs"
	"hotline/intake"
	"hotline/kb"
	"hotline/normalize"
	"hotline/replies"
	"hotline/store"
	"hotline/store/storetest"
	"hotline/ticket"
)

func service(t *testing.T, s *store.Store) *intake.Service {
	t.Helper()
	cfg, err := configs.Load("")
	if err != nil {
		t.Fatal(err)
	}
	cls, err := classify.Default(cfg.City, cfg.Classify.MinChars)
	if err != nil {
		t.Fatal(err)
	}
	ix, err := kb.NewIndex()
	if err != nil {
		t.Fatal(err)
	}
	exp := time.Now().Add(24 * time.Hour)
	if err := ix.Replace([]kb.Entry{{ID: 1, Question: "如何提取住房公积金", Keywords: []string{"公积金", "提取"},
		Answer: "可持身份证到市住房公积金管理中心办理提取。", Unit: "市住房公积金管理中心", ValidUntil: &exp}}); err != nil {
		t.Fatal(err)
	}
	set, err := replies.New(cfg.Replies.SMS)
	if err != nil {
		t.Fatal(err)
	}
	return intake.New(s, cls, ix, nil, intake.Options{
		Options:      store.IngestOptions{ThreadWindow: time.Hour},
		MaxTextChars: 500, KBMinScore: cfg.KB.ConfidentScore,
		AutoReply: map[normalize.Channel]replies.Set{normalize.SMS: set},
		Threaded:  map[normalize.Channel]bool{normalize.SMS: true},
	})
}

func sms(key, phone, text string) normalize.Envelope {
	return normalize.Envelope{Channel: normalize.SMS, DedupKey: key, Sender: normalize.Sender{Phone: phone}, Text: text}
}

func outTexts(tk ticket.Ticket) []string {
	var out []string
	for _, m := range tk.Messages {
		if m.Direction == "out" {
			out = append(out, m.Kind+":"+m.Text)
		}
	}
	return out
}

func TestStandardRepliesOnArrival(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		svc, ctx := service(t, s), context.Background()
		cases := []struct {
			text   string
			kind   string
			status ticket.Status
			has    string
		}{
			{"太感谢你们了，谢谢！", ticket.ReplyThanks, ticket.StatusClosed, "这是我们应该做的"},
			{"我在济南市历下区，小区门口路灯坏了好几天", ticket.ReplyOutOfRemit, ticket.StatusClosed, "您的问题属济南市管理，建议向济南市反映"},
			{"建议在新湖公园附近增设公交站点，方便市民出行", ticket.ReplySuggestion, ticket.StatusIntake, "我们会将您的建议转相关单位办理"},
			{"请问怎么提取住房公积金？", ticket.ReplyAnswered, ticket.StatusClosed, "答复结果如下：可持身份证到市住房公积金管理中心办理提取。感谢"},
			{"我要投诉德城区某小区物业乱收费", "", ticket.StatusIntake, ""},
		}
		for i, c := range cases {
			r, err := svc.Ingest(ctx, sms("k"+string(rune('a'+i)), "1380013800"+string(rune('0'+i)), c.text), "")
			if err != nil {
				t.Fatal(err)
			}
			tk, _ := s.GetTicket(ctx, r.TicketNo)
			outs := outTexts(tk)
			if tk.Status != c.status {
				t.Errorf("%q: status %s, want %s", c.text, tk.Status, c.status)
			}
			if c.kind == "" {
				if len(outs) != 0 {
					t.Errorf("%q: unexpected replies %v", c.text, outs)
				}
				continue
			}
			if len(outs) != 1 || !strings.HasPrefix(outs[0], c.kind+":") || !strings.Contains(outs[0], c.has) {
				t.Errorf("%q: replies %v, want %s containing %q", c.text, outs, c.kind, c.has)
			}
		}
	})
}

// An incomplete SMS is answered with template 6; the citizen's follow-up joins
// the ticket, which is then judged on both messages.
func TestIncompleteThenFollowUpJoins(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		svc, ctx := service(t, s), context.Background()
		r1, err := svc.Ingest(ctx, sms("i1", "13912345678", "你好"), "")
		if err != nil {
			t.Fatal(err)
		}
		r2, err := svc.Ingest(ctx, sms("i2", "13912345678", "我家小区门口的路灯坏了一个星期了，晚上很黑"), "")
		if err != nil {
			t.Fatal(err)
		}
		if !r2.Joined || r2.TicketNo != r1.TicketNo {
			t.Fatalf("follow-up did not join: %+v", r2)
		}
		tk, _ := s.GetTicket(ctx, r1.TicketNo)
		if tk.Category != "城建环保" || tk.Status != ticket.StatusIntake {
			t.Fatalf("joined ticket %+v", tk)
		}
		for _, f := range tk.Flags {
			if f == ticket.FlagIncomplete {
				t.Fatal("still flagged incomplete after the follow-up")
			}
		}
		if outs := outTexts(tk); len(outs) != 1 || !strings.HasPrefix(outs[0], ticket.ReplyIncomplete) {
			t.Fatalf("replies %v", outs)
		}
	})
}

func TestOtherChannelsWaitForAgents(t *testing.T) {
	s := storetest.Open(t, "sqlite")
	svc := service(t, s)
	env := normalize.Envelope{Channel: normalize.Website, DedupKey: "w1", Text: "谢谢你们", Sender: normalize.Sender{Phone: "13800138000"}}
	r, err := svc.Ingest(context.Background(), env, "")
	if err != nil {
		t.Fatal(err)
	}
	tk, _ := s.GetTicket(context.Background(), r.TicketNo)
	if len(outTexts(tk)) != 0 {
		t.Fatal("website ticket got an SMS auto-reply")
	}
}

func TestInvalidWritesNothing(t *testing.T) {
	s := storetest.Open(t, "sqlite")
	svc := service(t, s)
	for _, env := range []normalize.Envelope{
		sms("x1", "12345", "路灯坏了"),
		sms("x2", "13800138000", ""),
		sms("x3", "13800138000", strings.Repeat("长", 501)),
	} {
		if _, err := svc.Ingest(context.Background(), env, ""); !errors.Is(err, normalize.ErrInvalid) {
			t.Fatalf("%q: %v", env.Text, err)
		}
	}
	ts, _, _ := s.ListTickets(context.Background(), store.TicketFilter{})
	if len(ts) != 0 {
		t.Fatalf("%d tickets written", len(ts))
	}
}
