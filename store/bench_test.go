package store_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"hotline/store"
	"hotline/store/storetest"
	"hotline/ticket"
)

// BenchmarkIngest measures committed intakes per second with 64 concurrent
// callers, each message a new citizen and ticket with one auto-reply queued.
func BenchmarkIngest(b *testing.B) {
	for _, d := range storetest.Drivers() {
		b.Run(d, func(b *testing.B) {
			o := storetest.Options(b, d)
			o.MaxOpenConns, o.NumberBlock = 32, 20
			s, err := store.Open(context.Background(), o)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			reply := func(*ticket.Thread) ticket.Decision {
				return ticket.Decision{Classification: ticket.Classification{Nature: ticket.Help, Category: "城建环保"},
					Replies: []ticket.Reply{{Kind: ticket.ReplyThanks, Text: "您好！您的短信已收到。"}}}
			}
			var n atomic.Int64
			b.SetParallelism(32) // × GOMAXPROCS(2) = 64 callers
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := n.Add(1)
					env := sms(fmt.Sprintf("bench-%d", i), fmt.Sprintf("13%09d", i), "小区路灯坏了好几天了")
					env.ReceivedAt = time.Now()
					if _, err := s.Ingest(context.Background(), env, store.IngestOptions{Thread: true, ThreadWindow: time.Hour}, reply); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msg/s")
		})
	}
}
