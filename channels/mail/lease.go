package mail

import (
	"context"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisLease is a Lease in Redis: SET NX PX to take it, a script that extends
// it only for its holder, and one that deletes it only for its holder.
type RedisLease struct {
	Client redis.UniversalClient
	Prefix string // e.g. "hotline:lease:"
}

var _ Lease = (*RedisLease)(nil)

var renewScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) and 1 or 0`)

var releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`)

// AcquireLease implements Lease.
func (l *RedisLease) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error) {
	n, err := renewScript.Run(ctx, l.Client, []string{l.Prefix + name}, holder, ttl.Milliseconds()).Int64()
	return n == 1, err
}

// ReleaseLease implements Lease.
func (l *RedisLease) ReleaseLease(ctx context.Context, name, holder string) error {
	return releaseScript.Run(ctx, l.Client, []string{l.Prefix + name}, holder).Err()
}
