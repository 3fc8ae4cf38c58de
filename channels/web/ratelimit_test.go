package web

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func testLimiter(t *testing.T, l Limiter, expire func()) {
	ctx := context.Background()
	for i := int64(1); i <= 3; i++ {
		if n, err := l.Hit(ctx, "k", time.Hour); err != nil || n != i {
			t.Fatalf("hit %d: %d %v", i, n, err)
		}
	}
	if n, err := l.Count(ctx, "k"); err != nil || n != 3 {
		t.Fatalf("count %d %v", n, err)
	}
	if n, _ := l.Count(ctx, "other"); n != 0 {
		t.Fatalf("other key %d", n)
	}
	expire()
	if n, err := l.Count(ctx, "k"); err != nil || n != 0 {
		t.Fatalf("after window: %d %v", n, err)
	}
	if n, _ := l.Hit(ctx, "k", time.Hour); n != 1 {
		t.Fatalf("new window starts at 1, got %d", n)
	}
}

func TestMemoryLimiter(t *testing.T) {
	l := NewMemoryLimiter()
	now := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	l.now = func() time.Time { return now }
	testLimiter(t, l, func() { now = now.Add(time.Hour) })
}

// TestRedisLimiter runs against HOTLINE_TEST_REDIS_URL (e.g. redis://127.0.0.1:6379/15).
func TestRedisLimiter(t *testing.T) {
	u := os.Getenv("HOTLINE_TEST_REDIS_URL")
	if u == "" {
		t.Skip("HOTLINE_TEST_REDIS_URL unset: Redis limiter not tested")
	}
	opt, err := redis.ParseURL(u)
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(opt)
	defer c.Close()
	prefix := "hotline-test:" + randomHex(4) + ":"
	l := &RedisLimiter{Client: c, Prefix: prefix}
	testLimiter(t, l, func() { c.Del(context.Background(), prefix+"k") })
	ttl := c.PTTL(context.Background(), prefix+"k").Val()
	if ttl <= 0 || ttl > time.Hour {
		t.Fatalf("window key has no expiry: %v", ttl)
	}
	c.Del(context.Background(), prefix+"k")
}
