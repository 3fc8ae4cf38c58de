package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"hotline/app"
	"hotline/loadtest"
	"hotline/normalize"
)

func loadtestCmd() *cobra.Command {
	var o loadtest.Options
	var verify bool
	c := &cobra.Command{
		Use:   "loadtest",
		Short: "Fire Aliyun SMS uplinks at a running hotline, report throughput and latency, check each accepted message is stored once",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, _, err := loadConfig()
			if err != nil {
				return err
			}
			if o.Token == "" {
				o.Token = cfg.SMS.WebhookToken
			}
			var count loadtest.Counter
			if verify {
				// The check reads the same database the server writes.
				s, err := app.OpenStore(cmd.Context(), cfg)
				if err != nil {
					return fmt.Errorf("integrity check needs the server's database: %w", err)
				}
				defer s.Close()
				if o.Token == "" {
					o.Token, _ = s.Setting(cmd.Context(), "sms.webhook_token")
				}
				// The webhook stores Aliyun's sequence_id with its provider prefix.
				count = func(ctx context.Context, keys []string) (map[string]int, error) {
					prefixed := make([]string, len(keys))
					for i, k := range keys {
						prefixed[i] = "aliyun:" + k
					}
					got, err := s.CountInbound(ctx, normalize.SMS, prefixed)
					out := make(map[string]int, len(got))
					for k, n := range got {
						out[strings.TrimPrefix(k, "aliyun:")] = n
					}
					return out, err
				}
			}
			o.Progress = true
			rep, err := loadtest.Run(cmd.Context(), o, count, os.Stderr)
			if err != nil {
				return err
			}
			rep.Print(os.Stdout)
			if !rep.OK() {
				return fmt.Errorf("load test failed its integrity check")
			}
			return nil
		},
	}
	c.Flags().StringVar(&o.URL, "url", "http://127.0.0.1:8080", "base URL of the running hotline")
	c.Flags().StringVar(&o.Token, "token", "", "sms.webhook_token (default: from config, else the one stored in the database)")
	c.Flags().IntVar(&o.N, "n", 20000, "messages to send")
	c.Flags().IntVar(&o.Concurrency, "concurrency", 64, "concurrent senders")
	c.Flags().Float64Var(&o.Duplicates, "duplicates", 0.05, "fraction of messages delivered twice (provider redelivery)")
	c.Flags().IntVar(&o.BatchSize, "batch", 1, "messages per Aliyun push")
	c.Flags().DurationVar(&o.Timeout, "timeout", 10*time.Second, "per-request timeout")
	c.Flags().BoolVar(&verify, "verify", true, "check the database (same --config / HOTLINE_STORE_* as the server) that every accepted message is stored exactly once")
	return c
}
