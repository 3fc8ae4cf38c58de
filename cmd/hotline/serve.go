package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"hotline/app"
)

func serveCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "serve",
		Short: "Run the server (webhooks, API, outbox worker) until SIGTERM",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, log, err := loadConfig()
			if err != nil {
				return err
			}
			a, err := app.New(cmd.Context(), cfg, log, os.Stderr)
			if err != nil {
				return err
			}
			defer a.Close()
			return a.Serve(cmd.Context(), func(addr string) {
				url := cfg.HTTP.PublicURL
				if url == "" {
					url = "http://" + strings.Replace(addr, "0.0.0.0", "127.0.0.1", 1)
				}
				log.Info("hotline serving", "url", url, "driver", cfg.Store.Driver)
				fmt.Fprintf(os.Stderr, "hotline is serving on %s  (store: %s)\n", url, cfg.Store.Driver)
			})
		},
	}
}

func migrateCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "migrate",
		Short: "Apply pending database migrations and exit",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, _, err := loadConfig()
			if err != nil {
				return err
			}
			s, err := app.OpenStore(cmd.Context(), cfg) // Open migrates
			if err != nil {
				return err
			}
			defer s.Close()
			ids, err := s.Applied(cmd.Context())
			if err != nil {
				return err
			}
			fmt.Printf("schema up to date (%d migrations, last %s)\n", len(ids), ids[len(ids)-1])
			return nil
		},
	}
}
