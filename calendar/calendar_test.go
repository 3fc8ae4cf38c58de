package calendar_test

import (
	"testing"
	"time"

	"hotline/calendar"
	"hotline/configs"
)

var loc, _ = time.LoadLocation("Asia/Shanghai")

func at(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04:05", s, loc)
	if err != nil {
		panic(err)
	}
	return t
}

// sample is the calendar of configs/hotline.yaml.
func sample(t *testing.T) *calendar.Calendar {
	t.Helper()
	cfg, err := configs.Load("")
	if err != nil {
		t.Fatal(err)
	}
	c := cfg.Calendar
	cal, err := calendar.New(calendar.Config{WorkStart: c.WorkStart, WorkEnd: c.WorkEnd, LunchStart: c.LunchStart,
		LunchEnd: c.LunchEnd, Weekend: c.Weekend, Holidays: c.Holidays, Workdays: c.Workdays}, loc)
	if err != nil {
		t.Fatal(err)
	}
	return cal
}

func TestIsWorkday2026(t *testing.T) {
	cal := sample(t)
	for _, c := range []struct {
		day  string
		want bool
		why  string
	}{
		{"2026-01-01", false, "元旦"},
		{"2026-01-02", false, "元旦 (Friday)"},
		{"2026-01-04", true, "Sunday, 元旦调休"},
		{"2026-01-05", true, "Monday"},
		{"2026-01-10", false, "Saturday"},
		{"2026-02-14", true, "Saturday, 春节调休"},
		{"2026-02-16", false, "春节 (Monday)"},
		{"2026-02-23", false, "春节, last day"},
		{"2026-02-24", true, "after 春节"},
		{"2026-02-28", true, "Saturday, 春节调休"},
		{"2026-04-06", false, "清明 (Monday)"},
		{"2026-05-05", false, "劳动节"},
		{"2026-05-09", true, "Saturday, 劳动节调休"},
		{"2026-06-19", false, "端午 (Friday)"},
		{"2026-09-20", true, "Sunday, 国庆调休"},
		{"2026-09-25", false, "中秋 (Friday)"},
		{"2026-10-07", false, "国庆"},
		{"2026-10-08", true, "Thursday after 国庆"},
		{"2026-10-10", true, "Saturday, 国庆调休"},
		{"2026-10-11", false, "Sunday"},
		{"2026-12-31", true, "Thursday"},
		{"2027-01-01", false, "元旦 2027"},
	} {
		if got := cal.IsWorkday(at(c.day + " 10:00:00")); got != c.want {
			t.Errorf("%s (%s): IsWorkday = %v, want %v", c.day, c.why, got, c.want)
		}
	}
}

func TestWorkdayArithmetic(t *testing.T) {
	cal := sample(t)
	for _, c := range []struct {
		from string
		n    int
		want string
	}{
		{"2026-11-27 10:00:00", 5, "2026-12-04 17:00:00"}, // Fri → next Fri
		{"2026-09-28 10:00:00", 5, "2026-10-10 17:00:00"}, // over 国庆, ends on the 调休 Saturday
		{"2026-02-26 10:00:00", 3, "2026-03-02 17:00:00"}, // month end with the 调休 Saturday 02-28
		{"2026-01-29 16:00:00", 2, "2026-02-02 17:00:00"}, // month end over a weekend
		{"2026-12-30 09:00:00", 2, "2027-01-04 17:00:00"}, // year end over 元旦 2027
		{"2026-10-03 09:00:00", 1, "2026-10-08 17:00:00"}, // from a holiday
		{"2026-02-13 20:00:00", 1, "2026-02-14 17:00:00"}, // Friday night → 调休 Saturday
	} {
		if got := cal.EndOfWorkdays(at(c.from), c.n); !got.Equal(at(c.want)) {
			t.Errorf("EndOfWorkdays(%s, %d) = %s, want %s", c.from, c.n, got.In(loc), c.want)
		}
	}
}

func TestWorkingTimeWithLunch(t *testing.T) {
	cal, err := calendar.New(calendar.Config{WorkStart: "08:30", WorkEnd: "17:00", LunchStart: "12:00", LunchEnd: "13:30",
		Weekend: []string{"saturday", "sunday"}, Holidays: []string{"2026-10-01..2026-10-07 国庆节"}}, loc)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		from string
		d    time.Duration
		want string
	}{
		{"2026-11-27 10:00:00", time.Hour, "2026-11-27 11:00:00"},
		{"2026-11-27 11:30:00", time.Hour, "2026-11-27 14:00:00"},        // across lunch
		{"2026-11-27 16:30:00", time.Hour, "2026-11-30 09:00:00"},        // Friday → Monday
		{"2026-11-27 12:15:00", 10 * time.Minute, "2026-11-27 13:40:00"}, // starts in lunch
		{"2026-09-30 16:00:00", 2 * time.Hour, "2026-10-08 09:30:00"},    // over 国庆
		{"2026-11-28 03:00:00", 30 * time.Minute, "2026-11-30 09:00:00"}, // Saturday night
	} {
		if got := cal.AddWorkingTime(at(c.from), c.d); !got.Equal(at(c.want)) {
			t.Errorf("AddWorkingTime(%s, %s) = %s, want %s", c.from, c.d, got.In(loc), c.want)
		}
	}
	if got := cal.WorkingTimeBetween(at("2026-11-27 11:00:00"), at("2026-11-30 09:00:00")); got != 5*time.Hour {
		t.Errorf("WorkingTimeBetween = %s, want 5h (1h+3h30 Friday, 30m Monday)", got)
	}
	if cal.InWorkingHours(at("2026-11-27 12:30:00")) || !cal.InWorkingHours(at("2026-11-27 13:30:00")) || cal.InWorkingHours(at("2026-11-27 17:00:00")) {
		t.Error("InWorkingHours: lunch and the end of work are not working time")
	}
}

func TestConfigErrors(t *testing.T) {
	for _, c := range []calendar.Config{
		{WorkStart: "8:3x", WorkEnd: "17:00"},
		{WorkStart: "17:00", WorkEnd: "08:30"},
		{WorkStart: "08:30", WorkEnd: "17:00", Weekend: []string{"someday"}},
		{WorkStart: "08:30", WorkEnd: "17:00", Holidays: []string{"2026-13-01"}},
		{WorkStart: "08:30", WorkEnd: "17:00", Holidays: []string{"2026-10-07..2026-10-01"}},
		{WorkStart: "08:30", WorkEnd: "17:00", Holidays: []string{"2026-10-01"}, Workdays: []string{"2026-10-01"}},
		{WorkStart: "08:30", WorkEnd: "17:00", LunchStart: "12:00"},
		{WorkStart: "08:30", WorkEnd: "17:00", LunchStart: "18:00", LunchEnd: "19:00"},
	} {
		if _, err := calendar.New(c, loc); err == nil {
			t.Errorf("New(%+v) accepted", c)
		}
	}
}
