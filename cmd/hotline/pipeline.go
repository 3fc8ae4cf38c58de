package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"hotline/pipeline"
)

func pipelineCmd() *cobra.Command {
	p := &cobra.Command{Use: "pipeline", Short: "The handling pipeline's table"}
	var out string
	diagram := &cobra.Command{
		Use:   "diagram",
		Short: "Write the pipeline as Markdown with a Mermaid diagram (docs/pipeline.md), generated from pipeline.Table",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			md := pipeline.Markdown()
			if out == "-" {
				_, err := fmt.Print(md)
				return err
			}
			if err := os.WriteFile(out, []byte(md), 0o644); err != nil {
				return err
			}
			fmt.Fprintf(os.Stderr, "wrote %s\n", out)
			return nil
		},
	}
	diagram.Flags().StringVarP(&out, "out", "o", "docs/pipeline.md", `output file ("-": stdout)`)
	mermaid := &cobra.Command{
		Use:   "mermaid",
		Short: "Print only the Mermaid state diagram",
		Args:  cobra.NoArgs,
		Run:   func(*cobra.Command, []string) { fmt.Print(pipeline.Mermaid()) },
	}
	p.AddCommand(diagram, mermaid)
	return p
}
