package configs

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestDefaultsAreTheSample(t *testing.T) {
	c, err := load("", nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTP.Addr != "127.0.0.1:8080" || c.Store.Driver != "sqlite" || c.Store.DSN != "./data/hotline.db" {
		t.Fatalf("unexpected defaults: %+v %+v", c.HTTP, c.Store)
	}
	if c.City.Name != "德州市" || c.SMS.Outbound.Provider != "log" || c.Redis.URL != "" {
		t.Fatalf("unexpected defaults: %+v", c)
	}
	if c.Intake.ThreadWindow != 24*time.Hour {
		t.Fatalf("thread window %v", c.Intake.ThreadWindow)
	}
}

func TestEnvironmentOverridesKeysWithUnderscores(t *testing.T) {
	c, err := load("", []string{
		"HOTLINE_HTTP_ADDR=0.0.0.0:9000",
		"HOTLINE_STORE_DSN=host=db",
		"HOTLINE_STORE_DRIVER=postgres",
		"HOTLINE_SMS_WEBHOOK_TOKEN=s3cret",
		"HOTLINE_REDIS_URL=redis://r:6379/0",
		"HOTLINE_OUTBOX_BACKOFF_BASE=5s",
		"HOTLINE_NOT_A_KEY=x",
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTP.Addr != "0.0.0.0:9000" || c.Store.DSN != "host=db" || c.Store.Driver != "postgres" {
		t.Fatalf("env not applied: %+v", c)
	}
	if c.SMS.WebhookToken != "s3cret" || c.Redis.URL != "redis://r:6379/0" || c.Outbox.BackoffBase != 5*time.Second {
		t.Fatalf("env not applied: %+v %+v", c.SMS, c.Outbox)
	}
}

func TestFileThenEnv(t *testing.T) {
	p := filepath.Join(t.TempDir(), "h.yaml")
	if err := os.WriteFile(p, []byte("city:\n  name: 济南市\nhttp:\n  addr: :1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := load(p, []string{"HOTLINE_HTTP_ADDR=:2"})
	if err != nil {
		t.Fatal(err)
	}
	if c.City.Name != "济南市" || c.HTTP.Addr != ":2" || c.City.Province != "山东省" {
		t.Fatalf("got %+v %+v", c.City, c.HTTP)
	}
}

func TestInvalidDriverRefused(t *testing.T) {
	if _, err := load("", []string{"HOTLINE_STORE_DRIVER=mysql"}); err == nil {
		t.Fatal("mysql accepted")
	}
}
