package wechat

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/silenceper/wechat/v2/cache"
)

func exerciseCache(t *testing.T, c cache.Cache) {
	t.Helper()
	if c.Get("k") != nil || c.IsExist("k") {
		t.Fatal("empty cache has k")
	}
	if err := c.Set("k", "TOKEN", time.Minute); err != nil {
		t.Fatal(err)
	}
	if v, _ := c.Get("k").(string); v != "TOKEN" || !c.IsExist("k") {
		t.Fatalf("Get = %v", c.Get("k"))
	}
	if err := c.Delete("k"); err != nil {
		t.Fatal(err)
	}
	if c.Get("k") != nil {
		t.Fatal("deleted key still there")
	}
	if err := c.Set("k", "old", -time.Second); err != nil {
		t.Fatal(err)
	}
	if c.Get("k") != nil {
		t.Fatal("already expired value returned")
	}
}

func TestMemoryCache(t *testing.T) {
	c := NewMemoryCache()
	exerciseCache(t, c)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				c.Set("t", i, time.Minute)
				_ = c.Get("t")
				_ = c.IsExist("t")
			}
		}()
	}
	wg.Wait()
}

// The Redis cache against a real Redis (CI sets HOTLINE_TEST_REDIS_URL).
func TestRedisCache(t *testing.T) {
	u := os.Getenv("HOTLINE_TEST_REDIS_URL")
	if u == "" {
		t.Skip("HOTLINE_TEST_REDIS_URL unset: no Redis to test against")
	}
	opt, err := redis.ParseURL(u)
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opt)
	t.Cleanup(func() { rdb.Close() })
	prefix := "hotline-test:" + t.Name() + ":" + time.Now().Format("150405.000000000") + ":"
	c := NewRedisCache(rdb, prefix)
	exerciseCache(t, c)

	// Two instances share the token: what one stores the other reads.
	if err := c.Set("gowechat_officialaccount__access_token_wx1", "SHARED", time.Minute); err != nil {
		t.Fatal(err)
	}
	other := NewRedisCache(redis.NewClient(opt), prefix)
	if v := other.GetContext(context.Background(), "gowechat_officialaccount__access_token_wx1"); v != "SHARED" {
		t.Fatalf("other instance reads %v", v)
	}
	ttl := rdb.TTL(context.Background(), prefix+"gowechat_officialaccount__access_token_wx1").Val()
	if ttl <= 0 || ttl > time.Minute {
		t.Fatalf("ttl %v", ttl)
	}
	c.Delete("gowechat_officialaccount__access_token_wx1")
}

// Two senders on one Redis fetch one access token between them.
func TestSendersShareTokenThroughRedis(t *testing.T) {
	u := os.Getenv("HOTLINE_TEST_REDIS_URL")
	if u == "" {
		t.Skip("HOTLINE_TEST_REDIS_URL unset: no Redis to test against")
	}
	opt, _ := redis.ParseURL(u)
	rdb := redis.NewClient(opt)
	t.Cleanup(func() { rdb.Close() })
	prefix := "hotline-test:share:" + time.Now().Format("150405.000000000") + ":"
	api := &fakeAPI{}
	base := startAPI(t, api, "wxshared")
	mk := func() *Sender {
		s, err := NewSender(SenderConfig{AppID: "wxshared", AppSecret: "s3cret", APIBase: base, Cache: NewRedisCache(rdb, prefix)}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	s1, s2 := mk(), mk()
	if err := s1.Send(context.Background(), out("一")); err != nil {
		t.Fatal(err)
	}
	if err := s2.Send(context.Background(), out("二")); err != nil {
		t.Fatal(err)
	}
	if api.tokens != 1 {
		t.Fatalf("%d tokens fetched by two instances, want 1", api.tokens)
	}
	rdb.Del(context.Background(), prefix+"gowechat_officialaccount__access_token_wxshared")
}
