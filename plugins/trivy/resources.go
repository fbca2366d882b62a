package main

import (
	"os"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"
)

// nameResources sets, for misconfigurations in rendered manifests (files
// under dir, the scanned directory), the Kubernetes resource each is in:
// its document's kind and metadata.name. A chart's templates are not
// rendered manifests: their findings keep no resource.
func nameResources(fs []finding, dir string) {
	if _, err := os.Stat(filepath.Join(dir, "Chart.yaml")); err == nil {
		return
	}
	texts := map[string]string{}
	for i := range fs {
		f := &fs[i]
		if f.Line == 0 || !filepath.IsLocal(f.Target) {
			continue
		}
		text, ok := texts[f.Target]
		if !ok {
			b, _ := os.ReadFile(filepath.Join(dir, f.Target))
			text, texts[f.Target] = string(b), string(b)
		}
		f.Kind, f.Name = resourceAt(text, f.Line)
	}
}

// resourceAt is the kind and metadata.name of the YAML document of text
// that holds line (1-based); "" when it has none.
func resourceAt(text string, line int) (kind, name string) {
	var doc []string
	for i, l := range strings.Split(text, "\n") {
		if strings.TrimRight(l, " \r") == "---" {
			if i+1 >= line {
				break
			}
			doc = nil
			continue
		}
		doc = append(doc, l)
	}
	var res struct {
		Kind     string `yaml:"kind"`
		Metadata struct {
			Name string `yaml:"name"`
		} `yaml:"metadata"`
	}
	if yaml.Unmarshal([]byte(strings.Join(doc, "\n")), &res) != nil {
		return "", ""
	}
	return res.Kind, res.Metadata.Name
}
