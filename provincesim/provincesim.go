// Package provincesim plays the provincial platform for operators and tests
// (`hotline province-sim`): it sends signed cases down to a hotline, receives
// and verifies the events hotline reports back and the cases it sends up,
// prints them, recognises redeliveries by their Idempotency-Key, and can
// answer 500 for a while to show hotline's retries.
package provincesim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"hotline/channels/province"
)

// Options configure a simulator.
type Options struct {
	Listen  string // host:port of the simulator's own server
	Secret  string // the shared signing key (hotline's province.secret)
	Hotline string // base URL of the hotline, e.g. http://127.0.0.1:8080
	// FailFor: answer events with 500 for this long after the start.
	FailFor time.Duration
	// Prefix of the case_id of the cases sent (default "SIM-" + a timestamp).
	CasePrefix string
	Out        io.Writer     // where deliveries are printed (nil: nowhere)
	Client     *http.Client  // to reach the hotline (nil: 10 s timeout)
	Window     time.Duration // signature clock window (default 300 s)
}

// Delivery is one event hotline posted.
type Delivery struct {
	CaseID string
	Key    string // Idempotency-Key
	Event  province.Event
	Status int // what the simulator answered
	// Redelivery: the key was already answered 2xx before (hotline could not
	// record that the delivery succeeded and sent it again).
	Redelivery bool
	Attempt    int // deliveries of this key so far, this one included
	At         time.Time
}

// CaseUp is a case hotline sent up.
type CaseUp struct {
	Key  string
	Case province.Case
	// Redelivery: the key was already answered before.
	Redelivery bool
}

// Sim is one simulated provincial platform. Safe for concurrent use.
type Sim struct {
	o        Options
	verifier *province.Verifier

	mu        sync.Mutex
	failUntil time.Time
	events    []Delivery
	attempts  map[string]int
	answered  map[string]bool // keys answered 2xx
	up        []CaseUp
	upAnswers map[string][]byte
	addr      string
}

// New builds a simulator; FailFor starts counting now.
func New(o Options) *Sim {
	if o.CasePrefix == "" {
		o.CasePrefix = "SIM-" + time.Now().Format("20060102150405")
	}
	if o.Client == nil {
		o.Client = &http.Client{Timeout: 10 * time.Second}
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	s := &Sim{o: o, attempts: map[string]int{}, answered: map[string]bool{}, upAnswers: map[string][]byte{}}
	s.verifier = &province.Verifier{Secrets: func() []string { return []string{o.Secret} }, Window: o.Window, Nonces: &province.MemoryNonces{}}
	if o.FailFor > 0 {
		s.failUntil = time.Now().Add(o.FailFor)
	}
	return s
}

// FailFor makes the simulator answer events with 500 for d from now.
func (s *Sim) FailFor(d time.Duration) {
	s.mu.Lock()
	s.failUntil = time.Now().Add(d)
	s.mu.Unlock()
}

// Events returns the events received so far, in arrival order (failed
// attempts included, with Status 500).
func (s *Sim) Events() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Delivery(nil), s.events...)
}

// Accepted returns the events answered 2xx, in arrival order.
func (s *Sim) Accepted() []Delivery {
	var out []Delivery
	for _, d := range s.Events() {
		if d.Status/100 == 2 {
			out = append(out, d)
		}
	}
	return out
}

// CasesUp returns the cases hotline sent up so far.
func (s *Sim) CasesUp() []CaseUp {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]CaseUp(nil), s.up...)
}

// Addr is the bound address once Run listens (or what Listen says).
func (s *Sim) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.addr != "" {
		return s.addr
	}
	return s.o.Listen
}

func (s *Sim) printf(format string, a ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fmt.Fprintf(s.o.Out, time.Now().Format("15:04:05")+" "+format+"\n", a...)
}

// Handler serves the provincial platform's side:
//
//	POST /cases/{case_id}/events  events of the cases sent down
//	POST /cases                   cases sent up
//	GET  /files/{name}            the sample attachments of the cases sent
func (s *Sim) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /cases/{case_id}/events", s.event)
	mux.HandleFunc("POST /cases", s.caseUp)
	mux.HandleFunc("GET /files/{name}", s.file)
	return mux
}

func (s *Sim) verified(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, "unreadable body", http.StatusBadRequest)
		return nil, false
	}
	if err := s.verifier.Verify(r.Context(), r.Header, body); err != nil {
		s.printf("REJECTED %s %s: %v", r.Method, r.URL.Path, err)
		writeJSON(w, http.StatusUnauthorized, map[string]any{"error": map[string]string{"code": "bad_signature", "message": err.Error()}})
		return nil, false
	}
	return body, true
}

func (s *Sim) event(w http.ResponseWriter, r *http.Request) {
	body, ok := s.verified(w, r)
	if !ok {
		return
	}
	e, err := province.ParseEvent(body)
	if err != nil {
		s.printf("BAD EVENT %s: %v", r.URL.Path, err)
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": map[string]string{"code": "invalid_event", "message": err.Error()}})
		return
	}
	d := Delivery{CaseID: r.PathValue("case_id"), Key: r.Header.Get(province.HeaderIdempotency), Event: e, At: time.Now()}
	s.mu.Lock()
	s.attempts[d.Key]++
	d.Attempt = s.attempts[d.Key]
	failing := time.Now().Before(s.failUntil)
	left := time.Until(s.failUntil).Round(time.Second)
	if failing {
		d.Status = http.StatusInternalServerError
	} else {
		d.Status = http.StatusOK
		d.Redelivery = s.answered[d.Key]
		s.answered[d.Key] = true
	}
	s.events = append(s.events, d)
	s.mu.Unlock()
	line := fmt.Sprintf("case=%s event=%s ticket=%s unit=%q text=%q at=%s key=%s attempt=%d",
		d.CaseID, e.Event, e.TicketNo, e.Unit, e.Text, e.At, d.Key, d.Attempt)
	if failing {
		s.printf("EVENT -> 500 (failing for %s more) %s", left, line)
		writeJSON(w, http.StatusInternalServerError, map[string]any{"error": map[string]string{"code": "unavailable", "message": "simulated outage"}})
		return
	}
	if d.Redelivery {
		s.printf("EVENT -> 200 REDELIVERY (already acknowledged) %s", line)
	} else {
		s.printf("EVENT -> 200 %s", line)
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true})
}

func (s *Sim) caseUp(w http.ResponseWriter, r *http.Request) {
	body, ok := s.verified(w, r)
	if !ok {
		return
	}
	in, err := province.ParseCase(body, time.Local)
	if err != nil {
		s.printf("BAD CASE UP: %v", err)
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": map[string]string{"code": "invalid_case", "message": err.Error()}})
		return
	}
	key := r.Header.Get(province.HeaderIdempotency)
	s.mu.Lock()
	answer, seen := s.upAnswers[key]
	if !seen {
		answer, _ = json.Marshal(map[string]any{"received": true, "province_case_no": fmt.Sprintf("SD%s%04d", time.Now().Format("20060102"), len(s.up)+1),
			"message": "省平台已接收，将按程序办理"})
		s.upAnswers[key] = answer
	}
	s.up = append(s.up, CaseUp{Key: key, Case: in.Case, Redelivery: seen})
	s.mu.Unlock()
	tag := ""
	if seen {
		tag = " REDELIVERY"
	}
	s.printf("CASE UP%s case=%s title=%q key=%s -> 200 %s", tag, in.CaseID, in.Title, key, answer)
	w.Header().Set("Content-Type", "application/json")
	w.Write(answer)
}

// file serves a small sample attachment.
func (s *Sim) file(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if name != "sample.txt" {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	io.WriteString(w, "省长信箱来信附件（模拟）：现场情况说明。\n")
}

// SampleCase is the i-th case the simulator sends: a citizen's letter with a
// deadline five days out and one attachment served by the simulator.
func (s *Sim) SampleCase(i int) province.Case {
	now := time.Now()
	topics := []struct{ title, content string }{
		{"小区路灯长期不亮", "德城区新湖街道某小区东门至3号楼之间的路灯已经坏了一个多月，晚上出行很不安全，希望尽快维修。"},
		{"反映道路积水问题", "德城区三八路与湖滨大道交叉口每逢下雨积水严重，车辆和行人通行困难，请相关部门疏通排水。"},
		{"噪音扰民", "小区附近工地夜间施工，噪音很大影响休息，希望查处。"},
	}
	tp := topics[(i-1)%len(topics)]
	return province.Case{
		CaseID: fmt.Sprintf("%s-%d", s.o.CasePrefix, i), Source: "山东省省长信箱",
		Title: tp.title, Content: tp.content,
		Citizen:     province.Citizen{Name: "王先生", Phone: fmt.Sprintf("1380534%04d", i%10000), Address: "德州市德城区"},
		ReplyWanted: true, ReceivedAt: now.Format(time.RFC3339), DueAt: now.Add(5 * 24 * time.Hour).Format(time.RFC3339),
		Attachments: []province.Attachment{{Name: "情况说明.txt", URL: "http://" + s.Addr() + "/files/sample.txt"}},
	}
}

// SendCase posts a case to the hotline, signed; it returns the ticket number
// on 200, else the status and body as an error.
func (s *Sim) SendCase(ctx context.Context, c province.Case) (string, error) {
	body, _ := json.Marshal(c)
	return s.SendRaw(ctx, body, s.o.Secret)
}

// SendRaw posts body as a case signed with secret (tests use other secrets,
// and bodies the contract would not allow).
func (s *Sim) SendRaw(ctx context.Context, body []byte, secret string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(s.o.Hotline, "/")+"/channels/province/cases", bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	province.SignRequest(req, secret, body, time.Now())
	resp, err := s.o.Client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK {
		return "", &StatusError{Status: resp.StatusCode, Body: strings.TrimSpace(string(b))}
	}
	var out struct {
		TicketNo string `json:"ticket_no"`
	}
	if err := json.Unmarshal(b, &out); err != nil || out.TicketNo == "" {
		return "", fmt.Errorf("hotline answered 200 without a ticket_no: %s", b)
	}
	return out.TicketNo, nil
}

// StatusError is a non-200 answer of the hotline.
type StatusError struct {
	Status int
	Body   string
}

func (e *StatusError) Error() string { return fmt.Sprintf("hotline answered %d: %s", e.Status, e.Body) }

// Run serves on Listen, sends n cases once it listens (n may be 0), and serves
// until ctx is cancelled. ready, if set, is called with the bound address.
func (s *Sim) Run(ctx context.Context, n int, ready func(addr string)) error {
	ln, err := net.Listen("tcp", s.o.Listen)
	if err != nil {
		return fmt.Errorf("listen %s: %w", s.o.Listen, err)
	}
	s.mu.Lock()
	s.addr = ln.Addr().String()
	s.mu.Unlock()
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	s.printf("province-sim listening on http://%s (events: POST /cases/{case_id}/events, cases sent up: POST /cases)", s.Addr())
	if ready != nil {
		ready(s.Addr())
	}
	if s.o.FailFor > 0 {
		s.printf("answering events with 500 until %s", s.failUntilTime().Format("15:04:05"))
	}
	for i := 1; i <= n && ctx.Err() == nil; i++ {
		c := s.SampleCase(i)
		no, err := s.SendCase(ctx, c)
		if err != nil {
			s.printf("SENT case=%s FAILED: %v", c.CaseID, err)
			continue
		}
		s.printf("SENT case=%s -> ticket_no=%s", c.CaseID, no)
	}
	select {
	case err = <-errc:
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	srv.Shutdown(sctx)
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

func (s *Sim) failUntilTime() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.failUntil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
