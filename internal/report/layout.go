package report

import (
	"fmt"
	"slices"
	"strings"
	"time"

	v1 "github.com/pipectl/pipectl/api/v1"
	"github.com/pipectl/pipectl/record"
)

// Group is one graph of the run: the main steps, or one phase of handlers
// (a stage's on_failure, the pipeline's on_failure, finally).
type Group struct {
	Title string
	Phase string
	Stage string
	Steps []*Step // its step instances
	Graph *Graph
}

// Graph is a group's DAG laid out in layers, left to right: a step's layer
// is one more than the deepest of the steps it depends on. Sizes are SVG
// user units.
type Graph struct {
	ID            string
	Width, Height int
	Nodes         []Node
	Edges         []string // SVG path data
}

// Node is one step of a graph (its instances together).
type Node struct {
	X, Y, W, H int
	Name       string
	Sub        string // stage and outcome
	Class      string // the status's CSS class
	Href       string
	Title      string // the tooltip
}

const (
	nodeW, nodeH = 176, 44
	colGap       = 48
	rowGap       = 14
	margin       = 8
)

// groupsOf groups the steps by phase in plan order and lays out each
// group's graph.
func groupsOf(plan *v1.Plan, steps []*Step) []*Group {
	var out []*Group
	byKey := map[string]*Group{}
	for _, s := range steps {
		key := s.Phase + "\x00" + s.Stage
		if s.Phase == "main" {
			key = "main"
		}
		g := byKey[key]
		if g == nil {
			g = &Group{Title: groupTitle(s.Phase, s.Stage), Phase: s.Phase, Stage: s.Stage}
			if s.Phase == "main" {
				g.Stage = ""
			}
			byKey[key] = g
			out = append(out, g)
		}
		g.Steps = append(g.Steps, s)
	}
	for i, g := range out {
		g.Graph = layout(fmt.Sprintf("g%d", i), g.Steps)
	}
	return out
}

func groupTitle(phase, stage string) string {
	switch phase {
	case "main":
		return "Main steps"
	case "stage_on_failure":
		return fmt.Sprintf("On failure of stage %s", stage)
	case "on_failure":
		return "On failure of the pipeline"
	case "finally":
		return "Finally"
	case "on_waiting":
		return "On waiting at an approval gate"
	}
	return phase
}

// layout places one node per step (its instances together) in layers, in
// the manner of Sugiyama: an edge that spans several layers goes through
// a waypoint in each layer between (a slot of its own), so that it never
// runs behind a node.
func layout(id string, steps []*Step) *Graph {
	l := newLayering(steps)
	l.assignLayers()
	edges := l.routeEdges()
	l.orderRows()
	return l.draw(id, edges)
}

// layering is a graph being laid out: its nodes by name, in plan order
// (a topological order), and placed in layers, waypoints included.
type layering struct {
	nodes  map[string]*lnode
	order  []*lnode // real nodes, in plan order
	layers [][]*lnode
}

// newLayering makes a node per step (the instances of a for_each step
// share one).
func newLayering(steps []*Step) *layering {
	l := &layering{nodes: map[string]*lnode{}}
	for _, s := range steps {
		n := l.nodes[s.Name]
		if n == nil {
			n = &lnode{name: s.Name, deps: s.DependsOn, seen: len(l.order)}
			l.nodes[s.Name] = n
			l.order = append(l.order, n)
		}
		n.steps = append(n.steps, s)
	}
	return l
}

func (l *layering) place(n *lnode) {
	for len(l.layers) <= n.layer {
		l.layers = append(l.layers, nil)
	}
	l.layers[n.layer] = append(l.layers[n.layer], n)
}

// assignLayers puts each node one layer right of its deepest dependency.
func (l *layering) assignLayers() {
	for _, n := range l.order {
		for _, d := range n.deps {
			if dn := l.nodes[d]; dn != nil {
				n.layer = max(n.layer, dn.layer+1)
			}
		}
		l.place(n)
	}
}

// routeEdges is each edge drawn: from its step through one waypoint per
// layer between, so that a long edge never passes behind a node. Edges
// implied by longer paths are left out.
func (l *layering) routeEdges() [][]*lnode {
	implied := impliedEdges(l.order, func(n *lnode) []string { return n.deps }, func(n *lnode) string { return n.name })
	var edges [][]*lnode
	for _, n := range l.order {
		for _, d := range n.deps {
			dn := l.nodes[d]
			if dn == nil || implied[n.name+"\x00"+d] {
				continue
			}
			points := []*lnode{dn}
			prev := dn
			for layer := dn.layer + 1; layer < n.layer && len(l.order) <= maxReduced; layer++ {
				w := &lnode{waypoint: true, layer: layer, from: prev, seen: n.seen}
				l.place(w)
				points = append(points, w)
				prev = w
			}
			n.preds = append(n.preds, prev)
			edges = append(edges, append(points, n))
		}
	}
	return edges
}

// orderRows puts a node near what it comes from within its layer (the
// mean row), which keeps edges short and mostly straight.
func (l *layering) orderRows() {
	for _, layer := range l.layers {
		for _, n := range layer {
			n.key = float64(n.seen)
			preds := n.preds
			if n.waypoint {
				preds = []*lnode{n.from}
			}
			if len(preds) > 0 {
				sum := 0.0
				for _, p := range preds {
					sum += float64(p.row)
				}
				n.key = sum/float64(len(preds)) + float64(n.seen)/1e6
			}
		}
		slices.SortStableFunc(layer, func(a, b *lnode) int { return cmpFloat(a.key, b.key) })
		for i, n := range layer {
			n.row = i
		}
	}
}

func (l *layering) draw(id string, edges [][]*lnode) *Graph {
	g := &Graph{ID: id}
	rows := 0
	for _, layer := range l.layers {
		rows = max(rows, len(layer))
	}
	g.Width = 2*margin + len(l.layers)*(nodeW+colGap) - colGap
	g.Height = 2*margin + rows*(nodeH+rowGap) - rowGap
	for _, n := range l.order {
		g.Nodes = append(g.Nodes, n.draw())
	}
	for _, points := range edges {
		g.Edges = append(g.Edges, edgePath(points))
	}
	return g
}

// lnode is a node being laid out: a step, or the waypoint of a long edge.
type lnode struct {
	name       string
	steps      []*Step
	deps       []string
	preds      []*lnode // the nodes its drawn edges come from
	waypoint   bool
	from       *lnode // a waypoint's predecessor
	layer, row int
	key        float64
	seen       int
}

func (n *lnode) pos() (x, y int) {
	return margin + n.layer*(nodeW+colGap), margin + n.row*(nodeH+rowGap)
}

// draw is the node of a step.
func (n *lnode) draw() Node {
	x, y := n.pos()
	status := worstStatus(n.steps)
	sub := status
	if len(n.steps) > 1 {
		sub = fmt.Sprintf("%s · ×%d", status, len(n.steps))
	} else if d := n.steps[0].Duration(); d != "–" {
		sub += " · " + d
	}
	if stage := n.steps[0].Stage; stage != "" && n.steps[0].Phase == "main" {
		sub = stage + " · " + sub
	}
	title := n.name
	if n.steps[0].Stage != "" {
		title = fmt.Sprintf("%s (stage %s): %s", n.name, n.steps[0].Stage, n.steps[0].Action)
	}
	return Node{X: x, Y: y, W: nodeW, H: nodeH, Name: clip(n.name, 22), Sub: clip(sub, 32),
		Class: statusClass(status), Href: "#" + n.steps[0].Anchor, Title: title}
}

// edgePath is the SVG path of an edge: a curve from one node's right side
// to the next point's left, straight across each waypoint's slot.
func edgePath(points []*lnode) string {
	x, y := points[0].pos()
	x, y = x+nodeW, y+nodeH/2
	var b strings.Builder
	fmt.Fprintf(&b, "M%d %d", x, y)
	for i, p := range points[1:] {
		px, py := p.pos()
		py += nodeH / 2
		end := px
		if i == len(points)-2 {
			end = px - 4 // room for the arrowhead
		}
		fmt.Fprintf(&b, " C%d %d %d %d %d %d", x+colGap/2, y, px-colGap/2, py, end, py)
		x, y = px, py
		if p.waypoint {
			x += nodeW
			fmt.Fprintf(&b, " L%d %d", x, y)
		}
	}
	return b.String()
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// maxReduced bounds the graphs whose implied edges are left out (the
// ancestor sets grow with the square of the steps) and whose long edges
// get waypoints.
const maxReduced = 500

// impliedEdges finds the dependencies that another dependency already
// implies (a → c when a → b → c): drawn, they would run behind the nodes
// between and add nothing. nodes are in topological order.
func impliedEdges[N any](nodes []N, deps func(N) []string, name func(N) string) map[string]bool {
	implied := map[string]bool{}
	if len(nodes) > maxReduced {
		return implied
	}
	ancestors := map[string]map[string]bool{}
	for _, n := range nodes {
		set := map[string]bool{}
		for _, d := range deps(n) {
			if _, known := ancestors[d]; !known {
				continue // outside this graph
			}
			set[d] = true
			for a := range ancestors[d] {
				set[a] = true
			}
		}
		ancestors[name(n)] = set
	}
	for _, n := range nodes {
		for _, d := range deps(n) {
			for _, other := range deps(n) {
				if other != d && ancestors[other][d] {
					implied[name(n)+"\x00"+d] = true
				}
			}
		}
	}
	return implied
}

// worstStatus is a step's status from its instances': the worst one.
func worstStatus(steps []*Step) string {
	rank := map[string]int{"skip": 0, "ok": 1, "run": 2, "warn": 3, "fail": 4}
	out := steps[0].Status
	for _, s := range steps[1:] {
		if rank[statusClass(s.Status)] > rank[statusClass(out)] {
			out = s.Status
		}
	}
	return out
}

func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// Timeline is every attempt of every step on one time axis.
type Timeline struct {
	Rows  []TimelineRow
	Ticks []Tick
}

// TimelineRow is one step instance.
type TimelineRow struct {
	Label, Href, Class string
	Bars               []Bar
	start              time.Time
}

// gateWait is the time a run waited at a gate (an approval, a deploy
// window), from the gate's events.
type gateWait struct {
	gate, kind, outcome string
	class               string // of the bar: "" while waiting or passed, "fail" when it stopped the run
	start, end          time.Time
}

// gateWaits pairs each gate_waiting with what ended the wait.
func gateWaits(events []v1.Event) []gateWait {
	var out []gateWait
	open := map[string]int{} // gate → index in out, while it waits
	for _, e := range events {
		if e.Gate == "" {
			continue
		}
		i, waiting := open[e.Gate]
		switch {
		case e.Type == v1.GateWaiting && !waiting:
			open[e.Gate] = len(out)
			out = append(out, gateWait{gate: e.Gate, kind: string(e.GateKind), outcome: "still waiting", start: e.Time})
		case e.Type == v1.GatePassed && waiting:
			out[i].end, out[i].outcome = e.Time, "passed"
			delete(open, e.Gate)
		case (e.Type == v1.GateRejected || e.Type == v1.GateTimedOut || e.Type == v1.GateWindowClosed) && waiting:
			out[i].end, out[i].outcome, out[i].class = e.Time, strings.TrimPrefix(string(e.Type), "gate_"), "fail"
			delete(open, e.Gate)
		}
	}
	return out
}

// Bar is one attempt: where it starts and how long it is, in percent of
// the run.
type Bar struct {
	X, W  string
	Class string
	Title string
}

// Tick is a mark of the time axis.
type Tick struct {
	X     string
	Label string
}

// timelineOf places each attempt between the run's start and end.
func timelineOf(run *record.Run, steps []*Step, waits []gateWait, end time.Time) *Timeline {
	start := run.Started
	total := end.Sub(start)
	if total <= 0 {
		total = time.Millisecond
	}
	pct := func(t time.Time) float64 {
		return min(100, max(0, 100*float64(t.Sub(start))/float64(total)))
	}
	tl := &Timeline{}
	var rows []*Step
	for _, s := range steps {
		if len(s.Attempts) > 0 {
			rows = append(rows, s)
		}
	}
	slices.SortStableFunc(rows, func(a, b *Step) int { return a.Attempts[0].Start.Compare(b.Attempts[0].Start) })
	for _, w := range waits {
		// A gate's wait goes just before the first step that started after it.
		wEnd := w.end
		if wEnd.IsZero() {
			wEnd = end
		}
		x := pct(w.start)
		tl.Rows = append(tl.Rows, TimelineRow{Label: "⏸ " + w.gate, Href: "#approvals", Class: "skip", start: w.start,
			Bars: []Bar{{X: fmt.Sprintf("%.2f%%", min(x, 99.6)), W: fmt.Sprintf("%.2f%%", max(0.4, pct(wEnd)-x)), Class: "wait " + w.class,
				Title: fmt.Sprintf("%s waited %s for %s: %s", w.gate, shortDuration(wEnd.Sub(w.start)), w.kind, w.outcome)}}})
	}
	for _, s := range rows {
		row := TimelineRow{Label: s.Label(), Href: "#" + s.Anchor, Class: s.Class(), start: s.Attempts[0].Start}
		for _, a := range s.Attempts {
			aEnd := a.End
			if aEnd.IsZero() {
				aEnd = end
			}
			x := pct(a.Start)
			w := max(0.4, pct(aEnd)-x)
			class := "ok"
			switch {
			case a.Failed:
				class = "fail"
			case a.End.IsZero():
				class = "run"
			}
			row.Bars = append(row.Bars, Bar{X: fmt.Sprintf("%.2f%%", min(x, 99.6)), W: fmt.Sprintf("%.2f%%", w), Class: class,
				Title: fmt.Sprintf("%s attempt %d: %s, %s", s.Label(), a.N, shortDuration(aEnd.Sub(a.Start)), a.Outcome)})
		}
		tl.Rows = append(tl.Rows, row)
	}
	slices.SortStableFunc(tl.Rows, func(a, b TimelineRow) int { return a.start.Compare(b.start) })
	for i := 0; i <= 4; i++ {
		tl.Ticks = append(tl.Ticks, Tick{X: fmt.Sprintf("%d%%", i*25), Label: "+" + shortDuration(total*time.Duration(i)/4)})
	}
	return tl
}
