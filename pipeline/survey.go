package pipeline

import (
	"context"
	"errors"
	"strings"
	"time"
	"unicode"

	"hotline/normalize"
)

// ParseSurvey reads a citizen's answer to the follow-up SMS: "1" 满意, "2"
// 基本满意, "3" 不满意 (full-width digits, surrounding punctuation and the words
// themselves accepted). ok is false for anything else: a new matter.
func ParseSurvey(text string) (rating string, ok bool) {
	s := strings.Map(func(r rune) rune {
		if r >= '０' && r <= '９' {
			return '0' + (r - '０')
		}
		if unicode.IsSpace(r) || unicode.IsPunct(r) || unicode.IsSymbol(r) {
			return -1
		}
		return r
	}, text)
	switch s {
	case "1", "满意", "1满意", "非常满意":
		return RatingSatisfied, true
	case "2", "基本满意", "2基本满意", "还行", "一般":
		return RatingBasic, true
	case "3", "不满意", "3不满意", "很不满意", "非常不满意":
		return RatingUnsatisfied, true
	}
	return "", false
}

// SurveyWindow is how long after the survey SMS an answer is taken as its answer.
const SurveyWindow = 7 * 24 * time.Hour

// SurveyReply is the hook for SMS intake: when phone's text answers a pending
// follow-up survey, the answer is recorded on that ticket (closing it, or
// sending it to supervision) and handled is true; the message then needs no
// ticket of its own. Otherwise handled is false and nothing was written.
func (s *Service) SurveyReply(ctx context.Context, phone, text string) (ticketNo string, handled bool, err error) {
	if _, ok := ParseSurvey(text); !ok {
		return "", false, nil
	}
	p, ok := normalize.Phone(phone)
	if !ok {
		return "", false, nil
	}
	no, err := s.st.SurveyTicket(ctx, p, s.now().Add(-SurveyWindow))
	if err != nil || no == "" {
		return "", false, err
	}
	_, err = s.Transition(ctx, no, ActSurveyAnswer, System, Input{Text: text})
	var te *TransitionError
	if errors.As(err, &te) {
		return "", false, nil // answered meanwhile by an agent
	}
	if err != nil {
		return "", false, err
	}
	return no, true, nil
}
