package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"hotline/app"
	"hotline/kb"
	"hotline/store"
)

func kbCmd() *cobra.Command {
	k := &cobra.Command{Use: "kb", Short: "Knowledge base (知识库)"}
	k.AddCommand(&cobra.Command{
		Use:   "import FILE",
		Short: "Import knowledge-base entries from a CSV or JSON file (upsert by external_id, else question)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := os.Open(args[0])
			if err != nil {
				return err
			}
			defer f.Close()
			entries, err := kb.Parse(args[0], f)
			if err != nil {
				return err
			}
			cfg, _, err := loadConfig()
			if err != nil {
				return err
			}
			s, err := app.OpenStore(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			defer s.Close()
			recs := make([]store.KBRecord, len(entries))
			for i, e := range entries {
				recs[i] = store.KBRecord{ExternalID: e.ExternalID, Question: e.Question, Keywords: e.Keywords,
					Answer: e.Answer, Unit: e.Unit, ValidUntil: e.ValidUntil}
			}
			created, updated, err := s.UpsertKB(cmd.Context(), recs)
			if err != nil {
				return err
			}
			fmt.Printf("imported %d entries (%d new, %d updated); running servers pick them up on restart or within kb.reload_interval\n", len(recs), created, updated)
			return nil
		},
	})
	return k
}
