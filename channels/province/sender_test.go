package province

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"hotline/ticket"
)

type hit struct {
	path string
	h    http.Header
	body []byte
}

type platform struct {
	mu     sync.Mutex
	hits   []hit
	status int
	answer string
}

func (p *platform) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.hits = append(p.hits, hit{r.URL.EscapedPath(), r.Header.Clone(), b})
	if p.status != 0 {
		w.WriteHeader(p.status)
	}
	io.WriteString(w, p.answer)
}

type answers struct {
	got []string
	err error
}

func (a *answers) ProvinceAnswered(_ context.Context, no, caseID string, status int, body string) error {
	a.got = append(a.got, no+" "+caseID+" "+body)
	return a.err
}

type caseOf map[string]string

func (c caseOf) ProvinceCaseOf(_ context.Context, no string) (string, error) {
	if id, ok := c[no]; ok {
		return id, nil
	}
	return "", ticket.ErrNotFound
}

func TestSenderEvent(t *testing.T) {
	p := &platform{}
	srv := httptest.NewServer(p)
	defer srv.Close()
	s := &Sender{BaseURL: srv.URL + "/", Secret: func() string { return "k" }, Cases: caseOf{"20261127-000001": "SD/1"}}
	ctx := context.Background()
	err := s.Send(ctx, ticket.Outgoing{ID: 42, Via: ticket.ViaProvince, To: "SD-9", Kind: EventTransferred, TicketNo: "20261127-000002",
		Text: "已转办", Meta: map[string]string{MetaAt: "2026-11-27T02:00:00Z", MetaUnit: "市城管局"}})
	if err != nil {
		t.Fatal(err)
	}
	h := p.hits[0]
	if h.path != "/cases/SD-9/events" || h.h.Get(HeaderIdempotency) != "42" || h.h.Get("Content-Type") != "application/json" {
		t.Fatalf("request %+v", h)
	}
	v := &Verifier{Secrets: func() []string { return []string{"k"} }, Nonces: &MemoryNonces{}}
	if err := v.Verify(ctx, h.h, h.body); err != nil {
		t.Fatalf("signature: %v", err)
	}
	var e map[string]string
	json.Unmarshal(h.body, &e)
	want := map[string]string{"event": "transferred", "at": "2026-11-27T02:00:00Z", "ticket_no": "20261127-000002", "unit": "市城管局", "text": "已转办"}
	if len(e) != len(want) {
		t.Fatalf("body %s", h.body)
	}
	for k, v := range want {
		if e[k] != v {
			t.Fatalf("body %s: %s", h.body, k)
		}
	}

	// An agent's reply on a province ticket (queued by ticket.Route without a
	// case id) goes out as "replied" to the ticket's case.
	if err := s.Send(ctx, ticket.Outgoing{ID: 43, Via: ticket.ViaProvince, Kind: ticket.ReplyAgent, TicketNo: "20261127-000001", Text: "答复"}); err != nil {
		t.Fatal(err)
	}
	h = p.hits[1]
	json.Unmarshal(h.body, &e)
	if h.path != "/cases/SD%2F1/events" || e["event"] != "replied" || e["text"] != "答复" || e["at"] == "" {
		t.Fatalf("reply %s %s", h.path, h.body)
	}
	if err := s.Send(ctx, ticket.Outgoing{ID: 44, Kind: ticket.ReplyAgent, TicketNo: "20261127-000009"}); !errors.Is(err, ticket.ErrPermanent) {
		t.Fatalf("reply on a ticket without case: %v", err)
	}
}

func TestSenderOutcomes(t *testing.T) {
	p := &platform{}
	srv := httptest.NewServer(p)
	defer srv.Close()
	s := &Sender{BaseURL: srv.URL, Secret: func() string { return "k" }}
	m := ticket.Outgoing{ID: 1, To: "C", Kind: EventAccepted, TicketNo: "T"}
	for _, c := range []struct {
		status    int
		ok, final bool
	}{
		{200, true, false}, {204, true, false},
		{400, false, true}, {401, false, true}, {404, false, true}, {409, false, true},
		{408, false, false}, {429, false, false}, {500, false, false}, {502, false, false}, {503, false, false},
	} {
		p.status = c.status
		err := s.Send(context.Background(), m)
		if (err == nil) != c.ok || errors.Is(err, ticket.ErrPermanent) != c.final {
			t.Fatalf("status %d: %v", c.status, err)
		}
	}
	// unreachable and timed out: retried
	srv.Close()
	if err := s.Send(context.Background(), m); err == nil || errors.Is(err, ticket.ErrPermanent) {
		t.Fatalf("unreachable: %v", err)
	}
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { time.Sleep(300 * time.Millisecond) }))
	defer slow.Close()
	s.BaseURL = slow.URL
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := s.Send(ctx, m); err == nil || errors.Is(err, ticket.ErrPermanent) {
		t.Fatalf("timeout: %v", err)
	}
	// not configured: waits (retried), never dead-lettered at once
	s.BaseURL = ""
	if err := s.Send(context.Background(), m); err == nil || errors.Is(err, ticket.ErrPermanent) {
		t.Fatalf("no base_url: %v", err)
	}
}

func TestSenderCaseUp(t *testing.T) {
	p := &platform{answer: `{"received":true,"province_case_no":"SD1"}`}
	srv := httptest.NewServer(p)
	defer srv.Close()
	a := &answers{}
	s := &Sender{BaseURL: srv.URL, Secret: func() string { return "k" }, Answers: a}
	body := `{"case_id":"20261127-000003","title":"t","content":"c","citizen":{"name":"","phone":"","address":""}}`
	m := ticket.Outgoing{ID: 7, To: "20261127-000003", Kind: KindCaseUp, TicketNo: "20261127-000003", Meta: map[string]string{MetaBody: body}}
	if err := s.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	if p.hits[0].path != "/cases" || string(p.hits[0].body) != body || p.hits[0].h.Get(HeaderIdempotency) != "7" {
		t.Fatalf("hit %+v", p.hits[0])
	}
	if len(a.got) != 1 || a.got[0] != `20261127-000003 20261127-000003 {"received":true,"province_case_no":"SD1"}` {
		t.Fatalf("answer %v", a.got)
	}
	a.err = errors.New("db down")
	if err := s.Send(context.Background(), m); err == nil || errors.Is(err, ticket.ErrPermanent) {
		t.Fatalf("an answer not recorded must be retried: %v", err)
	}
}
