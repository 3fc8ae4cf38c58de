package app_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"hotline/app"
	"hotline/configs"
	"hotline/store/storetest"
)

// Serve answers until its context ends, then returns cleanly after draining.
func TestServeShutsDownGracefully(t *testing.T) {
	cfg, err := configs.Load("")
	if err != nil {
		t.Fatal(err)
	}
	o := storetest.Options(t, "sqlite")
	cfg.Store.DSN = o.DSN
	cfg.HTTP.Addr = "127.0.0.1:0"
	cfg.SMS.WebhookToken = "tok"
	cfg.Admin.Password = "admin-pass-123"
	cfg.Auth.BcryptCost = 4
	a, err := app.New(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx, func(addr string) { addrc <- addr }) }()
	addr := <-addrc
	resp, err := http.Post("http://"+addr+"/channels/sms/aliyun?token=tok", "application/json",
		strings.NewReader(`[{"phone_number":"13800138000","content":"谢谢","sequence_id":1}]`))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("post: %v %v", err, resp)
	}
	resp.Body.Close()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve returned %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Serve did not return after cancel")
	}
	if _, err := http.Get("http://" + addr + "/healthz"); err == nil {
		t.Fatal("still serving after shutdown")
	}
}
