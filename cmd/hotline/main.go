// Command hotline is the 12345 omnichannel gateway: `hotline` (or `hotline
// serve`) runs the server; other subcommands administer it.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"hotline/configs"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := root().ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "hotline:", err)
		os.Exit(1)
	}
}

var configPath string

func root() *cobra.Command {
	serve := serveCmd()
	r := &cobra.Command{
		Use:           "hotline",
		Short:         "12345 citizen hotline omnichannel gateway",
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE:          serve.RunE, // plain `hotline` serves
	}
	r.PersistentFlags().StringVar(&configPath, "config", "", "configuration file (YAML); defaults are configs/hotline.yaml's values")
	r.AddCommand(serve, migrateCmd(), userCmd(), kbCmd(), loadtestCmd(), provinceSimCmd())
	r.AddCommand(unitsCmd(), pipelineCmd(), simulateCmd()) // units.go, pipeline.go, simulate.go
	return r
}

func loadConfig() (*configs.Config, *slog.Logger, error) {
	cfg, err := configs.Load(configPath)
	if err != nil {
		return nil, nil, err
	}
	return cfg, newLogger(cfg.Log), nil
}

func newLogger(c configs.Log) *slog.Logger {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(strings.ToUpper(c.Level))); err != nil {
		lvl = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: lvl}
	var h slog.Handler = slog.NewJSONHandler(os.Stdout, opts)
	if c.Format == "text" {
		h = slog.NewTextHandler(os.Stdout, opts)
	}
	l := slog.New(h)
	slog.SetDefault(l)
	return l
}
