package pipeline_test

import (
	"testing"
	"time"

	"hotline/configs"
	"hotline/pipeline"
	"hotline/ticket"
)

func deadlines(t *testing.T, mod func(*configs.Config)) *pipeline.Deadlines {
	t.Helper()
	cfg, err := configs.Load("")
	if err != nil {
		t.Fatal(err)
	}
	if mod != nil {
		mod(cfg)
	}
	cal, err := pipeline.Calendar(cfg)
	if err != nil {
		t.Fatal(err)
	}
	d, err := pipeline.NewDeadlines(cal, cfg.Deadlines)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestTransferDue: by 17:00 the same working day; accepted between 17:00 and
// 08:30 of the next working day, by 12:00 of that day; holidays and 调休.
func TestTransferDue(t *testing.T) {
	d := deadlines(t, nil)
	for _, c := range []struct {
		accepted string
		urgent   bool
		want     string
		why      string
	}{
		{"2026-11-27 10:00:00", false, "2026-11-27 17:00:00", "working hours: same day 17:00"},
		{"2026-11-27 08:30:00", false, "2026-11-27 17:00:00", "08:30 sharp is working hours"},
		{"2026-11-27 08:29:59", false, "2026-11-27 12:00:00", "before 08:30: 12:00 today"},
		{"2026-11-27 00:10:00", false, "2026-11-27 12:00:00", "after midnight: 12:00 today"},
		{"2026-11-27 16:59:59", false, "2026-11-27 17:00:00", "just before the cutoff"},
		{"2026-11-26 17:00:00", false, "2026-11-27 12:00:00", "17:00 sharp: next working day 12:00"},
		{"2026-11-27 17:00:00", false, "2026-11-30 12:00:00", "Friday 17:00: Monday 12:00"},
		{"2026-11-28 10:00:00", false, "2026-11-30 12:00:00", "Saturday: Monday 12:00"},
		{"2026-11-29 23:59:00", false, "2026-11-30 12:00:00", "Sunday night: Monday 12:00"},
		{"2026-09-30 17:30:00", false, "2026-10-08 12:00:00", "eve of 国庆: after the holiday"},
		{"2026-10-03 09:00:00", false, "2026-10-08 12:00:00", "during 国庆"},
		{"2026-10-09 17:05:00", false, "2026-10-10 12:00:00", "Friday evening before the 调休 Saturday"},
		{"2026-10-10 09:00:00", false, "2026-10-10 17:00:00", "调休 Saturday is a working day"},
		{"2026-02-13 18:00:00", false, "2026-02-14 12:00:00", "before 春节: the 调休 Saturday 02-14"},
		{"2026-02-14 17:30:00", false, "2026-02-24 12:00:00", "调休 Saturday evening: after 春节"},
		{"2026-01-04 08:00:00", false, "2026-01-04 12:00:00", "调休 Sunday morning"},
		{"2026-01-30 17:30:00", false, "2026-02-02 12:00:00", "month end on a Friday"},
		{"2026-03-31 17:30:00", false, "2026-04-01 12:00:00", "month end on a Tuesday"},
		{"2026-04-30 17:30:00", false, "2026-05-06 12:00:00", "month end before 劳动节"},
		{"2026-12-31 17:00:00", false, "2027-01-04 12:00:00", "year end before 元旦 2027"},
		{"2026-11-27 10:00:00", true, "2026-11-27 11:00:00", "urgent: within one working hour"},
		{"2026-11-27 16:30:00", true, "2026-11-27 17:00:00", "urgent late in the day: 17:00 is earlier"},
		{"2026-11-27 07:00:00", true, "2026-11-27 09:30:00", "urgent before work: one hour after 08:30"},
	} {
		if got := d.TransferDue(at(c.accepted), c.urgent); !got.Equal(at(c.want)) {
			t.Errorf("%s (%s): TransferDue = %s, want %s", c.accepted, c.why, got.In(loc).Format(time.DateTime), c.want)
		}
	}
}

func TestReplyDue(t *testing.T) {
	d := deadlines(t, func(c *configs.Config) { c.Deadlines.ReplyDaysByCategory = map[string]int{"工业交通": 2} })
	prov := at("2026-11-30 12:00:00")
	late := at("2026-12-31 12:00:00")
	for _, c := range []struct {
		from     string
		category string
		nature   ticket.Nature
		urgent   bool
		province *time.Time
		want     string
		why      string
	}{
		{"2026-11-27 10:00:00", "城建环保", ticket.Help, false, nil, "2026-12-04 17:00:00", "help: 5 working days"},
		{"2026-11-27 10:00:00", "城建环保", ticket.Consult, false, nil, "2026-12-02 17:00:00", "consult: 3 working days"},
		{"2026-11-27 10:00:00", "城建环保", ticket.Suggestion, false, nil, "2026-12-11 17:00:00", "suggestion: 10 working days"},
		{"2026-11-27 10:00:00", "工业交通", ticket.Help, false, nil, "2026-12-01 17:00:00", "category rule wins over nature"},
		{"2026-11-27 10:00:00", "城建环保", ticket.Help, true, nil, "2026-11-30 17:00:00", "urgent: 1 working day"},
		{"2026-11-27 10:00:00", "城建环保", ticket.Help, false, &prov, "2026-11-30 12:00:00", "province due earlier"},
		{"2026-11-27 10:00:00", "城建环保", ticket.Help, false, &late, "2026-12-04 17:00:00", "province due later: ours"},
		{"2026-09-28 10:00:00", "城建环保", ticket.Help, false, nil, "2026-10-10 17:00:00", "over 国庆, on the 调休 Saturday"},
		{"2026-02-26 10:00:00", "城建环保", ticket.Consult, false, nil, "2026-03-02 17:00:00", "month end with 调休 02-28"},
		{"2026-12-28 10:00:00", "城建环保", ticket.Help, false, nil, "2027-01-05 17:00:00", "year end over 元旦 (12-29, 30, 31, 01-04, 05)"},
	} {
		got := d.ReplyDue(at(c.from), c.category, c.nature, c.urgent, c.province)
		if !got.Equal(at(c.want)) {
			t.Errorf("%s (%s): ReplyDue = %s, want %s", c.from, c.why, got.In(loc).Format(time.DateTime), c.want)
		}
	}
	if got := d.ExtendedDue(at("2026-12-04 17:00:00"), 7); !got.Equal(at("2026-12-15 17:00:00")) {
		t.Errorf("ExtendedDue 7 days = %s", got.In(loc))
	}
	if got := d.FollowupDue(at("2026-11-27 10:00:00")); !got.Equal(at("2026-11-30 10:00:00")) {
		t.Errorf("FollowupDue = %s, want 3 days later", got.In(loc))
	}
}

func TestDeadlineConfigErrors(t *testing.T) {
	cfg, _ := configs.Load("")
	cal, _ := pipeline.Calendar(cfg)
	for _, mod := range []func(*configs.Deadlines){
		func(d *configs.Deadlines) { d.TransferCutoff = "5pm" },
		func(d *configs.Deadlines) { d.ReplyWorkingDays = 0 },
		func(d *configs.Deadlines) { d.ReplyDaysByNature = map[string]int{"gossip": 3} },
		func(d *configs.Deadlines) { d.ReplyDaysByCategory = map[string]int{"城建环保": 0} },
	} {
		c := cfg.Deadlines
		mod(&c)
		if _, err := pipeline.NewDeadlines(cal, c); err == nil {
			t.Errorf("accepted %+v", c)
		}
	}
}
