// Package intake is the first step of the pipeline: it validates an envelope,
// classifies it, decides the standard auto-reply, and has the store commit the
// message, the ticket change and the reply's outbox item in one transaction.
package intake

import (
	"context"
	"fmt"

	"hotline/classify"
	"hotline/kb"
	"hotline/normalize"
	"hotline/replies"
	"hotline/store"
	"hotline/ticket"
)

// Store commits an envelope exactly once (see store.(*Store).Ingest).
type Store interface {
	Ingest(ctx context.Context, env normalize.Envelope, o store.IngestOptions, decide ticket.Decide) (ticket.Receipt, error)
}

// Classifier tells what a text is about.
type Classifier interface {
	Classify(text string) classify.Result
	Flags(classify.Result) []string
}

// Answerer finds a confident knowledge-base answer, if any.
type Answerer interface {
	Answer(text string, minScore float64) (kb.Hit, bool)
}

// Observer is told about every accepted message (metrics).
type Observer interface {
	Ingested(ch normalize.Channel, duplicate bool)
}

// Options tune the service.
type Options struct {
	Options      store.IngestOptions // ThreadWindow, RawMax
	MaxTextChars int
	KBMinScore   float64
	// AutoReply holds the standard replies per channel that answers at once;
	// channels without an entry wait for an agent.
	AutoReply map[normalize.Channel]replies.Set
	// Threaded channels join a follow-up to the contact's open intake ticket.
	Threaded map[normalize.Channel]bool
}

// Service is the intake step. Safe for concurrent use.
type Service struct {
	store    Store
	classify Classifier
	kb       Answerer
	observe  Observer
	o        Options
}

// New builds the service; kb and observe may be nil.
func New(s Store, c Classifier, a Answerer, observe Observer, o Options) *Service {
	return &Service{store: s, classify: c, kb: a, observe: observe, o: o}
}

// Result is what became of a message, including the replies decided (a channel
// that answers synchronously, such as WeChat's passive reply, uses them).
type Result struct {
	ticket.Receipt
	Decision ticket.Decision
}

// Ingest accepts one envelope. It returns normalize.ErrInvalid (wrapped) for bad
// input, in which case nothing was written.
func (s *Service) Ingest(ctx context.Context, env normalize.Envelope, actor string) (Result, error) {
	if err := s.prepare(&env); err != nil {
		return Result{}, err
	}
	own := s.decide(env, env.Text)
	var decided ticket.Decision
	decide := func(joined *ticket.Thread) ticket.Decision {
		decided = own
		if joined != nil {
			// A follow-up completes the earlier message: judge them together.
			decided = s.decide(env, joined.Content+"\n"+env.Text)
		}
		return decided
	}
	o := s.o.Options
	o.Thread = s.o.Threaded[env.Channel]
	o.Actor = actor
	o.PassiveReplies = env.Meta["passive_reply"] == "1" // the channel answers them in its response
	r, err := s.store.Ingest(ctx, env, o, decide)
	if err != nil {
		return Result{}, err
	}
	if s.observe != nil {
		s.observe.Ingested(env.Channel, r.Duplicate)
	}
	if r.Duplicate {
		return Result{Receipt: r}, nil
	}
	return Result{Receipt: r, Decision: decided}, nil
}

func (s *Service) prepare(env *normalize.Envelope) error {
	if err := env.Validate(s.o.MaxTextChars); err != nil {
		return err
	}
	if env.Sender.Phone != "" {
		p, ok := normalize.Phone(env.Sender.Phone)
		if !ok {
			return fmt.Errorf("%w: invalid phone number", normalize.ErrInvalid)
		}
		env.Sender.Phone = p
	}
	return nil
}

// decide classifies text and picks the standard reply the work standard gives
// at once: thanks, out-of-remit and (confident) knowledge-base answers close the
// ticket; suggestions and incomplete messages are answered and stay at intake
// (a suggestion still goes to a unit; an incomplete one may be completed by a
// follow-up that joins it); everything else waits for an agent.
func (s *Service) decide(env normalize.Envelope, text string) ticket.Decision {
	res := s.classify.Classify(text)
	d := ticket.Decision{Classification: ticket.Classification{
		Nature: res.Nature, Category: res.Category, Flags: s.classify.Flags(res),
	}}
	set, auto := s.o.AutoReply[env.Channel]
	reply := func(kind string, v replies.Vars) {
		if !auto {
			return
		}
		if text, err := set.Render(kind, v); err == nil {
			d.Replies = append(d.Replies, ticket.Reply{Kind: kind, Text: text})
		}
	}
	switch {
	case res.Incomplete:
		reply(ticket.ReplyIncomplete, replies.Vars{})
		d.Note = "内容不完整"
	case res.Thanks:
		reply(ticket.ReplyThanks, replies.Vars{})
		d.Status, d.Note = ticket.StatusClosed, "表示感谢"
	case res.OutOfRemit != nil:
		reply(ticket.ReplyOutOfRemit, replies.Vars{Place: res.OutOfRemit.Place, Target: res.OutOfRemit.Target})
		d.Status, d.Note = ticket.StatusClosed, "超出受理范围："+res.OutOfRemit.Place
	case res.Suggestion:
		reply(ticket.ReplySuggestion, replies.Vars{})
		d.Note = "建议"
	case res.Nature == ticket.Consult && s.kb != nil:
		if hit, ok := s.kb.Answer(text, s.o.KBMinScore); ok && auto {
			reply(ticket.ReplyAnswered, replies.Vars{Answer: hit.Entry.Answer, Unit: hit.Entry.Unit})
			d.Classification.Flags = append(d.Classification.Flags, ticket.FlagKBAnswer)
			d.Status, d.Note = ticket.StatusClosed, "知识库答复："+hit.Entry.Question
		}
	}
	return d
}

// IngestEnvelope is Ingest for channels that need only the receipt.
func (s *Service) IngestEnvelope(ctx context.Context, env normalize.Envelope) (ticket.Receipt, error) {
	r, err := s.Ingest(ctx, env, "")
	return r.Receipt, err
}

// IngestInto stores a message on ticket no without reclassifying it or
// answering it (an SMS survey answer, which the pipeline then applies).
func (s *Service) IngestInto(ctx context.Context, env normalize.Envelope, no, actor string) (ticket.Receipt, error) {
	return s.IngestFollowUp(ctx, env, no, actor, "短信回访答复")
}

// IngestFollowUp is IngestInto for other follow-ups (a citizen's answer by
// e-mail to a ticket), note being the audit trail's word for it.
func (s *Service) IngestFollowUp(ctx context.Context, env normalize.Envelope, no, actor, note string) (ticket.Receipt, error) {
	if err := s.prepare(&env); err != nil {
		return ticket.Receipt{}, err
	}
	o := s.o.Options
	o.JoinTicket, o.Actor = no, actor
	keep := func(joined *ticket.Thread) ticket.Decision {
		if joined == nil {
			return ticket.Decision{}
		}
		return ticket.Decision{Classification: joined.Classification, Note: note}
	}
	r, err := s.store.Ingest(ctx, env, o, keep)
	if err == nil && s.observe != nil {
		s.observe.Ingested(env.Channel, r.Duplicate)
	}
	return r, err
}
