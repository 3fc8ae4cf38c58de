// Package calendar is the hotline's working calendar: working hours (with an
// optional lunch break), the weekly rest days, public holidays and the make-up
// working days (调休上班) of the State Council's yearly schedule. Every deadline
// of the pipeline is computed on it.
package calendar

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Config is the calendar as written in the configuration.
type Config struct {
	WorkStart  string   // "08:30"
	WorkEnd    string   // "17:00"
	LunchStart string   // optional, "12:00"
	LunchEnd   string   // optional, "13:30"
	Weekend    []string // rest days of the week: "saturday", "sunday" (or 六, 日)
	Holidays   []string // "2026-10-01" or a range "2026-10-01..2026-10-07"
	Workdays   []string // make-up working days falling on a rest day (调休)
}

// Clock is a time of day in minutes after midnight.
type Clock int

// ParseClock reads "HH:MM".
func ParseClock(s string) (Clock, error) {
	hs, ms, ok := strings.Cut(strings.TrimSpace(s), ":")
	h, err1 := strconv.Atoi(hs)
	m, err2 := strconv.Atoi(ms)
	if !ok || err1 != nil || err2 != nil || len(ms) != 2 || h < 0 || h > 24 || m < 0 || m > 59 || (h == 24 && m > 0) {
		return 0, fmt.Errorf("calendar: %q is not a time of day HH:MM", s)
	}
	return Clock(h*60 + m), nil
}

func (c Clock) String() string { return fmt.Sprintf("%02d:%02d", int(c)/60, int(c)%60) }

// Calendar answers which days are working days and does working-time arithmetic
// in the city's time zone. It is immutable and safe for concurrent use.
type Calendar struct {
	loc                 *time.Location
	start, end          Clock
	lunchFrom, lunchTo  Clock
	hasLunch            bool
	weekend             [7]bool
	holidays, makeupDay map[civil]bool
}

type civil struct {
	y int
	m time.Month
	d int
}

func civilOf(t time.Time, loc *time.Location) civil {
	y, m, d := t.In(loc).Date()
	return civil{y, m, d}
}

var weekdays = map[string]time.Weekday{
	"sunday": time.Sunday, "monday": time.Monday, "tuesday": time.Tuesday, "wednesday": time.Wednesday,
	"thursday": time.Thursday, "friday": time.Friday, "saturday": time.Saturday,
	"日": time.Sunday, "一": time.Monday, "二": time.Tuesday, "三": time.Wednesday, "四": time.Thursday, "五": time.Friday, "六": time.Saturday,
}

// New checks c and builds the calendar for loc.
func New(c Config, loc *time.Location) (*Calendar, error) {
	if loc == nil {
		loc = time.Local
	}
	cal := &Calendar{loc: loc, holidays: map[civil]bool{}, makeupDay: map[civil]bool{}}
	var err error
	if cal.start, err = ParseClock(c.WorkStart); err != nil {
		return nil, fmt.Errorf("calendar.work_start: %w", err)
	}
	if cal.end, err = ParseClock(c.WorkEnd); err != nil {
		return nil, fmt.Errorf("calendar.work_end: %w", err)
	}
	if cal.end <= cal.start {
		return nil, fmt.Errorf("calendar: work_end %s is not after work_start %s", cal.end, cal.start)
	}
	if c.LunchStart != "" || c.LunchEnd != "" {
		if cal.lunchFrom, err = ParseClock(c.LunchStart); err != nil {
			return nil, fmt.Errorf("calendar.lunch_start: %w", err)
		}
		if cal.lunchTo, err = ParseClock(c.LunchEnd); err != nil {
			return nil, fmt.Errorf("calendar.lunch_end: %w", err)
		}
		if cal.lunchFrom < cal.start || cal.lunchTo > cal.end || cal.lunchTo <= cal.lunchFrom {
			return nil, fmt.Errorf("calendar: lunch %s-%s must lie inside working hours", cal.lunchFrom, cal.lunchTo)
		}
		cal.hasLunch = true
	}
	for _, w := range c.Weekend {
		d, ok := weekdays[strings.ToLower(strings.TrimSpace(w))]
		if !ok {
			return nil, fmt.Errorf("calendar.weekend: unknown day %q", w)
		}
		cal.weekend[d] = true
	}
	if err := cal.addDays(c.Holidays, cal.holidays, "holidays"); err != nil {
		return nil, err
	}
	if err := cal.addDays(c.Workdays, cal.makeupDay, "workdays"); err != nil {
		return nil, err
	}
	for d := range cal.makeupDay {
		if cal.holidays[d] {
			return nil, fmt.Errorf("calendar: %04d-%02d-%02d is both a holiday and a make-up working day", d.y, d.m, d.d)
		}
	}
	return cal, nil
}

func (c *Calendar) addDays(specs []string, into map[civil]bool, key string) error {
	for _, s := range specs {
		s = strings.TrimSpace(s)
		if i := strings.IndexAny(s, " #"); i >= 0 { // "2026-10-01..2026-10-07 国庆节"
			s = s[:i]
		}
		from, to, isRange := strings.Cut(s, "..")
		a, err := time.ParseInLocation("2006-01-02", from, c.loc)
		if err != nil {
			return fmt.Errorf("calendar.%s: %q is not a date YYYY-MM-DD", key, s)
		}
		b := a
		if isRange {
			if b, err = time.ParseInLocation("2006-01-02", to, c.loc); err != nil || b.Before(a) || b.Sub(a) > 60*24*time.Hour {
				return fmt.Errorf("calendar.%s: %q is not a range FROM..TO of at most 60 days", key, s)
			}
		}
		for d := a; !d.After(b); d = d.AddDate(0, 0, 1) {
			into[civilOf(d, c.loc)] = true
		}
	}
	return nil
}

// Location is the calendar's time zone.
func (c *Calendar) Location() *time.Location { return c.loc }

// WorkStart and WorkEnd are the working hours.
func (c *Calendar) WorkStart() Clock { return c.start }
func (c *Calendar) WorkEnd() Clock   { return c.end }

// IsWorkday reports whether the local date of t is a working day: a make-up
// working day always is; otherwise neither a holiday nor a rest day of the week.
func (c *Calendar) IsWorkday(t time.Time) bool {
	d := civilOf(t, c.loc)
	if c.makeupDay[d] {
		return true
	}
	if c.holidays[d] {
		return false
	}
	return !c.weekend[t.In(c.loc).Weekday()]
}

// IsHoliday reports whether the local date of t is a public holiday.
func (c *Calendar) IsHoliday(t time.Time) bool { return c.holidays[civilOf(t, c.loc)] }

// Day returns local midnight of t's date.
func (c *Calendar) Day(t time.Time) time.Time {
	y, m, d := t.In(c.loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, c.loc)
}

// At returns the local date of day at clock k.
func (c *Calendar) At(day time.Time, k Clock) time.Time {
	y, m, d := day.In(c.loc).Date()
	return time.Date(y, m, d, int(k)/60, int(k)%60, 0, 0, c.loc)
}

// ClockOf returns the time of day of t (minutes; seconds are kept by callers
// comparing full times).
func (c *Calendar) ClockOf(t time.Time) Clock {
	l := t.In(c.loc)
	return Clock(l.Hour()*60 + l.Minute())
}

// NextWorkday returns midnight of the first working day after t's date.
func (c *Calendar) NextWorkday(t time.Time) time.Time {
	d := c.Day(t)
	for i := 0; i < 400; i++ {
		d = d.AddDate(0, 0, 1)
		if c.IsWorkday(d) {
			return d
		}
	}
	return d // a calendar with no working day at all: give up after a year
}

// WorkdayOnOrAfter returns midnight of t's date if it is a working day, else of
// the next working day.
func (c *Calendar) WorkdayOnOrAfter(t time.Time) time.Time {
	if c.IsWorkday(t) {
		return c.Day(t)
	}
	return c.NextWorkday(t)
}

// AddWorkdays returns midnight of the n-th working day after t's date (n ≥ 1);
// n ≤ 0 returns WorkdayOnOrAfter(t).
func (c *Calendar) AddWorkdays(t time.Time, n int) time.Time {
	if n <= 0 {
		return c.WorkdayOnOrAfter(t)
	}
	d := t
	for i := 0; i < n; i++ {
		d = c.NextWorkday(d)
	}
	return d
}

// EndOfWorkdays is the end of working hours of the n-th working day after t's
// date: "within n working days".
func (c *Calendar) EndOfWorkdays(t time.Time, n int) time.Time {
	return c.At(c.AddWorkdays(t, n), c.end)
}

// InWorkingHours reports whether t falls in working time (a working day,
// between the start and end of work, outside lunch).
func (c *Calendar) InWorkingHours(t time.Time) bool {
	if !c.IsWorkday(t) {
		return false
	}
	lt := t.In(c.loc)
	start, end := c.At(lt, c.start), c.At(lt, c.end)
	if lt.Before(start) || !lt.Before(end) {
		return false
	}
	if c.hasLunch && !lt.Before(c.At(lt, c.lunchFrom)) && lt.Before(c.At(lt, c.lunchTo)) {
		return false
	}
	return true
}

// AddWorkingTime returns the moment when d of working time has passed after t,
// counting only working hours of working days (the lunch break excluded).
func (c *Calendar) AddWorkingTime(t time.Time, d time.Duration) time.Time {
	cur := t.In(c.loc)
	for i := 0; i < 1000; i++ {
		for _, p := range c.periods(cur) {
			if !cur.Before(p[1]) {
				continue
			}
			if cur.Before(p[0]) {
				cur = p[0]
			}
			left := p[1].Sub(cur)
			if d <= left {
				return cur.Add(d)
			}
			d -= left
			cur = p[1]
		}
		cur = c.NextWorkday(cur)
	}
	return cur
}

// WorkingTimeBetween is the working time from a to b (0 if b is not after a).
func (c *Calendar) WorkingTimeBetween(a, b time.Time) time.Duration {
	var sum time.Duration
	cur := a.In(c.loc)
	for i := 0; i < 4000 && cur.Before(b); i++ {
		for _, p := range c.periods(cur) {
			s, e := p[0], p[1]
			if s.Before(cur) {
				s = cur
			}
			if e.After(b) {
				e = b
			}
			if e.After(s) {
				sum += e.Sub(s)
			}
		}
		cur = c.NextWorkday(cur)
	}
	return sum
}

// periods are the working periods of t's date (none on a rest day).
func (c *Calendar) periods(t time.Time) [][2]time.Time {
	if !c.IsWorkday(t) {
		return nil
	}
	if c.hasLunch {
		return [][2]time.Time{{c.At(t, c.start), c.At(t, c.lunchFrom)}, {c.At(t, c.lunchTo), c.At(t, c.end)}}
	}
	return [][2]time.Time{{c.At(t, c.start), c.At(t, c.end)}}
}
