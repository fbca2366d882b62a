package dag

import "slices"

// Cycles returns one path for every cycle of strongly connected nodes, each
// as the nodes in dependency order, starting at the earliest inserted node
// and not repeating it at the end: a→b→c means a depends on b, b on c, c on a.
// A node that depends on itself is a cycle of one.
func (g *Graph[K]) Cycles() [][]K {
	var cycles [][]K
	for _, scc := range g.components() {
		if len(scc) == 1 {
			n := uint64(g.index[scc[0]])
			if _, self := g.edges[n<<32|n]; !self {
				continue
			}
		}
		cycles = append(cycles, g.cyclePath(scc))
	}
	return cycles
}

// components is Tarjan's algorithm, iterative so deep graphs cannot
// overflow the stack. Components come out in insertion order of their
// first node, and their nodes in insertion order.
func (g *Graph[K]) components() [][]K {
	type frame struct {
		node K
		deps []K
		next int
	}
	index := map[K]int{}
	low := map[K]int{}
	onStack := map[K]bool{}
	var stack []K
	var result [][]K
	counter := 0

	for _, root := range g.nodes {
		if _, seen := index[root]; seen {
			continue
		}
		visit := func(n K) frame {
			index[n], low[n] = counter, counter
			counter++
			stack = append(stack, n)
			onStack[n] = true
			return frame{node: n, deps: g.DependenciesOf(n)}
		}
		frames := []frame{visit(root)}
		for len(frames) > 0 {
			f := &frames[len(frames)-1]
			if f.next < len(f.deps) {
				d := f.deps[f.next]
				f.next++
				if _, seen := index[d]; !seen {
					frames = append(frames, visit(d))
				} else if onStack[d] {
					low[f.node] = min(low[f.node], index[d])
				}
				continue
			}
			n := f.node
			frames = frames[:len(frames)-1]
			if len(frames) > 0 {
				parent := frames[len(frames)-1].node
				low[parent] = min(low[parent], low[n])
			}
			if low[n] != index[n] {
				continue
			}
			var scc []K
			for {
				top := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				onStack[top] = false
				scc = append(scc, top)
				if top == n {
					break
				}
			}
			slices.SortFunc(scc, func(a, b K) int { return g.index[a] - g.index[b] }) // insertion order
			result = append(result, scc)
		}
	}
	sortByFirst(result, g.index)
	return result
}

// cyclePath finds a concrete cycle inside a strongly connected component:
// a shortest path (breadth first) from its first node back to itself.
func (g *Graph[K]) cyclePath(scc []K) []K {
	in := setOf(scc)
	start := scc[0]
	prev := map[K]K{}
	queue := []K{start}
	visited := map[K]bool{}
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		for _, d := range g.DependenciesOf(n) {
			if _, ok := in[d]; !ok {
				continue
			}
			if d == start {
				path := []K{n}
				for n != start {
					n = prev[n]
					path = append(path, n)
				}
				slices.Reverse(path)
				return path
			}
			if !visited[d] {
				visited[d] = true
				prev[d] = n
				queue = append(queue, d)
			}
		}
	}
	return scc // unreachable for a real component
}

func setOf[K comparable](ks []K) map[K]struct{} {
	s := make(map[K]struct{}, len(ks))
	for _, k := range ks {
		s[k] = struct{}{}
	}
	return s
}

func sortByFirst[K comparable](comps [][]K, index map[K]int) {
	slices.SortFunc(comps, func(a, b []K) int { return index[a[0]] - index[b[0]] })
}
