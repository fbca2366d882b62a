// Package dag is a small generic directed graph for scheduling: nodes are
// comparable keys, an edge "a depends on b" points from a to b. Every
// listing follows node insertion order, so plans, graphs and error messages
// are deterministic.
package dag

import (
	"maps"
	"slices"
)

// Graph is a directed graph whose edges mean "depends on".
// The zero value is not usable; call New.
type Graph[K comparable] struct {
	index map[K]int // insertion order
	nodes []K
	// By node index: what it depends on and what depends on it, as node
	// indices kept in insertion order; edges holds each edge once
	// (from<<32 | to). Slices, not a set per node: two maps a node were
	// 580 bytes a step of a 100,000-step validate, and every listing sorted.
	deps, users [][]int32
	edges       map[uint64]struct{}
}

// New returns an empty graph.
func New[K comparable]() *Graph[K] {
	return &Graph[K]{index: map[K]int{}, edges: map[uint64]struct{}{}}
}

// Add inserts a node; adding an existing node does nothing.
func (g *Graph[K]) Add(k K) {
	g.add(k)
}

func (g *Graph[K]) add(k K) int32 {
	if i, ok := g.index[k]; ok {
		return int32(i)
	}
	g.index[k] = len(g.nodes)
	g.nodes = append(g.nodes, k)
	g.deps = append(g.deps, nil)
	g.users = append(g.users, nil)
	return int32(len(g.nodes) - 1)
}

// Has reports whether k is a node of the graph.
func (g *Graph[K]) Has(k K) bool {
	_, ok := g.index[k]
	return ok
}

// Connect records that from depends on to, adding both nodes if needed.
func (g *Graph[K]) Connect(from, to K) {
	f, t := g.add(from), g.add(to)
	edge := uint64(f)<<32 | uint64(t)
	if _, ok := g.edges[edge]; ok {
		return
	}
	g.edges[edge] = struct{}{}
	g.deps[f] = insertSorted(g.deps[f], t)
	g.users[t] = insertSorted(g.users[t], f)
}

func insertSorted(s []int32, n int32) []int32 {
	i, _ := slices.BinarySearch(s, n)
	return slices.Insert(s, i, n)
}

// Len is the number of nodes.
func (g *Graph[K]) Len() int { return len(g.nodes) }

// DependenciesOf lists what k depends on, in insertion order.
func (g *Graph[K]) DependenciesOf(k K) []K { return g.keys(g.deps, k) }

// DependentsOf lists what depends on k, in insertion order.
func (g *Graph[K]) DependentsOf(k K) []K { return g.keys(g.users, k) }

func (g *Graph[K]) keys(edges [][]int32, k K) []K {
	i, ok := g.index[k]
	if !ok {
		return nil
	}
	return g.named(edges[i])
}

// named is the nodes of indices, in their order.
func (g *Graph[K]) named(indices []int32) []K {
	out := make([]K, len(indices))
	for j, n := range indices {
		out[j] = g.nodes[n]
	}
	return out
}

// Ancestors lists every node k depends on, directly or not, in insertion order.
func (g *Graph[K]) Ancestors(k K) []K { return g.reach(k, g.deps) }

// Descendants lists every node that depends on k, directly or not, in insertion order.
func (g *Graph[K]) Descendants(k K) []K { return g.reach(k, g.users) }

func (g *Graph[K]) reach(start K, edges [][]int32) []K {
	s, ok := g.index[start]
	if !ok {
		return nil
	}
	seen := map[int32]bool{}
	stack := []int32{int32(s)}
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, m := range edges[n] {
			if !seen[m] {
				seen[m] = true
				stack = append(stack, m)
			}
		}
	}
	delete(seen, int32(s))
	return g.named(slices.Sorted(maps.Keys(seen)))
}

// TopoSort orders the nodes so that every node comes after what it depends
// on, breaking ties by insertion order. It returns ok=false when the graph
// has a cycle (see Cycles).
func (g *Graph[K]) TopoSort() (order []K, ok bool) {
	pending := make([]int, len(g.nodes))
	ready := []int32{}
	for i := range g.nodes {
		if pending[i] = len(g.deps[i]); pending[i] == 0 {
			ready = append(ready, int32(i))
		}
	}
	for len(ready) > 0 {
		n := ready[0]
		ready = ready[1:]
		order = append(order, g.nodes[n])
		for _, u := range g.users[n] {
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
	for i, n := range g.nodes {
		if started(n) {
			continue
		}
		if g.allDone(i, done) {
			out = append(out, n)
		}
	}
	return out
}

func (g *Graph[K]) allDone(n int, done func(K) bool) bool {
	for _, d := range g.deps[n] {
		if !done(g.nodes[d]) {
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
	waiting []int // by node index: dependencies not done yet
	ready   []K   // may start, not yet taken
	// Evaluations counts the nodes looked at, for tests that the work
	// grows with the graph, not faster.
	Evaluations int
}

// Frontier starts a schedule where nothing is done: Take lists the nodes
// without dependencies.
func (g *Graph[K]) Frontier() *Frontier[K] {
	f := &Frontier[K]{g: g, waiting: make([]int, len(g.nodes))}
	for i, n := range g.nodes {
		f.Evaluations++
		if f.waiting[i] = len(g.deps[i]); f.waiting[i] == 0 {
			f.ready = append(f.ready, n)
		}
	}
	return f
}

// Done records that k finished successfully (once per node): each of its
// dependants whose dependencies are now all done becomes ready.
func (f *Frontier[K]) Done(k K) {
	i, ok := f.g.index[k]
	if !ok {
		return
	}
	for _, u := range f.g.users[i] {
		f.Evaluations++
		if f.waiting[u]--; f.waiting[u] == 0 {
			f.ready = append(f.ready, f.g.nodes[u])
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
