package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/pipectl/pipectl/engine"
	"github.com/pipectl/pipectl/internal/view"
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
			in.AllowUnset = true // the graph does not depend on values
			var p *engine.Pipeline
			redactor := engine.NewRedactor()
			base := f.base(cmd, &p, redactor)
			p, diags := engine.Load(pathArg(args), in)
			p.LearnSecrets(redactor)
			base.Diagnostics(diags)
			if diags.HasErrors() {
				return exitError(1)
			}
			switch format {
			case "dot":
				view.WriteDOT(cmd.OutOrStdout(), drawing(p.Graph))
			case "mermaid":
				view.WriteMermaid(cmd.OutOrStdout(), drawing(p.Graph))
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

// drawing is the pipeline's graph as the views draw it.
func drawing(g *engine.Graph) view.Graph {
	out := view.Graph{Config: g.Config}
	for _, ph := range g.Phases() {
		out.Phases = append(out.Phases, view.GraphPhase{Name: ph.Name, Stage: ph.Stage, Steps: engine.StepNames(ph.Graph), Graph: ph.Graph})
	}
	return out
}
