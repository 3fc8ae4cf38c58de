package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"hotline/app"
	"hotline/pipeline"
)

func unitsCmd() *cobra.Command {
	u := &cobra.Command{Use: "units", Short: "Manage the handling units (承办单位)"}
	u.AddCommand(&cobra.Command{
		Use:   "import FILE",
		Short: "Import units from a CSV file (code,name,parent_code,kind[,phone]): new codes are added, known ones updated",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, _, err := loadConfig()
			if err != nil {
				return err
			}
			f, err := os.Open(args[0])
			if err != nil {
				return err
			}
			defer f.Close()
			s, err := app.OpenStore(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			defer s.Close()
			created, updated, err := pipeline.ImportUnits(cmd.Context(), s, f)
			if err != nil {
				return err
			}
			fmt.Printf("units imported: %d new, %d updated\n", created, updated)
			return nil
		},
	})
	u.AddCommand(&cobra.Command{
		Use:   "list",
		Short: "List the units as a tree (id, code, name)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, _, err := loadConfig()
			if err != nil {
				return err
			}
			s, err := app.OpenStore(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			defer s.Close()
			us, err := s.ListUnits(cmd.Context())
			if err != nil {
				return err
			}
			depth := map[int64]int{}
			for _, u := range us { // ordered by code: parents first
				d := 0
				if u.ParentID != nil {
					d = depth[*u.ParentID] + 1
				}
				depth[u.ID] = d
				fmt.Printf("%5d  %-14s %s%s\n", u.ID, u.Code, strings.Repeat("  ", d), u.Name)
			}
			return nil
		},
	})
	return u
}
