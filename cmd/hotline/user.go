package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"hotline/app"
	"hotline/auth"
	"hotline/ticket"
)

func userCmd() *cobra.Command {
	u := &cobra.Command{Use: "user", Short: "Manage agent accounts"}
	var role, display, password string
	var unit int64
	add := &cobra.Command{
		Use:   "add USERNAME",
		Short: "Add a user (the password is read from --password, HOTLINE_NEW_PASSWORD or stdin)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !auth.ValidRole(role) {
				var keys []string
				for _, r := range auth.Roles {
					keys = append(keys, r.Key)
				}
				return fmt.Errorf("--role must be one of %s", strings.Join(keys, ", "))
			}
			if password == "" {
				password = os.Getenv("HOTLINE_NEW_PASSWORD")
			}
			if password == "" {
				fmt.Fprint(os.Stderr, "password: ")
				line, err := bufio.NewReader(os.Stdin).ReadString('\n')
				if err != nil && line == "" {
					return errors.New("no password given")
				}
				password = strings.TrimSpace(line)
			}
			cfg, _, err := loadConfig()
			if err != nil {
				return err
			}
			hash, err := auth.Hash(password, cfg.Auth.BcryptCost)
			if err != nil {
				return err
			}
			s, err := app.OpenStore(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			defer s.Close()
			var unitID *int64
			if unit > 0 {
				unitID = &unit
			}
			if display == "" {
				display = args[0]
			}
			v, err := s.CreateUser(cmd.Context(), args[0], display, role, hash, unitID)
			if errors.Is(err, ticket.ErrConflict) {
				return fmt.Errorf("user %q exists", args[0])
			}
			if err != nil {
				return err
			}
			fmt.Printf("user %s added (role %s, id %d)\n", v.Username, v.Role, v.ID)
			return nil
		},
	}
	add.Flags().StringVar(&role, "role", auth.RoleIntake, "role: intake_agent, transfer_clerk, followup_agent, supervisor, unit_user, admin")
	add.Flags().StringVar(&display, "name", "", "display name (Chinese name of the agent)")
	add.Flags().StringVar(&password, "password", "", "password (prefer stdin or HOTLINE_NEW_PASSWORD: flags show in ps)")
	add.Flags().Int64Var(&unit, "unit", 0, "handling unit id (unit_user only)")
	u.AddCommand(add)
	return u
}
