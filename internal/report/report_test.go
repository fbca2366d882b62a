package report

import (
	"strings"
	"testing"
)

// Markdown from a plugin is rendered, and nothing in it can run, load
// anything or escape the page.
func TestMarkdownIsRenderedAndSanitized(t *testing.T) {
	html, err := renderMarkdown([]byte("# Scan\n\n| CVE | severity |\n|---|---|\n| CVE-1 | HIGH |\n\n" +
		"<script>alert(1)</script>\n\n<img src=x onerror=alert(2)>\n\n![logo](https://example.com/logo.png)\n\n" +
		"[click](javascript:alert(3)) [docs](https://example.com/docs)\n"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(html)
	for _, want := range []string{"<h1", "<table>", "<td>CVE-1</td>", `href="https://example.com/logo.png"`, `target="_blank"`} {
		if !strings.Contains(s, want) {
			t.Errorf("rendered Markdown lacks %s:\n%s", want, s)
		}
	}
	for _, bad := range []string{"<script", "<img", "onerror", "javascript:"} {
		if strings.Contains(s, bad) {
			t.Errorf("rendered Markdown holds %s:\n%s", bad, s)
		}
	}
}

// Layers follow the dependencies; an edge another path implies is left
// out; a node is placed near what it depends on.
func TestLayout(t *testing.T) {
	steps := []*Step{
		{Name: "a", Status: "succeeded", Anchor: "step-1"},
		{Name: "b", Status: "succeeded", DependsOn: []string{"a"}, Anchor: "step-2"},
		{Name: "c", Status: "failed", DependsOn: []string{"a", "b"}, Anchor: "step-3"},
		{Name: "d", Status: "not triggered", Anchor: "step-4"},
		{Name: "e", Status: "succeeded", DependsOn: []string{"d", "outside"}, Anchor: "step-5"},
	}
	g := layout("g", steps)
	x := map[string]int{}
	y := map[string]int{}
	for _, n := range g.Nodes {
		x[n.Name], y[n.Name] = n.X, n.Y
	}
	if !(x["a"] < x["b"] && x["b"] < x["c"] && x["d"] == x["a"] && x["e"] == x["b"]) {
		t.Errorf("layers: %v", x)
	}
	if y["e"] != y["d"] {
		t.Errorf("e is not beside d, which it depends on: %v", y)
	}
	if len(g.Edges) != 3 { // a→b, b→c, d→e: a→c is implied, "outside" is not in the graph
		t.Errorf("%d edges, want 3: %v", len(g.Edges), g.Edges)
	}
	if g.Nodes[2].Class != "fail" || g.Nodes[3].Class != "skip" {
		t.Errorf("classes: %+v", g.Nodes)
	}
}

// An edge that spans layers goes through a slot of its own in each layer
// between, never behind a node.
func TestLongEdgesGoAroundNodes(t *testing.T) {
	g := layout("g", []*Step{
		{Name: "a", Status: "succeeded"},
		{Name: "b", Status: "succeeded", DependsOn: []string{"a"}},
		{Name: "c", Status: "succeeded", DependsOn: []string{"b", "x"}},
		{Name: "x", Status: "succeeded"},
	})
	long := 0
	for _, e := range g.Edges {
		if strings.Contains(e, " L") {
			long++
		}
	}
	if long != 1 || len(g.Edges) != 3 {
		t.Errorf("edges %q: want 3, one through a waypoint", g.Edges)
	}
	if g.Height < 2*(nodeH+rowGap) {
		t.Errorf("the waypoint took no row: height %d", g.Height)
	}
}
