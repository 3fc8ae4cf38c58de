package main

import (
	"errors"
	"os"
	"time"

	"github.com/spf13/cobra"

	"hotline/provincesim"
)

func provinceSimCmd() *cobra.Command {
	var o provincesim.Options
	var n int
	c := &cobra.Command{
		Use:   "province-sim",
		Short: "Play the provincial platform: send signed cases to a hotline, receive and verify its events and sent-up cases",
		Long: `province-sim plays the provincial exchange platform on one machine with a hotline.

It listens on --listen for what hotline posts to province.base_url (events of
the cases sent down, verified and printed, redeliveries recognised by their
Idempotency-Key; cases sent up), sends --send signed sample cases to the hotline
at --hotline, and keeps serving until interrupted. --fail-for answers events
with 500 for a while to show hotline's retries.

The key is --secret, else the environment variable HOTLINE_PROVINCE_SECRET
(the same as the hotline's province.secret); it is never printed.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.Secret == "" {
				o.Secret = os.Getenv("HOTLINE_PROVINCE_SECRET")
			}
			if o.Secret == "" {
				return errors.New("--secret (or HOTLINE_PROVINCE_SECRET) is required")
			}
			o.Out = os.Stdout
			return provincesim.New(o).Run(cmd.Context(), n, nil)
		},
	}
	c.Flags().StringVar(&o.Listen, "listen", "127.0.0.1:9090", "address of the simulated platform (hotline's province.base_url is http://<this>)")
	c.Flags().StringVar(&o.Secret, "secret", "", "shared signing key (default: $HOTLINE_PROVINCE_SECRET)")
	c.Flags().StringVar(&o.Hotline, "hotline", "http://127.0.0.1:8080", "base URL of the hotline to send cases to")
	c.Flags().DurationVar(&o.FailFor, "fail-for", 0, "answer events with 500 for this long after the start (e.g. 2m)")
	c.Flags().IntVar(&n, "send", 1, "sample cases to send at the start")
	c.Flags().StringVar(&o.CasePrefix, "case-prefix", "", "case_id prefix of the cases sent (default SIM-<timestamp>)")
	c.Flags().DurationVar(&o.Window, "window", 300*time.Second, "allowed clock difference of signed requests")
	return c
}
