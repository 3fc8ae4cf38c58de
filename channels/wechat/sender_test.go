package wechat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/sirupsen/logrus"

	"hotline/ticket"
)

// fakeAPI is WeChat's API as far as the sender uses it.
type fakeAPI struct {
	mu         sync.Mutex
	tokens     int // tokens issued
	sent       []map[string]any
	sentTokens []string
	sendCode   int    // errcode custom/send answers
	tokenCode  int    // errcode the token endpoint answers
	status     int    // HTTP status of custom/send (0: 200)
	appid      string // expected
}

func (f *fakeAPI) handler(t *testing.T) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /cgi-bin/token", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		q := r.URL.Query()
		if q.Get("grant_type") != "client_credential" || q.Get("appid") != f.appid || q.Get("secret") != "s3cret" {
			t.Errorf("token request %s", r.URL.RawQuery)
		}
		if f.tokenCode != 0 {
			fmt.Fprintf(w, `{"errcode":%d,"errmsg":"invalid ip 1.2.3.4, not in whitelist"}`, f.tokenCode)
			return
		}
		f.tokens++
		fmt.Fprintf(w, `{"access_token":"TOKEN%d","expires_in":7200}`, f.tokens)
	})
	mux.HandleFunc("POST /cgi-bin/message/custom/send", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.status != 0 {
			w.WriteHeader(f.status)
			return
		}
		b, _ := io.ReadAll(r.Body)
		var msg map[string]any
		if err := json.Unmarshal(b, &msg); err != nil {
			t.Errorf("custom/send body %s: %v", b, err)
		}
		f.sent = append(f.sent, msg)
		f.sentTokens = append(f.sentTokens, r.URL.Query().Get("access_token"))
		fmt.Fprintf(w, `{"errcode":%d,"errmsg":"x"}`, f.sendCode)
	})
	return mux
}

type fakeBinder struct{ phone string }

func (b fakeBinder) BoundPhone(context.Context, string) (string, bool, error) {
	return b.phone, b.phone != "", nil
}

// startAPI serves api and returns its base URL.
func startAPI(t *testing.T, api *fakeAPI, appID string) string {
	t.Helper()
	api.appid = appID
	srv := httptest.NewServer(api.handler(t))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { SetAPIBase("") })
	return srv.URL + "/"
}

func newSender(t *testing.T, api *fakeAPI, appID string, binder Binder) *Sender {
	t.Helper()
	s, err := NewSender(SenderConfig{AppID: appID, AppSecret: "s3cret", APIBase: startAPI(t, api, appID)}, binder)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func out(text string) ticket.Outgoing {
	return ticket.Outgoing{ID: 7, Via: ticket.ViaWeChat, To: "oUser", Text: text, Kind: ticket.ReplyAgent, TicketNo: "20261127-000001"}
}

func TestSenderDeliversCustomerServiceText(t *testing.T) {
	api := &fakeAPI{}
	s := newSender(t, api, "wxapp1", nil)
	ctx := context.Background()
	for _, text := range []string{"您好，路灯已安排维修。", "维修已完成。"} {
		if err := s.Send(ctx, out(text)); err != nil {
			t.Fatal(err)
		}
	}
	if api.tokens != 1 {
		t.Fatalf("tokens fetched %d, want 1 (cached)", api.tokens)
	}
	if len(api.sent) != 2 || api.sentTokens[0] != "TOKEN1" {
		t.Fatalf("sent %v with %v", api.sent, api.sentTokens)
	}
	m := api.sent[0]
	text, _ := m["text"].(map[string]any)
	if m["touser"] != "oUser" || m["msgtype"] != "text" || text["content"] != "您好，路灯已安排维修。" {
		t.Fatalf("message = %v", m)
	}
}

func TestSenderErrors(t *testing.T) {
	cases := []struct {
		name      string
		api       func(*fakeAPI)
		permanent bool
		contains  []string
	}{
		{"window expired", func(a *fakeAPI) { a.sendCode = 45015 }, true, []string{"45015", "48小时", "138****8000", "短信"}},
		{"unsubscribed", func(a *fakeAPI) { a.sendCode = 43004 }, true, []string{"43004", "取消关注"}},
		{"invalid openid", func(a *fakeAPI) { a.sendCode = 40003 }, true, []string{"40003"}},
		{"busy", func(a *fakeAPI) { a.sendCode = -1 }, false, []string{"-1"}},
		{"http 502", func(a *fakeAPI) { a.status = 502 }, false, []string{"502"}},
		{"ip not whitelisted", func(a *fakeAPI) { a.tokenCode = 40164 }, false, []string{"40164"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			api := &fakeAPI{}
			c.api(api)
			s := newSender(t, api, "wxapp2", fakeBinder{phone: "13800138000"})
			err := s.Send(context.Background(), out("您好"))
			if err == nil {
				t.Fatal("no error")
			}
			if errors.Is(err, ticket.ErrPermanent) != c.permanent {
				t.Fatalf("permanent = %v, want %v: %v", !c.permanent, c.permanent, err)
			}
			for _, s := range c.contains {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q lacks %q", err, s)
				}
			}
		})
	}
}

func TestSenderRefreshesRejectedToken(t *testing.T) {
	api := &fakeAPI{sendCode: 40001}
	s := newSender(t, api, "wxapp3", nil)
	err := s.Send(context.Background(), out("您好"))
	if err == nil || errors.Is(err, ticket.ErrPermanent) {
		t.Fatalf("expired token: %v, want a retryable error", err)
	}
	api.sendCode = 0
	if err := s.Send(context.Background(), out("您好")); err != nil {
		t.Fatal(err)
	}
	if api.tokens != 2 || api.sentTokens[1] != "TOKEN2" {
		t.Fatalf("tokens %d, used %v: the rejected token was not dropped", api.tokens, api.sentTokens)
	}
}

func TestSenderHonoursContext(t *testing.T) {
	api := &fakeAPI{}
	s := newSender(t, api, "wxapp4", nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := s.Send(ctx, out("您好"))
	if err == nil || errors.Is(err, ticket.ErrPermanent) {
		t.Fatalf("cancelled: %v", err)
	}
	if len(api.sent) != 0 {
		t.Fatal("sent despite a cancelled context")
	}
	if err := s.Send(context.Background(), ticket.Outgoing{To: "oUser"}); !errors.Is(err, ticket.ErrPermanent) {
		t.Fatalf("empty text: %v", err)
	}
}

// The library turns logrus to debug on stdout at init; building the channel
// silences it so that citizens' messages never reach a log.
func TestConstructorsSilenceLogrus(t *testing.T) {
	logrus.SetOutput(os.Stdout)
	logrus.SetLevel(logrus.DebugLevel)
	quiet = sync.Once{}
	if _, err := NewWebhook(Config{AppID: "wx1", Token: "t"}, nil, nil, nil); err != nil {
		t.Fatal(err)
	}
	if logrus.StandardLogger().Out != io.Discard || logrus.GetLevel() != logrus.WarnLevel {
		t.Fatalf("logrus still writes to %v at %v", logrus.StandardLogger().Out, logrus.GetLevel())
	}
}
