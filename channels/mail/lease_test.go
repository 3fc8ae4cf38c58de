package mail

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// TestRedisLease runs against HOTLINE_TEST_REDIS_URL (e.g. redis://127.0.0.1:6379/15).
func TestRedisLease(t *testing.T) {
	u := os.Getenv("HOTLINE_TEST_REDIS_URL")
	if u == "" {
		t.Skip("HOTLINE_TEST_REDIS_URL unset: Redis lease not tested")
	}
	opt, err := redis.ParseURL(u)
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(opt)
	defer c.Close()
	ctx := context.Background()
	l := &RedisLease{Client: c, Prefix: "hotline-test:" + randomHolder() + ":"}
	step := func(what string, got bool, err error, want bool) {
		t.Helper()
		if err != nil || got != want {
			t.Fatalf("%s: %v %v, want %v", what, got, err, want)
		}
	}
	ok, err := l.AcquireLease(ctx, "m", "a", time.Minute)
	step("a takes", ok, err, true)
	ok, err = l.AcquireLease(ctx, "m", "b", time.Minute)
	step("b while a holds", ok, err, false)
	ok, err = l.AcquireLease(ctx, "m", "a", time.Minute)
	step("a renews", ok, err, true)
	if err := l.ReleaseLease(ctx, "m", "b"); err != nil {
		t.Fatal(err)
	}
	ok, err = l.AcquireLease(ctx, "m", "b", time.Minute)
	step("b after b's release", ok, err, false)
	if err := l.ReleaseLease(ctx, "m", "a"); err != nil {
		t.Fatal(err)
	}
	ok, err = l.AcquireLease(ctx, "m", "b", time.Minute)
	step("b after a's release", ok, err, true)
	c.Del(ctx, l.Prefix+"m")
}
