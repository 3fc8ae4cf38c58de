package wechat

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/silenceper/wechat/v2/cache"
)

// RedisCache is the library's cache.Cache on go-redis v9 (the library's own
// Redis cache uses v8), so that every instance shares one access token: a
// token fetched by one instance would otherwise invalidate the others'.
type RedisCache struct {
	rdb     redis.UniversalClient
	prefix  string
	timeout time.Duration
}

var (
	_ cache.Cache        = (*RedisCache)(nil)
	_ cache.ContextCache = (*RedisCache)(nil)
)

// NewRedisCache keys every entry with prefix (e.g. "hotline:wechat:").
func NewRedisCache(rdb redis.UniversalClient, prefix string) *RedisCache {
	return &RedisCache{rdb: rdb, prefix: prefix, timeout: 3 * time.Second}
}

func (r *RedisCache) ctx(parent context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(parent, r.timeout)
}

// Get returns the value (a string) or nil when absent or Redis fails: the
// caller then fetches a fresh token.
func (r *RedisCache) Get(key string) any { return r.GetContext(context.Background(), key) }

// GetContext is Get with a context.
func (r *RedisCache) GetContext(ctx context.Context, key string) any {
	ctx, cancel := r.ctx(ctx)
	defer cancel()
	v, err := r.rdb.Get(ctx, r.prefix+key).Result()
	if err != nil {
		return nil
	}
	return v
}

// Set stores val for timeout; a non-positive timeout removes the key (the
// value would already be stale).
func (r *RedisCache) Set(key string, val any, timeout time.Duration) error {
	return r.SetContext(context.Background(), key, val, timeout)
}

// SetContext is Set with a context.
func (r *RedisCache) SetContext(ctx context.Context, key string, val any, timeout time.Duration) error {
	ctx, cancel := r.ctx(ctx)
	defer cancel()
	if timeout <= 0 {
		return r.rdb.Del(ctx, r.prefix+key).Err()
	}
	return r.rdb.Set(ctx, r.prefix+key, val, timeout).Err()
}

// IsExist reports whether key is set.
func (r *RedisCache) IsExist(key string) bool { return r.IsExistContext(context.Background(), key) }

// IsExistContext is IsExist with a context.
func (r *RedisCache) IsExistContext(ctx context.Context, key string) bool {
	ctx, cancel := r.ctx(ctx)
	defer cancel()
	n, err := r.rdb.Exists(ctx, r.prefix+key).Result()
	return err == nil && n > 0
}

// Delete removes key.
func (r *RedisCache) Delete(key string) error { return r.DeleteContext(context.Background(), key) }

// DeleteContext is Delete with a context.
func (r *RedisCache) DeleteContext(ctx context.Context, key string) error {
	ctx, cancel := r.ctx(ctx)
	defer cancel()
	err := r.rdb.Del(ctx, r.prefix+key).Err()
	if errors.Is(err, redis.Nil) {
		return nil
	}
	return err
}

// MemoryCache is the library's cache.Memory behind one lock: the library's Get
// reads its map without the lock it takes in Set, a data race once several
// outbox workers share it.
type MemoryCache struct {
	mu  sync.Mutex
	mem *cache.Memory
}

var _ cache.Cache = (*MemoryCache)(nil)

// NewMemoryCache is the in-process cache (no Redis configured).
func NewMemoryCache() *MemoryCache { return &MemoryCache{mem: cache.NewMemory()} }

// Get returns the value or nil.
func (m *MemoryCache) Get(key string) any {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.mem.Get(key)
}

// Set stores val for timeout.
func (m *MemoryCache) Set(key string, val any, timeout time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.mem.Set(key, val, timeout)
}

// IsExist reports whether key is set and fresh.
func (m *MemoryCache) IsExist(key string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.mem.IsExist(key)
}

// Delete removes key.
func (m *MemoryCache) Delete(key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.mem.Delete(key)
}
