package web

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Limiter counts events per key in fixed windows (submissions per IP and per
// phone, wrong query codes per IP). Shared across instances when it is Redis.
type Limiter interface {
	// Hit counts one event for key and returns the count in the current
	// window, this one included. The window starts with the first event.
	Hit(ctx context.Context, key string, window time.Duration) (int64, error)
	// Count returns the events counted for key in the current window.
	Count(ctx context.Context, key string) (int64, error)
}

// MemoryLimiter is a Limiter for a single instance.
type MemoryLimiter struct {
	mu    sync.Mutex
	m     map[string]*memWindow
	now   func() time.Time
	sweep time.Time
}

type memWindow struct {
	n     int64
	until time.Time
}

// NewMemoryLimiter returns an empty in-process limiter.
func NewMemoryLimiter() *MemoryLimiter {
	return &MemoryLimiter{m: map[string]*memWindow{}, now: time.Now}
}

// Hit implements Limiter.
func (l *MemoryLimiter) Hit(_ context.Context, key string, window time.Duration) (int64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if now.After(l.sweep) {
		// Forget expired windows now and then, so the map does not grow
		// with every address that ever came.
		for k, w := range l.m {
			if !now.Before(w.until) {
				delete(l.m, k)
			}
		}
		l.sweep = now.Add(time.Minute)
	}
	w := l.m[key]
	if w == nil || !now.Before(w.until) {
		w = &memWindow{until: now.Add(window)}
		l.m[key] = w
	}
	w.n++
	return w.n, nil
}

// Count implements Limiter.
func (l *MemoryLimiter) Count(_ context.Context, key string) (int64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	w := l.m[key]
	if w == nil || !l.now().Before(w.until) {
		return 0, nil
	}
	return w.n, nil
}

// RedisLimiter is a Limiter shared by all instances: a fixed window per key,
// INCR plus PEXPIRE on the window's first event, atomically in one script (a
// crash between the two would otherwise leave a counter without expiry).
type RedisLimiter struct {
	Client redis.UniversalClient
	Prefix string // e.g. "hotline:rl:"
}

var hitScript = redis.NewScript(`
local n = redis.call('INCR', KEYS[1])
if n == 1 or redis.call('PTTL', KEYS[1]) < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
return n`)

// Hit implements Limiter.
func (l *RedisLimiter) Hit(ctx context.Context, key string, window time.Duration) (int64, error) {
	return hitScript.Run(ctx, l.Client, []string{l.Prefix + key}, window.Milliseconds()).Int64()
}

// Count implements Limiter.
func (l *RedisLimiter) Count(ctx context.Context, key string) (int64, error) {
	n, err := l.Client.Get(ctx, l.Prefix+key).Int64()
	if errors.Is(err, redis.Nil) {
		return 0, nil
	}
	return n, err
}
