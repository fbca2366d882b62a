package dag

import (
	"fmt"
	"slices"
	"testing"
)

func diamond() *Graph[string] {
	g := New[string]()
	g.Connect("b", "a")
	g.Connect("c", "a")
	g.Connect("d", "b")
	g.Connect("d", "c")
	return g
}

func TestTopoSortRespectsDependencies(t *testing.T) {
	order, ok := diamond().TopoSort()
	if !ok {
		t.Fatal("diamond reported as cyclic")
	}
	if want := []string{"a", "b", "c", "d"}; !slices.Equal(order, want) {
		t.Fatalf("order = %v, want %v", order, want)
	}
}

func TestListingsFollowInsertionOrder(t *testing.T) {
	g := diamond()
	if got := g.DependenciesOf("d"); !slices.Equal(got, []string{"b", "c"}) {
		t.Errorf("DependenciesOf(d) = %v", got)
	}
	if got := g.DependentsOf("a"); !slices.Equal(got, []string{"b", "c"}) {
		t.Errorf("DependentsOf(a) = %v", got)
	}
	if got := g.Ancestors("d"); !slices.Equal(got, []string{"b", "a", "c"}) {
		t.Errorf("Ancestors(d) = %v", got)
	}
}

func TestReadySchedulesByFinishedNodes(t *testing.T) {
	g := diamond()
	state := map[string]string{}
	done := func(k string) bool { return state[k] == "ok" }
	started := func(k string) bool { return state[k] != "" }

	steps := []struct {
		finish []string
		want   []string
	}{
		{nil, []string{"a"}},
		{[]string{"a"}, []string{"b", "c"}},
		{[]string{"b"}, nil},
		{[]string{"c"}, []string{"d"}},
		{[]string{"d"}, nil},
	}
	for i, s := range steps {
		for _, f := range s.finish {
			state[f] = "ok"
		}
		got := g.Ready(done, started)
		if !slices.Equal(got, s.want) {
			t.Fatalf("step %d: Ready = %v, want %v", i, got, s.want)
		}
		for _, n := range got {
			state[n] = "running"
		}
	}
}

func TestReadyNeverSchedulesPastAFailure(t *testing.T) {
	g := diamond()
	state := map[string]string{"a": "ok", "b": "failed", "c": "ok"}
	got := g.Ready(func(k string) bool { return state[k] == "ok" }, func(k string) bool { return state[k] != "" })
	if len(got) != 0 {
		t.Fatalf("Ready = %v, want nothing (d depends on failed b)", got)
	}
}

func TestFrontierSchedulesAsReadyDoes(t *testing.T) {
	g := diamond()
	f := g.Frontier()
	if got := f.Take(); !slices.Equal(got, []string{"a"}) {
		t.Fatalf("first Take = %v, want [a]", got)
	}
	f.Done("a")
	if got := f.Take(); !slices.Equal(got, []string{"b", "c"}) {
		t.Fatalf("after a: Take = %v, want [b c]", got)
	}
	f.Done("b")
	if got := f.Take(); len(got) != 0 {
		t.Fatalf("after b: Take = %v, want nothing (d waits for c)", got)
	}
	f.Done("c")
	if got := f.Take(); !slices.Equal(got, []string{"d"}) {
		t.Fatalf("after c: Take = %v, want [d]", got)
	}
}

func TestFrontierNeverSchedulesPastAFailure(t *testing.T) {
	f := diamond().Frontier()
	f.Take()
	f.Done("a")
	f.Take()
	f.Done("c") // b failed: never Done
	if got := f.Take(); len(got) != 0 {
		t.Fatalf("Take = %v, want nothing (d depends on failed b)", got)
	}
}

// A chain of stages is scheduled with work proportional to its edges,
// where calling Ready after each finish looks at every node every time.
func TestFrontierWorkIsLinear(t *testing.T) {
	work := func(n int) int {
		g := New[int]()
		for i := range n {
			g.Add(i)
			if i >= 10 {
				g.Connect(i, i-10)
			}
		}
		f := g.Frontier()
		taken := 0
		for ready := f.Take(); len(ready) > 0; ready = f.Take() {
			for _, k := range ready {
				f.Done(k)
				taken++
			}
		}
		if taken != n || f.Evaluations < n {
			t.Fatalf("%d of %d nodes scheduled, %d evaluations counted", taken, n, f.Evaluations)
		}
		return f.Evaluations
	}
	if small, big := work(1000), work(8000); float64(big)/8000 > 1.3*float64(small)/1000 {
		t.Fatalf("%d evaluations for 1,000 nodes, %d for 8,000: not linear", small, big)
	}
}

func TestCyclesGivesConcretePaths(t *testing.T) {
	g := New[string]()
	g.Add("start")
	g.Connect("a", "b")
	g.Connect("b", "c")
	g.Connect("c", "a")
	g.Connect("c", "start")
	g.Connect("self", "self")
	g.Connect("x", "y")
	g.Connect("y", "x")

	got := fmt.Sprint(g.Cycles())
	if want := "[[a b c] [self] [x y]]"; got != want {
		t.Fatalf("Cycles = %s, want %s", got, want)
	}
	if _, ok := g.TopoSort(); ok {
		t.Fatal("TopoSort succeeded on a cyclic graph")
	}
}

func TestCyclePathIsAShortestLoopInsideTheComponent(t *testing.T) {
	// a→b→c→a and a→d→a: the component is {a,b,c,d}, the shortest loop from a is a→d.
	g := New[string]()
	g.Connect("a", "b")
	g.Connect("b", "c")
	g.Connect("c", "a")
	g.Connect("a", "d")
	g.Connect("d", "a")
	cycles := g.Cycles()
	if len(cycles) != 1 || !slices.Equal(cycles[0], []string{"a", "d"}) {
		t.Fatalf("Cycles = %v, want [[a d]]", cycles)
	}
}

func TestAcyclicGraphHasNoCycles(t *testing.T) {
	if c := diamond().Cycles(); len(c) != 0 {
		t.Fatalf("Cycles = %v, want none", c)
	}
}

func TestDeepChainDoesNotOverflow(t *testing.T) {
	g := New[int]()
	const n = 200_000
	for i := 1; i < n; i++ {
		g.Connect(i, i-1)
	}
	g.Connect(0, n-1)
	cycles := g.Cycles()
	if len(cycles) != 1 || len(cycles[0]) != n {
		t.Fatalf("got %d cycles, first of length %d; want one of %d", len(cycles), len(cycles[0]), n)
	}
}

func BenchmarkTopoSort10k(b *testing.B) {
	g := New[int]()
	for i := 0; i < 10_000; i++ {
		g.Add(i)
		if i > 0 {
			g.Connect(i, i/2)
		}
	}
	for b.Loop() {
		if _, ok := g.TopoSort(); !ok {
			b.Fatal("cycle")
		}
		_ = g.Cycles()
	}
}

// BenchmarkConnect100k builds the graph of a 100,000-step pipeline in
// stages of ten, each step depending on the one ten before: what a graph
// costs a step (B/op over 100,000).
func BenchmarkConnect100k(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		g := New[string]()
		for i := range 100_000 {
			g.Add(fmt.Sprint("n", i))
			if i >= 10 {
				g.Connect(fmt.Sprint("n", i), fmt.Sprint("n", i-10))
			}
		}
	}
}
