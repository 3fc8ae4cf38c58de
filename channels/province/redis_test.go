package province

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisNonces against a real Redis (CI sets HOTLINE_TEST_REDIS_URL).
func TestRedisNonces(t *testing.T) {
	u := os.Getenv("HOTLINE_TEST_REDIS_URL")
	if u == "" {
		t.Skip("HOTLINE_TEST_REDIS_URL unset (e.g. redis://127.0.0.1:6379/15): Redis nonce store not tested")
	}
	opt, err := redis.ParseURL(u)
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	n := RedisNonces{RDB: rdb, Prefix: "hotline:test:province:nonce:" + NewNonce() + ":"}
	ctx := context.Background()
	if ok, err := n.Claim(ctx, "a", time.Second); err != nil || !ok {
		t.Fatalf("first claim: %v %v", ok, err)
	}
	if ok, err := n.Claim(ctx, "a", time.Second); err != nil || ok {
		t.Fatalf("replay: %v %v", ok, err)
	}
	if ttl := rdb.TTL(ctx, n.Prefix+"a").Val(); ttl <= 0 || ttl > time.Second {
		t.Fatalf("ttl %v", ttl)
	}
	time.Sleep(1100 * time.Millisecond)
	if ok, err := n.Claim(ctx, "a", time.Second); err != nil || !ok {
		t.Fatalf("after expiry: %v %v", ok, err)
	}
	rdb.Del(ctx, n.Prefix+"a")
	// The verifier on Redis: a replay across "instances" sharing Redis is caught.
	body := []byte(`{}`)
	req1, _ := newSigned("k", body)
	v1 := &Verifier{Secrets: func() []string { return []string{"k"} }, Nonces: n}
	v2 := &Verifier{Secrets: func() []string { return []string{"k"} }, Nonces: RedisNonces{RDB: rdb, Prefix: n.Prefix}}
	if err := v1.Verify(ctx, req1, body); err != nil {
		t.Fatal(err)
	}
	if err := v2.Verify(ctx, req1, body); err == nil {
		t.Fatal("replay on another instance accepted")
	}
	rdb.Del(ctx, n.Prefix+req1.Get(HeaderNonce))
}
