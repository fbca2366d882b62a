package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/spf13/cobra"

	"github.com/pipectl/pipectl/internal/view"
	"github.com/pipectl/pipectl/record"
)

func newRunsArtifactsCommand() *cobra.Command {
	var asJSON bool
	var out string
	cmd := &cobra.Command{
		Use:   "artifacts RUN [DIR]",
		Short: "List the artifacts the steps of a run attached; -o extracts them",
		Long: `Lists the files the steps of a run attached (scan reports, diagnoses, rendered
files) as the run record keeps them: text with every secret redacted, content
holding a secret that is not text withheld, and content over the record's caps
(16 MiB an artifact, 64 MiB a run) left out; each says so.

With -o DIR each kept artifact is written to DIR/STEP/NAME (DIR/STEP_KEY/NAME for
a for_each instance). Names are made safe: a name as a plugin gave it never
leaves DIR (no .., no /), and a second artifact of the same name (a retry's)
gets -2, -3 before its extension. RUN is a run id, or latest.`,
		Args: runArgs(2, aRecordedRun),
		RunE: func(cmd *cobra.Command, args []string) error {
			store, id, err := openRun(pathArg(args[1:]), args[0])
			if err != nil {
				return err
			}
			list, err := store.Artifacts(id)
			if err != nil {
				return err
			}
			var files map[uint64]string
			if out != "" {
				if files, err = extractArtifacts(store, id, list, out); err != nil {
					return err
				}
			}
			(&view.RunArtifacts{Base: runsView(cmd, asJSON).Base}).List(list, files)
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "write the artifacts into this directory")
	cmd.Flags().BoolVar(&asJSON, "json", false, "artifact messages as JSON lines (docs/json-events.md)")
	return cmd
}

// extractArtifacts writes each kept artifact under dir and returns where
// each went. Writing goes through an os.Root: even a name that escaped
// safeName could not leave dir.
func extractArtifacts(store *record.Store, id string, list []record.Artifact, dir string) (map[uint64]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("cannot write the artifacts into %s (-o): %w", dir, err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("cannot write the artifacts into %s (-o): %w", dir, err)
	}
	defer root.Close()
	files := map[uint64]string{}
	taken := map[string]bool{}
	for _, a := range list {
		if !a.Kept() {
			continue
		}
		data, err := store.ArtifactData(id, a.Seq)
		if err != nil {
			return nil, err
		}
		sub := safeName(a.Step)
		if a.Instance != "" {
			sub += "_" + safeName(a.Instance)
		}
		name := uniqueName(filepath.Join(sub, safeName(a.Name)), taken)
		if err := root.MkdirAll(sub, 0o755); err != nil {
			return nil, err
		}
		if err := root.WriteFile(name, data, 0o644); err != nil {
			return nil, fmt.Errorf("writing artifact %s of step %s: %w", a.Name, a.Step, err)
		}
		files[a.Seq] = filepath.Join(dir, name)
	}
	return files, nil
}

var unsafeChars = regexp.MustCompile(`[^A-Za-z0-9._+=@-]+`)

// safeName makes one path component of a name a plugin chose: only
// letters, digits and ._+=@-, never . or .. nor hidden.
func safeName(s string) string {
	s = unsafeChars.ReplaceAllString(s, "_")
	s = strings.TrimLeft(s, ".")
	if s == "" {
		return "artifact"
	}
	return s
}

// uniqueName adds -2, -3... before the extension of a name already taken.
func uniqueName(name string, taken map[string]bool) string {
	ext := filepath.Ext(name)
	base := strings.TrimSuffix(name, ext)
	out := name
	for n := 2; taken[out]; n++ {
		out = fmt.Sprintf("%s-%d%s", base, n, ext)
	}
	taken[out] = true
	return out
}
