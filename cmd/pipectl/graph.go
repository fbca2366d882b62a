package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/pipectl/pipectl/internal/view"
	"github.com/pipectl/pipectl/operation"
)

func newGraphCommand() *cobra.Command {
	var f pipelineFlags
	var format string
	cmd := &cobra.Command{
		Use:   "graph [DIR|FILE]",
		Short: "Print the step graph (DOT or Mermaid), stages as clusters",
		Long: `Prints the pipeline's step graph: stages as clusters, failure handlers and
finally steps as dashed clusters, arrows from what runs first to what runs
after. -format dot (Graphviz: pipectl graph | dot -Tsvg > graph.svg) or
-format mermaid (paste into Markdown).`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			in, err := f.inputs()
			if err != nil {
				return err
			}
			cfg := operation.NewConfiguration()
			op := operation.NewGraph(cfg)
			op.Inputs = in
			g, diags := op.Run(pathArg(args))
			base := f.base(cmd, cfg, g.Files)
			base.Diagnostics(diags)
			if diags.HasErrors() {
				return operation.ErrDiagnostics
			}
			switch format {
			case "dot":
				view.WriteDOT(cmd.OutOrStdout(), g.Pipeline.Graph)
			case "mermaid":
				view.WriteMermaid(cmd.OutOrStdout(), g.Pipeline.Graph)
			default:
				return fmt.Errorf("unknown -format %q: use dot or mermaid", format)
			}
			return nil
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&format, "format", "dot", "dot or mermaid")
	return cmd
}
