package main

import (
	"github.com/hashicorp/hcl/v2"
	"github.com/spf13/cobra"

	"github.com/pipectl/pipectl/dsl"
	"github.com/pipectl/pipectl/engine"
	"github.com/pipectl/pipectl/engine/pluginhost"
	"github.com/pipectl/pipectl/internal/view"
)

func newPlanCommand() *cobra.Command {
	var f pipelineFlags
	var out string
	var detailed bool
	cmd := &cobra.Command{
		Use:   "plan [DIR|FILE]",
		Short: "Show what apply would do, step by step",
		Long: `Validates the pipeline, builds the step graph and asks every step's action
what it would do against the live world (values from upstream steps are
unknown until apply). The plan is printed grouped by stage; -out saves it for
` + "`pipectl apply FILE`" + `, which refuses it if the world moved since.
Sensitive values are never shown or saved. With -detailed-exitcode: 0 when no
action announces a change, 2 when some do, 1 on errors.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := openSession(cmd, &f, pathArg(args))
			if err != nil {
				return err
			}
			defer s.close()
			v := &view.Plan{Base: s.base}
			plan, diags := s.planner.Plan(cmd.Context())
			v.Diagnostics(diags)
			if diags.HasErrors() {
				return exitError(1)
			}
			v.Show(plan)
			if out != "" {
				if err := engine.WritePlan(out, plan); err != nil {
					return err
				}
				v.Printf("\nSaved the plan to %s. Apply exactly this plan with: pipectl apply %s\n", out, out)
			}
			if detailed && plan.HasChanges() {
				return exitError(2)
			}
			return nil
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&out, "out", "", "save the plan to FILE for pipectl apply")
	cmd.Flags().BoolVar(&detailed, "detailed-exitcode", false, "exit 2 when the plan has changes, 0 when none, 1 on errors")
	return cmd
}

// session is a loaded pipeline with its plugin host, ready to plan or apply.
type session struct {
	pipeline *engine.Pipeline
	host     *pluginhost.Host
	planner  *engine.Planner
	redactor *engine.Redactor
	base     view.Base
}

// openSession loads and binds a pipeline and prepares its locked plugins.
// Diagnostics are reported through the view; the error is then an exit code.
func openSession(cmd *cobra.Command, f *pipelineFlags, path string) (*session, error) {
	in, err := f.inputs()
	if err != nil {
		return nil, err
	}
	return openSessionWith(cmd, f, path, in)
}

func openSessionWith(cmd *cobra.Command, f *pipelineFlags, path string, in dsl.Inputs) (*session, error) {
	s := &session{redactor: engine.NewRedactor()}
	s.base = f.base(cmd, &s.pipeline, s.redactor)
	var diags hcl.Diagnostics
	s.pipeline, diags = engine.Load(path, in)
	s.pipeline.LearnSecrets(s.redactor)
	if diags.HasErrors() {
		s.base.Diagnostics(diags)
		return nil, exitError(1)
	}
	lock, more := pluginhost.ReadLock(s.pipeline.Config.Dir)
	if more.HasErrors() {
		s.base.Diagnostics(append(diags, more...))
		return nil, exitError(1)
	}
	s.base.Diagnostics(diags) // warnings
	s.host = s.pipeline.NewHost(lock, pluginLogger(s.redactor), s.redactor)
	s.planner = &engine.Planner{Pipeline: s.pipeline, Host: s.host, Redactor: s.redactor}
	return s, nil
}

func (s *session) close() { s.host.Close() }
