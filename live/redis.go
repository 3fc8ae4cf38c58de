package live

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"

	"hotline/auth"
)

// Redis is a hub shared by every instance through Redis pub/sub: Publish
// delivers to this instance's subscribers at once and publishes on the
// channel; Run delivers what the other instances publish. When the
// subscription had to reconnect (messages may have been missed), subscribers
// get a resync event.
type Redis struct {
	fanout
	client  *redis.Client
	channel string
	origin  string // this instance, so it skips its own messages
	log     *slog.Logger
}

// NewRedis returns a hub on client's channel (e.g. "hotline:live").
func NewRedis(client *redis.Client, channel string, log *slog.Logger) *Redis {
	return &Redis{client: client, channel: channel, origin: auth.NewToken()[:16], log: log}
}

type wire struct {
	Origin string  `json:"o"`
	Events []Event `json:"e"`
}

// Publish delivers evs here and to the other instances.
func (r *Redis) Publish(ctx context.Context, evs ...Event) error {
	if len(evs) == 0 {
		return nil
	}
	r.deliver(evs)
	b, err := json.Marshal(wire{Origin: r.origin, Events: evs})
	if err != nil {
		return err
	}
	return r.client.Publish(ctx, r.channel, b).Err()
}

// Subscribe returns a new subscription.
func (r *Redis) Subscribe() *Subscription { return r.subscribe() }

// Run receives the other instances' events until ctx is cancelled.
func (r *Redis) Run(ctx context.Context) error {
	ps := r.client.Subscribe(ctx, r.channel)
	defer ps.Close()
	stop := context.AfterFunc(ctx, func() { ps.Close() }) // unblocks Receive
	defer stop()
	first := true
	for ctx.Err() == nil {
		msg, err := ps.ReceiveTimeout(ctx, 30*time.Second)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			var ne interface{ Timeout() bool }
			if errors.As(err, &ne) && ne.Timeout() {
				_ = ps.Ping(ctx) // keeps a silent connection honest; a dead one reconnects
				continue
			}
			r.log.Warn("live: redis subscription", "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
			continue
		}
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind == "subscribe" {
				if !first { // reconnected: what was published meanwhile is lost
					r.deliver([]Event{{Kind: KindResync, At: time.Now().UTC()}})
				}
				first = false
			}
		case *redis.Message:
			var w wire
			if err := json.Unmarshal([]byte(m.Payload), &w); err != nil {
				r.log.Warn("live: bad message on redis channel", "err", err)
				continue
			}
			if w.Origin != r.origin {
				r.deliver(w.Events)
			}
		}
	}
	return ctx.Err()
}

var _ Hub = (*Redis)(nil)

// RedisLease is the Locker of several instances sharing one Redis: a key set
// with NX and a TTL, renewed by its holder.
type RedisLease struct {
	Client *redis.Client
	Key    string
	id     string
}

// NewRedisLease returns a lease on key for this instance.
func NewRedisLease(c *redis.Client, key string) *RedisLease {
	return &RedisLease{Client: c, Key: key, id: auth.NewToken()[:16]}
}

var renew = redis.NewScript(`if redis.call("GET", KEYS[1]) == ARGV[1] then
  return redis.call("PEXPIRE", KEYS[1], ARGV[2])
end
return 0`)

// Hold takes the lease if it is free, or renews it if this instance holds it;
// it reports whether this instance holds it for ttl from now.
func (l *RedisLease) Hold(ctx context.Context, ttl time.Duration) (bool, error) {
	n, err := renew.Run(ctx, l.Client, []string{l.Key}, l.id, ttl.Milliseconds()).Int()
	if err != nil {
		return false, err
	}
	if n == 1 {
		return true, nil
	}
	return l.Client.SetNX(ctx, l.Key, l.id, ttl).Result()
}

// Release gives the lease up if this instance holds it.
func (l *RedisLease) Release(ctx context.Context) {
	l.Client.Eval(ctx, `if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) end return 0`,
		[]string{l.Key}, l.id)
}
