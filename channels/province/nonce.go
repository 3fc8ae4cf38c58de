package province

import (
	"context"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisNonces remembers nonces in Redis (SET NX EX), shared by every instance.
type RedisNonces struct {
	RDB    redis.UniversalClient
	Prefix string // e.g. "hotline:province:nonce:"
}

var _ NonceStore = RedisNonces{}

// Claim sets prefix+nonce only if absent, expiring after ttl.
func (r RedisNonces) Claim(ctx context.Context, nonce string, ttl time.Duration) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	return r.RDB.SetNX(ctx, r.Prefix+nonce, 1, ttl).Result()
}

// MemoryNonces remembers nonces in this process (the simulator, tests).
type MemoryNonces struct {
	mu    sync.Mutex
	seen  map[string]time.Time
	calls int
}

var _ NonceStore = (*MemoryNonces)(nil)

// Claim records nonce until now+ttl; expired entries are dropped now and then.
func (m *MemoryNonces) Claim(_ context.Context, nonce string, ttl time.Duration) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := time.Now()
	if m.seen == nil {
		m.seen = map[string]time.Time{}
	}
	if m.calls++; m.calls%1000 == 0 {
		for k, exp := range m.seen {
			if now.After(exp) {
				delete(m.seen, k)
			}
		}
	}
	if exp, ok := m.seen[nonce]; ok && now.Before(exp) {
		return false, nil
	}
	m.seen[nonce] = now.Add(ttl)
	return true, nil
}
