package app

import (
	"context"
	"time"

	"hotline/normalize"
	"hotline/pipeline"
	"hotline/ticket"
)

// surveyAnswer takes an SMS that answers a follow-up survey (1 满意 / 2 基本满意
// / 3 不满意) from a citizen whose ticket awaits one: the message is stored on
// that ticket, not as a new ticket, and then applied by the pipeline. A
// redelivery is a duplicate and applies nothing twice (the transition is only
// allowed while the survey is pending).
func (a *App) surveyAnswer(ctx context.Context, env normalize.Envelope) (ticket.Receipt, bool, error) {
	if a.Pipeline == nil {
		return ticket.Receipt{}, false, nil
	}
	if _, ok := pipeline.ParseSurvey(env.Text); !ok {
		return ticket.Receipt{}, false, nil
	}
	phone, ok := normalize.Phone(env.Sender.Phone)
	if !ok {
		return ticket.Receipt{}, false, nil
	}
	no, err := a.Store.SurveyTicket(ctx, phone, time.Now().Add(-pipeline.SurveyWindow))
	if err != nil || no == "" {
		return ticket.Receipt{}, false, err
	}
	r, err := a.Intake.IngestInto(ctx, env, no, "citizen")
	if err != nil {
		return r, true, err
	}
	// Stored: a failure to apply it now leaves the answer on the ticket for the
	// follow-up agent, so the provider is still told it was received.
	if _, _, err := a.Pipeline.SurveyReply(ctx, phone, env.Text); err != nil {
		a.Log.Error("sms survey answer not applied", "ticket_no", no, "err", err)
	}
	return r, true, nil
}
