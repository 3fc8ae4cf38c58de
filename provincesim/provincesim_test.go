package provincesim

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"hotline/channels/province"
)

func post(t *testing.T, url, secret, key string, body []byte) int {
	t.Helper()
	req, _ := http.NewRequest("POST", url, bytes.NewReader(body))
	if secret != "" {
		province.SignRequest(req, secret, body, time.Now())
	}
	req.Header.Set(province.HeaderIdempotency, key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestSimReceivesEvents(t *testing.T) {
	var out bytes.Buffer
	var mu sync.Mutex
	s := New(Options{Secret: "k", Out: writerFunc(func(p []byte) (int, error) { mu.Lock(); defer mu.Unlock(); return out.Write(p) })})
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	ev, _ := json.Marshal(province.Event{Event: "accepted", At: time.Now().Format(time.RFC3339), TicketNo: "20261127-000001"})
	url := srv.URL + "/cases/SD-1/events"
	if code := post(t, url, "", "1", ev); code != 401 {
		t.Fatalf("unsigned: %d", code)
	}
	if code := post(t, url, "wrong", "1", ev); code != 401 {
		t.Fatalf("wrong key: %d", code)
	}
	s.FailFor(time.Hour)
	if code := post(t, url, "k", "1", ev); code != 500 {
		t.Fatalf("failing: %d", code)
	}
	s.FailFor(0)
	if code := post(t, url, "k", "1", ev); code != 200 {
		t.Fatalf("retry: %d", code)
	}
	if code := post(t, url, "k", "1", ev); code != 200 {
		t.Fatalf("redelivery: %d", code)
	}
	if code := post(t, url, "k", "2", []byte(`{"event":"nope"}`)); code != 400 {
		t.Fatalf("bad event: %d", code)
	}
	got := s.Events()
	if len(got) != 3 || got[0].Status != 500 || got[1].Redelivery || !got[2].Redelivery || got[2].Attempt != 3 || got[1].CaseID != "SD-1" {
		t.Fatalf("events %+v", got)
	}
	if len(s.Accepted()) != 2 {
		t.Fatal("accepted")
	}
	mu.Lock()
	printed := out.String()
	mu.Unlock()
	if !strings.Contains(printed, "REDELIVERY") || !strings.Contains(printed, "-> 500") || strings.Contains(printed, `"k"`) {
		t.Fatalf("printed:\n%s", printed)
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func TestSimSendsSignedCases(t *testing.T) {
	var mu sync.Mutex
	var got []province.Inbound
	v := &province.Verifier{Secrets: func() []string { return []string{"k"} }, Nonces: &province.MemoryNonces{}}
	hotline := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.URL.Path != "/channels/province/cases" || v.Verify(r.Context(), r.Header, body) != nil {
			http.Error(w, "no", 401)
			return
		}
		in, err := province.ParseCase(body, time.Local)
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		mu.Lock()
		got = append(got, in)
		mu.Unlock()
		w.Write([]byte(`{"ticket_no":"20261127-00000` + string(rune('0'+len(got))) + `"}`))
	}))
	defer hotline.Close()
	s := New(Options{Listen: "127.0.0.1:0", Secret: "k", Hotline: hotline.URL})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, 3, nil) }()
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d cases sent", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	// the sample attachment is served by the simulator
	resp, err := http.Get(got[0].Attachments[0].URL)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("attachment: %v", err)
	}
	resp.Body.Close()
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got[0].CaseID == got[1].CaseID || got[0].Due.IsZero() || got[0].Citizen.Phone == "" {
		t.Fatalf("cases %+v", got)
	}
}
