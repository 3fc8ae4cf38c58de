// Package loadtest fires Aliyun SmsUp uplink pushes at a running hotline,
// measures throughput and latency, and checks afterwards that every accepted
// message was stored exactly once (see docs/contract.md, "Inbound: SMS").
package loadtest

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/schollz/progressbar/v3"
)

// Options configures a run.
type Options struct {
	URL         string        // base URL of a running hotline, e.g. http://127.0.0.1:8080
	Token       string        // sms.webhook_token
	N           int           // messages to send
	Concurrency int           // parallel requests (default 1)
	Duplicates  float64       // fraction of messages re-sent a second time (redelivery), e.g. 0.05
	BatchSize   int           // messages per Aliyun push (default 1; Aliyun may batch)
	Timeout     time.Duration // per request (default 10s)
	Progress    bool          // draw a progress bar on Out (stderr)
	RunID       string        // prefix of the sequence ids so runs never collide (default: random)
}

// Report is the outcome of a run. Sent, Accepted, Rejected and Errors count
// message deliveries, redeliveries included, so Sent = Accepted + Rejected +
// Errors and Sent = N + Redelivered for a complete run.
type Report struct {
	RunID                            string
	Sent, Accepted, Rejected, Errors int // messages (not requests)
	Redelivered                      int // second deliveries of a message (included in Sent)
	Requests                         int // HTTP requests made (Sent / BatchSize, rounded up)
	Elapsed                          time.Duration
	Throughput                       float64       // accepted messages per second
	P50, P90, P99, Max               time.Duration // per request latency (requests that got an answer)

	// Integrity check. Checked is the number of distinct messages accepted at
	// least once; each is Stored (exactly once), Missing or Doubled. Doubled
	// also counts messages never accepted (5xx, timeout) but stored twice.
	Checked, Stored, Missing, Doubled int

	FirstError  string // the first transport error or rejection, for diagnosis
	Interrupted bool   // the context ended the run early; no integrity check was made
}

// Counter counts stored inbound SMS messages by dedup key (the lead wires it to
// store.(*Store).CountInbound(ctx, normalize.SMS, keys)). Keys not stored may be
// absent from the map.
type Counter func(ctx context.Context, keys []string) (map[string]int, error)

// countChunk is how many keys one Counter call gets.
const countChunk = 1000

// aliyunMsg is one element of an Aliyun SmsUp push.
type aliyunMsg struct {
	PhoneNumber string `json:"phone_number"`
	Content     string `json:"content"`
	SendTime    string `json:"send_time"`
	DestCode    string `json:"dest_code"`
	SequenceID  string `json:"sequence_id"`
	SignName    string `json:"sign_name"`
}

type job struct {
	idx        []int
	redelivery bool
}

// workerStats is what one worker counted; merged at the end.
type workerStats struct {
	sent, accepted, rejected, errors, redelivered, requests int
	lat                                                     []time.Duration
	firstErr                                                string
}

type run struct {
	o        Options
	endpoint string
	client   *http.Client
	phoneOff uint64
	bar      *progressbar.ProgressBar

	redeliver []bool         // chosen for a second delivery
	sendTime  []string       // send_time of message i, fixed at its first delivery
	sent      []atomic.Bool  // delivered at least once (any outcome)
	accepted  []atomic.Bool  // accepted at least once
	mu        sync.Mutex     // guards queue
	queue     []int          // redeliveries waiting for a push
	origWG    sync.WaitGroup // first deliveries in flight
	firstErr  atomic.Pointer[string]
}

// Run sends o.N messages (plus redeliveries) to o.URL, then checks with count
// that every accepted message is stored exactly once. The progress bar, if
// any, is drawn on out (os.Stderr when nil). When ctx ends, the run stops
// sending, skips the integrity check and returns the partial report
// (Interrupted) together with ctx's error.
func Run(ctx context.Context, o Options, count Counter, out io.Writer) (Report, error) {
	if err := o.normalize(); err != nil {
		return Report{}, err
	}
	if count == nil {
		return Report{}, errors.New("loadtest: no Counter for the integrity check")
	}
	if out == nil {
		out = os.Stderr
	}
	base, err := url.Parse(strings.TrimRight(o.URL, "/"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return Report{}, fmt.Errorf("loadtest: bad URL %q", o.URL)
	}
	ep := base.JoinPath("channels", "sms", "aliyun")
	ep.RawQuery = url.Values{"token": {o.Token}}.Encode()

	transport := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          o.Concurrency,
		MaxIdleConnsPerHost:   o.Concurrency,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   5 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	defer transport.CloseIdleConnections()

	rng := rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	r := &run{
		o:         o,
		endpoint:  ep.String(),
		client:    &http.Client{Transport: transport, Timeout: o.Timeout},
		phoneOff:  rng.Uint64N(100_000_000),
		redeliver: make([]bool, o.N),
		sendTime:  make([]string, o.N),
		sent:      make([]atomic.Bool, o.N),
		accepted:  make([]atomic.Bool, o.N),
	}
	dups := int(math.Round(float64(o.N) * o.Duplicates))
	for _, i := range rng.Perm(o.N)[:dups] {
		r.redeliver[i] = true
	}
	if o.Progress {
		r.bar = progressbar.NewOptions(o.N+dups,
			progressbar.OptionSetWriter(out),
			progressbar.OptionSetDescription("sms uplinks"),
			progressbar.OptionSetWidth(30),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetItsString("msg"),
			progressbar.OptionSetElapsedTime(true),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionOnCompletion(func() { fmt.Fprintln(out) }),
		)
	}

	jobs := make(chan job)
	stats := make([]workerStats, o.Concurrency)
	var workers sync.WaitGroup
	start := time.Now()
	for w := range o.Concurrency {
		workers.Add(1)
		go func() {
			defer workers.Done()
			r.worker(ctx, jobs, &stats[w])
		}()
	}
	r.produce(ctx, jobs)
	workers.Wait()
	elapsed := time.Since(start)

	rep := Report{RunID: o.RunID, Elapsed: elapsed}
	var lat []time.Duration
	for _, s := range stats {
		rep.Sent += s.sent
		rep.Accepted += s.accepted
		rep.Rejected += s.rejected
		rep.Errors += s.errors
		rep.Redelivered += s.redelivered
		rep.Requests += s.requests
		lat = append(lat, s.lat...)
	}
	if p := r.firstErr.Load(); p != nil {
		rep.FirstError = *p
	}
	if elapsed > 0 {
		rep.Throughput = float64(rep.Accepted) / elapsed.Seconds()
	}
	slices.Sort(lat)
	rep.P50, rep.P90, rep.P99 = percentile(lat, 0.50), percentile(lat, 0.90), percentile(lat, 0.99)
	if len(lat) > 0 {
		rep.Max = lat[len(lat)-1]
	}
	if r.bar != nil {
		if ctx.Err() != nil {
			_ = r.bar.Exit()
			fmt.Fprintln(out)
		} else {
			_ = r.bar.Finish()
		}
	}
	for i := range o.N {
		if r.accepted[i].Load() {
			rep.Checked++
		}
	}
	if err := ctx.Err(); err != nil {
		rep.Interrupted = true
		return rep, fmt.Errorf("loadtest: interrupted: %w", err)
	}
	if err := r.integrity(ctx, count, &rep); err != nil {
		return rep, err
	}
	return rep, nil
}

func (o *Options) normalize() error {
	if o.URL == "" {
		return errors.New("loadtest: URL is required")
	}
	if o.N <= 0 {
		return fmt.Errorf("loadtest: N must be positive, got %d", o.N)
	}
	if math.IsNaN(o.Duplicates) || o.Duplicates < 0 || o.Duplicates > 1 {
		return fmt.Errorf("loadtest: Duplicates must be within [0, 1], got %v", o.Duplicates)
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 1
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 1
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if o.RunID == "" {
		var b [4]byte
		for i := range b {
			b[i] = byte(rand.Uint32())
		}
		o.RunID = "lt-" + hex.EncodeToString(b[:])
	}
	return nil
}

// produce feeds first deliveries in batches, interleaving redeliveries as soon
// as a batch of them is ready (each only after its first delivery was
// answered); when all first deliveries are done it flushes the rest.
func (r *run) produce(ctx context.Context, jobs chan<- job) {
	defer close(jobs)
	send := func(j job) bool {
		select {
		case jobs <- j:
			return true
		case <-ctx.Done():
			return false
		}
	}
	B := r.o.BatchSize
	for lo := 0; lo < r.o.N; lo += B {
		for {
			b := r.takeQueued(B, false)
			if b == nil {
				break
			}
			if !send(job{idx: b, redelivery: true}) {
				return
			}
		}
		idx := make([]int, 0, B)
		for i := lo; i < min(lo+B, r.o.N); i++ {
			idx = append(idx, i)
		}
		r.origWG.Add(1)
		if !send(job{idx: idx}) {
			r.origWG.Done()
			return
		}
	}
	r.origWG.Wait()
	for {
		b := r.takeQueued(B, true)
		if b == nil || !send(job{idx: b, redelivery: true}) {
			return
		}
	}
}

// takeQueued takes up to n queued redeliveries: only a full batch unless all.
func (r *run) takeQueued(n int, all bool) []int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.queue) == 0 || (!all && len(r.queue) < n) {
		return nil
	}
	n = min(n, len(r.queue))
	b := slices.Clone(r.queue[:n])
	r.queue = r.queue[n:]
	return b
}

func (r *run) worker(ctx context.Context, jobs <-chan job, st *workerStats) {
	for j := range jobs {
		if ctx.Err() == nil {
			r.push(ctx, j, st)
		}
		if !j.redelivery {
			var again []int
			for _, i := range j.idx {
				if r.redeliver[i] && r.sent[i].Load() {
					again = append(again, i)
				}
			}
			if len(again) > 0 {
				r.mu.Lock()
				r.queue = append(r.queue, again...)
				r.mu.Unlock()
			}
			r.origWG.Done()
		}
	}
}

type outcome int

const (
	cancelled outcome = iota
	acceptedOutcome
	rejectedOutcome
	errorOutcome
)

// push makes one request for the messages of j and counts its outcome.
func (r *run) push(ctx context.Context, j job, st *workerStats) {
	msgs := make([]aliyunMsg, len(j.idx))
	now := time.Now().Format("2006-01-02 15:04:05")
	for k, i := range j.idx {
		if !j.redelivery {
			r.sendTime[i] = now
		}
		msgs[k] = aliyunMsg{
			PhoneNumber: phone(i, r.phoneOff),
			Content:     content(i),
			SendTime:    r.sendTime[i],
			DestCode:    "12345",
			SequenceID:  r.o.RunID + "-" + strconv.Itoa(i),
			SignName:    "市民热线",
		}
	}
	body, err := json.Marshal(msgs)
	if err != nil { // cannot happen: plain strings
		panic(err)
	}
	t0 := time.Now()
	res, detail := r.post(ctx, body)
	lat := time.Since(t0)
	if res == cancelled {
		return
	}
	n := len(j.idx)
	st.requests++
	st.sent += n
	if j.redelivery {
		st.redelivered += n
	}
	switch res {
	case acceptedOutcome:
		st.accepted += n
	case rejectedOutcome:
		st.rejected += n
	case errorOutcome:
		st.errors += n
	}
	if res != errorOutcome {
		st.lat = append(st.lat, lat)
	}
	if detail != "" {
		r.firstErr.CompareAndSwap(nil, &detail)
	}
	for _, i := range j.idx {
		r.sent[i].Store(true)
		if res == acceptedOutcome {
			r.accepted[i].Store(true)
		}
	}
	if r.bar != nil {
		_ = r.bar.Add(n)
	}
}

// post sends one push; detail describes a rejection or transport error.
func (r *run) post(ctx context.Context, body []byte) (outcome, string) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.endpoint, bytes.NewReader(body))
	if err != nil {
		return errorOutcome, err.Error()
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	resp, err := r.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return cancelled, ""
		}
		return errorOutcome, redact(err.Error(), r.o.Token)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20)) // let the connection be reused
	if err != nil {
		if ctx.Err() != nil {
			return cancelled, ""
		}
		return errorOutcome, redact(err.Error(), r.o.Token)
	}
	var ans struct {
		Code json.RawMessage `json:"code"`
	}
	if resp.StatusCode == http.StatusOK && json.Unmarshal(data, &ans) == nil {
		if c := string(ans.Code); c == "0" || c == `"0"` {
			return acceptedOutcome, ""
		}
	}
	snippet := strings.TrimSpace(string(data))
	if len(snippet) > 200 {
		snippet = snippet[:200] + "…"
	}
	return rejectedOutcome, fmt.Sprintf("HTTP %d: %s", resp.StatusCode, snippet)
}

// redact keeps the webhook token out of error messages (url.Error quotes the URL).
func redact(s, token string) string {
	if token == "" {
		return s
	}
	s = strings.ReplaceAll(s, url.QueryEscape(token), "***")
	return strings.ReplaceAll(s, token, "***")
}

// integrity asks count how often each delivered message is stored.
func (r *run) integrity(ctx context.Context, count Counter, rep *Report) error {
	var keys []string
	var acc []bool
	for i := range r.o.N {
		if r.sent[i].Load() {
			keys = append(keys, r.o.RunID+"-"+strconv.Itoa(i))
			acc = append(acc, r.accepted[i].Load())
		}
	}
	for lo := 0; lo < len(keys); lo += countChunk {
		hi := min(lo+countChunk, len(keys))
		got, err := count(ctx, keys[lo:hi])
		if err != nil {
			return fmt.Errorf("loadtest: integrity check: %w", err)
		}
		for k := lo; k < hi; k++ {
			switch c := got[keys[k]]; {
			case c > 1:
				rep.Doubled++
			case !acc[k]:
			case c == 1:
				rep.Stored++
			default:
				rep.Missing++
			}
		}
	}
	return nil
}

// percentile is the nearest-rank percentile of sorted samples.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	k := int(math.Ceil(p*float64(len(sorted)))) - 1
	return sorted[max(0, min(k, len(sorted)-1))]
}

// OK reports whether the run completed, made no transport errors, had at least
// one message accepted and every accepted message is stored exactly once (and
// none stored twice). Rejections (non-200 or code≠0) alone do not fail a run.
func (r Report) OK() bool {
	return !r.Interrupted && r.Errors == 0 && r.Checked > 0 &&
		r.Stored == r.Checked && r.Missing == 0 && r.Doubled == 0
}

// Print writes a readable summary.
func (r Report) Print(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "run\t%s\n", r.RunID)
	fmt.Fprintf(tw, "sent\t%d messages (%d redelivered) in %d requests\n", r.Sent, r.Redelivered, r.Requests)
	fmt.Fprintf(tw, "accepted\t%d\t%s\n", r.Accepted, pct(r.Accepted, r.Sent))
	fmt.Fprintf(tw, "rejected\t%d\t%s\n", r.Rejected, pct(r.Rejected, r.Sent))
	fmt.Fprintf(tw, "errors\t%d\t%s\n", r.Errors, pct(r.Errors, r.Sent))
	fmt.Fprintf(tw, "elapsed\t%s\n", r.Elapsed.Round(time.Millisecond))
	fmt.Fprintf(tw, "throughput\t%.1f msg/s\n", r.Throughput)
	fmt.Fprintf(tw, "latency\tp50 %s\tp90 %s\tp99 %s\tmax %s\n",
		fmtDur(r.P50), fmtDur(r.P90), fmtDur(r.P99), fmtDur(r.Max))
	_ = tw.Flush()
	if r.FirstError != "" {
		fmt.Fprintf(w, "first error: %s\n", r.FirstError)
	}
	if r.Interrupted {
		fmt.Fprintf(w, "integrity: not checked (interrupted), %d accepted\n", r.Checked)
	} else {
		fmt.Fprintf(w, "integrity: %d accepted, %d stored once, %d missing, %d doubled\n",
			r.Checked, r.Stored, r.Missing, r.Doubled)
	}
	if r.OK() {
		fmt.Fprintln(w, "PASS")
		return
	}
	var why []string
	switch {
	case r.Interrupted:
		why = append(why, "interrupted")
	case r.Checked == 0:
		why = append(why, "nothing accepted")
	}
	if r.Errors > 0 {
		why = append(why, fmt.Sprintf("%d transport errors", r.Errors))
	}
	if r.Missing > 0 {
		why = append(why, fmt.Sprintf("%d missing", r.Missing))
	}
	if r.Doubled > 0 {
		why = append(why, fmt.Sprintf("%d doubled", r.Doubled))
	}
	if len(why) == 0 && r.Stored != r.Checked {
		why = append(why, "integrity check incomplete")
	}
	fmt.Fprintf(w, "FAIL (%s)\n", strings.Join(why, ", "))
}

func pct(n, of int) string {
	if of == 0 {
		return ""
	}
	return fmt.Sprintf("%.2f%%", 100*float64(n)/float64(of))
}

func fmtDur(d time.Duration) string {
	switch {
	case d >= time.Second:
		return d.Round(time.Millisecond).String()
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond).String()
	default:
		return d.Round(time.Microsecond).String()
	}
}
