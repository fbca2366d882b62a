// Package dag is a small generic directed graph for scheduling: nodes are
// comparable keys, an edge "a depends on b" points from a to b. Every
// listing follows node insertion order, so plans, graphs and error messages
// are deterministic.
package dag

import (
	"slices"
)

// Graph is a directed graph whose edges mean "depends on".
// The zero value is not usable; call New.
type Graph[K comparable] struct {
	index map[K]int // insertion order
	nodes []K
	// node -> what it depends on, and what depends on it; nil until the
	// node has one (two maps made per node, many never filled: 20 MB of a
	// 100k-step validate)
	deps  map[K]map[K]struct{}
	users map[K]map[K]struct{}
}

// New returns an empty graph.
func New[K comparable]() *Graph[K] {
	return &Graph[K]{
		index: map[K]int{},
		deps:  map[K]map[K]struct{}{},
		users: map[K]map[K]struct{}{},
	}
}

// Add inserts a node; adding an existing node does nothing.
func (g *Graph[K]) Add(k K) {
	if _, ok := g.index[k]; ok {
		return
	}
	g.index[k] = len(g.nodes)
	g.nodes = append(g.nodes, k)
}

// Has reports whether k is a node of the graph.
func (g *Graph[K]) Has(k K) bool {
	_, ok := g.index[k]
	return ok
}

// Connect records that from depends on to, adding both nodes if needed.
func (g *Graph[K]) Connect(from, to K) {
	g.Add(from)
	g.Add(to)
	link(g.deps, from, to)
	link(g.users, to, from)
}

func link[K comparable](edges map[K]map[K]struct{}, from, to K) {
	if edges[from] == nil {
		edges[from] = map[K]struct{}{}
	}
	edges[from][to] = struct{}{}
}

// Len is the number of nodes.
func (g *Graph[K]) Len() int { return len(g.nodes) }

// DependenciesOf lists what k depends on, in insertion order.
func (g *Graph[K]) DependenciesOf(k K) []K { return g.ordered(g.deps[k]) }

// DependentsOf lists what depends on k, in insertion order.
func (g *Graph[K]) DependentsOf(k K) []K { return g.ordered(g.users[k]) }

// Ancestors lists every node k depends on, directly or not, in insertion order.
func (g *Graph[K]) Ancestors(k K) []K { return g.reach(k, g.deps) }

// Descendants lists every node that depends on k, directly or not, in insertion order.
func (g *Graph[K]) Descendants(k K) []K { return g.reach(k, g.users) }

func (g *Graph[K]) reach(start K, edges map[K]map[K]struct{}) []K {
	seen := map[K]struct{}{}
	stack := []K{start}
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for m := range edges[n] {
			if _, ok := seen[m]; !ok {
				seen[m] = struct{}{}
				stack = append(stack, m)
			}
		}
	}
	delete(seen, start)
	return g.ordered(seen)
}

func (g *Graph[K]) ordered(set map[K]struct{}) []K {
	out := make([]K, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	slices.SortFunc(out, func(a, b K) int { return g.index[a] - g.index[b] })
	return out
}

// TopoSort orders the nodes so that every node comes after what it depends
// on, breaking ties by insertion order. It returns ok=false when the graph
// has a cycle (see Cycles).
func (g *Graph[K]) TopoSort() (order []K, ok bool) {
	pending := make(map[K]int, len(g.nodes))
	for _, n := range g.nodes {
		pending[n] = len(g.deps[n])
	}
	ready := []K{}
	for _, n := range g.nodes {
		if pending[n] == 0 {
			ready = append(ready, n)
		}
	}
	for len(ready) > 0 {
		n := ready[0]
		ready = ready[1:]
		order = append(order, n)
		for _, u := range g.DependentsOf(n) {
			if pending[u]--; pending[u] == 0 {
				ready = append(ready, u)
			}
		}
	}
	return order, len(order) == len(g.nodes)
}

// Ready is the pure scheduling function: given which nodes are finished
// successfully (done) and which are started or finished in any way
// (started), it lists the nodes that may start now: not started, and every
// dependency done. Resuming a run is calling Ready with the recorded state.
func (g *Graph[K]) Ready(done, started func(K) bool) []K {
	var out []K
	for _, n := range g.nodes {
		if started(n) {
			continue
		}
		if g.allDone(n, done) {
			out = append(out, n)
		}
	}
	return out
}

func (g *Graph[K]) allDone(n K, done func(K) bool) bool {
	for d := range g.deps[n] {
		if !done(d) {
			return false
		}
	}
	return true
}

// Frontier is Ready made incremental, for a scheduler that asks again
// after each node finishes: it counts, per node, the dependencies not done
// yet, so a finished node costs a look at its dependants only. Calling
// Ready after every finish looks at every node each time: quadratic in
// the graph's size.
type Frontier[K comparable] struct {
	g       *Graph[K]
	waiting map[K]int // node → dependencies not done yet
	ready   []K       // may start, not yet taken
	// Evaluations counts the nodes looked at, for tests that the work
	// grows with the graph, not faster.
	Evaluations int
}

// Frontier starts a schedule where nothing is done: Take lists the nodes
// without dependencies.
func (g *Graph[K]) Frontier() *Frontier[K] {
	f := &Frontier[K]{g: g, waiting: make(map[K]int, len(g.nodes))}
	for _, n := range g.nodes {
		f.Evaluations++
		f.waiting[n] = len(g.deps[n])
		if f.waiting[n] == 0 {
			f.ready = append(f.ready, n)
		}
	}
	return f
}

// Done records that k finished successfully (once per node): each of its
// dependants whose dependencies are now all done becomes ready.
func (f *Frontier[K]) Done(k K) {
	for _, u := range f.g.DependentsOf(k) {
		f.Evaluations++
		if f.waiting[u]--; f.waiting[u] == 0 {
			f.ready = append(f.ready, u)
		}
	}
}

// Take returns the nodes that became ready since the last Take, in the
// order they did. Whether one was already started (a resumed run) is the
// caller's to check, as with Ready.
func (f *Frontier[K]) Take() []K {
	out := f.ready
	f.ready = nil
	return out
}
