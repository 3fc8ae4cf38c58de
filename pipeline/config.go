package pipeline

import (
	"fmt"
	"log/slog"
	"time"

	"hotline/calendar"
	"hotline/configs"
	"hotline/replies"
	"hotline/store"
)

// Calendar builds the working calendar of the configuration.
func Calendar(cfg *configs.Config) (*calendar.Calendar, error) {
	c := cfg.Calendar
	return calendar.New(calendar.Config{WorkStart: c.WorkStart, WorkEnd: c.WorkEnd, LunchStart: c.LunchStart,
		LunchEnd: c.LunchEnd, Weekend: c.Weekend, Holidays: c.Holidays, Workdays: c.Workdays}, cfg.City.Location())
}

// FromConfig builds the service of the configuration.
func FromConfig(st *store.Store, cfg *configs.Config, notify func(), log *slog.Logger) (*Service, error) {
	cal, err := Calendar(cfg)
	if err != nil {
		return nil, err
	}
	dl, err := NewDeadlines(cal, cfg.Deadlines)
	if err != nil {
		return nil, err
	}
	sms, err := replies.New(cfg.Replies.SMS)
	if err != nil {
		return nil, err
	}
	wechat, err := replies.New(cfg.WeChat.Replies)
	if err != nil {
		return nil, fmt.Errorf("wechat.replies: %w", err)
	}
	return New(st, Options{Deadlines: dl, SMSReplies: sms, WeChatReplies: &wechat, Notify: notify, Log: log}), nil
}

// SetClock replaces the service's clock (tests and the simulator).
func (s *Service) SetClock(now func() time.Time) { s.now = now }
