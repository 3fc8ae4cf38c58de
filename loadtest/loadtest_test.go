package loadtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"hotline/normalize"
)

// fake implements the Aliyun SmsUp webhook of docs/contract.md with an
// in-memory store deduplicating on sequence_id, plus knobs for faults.
type fake struct {
	token   string
	noDedup bool                // store every delivery (a broken server)
	drop    func(seen int) bool // answer 200 but do not store the seen-th new message
	fail    func(req int) bool  // answer 500, storing nothing
	hangup  func(req int) bool  // close the connection without an answer
	onReq   func(req int)       // called for every request
	delay   time.Duration

	mu       sync.Mutex
	requests int
	seen     int
	dropped  int
	failed   int
	hungUp   int
	maxBatch int
	stored   map[string]int
	msgs     map[string]map[string]string
	maxChunk int
}

func newFake(t *testing.T, f *fake) (*fake, *httptest.Server) {
	t.Helper()
	if f.token == "" {
		f.token = "s3cret&+/"
	}
	f.stored = map[string]int{}
	f.msgs = map[string]map[string]string{}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv
}

func (f *fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/channels/sms/aliyun" {
		http.NotFound(w, r)
		return
	}
	if r.URL.Query().Get("token") != f.token {
		http.Error(w, `{"error":"unauthorized"}`, http.StatusUnauthorized)
		return
	}
	var batch []map[string]json.RawMessage
	if err := json.NewDecoder(r.Body).Decode(&batch); err != nil || len(batch) == 0 {
		http.Error(w, `{"error":"bad request"}`, http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	f.requests++
	n := f.requests
	f.maxBatch = max(f.maxBatch, len(batch))
	f.mu.Unlock()
	if f.onReq != nil {
		f.onReq(n)
	}
	if f.delay > 0 {
		time.Sleep(f.delay)
	}
	if f.hangup != nil && f.hangup(n) {
		f.mu.Lock()
		f.hungUp += len(batch)
		f.mu.Unlock()
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
		return
	}
	if f.fail != nil && f.fail(n) {
		f.mu.Lock()
		f.failed += len(batch)
		f.mu.Unlock()
		http.Error(w, `{"code":500,"msg":"db down"}`, http.StatusInternalServerError)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, m := range batch {
		fields := map[string]string{}
		for _, k := range []string{"phone_number", "content", "send_time", "dest_code", "sequence_id", "sign_name"} {
			raw, ok := m[k]
			if !ok {
				http.Error(w, "missing "+k, http.StatusBadRequest)
				return
			}
			var s string
			if json.Unmarshal(raw, &s) != nil {
				s = string(raw) // sequence_id may be a number
			}
			fields[k] = s
		}
		key := fields["sequence_id"]
		if f.stored[key] > 0 && !f.noDedup {
			continue
		}
		f.seen++
		if f.drop != nil && f.drop(f.seen) {
			f.dropped++
			continue
		}
		f.stored[key]++
		f.msgs[key] = fields
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"code":0,"msg":"接收成功"}`))
}

func (f *fake) count(ctx context.Context, keys []string) (map[string]int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.maxChunk = max(f.maxChunk, len(keys))
	out := map[string]int{}
	for _, k := range keys {
		if n := f.stored[k]; n > 0 {
			out[k] = n
		}
	}
	return out, nil
}

func runOK(t *testing.T, o Options, count Counter) Report {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	rep, err := Run(ctx, o, count, &bytes.Buffer{})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return rep
}

func TestCleanRun(t *testing.T) {
	f, srv := newFake(t, &fake{})
	const n = 2000
	rep := runOK(t, Options{URL: srv.URL + "/", Token: f.token, N: n, Concurrency: 16, Duplicates: 0.05, RunID: "t-clean"}, f.count)

	if rep.Redelivered != 100 {
		t.Errorf("Redelivered = %d, want 100", rep.Redelivered)
	}
	if rep.Sent != n+rep.Redelivered || rep.Accepted != rep.Sent || rep.Rejected != 0 || rep.Errors != 0 {
		t.Errorf("counts: %+v", rep)
	}
	if rep.Requests != rep.Sent {
		t.Errorf("Requests = %d, want %d with batch size 1", rep.Requests, rep.Sent)
	}
	if rep.Checked != n || rep.Stored != n || rep.Missing != 0 || rep.Doubled != 0 {
		t.Errorf("integrity: %+v", rep)
	}
	if !rep.OK() {
		t.Errorf("OK() = false for %+v", rep)
	}
	if rep.Throughput <= 0 || rep.P50 <= 0 || rep.P50 > rep.P90 || rep.P90 > rep.P99 || rep.P99 > rep.Max {
		t.Errorf("latency/throughput not sane: %+v", rep)
	}
	if f.maxChunk == 0 || f.maxChunk > countChunk {
		t.Errorf("Counter chunk = %d, want 1..%d", f.maxChunk, countChunk)
	}
	if len(f.stored) != n {
		t.Errorf("fake stored %d distinct, want %d", len(f.stored), n)
	}

	var out bytes.Buffer
	rep.Print(&out)
	for _, want := range []string{"integrity: 2000 accepted, 2000 stored once, 0 missing, 0 doubled", "PASS", "throughput", "p99"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("Print lacks %q:\n%s", want, out.String())
		}
	}
}

func TestPayload(t *testing.T) {
	f, srv := newFake(t, &fake{})
	const n = 950
	before := time.Now().Add(-time.Second)
	rep := runOK(t, Options{URL: srv.URL, Token: f.token, N: n, Concurrency: 8, BatchSize: 10, RunID: "t-payload"}, f.count)
	after := time.Now().Add(time.Second)
	if !rep.OK() || rep.Requests != n/10 || f.maxBatch != 10 {
		t.Fatalf("report %+v, fake max batch %d", rep, f.maxBatch)
	}
	phones, texts := map[string]bool{}, map[string]bool{}
	for i := range n {
		key := "t-payload-" + strconv.Itoa(i)
		m, ok := f.msgs[key]
		if !ok {
			t.Fatalf("%s not stored", key)
		}
		p, ok := normalize.Phone(m["phone_number"])
		if !ok || p != m["phone_number"] || len(p) != 11 || p[1] < '3' {
			t.Errorf("bad phone %q", m["phone_number"])
		}
		if phones[p] {
			t.Errorf("phone %s used twice", p)
		}
		phones[p] = true
		if texts[m["content"]] {
			t.Errorf("text used twice: %s", m["content"])
		}
		texts[m["content"]] = true
		st, err := time.ParseInLocation("2006-01-02 15:04:05", m["send_time"], time.Local)
		if err != nil || st.Before(before) || st.After(after) {
			t.Errorf("send_time %q: %v", m["send_time"], err)
		}
		if m["sign_name"] == "" || m["dest_code"] == "" {
			t.Errorf("empty sign_name/dest_code: %v", m)
		}
	}
}

func TestTextsAndPhonesDistinct(t *testing.T) {
	const n = 20000
	texts, phones := map[string]bool{}, map[string]bool{}
	for i := range n {
		c := content(i)
		if texts[c] {
			t.Fatalf("content(%d) repeats: %s", i, c)
		}
		texts[c] = true
		if strings.Contains(c, "{") {
			t.Fatalf("content(%d) has a placeholder left: %s", i, c)
		}
		p := phone(i, 99_999_990)
		if phones[p] {
			t.Fatalf("phone(%d) repeats: %s", i, p)
		}
		phones[p] = true
		if q, ok := normalize.Phone(p); !ok || q != p {
			t.Fatalf("phone(%d) = %s not a valid mobile", i, p)
		}
	}
	kinds := map[string]bool{}
	for _, w := range []string{"路灯", "噪音", "供暖", "公积金", "谢谢", "建议"} {
		for i := range len(templates) {
			if strings.Contains(content(i), w) {
				kinds[w] = true
			}
		}
	}
	if len(kinds) != 6 {
		t.Errorf("templates cover only %v", kinds)
	}
}

func TestDroppedMessagesAreMissing(t *testing.T) {
	f, srv := newFake(t, &fake{drop: func(seen int) bool { return seen%100 == 0 }})
	rep := runOK(t, Options{URL: srv.URL, Token: f.token, N: 3000, Concurrency: 16, RunID: "t-drop"}, f.count)
	if rep.Accepted != 3000 || rep.Errors != 0 {
		t.Errorf("counts: %+v", rep)
	}
	if rep.Missing == 0 || rep.Missing != f.dropped || rep.Stored != 3000-f.dropped {
		t.Errorf("Missing = %d, Stored = %d, fake dropped %d", rep.Missing, rep.Stored, f.dropped)
	}
	if rep.OK() {
		t.Error("OK() = true with missing messages")
	}
	var out bytes.Buffer
	rep.Print(&out)
	if !strings.Contains(out.String(), fmt.Sprintf("%d missing, 0 doubled", rep.Missing)) || !strings.Contains(out.String(), "FAIL") {
		t.Errorf("Print:\n%s", out.String())
	}
}

func TestServerWithoutDedupDoubles(t *testing.T) {
	f, srv := newFake(t, &fake{noDedup: true})
	rep := runOK(t, Options{URL: srv.URL, Token: f.token, N: 1000, Concurrency: 8, Duplicates: 0.1, BatchSize: 3, RunID: "t-nodedup"}, f.count)
	if rep.Redelivered != 100 || rep.Doubled != 100 || rep.Stored != 900 || rep.Missing != 0 {
		t.Errorf("report: %+v", rep)
	}
	if rep.OK() {
		t.Error("OK() = true with doubled messages")
	}
}

func TestServerErrorsAreRejected(t *testing.T) {
	f, srv := newFake(t, &fake{fail: func(req int) bool { return req%10 == 0 }})
	rep := runOK(t, Options{URL: srv.URL, Token: f.token, N: 1000, Concurrency: 8, Duplicates: 0.2, RunID: "t-500"}, f.count)
	if rep.Rejected == 0 || rep.Rejected != f.failed || rep.Errors != 0 {
		t.Errorf("Rejected = %d (fake failed %d), Errors = %d", rep.Rejected, f.failed, rep.Errors)
	}
	if rep.Accepted+rep.Rejected != rep.Sent || rep.Sent != 1000+rep.Redelivered {
		t.Errorf("counts don't add up: %+v", rep)
	}
	if rep.Checked != len(f.stored) || rep.Stored != rep.Checked || rep.Missing != 0 || rep.Doubled != 0 {
		t.Errorf("integrity: %+v (fake stored %d)", rep, len(f.stored))
	}
	if !strings.Contains(rep.FirstError, "HTTP 500") {
		t.Errorf("FirstError = %q", rep.FirstError)
	}
	if !rep.OK() {
		t.Errorf("rejections alone should not fail the run: %+v", rep)
	}
}

func TestHangupsAreErrors(t *testing.T) {
	f, srv := newFake(t, &fake{hangup: func(req int) bool { return req%25 == 0 }})
	rep := runOK(t, Options{URL: srv.URL, Token: f.token, N: 500, Concurrency: 4, RunID: "t-hangup"}, f.count)
	if rep.Errors == 0 || rep.Errors != f.hungUp || rep.Accepted+rep.Errors != rep.Sent {
		t.Errorf("Errors = %d (fake hung up on %d): %+v", rep.Errors, f.hungUp, rep)
	}
	if rep.Missing != 0 || rep.Stored != rep.Checked {
		t.Errorf("integrity: %+v", rep)
	}
	if rep.OK() {
		t.Error("OK() = true with transport errors")
	}
}

func TestWrongTokenAndDeadServer(t *testing.T) {
	f, srv := newFake(t, &fake{})
	rep := runOK(t, Options{URL: srv.URL, Token: "wrong", N: 20, Concurrency: 2, RunID: "t-token"}, f.count)
	if rep.Rejected != 20 || rep.Checked != 0 || rep.OK() || !strings.Contains(rep.FirstError, "401") {
		t.Errorf("wrong token: %+v", rep)
	}

	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	rep = runOK(t, Options{URL: dead.URL, Token: "s3cret", N: 20, Concurrency: 2, RunID: "t-dead"}, f.count)
	if rep.Errors != 20 || rep.OK() || rep.FirstError == "" || strings.Contains(rep.FirstError, "s3cret") {
		t.Errorf("dead server: %+v", rep)
	}
	var out bytes.Buffer
	rep.Print(&out)
	if !strings.Contains(out.String(), "FAIL") || !strings.Contains(out.String(), "20 transport errors") {
		t.Errorf("Print:\n%s", out.String())
	}
}

func TestCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f, srv := newFake(t, &fake{delay: time.Millisecond, onReq: func(req int) {
		if req == 200 {
			cancel()
		}
	}})
	done := make(chan struct{})
	var rep Report
	var err error
	go func() {
		defer close(done)
		rep, err = Run(ctx, Options{URL: srv.URL, Token: f.token, N: 1_000_000, Concurrency: 8, Duplicates: 0.1, RunID: "t-cancel"}, f.count, &bytes.Buffer{})
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not stop after cancel")
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	if !rep.Interrupted || rep.Sent == 0 || rep.Sent >= 1_000_000 || rep.Errors != 0 || rep.OK() {
		t.Errorf("report: %+v", rep)
	}
	var out bytes.Buffer
	rep.Print(&out)
	if !strings.Contains(out.String(), "interrupted") {
		t.Errorf("Print:\n%s", out.String())
	}
}

func TestProgressAndOptions(t *testing.T) {
	f, srv := newFake(t, &fake{})
	var out bytes.Buffer
	rep, err := Run(context.Background(), Options{URL: srv.URL, Token: f.token, N: 300, Concurrency: 4, Progress: true}, f.count, &out)
	if err != nil || !rep.OK() {
		t.Fatalf("Run: %v %+v", err, rep)
	}
	if !strings.Contains(out.String(), "300/300") {
		t.Errorf("progress bar output: %q", out.String())
	}
	if !strings.HasPrefix(rep.RunID, "lt-") {
		t.Errorf("default RunID %q", rep.RunID)
	}
	for k := range f.stored {
		if !strings.HasPrefix(k, rep.RunID+"-") {
			t.Fatalf("sequence id %q lacks run prefix %q", k, rep.RunID)
		}
	}

	for _, o := range []Options{
		{Token: "x", N: 1},
		{URL: srv.URL, N: 0},
		{URL: srv.URL, N: 1, Duplicates: 1.5},
		{URL: "ftp://x", N: 1},
	} {
		if _, err := Run(context.Background(), o, f.count, &out); err == nil {
			t.Errorf("Run(%+v) accepted bad options", o)
		}
	}
	if _, err := Run(context.Background(), Options{URL: srv.URL, N: 1}, nil, &out); err == nil {
		t.Error("Run without Counter succeeded")
	}
	failing := func(context.Context, []string) (map[string]int, error) { return nil, errors.New("db gone") }
	if rep, err := Run(context.Background(), Options{URL: srv.URL, Token: f.token, N: 5}, failing, &out); err == nil || rep.OK() {
		t.Errorf("failing Counter: err %v, OK %v", err, rep.OK())
	}
}

func TestPercentile(t *testing.T) {
	var s []time.Duration
	for i := 1; i <= 100; i++ {
		s = append(s, time.Duration(i))
	}
	if percentile(s, 0.5) != 50 || percentile(s, 0.99) != 99 || percentile(s, 1) != 100 || percentile(nil, 0.5) != 0 {
		t.Error("percentile wrong")
	}
}
