//! Elementary cycles and strongly connected components of a directed graph
//! of named nodes. Cycles are reported once each, rotated to start at their
//! smallest name and closed by repeating it (`["a","b","a"]`); self-loops are
//! cycles of one node (`["a","a"]`). Output order is sorted, so equal graphs
//! give equal reports.
//!
//! Nodes are ids `0..names.len()`, and every index into the graph's and the
//! algorithms' per-node vectors (all of that length) is such an id: taken
//! from `names`, from an adjacency list built from `names`, or from a range
//! over them. Hence indexing is allowed in this module.

#![allow(clippy::indexing_slicing)]

use serde::Serialize;

/// At most this many cycles are listed (a dense graph has exponentially many).
pub const MAX_CYCLES: usize = 1_000;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CycleReport {
    pub cycles: Vec<Vec<String>>,
    pub has_cycles: bool,
    /// True when `MAX_CYCLES` cut the list.
    pub truncated: bool,
    /// Components with more than one node, or one node calling itself.
    pub strongly_connected_components: Vec<Vec<String>>,
}

/// Analyzes the graph given by its edges (duplicates are ignored).
pub fn analyze<'a>(edges: impl IntoIterator<Item = (&'a str, &'a str)>) -> CycleReport {
    let graph = Graph::new(edges);
    let mut cycles: Vec<Vec<String>> = Vec::new();
    let truncated = graph.elementary_cycles(MAX_CYCLES, &mut |cycle| {
        cycles.push(cycle.iter().chain(cycle.first()).map(|&i| graph.names[i].to_string()).collect());
    });
    crate::sort::sort_by(&mut cycles, |a, b| a.len().cmp(&b.len()).then_with(|| a.cmp(b)));
    let mut components: Vec<Vec<String>> = graph
        .strongly_connected_components(|_| true)
        .into_iter()
        .filter(|c| c.len() > 1 || c.first().is_some_and(|v| graph.adjacency[*v].contains(v)))
        .map(|c| {
            let mut names: Vec<String> = c.iter().map(|&i| graph.names[i].to_string()).collect();
            crate::sort::sort_by(&mut names, Ord::cmp);
            names
        })
        .collect();
    crate::sort::sort_by(&mut components, Ord::cmp);
    CycleReport { has_cycles: !cycles.is_empty(), cycles, truncated, strongly_connected_components: components }
}

/// Nodes are numbered in name order, so "smallest index" is "smallest name".
struct Graph<'a> {
    names: Vec<&'a str>,
    adjacency: Vec<Vec<usize>>,
}

impl<'a> Graph<'a> {
    fn new(edges: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let mut edges: Vec<(&str, &str)> = edges.into_iter().collect();
        crate::sort::sort_by(&mut edges, Ord::cmp);
        edges.dedup();
        let mut names: Vec<&str> = edges.iter().flat_map(|(a, b)| [*a, *b]).collect();
        crate::sort::sort_by(&mut names, Ord::cmp);
        names.dedup();
        let index = |name: &str| names.binary_search(&name).unwrap_or_default();
        let mut adjacency = vec![Vec::new(); names.len()];
        for (a, b) in edges {
            adjacency[index(a)].push(index(b));
        }
        Graph { names, adjacency }
    }

    /// Tarjan's algorithm over the nodes `keep` admits.
    fn strongly_connected_components(&self, keep: impl Fn(usize) -> bool) -> Vec<Vec<usize>> {
        struct State {
            next: usize,
            index: Vec<Option<usize>>,
            low: Vec<usize>,
            on_stack: Vec<bool>,
            stack: Vec<usize>,
            out: Vec<Vec<usize>>,
        }
        fn visit(g: &Graph<'_>, keep: &dyn Fn(usize) -> bool, v: usize, s: &mut State) {
            s.index[v] = Some(s.next);
            s.low[v] = s.next;
            s.next += 1;
            s.stack.push(v);
            s.on_stack[v] = true;
            for &w in g.adjacency[v].iter().filter(|w| keep(**w)) {
                match s.index[w] {
                    None => {
                        visit(g, keep, w, s);
                        s.low[v] = s.low[v].min(s.low[w]);
                    }
                    Some(iw) if s.on_stack[w] => s.low[v] = s.low[v].min(iw),
                    Some(_) => {}
                }
            }
            if Some(s.low[v]) == s.index[v] {
                let mut component = Vec::new();
                while let Some(w) = s.stack.pop() {
                    s.on_stack[w] = false;
                    component.push(w);
                    if w == v {
                        break;
                    }
                }
                s.out.push(component);
            }
        }
        let n = self.names.len();
        let mut s = State {
            next: 0,
            index: vec![None; n],
            low: vec![0; n],
            on_stack: vec![false; n],
            stack: Vec::new(),
            out: Vec::new(),
        };
        for v in (0..n).filter(|v| keep(*v)) {
            if s.index[v].is_none() {
                visit(self, &keep, v, &mut s);
            }
        }
        s.out
    }

    /// Johnson's algorithm: for each start node `s` in order, the cycles
    /// through `s` whose other nodes are all greater than `s`, found within
    /// the strongly connected component of `s` in the subgraph of nodes ≥ `s`.
    /// Returns true when it stopped at `limit`.
    fn elementary_cycles(&self, limit: usize, emit: &mut dyn FnMut(&[usize])) -> bool {
        let n = self.names.len();
        let mut found = 0;
        for s in 0..n {
            let component =
                self.strongly_connected_components(|v| v >= s).into_iter().find(|c| c.contains(&s)).unwrap_or_default();
            let mut allowed = vec![false; n];
            for v in component {
                allowed[v] = true;
            }
            let mut search = CircuitSearch {
                graph: self,
                allowed,
                start: s,
                blocked: vec![false; n],
                blocked_by: vec![Vec::new(); n],
                stack: Vec::new(),
                found: &mut found,
                limit,
                emit,
            };
            search.circuit(s);
            if found >= limit {
                return true;
            }
        }
        false
    }
}

struct CircuitSearch<'g, 'a, 'e> {
    graph: &'g Graph<'a>,
    allowed: Vec<bool>,
    start: usize,
    blocked: Vec<bool>,
    blocked_by: Vec<Vec<usize>>,
    stack: Vec<usize>,
    found: &'e mut usize,
    limit: usize,
    emit: &'e mut dyn FnMut(&[usize]),
}

impl CircuitSearch<'_, '_, '_> {
    fn circuit(&mut self, v: usize) -> bool {
        let mut closed = false;
        self.stack.push(v);
        self.blocked[v] = true;
        for &w in &self.graph.adjacency[v] {
            if !self.allowed[w] || *self.found >= self.limit {
                continue;
            }
            if w == self.start {
                (self.emit)(&self.stack);
                *self.found += 1;
                closed = true;
            } else if !self.blocked[w] && self.circuit(w) {
                closed = true;
            }
        }
        if closed {
            self.unblock(v);
        } else {
            for &w in &self.graph.adjacency[v] {
                if self.allowed[w] && !self.blocked_by[w].contains(&v) {
                    self.blocked_by[w].push(v);
                }
            }
        }
        self.stack.pop();
        closed
    }

    fn unblock(&mut self, u: usize) {
        self.blocked[u] = false;
        while let Some(w) = self.blocked_by[u].pop() {
            if self.blocked[w] {
                self.unblock(w);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn cycles_of(edges: &[(&str, &str)]) -> Vec<Vec<String>> {
        analyze(edges.iter().copied()).cycles
    }

    fn strs(v: &[&[&str]]) -> Vec<Vec<String>> {
        v.iter().map(|c| c.iter().map(|s| s.to_string()).collect()).collect()
    }

    #[test]
    fn a_graph_without_cycles_reports_none() {
        let report = analyze([("gateway", "checkout"), ("checkout", "db")]);
        assert!(!report.has_cycles);
        assert!(report.cycles.is_empty() && report.strongly_connected_components.is_empty());
    }

    #[test]
    fn cycles_start_at_their_smallest_name_and_are_listed_once() {
        let edges = [("b", "c"), ("c", "a"), ("a", "b"), ("c", "b")];
        assert_eq!(cycles_of(&edges), strs(&[&["b", "c", "b"], &["a", "b", "c", "a"]]));
        let report = analyze(edges);
        assert_eq!(report.strongly_connected_components, strs(&[&["a", "b", "c"]]));
    }

    #[test]
    fn self_loops_are_cycles_and_components() {
        let report = analyze([("a", "a"), ("a", "b")]);
        assert_eq!(report.cycles, strs(&[&["a", "a"]]));
        assert_eq!(report.strongly_connected_components, strs(&[&["a"]]));
    }

    /// Every simple cycle by plain search from each node over greater nodes.
    fn brute_force(n: usize, edges: &BTreeSet<(usize, usize)>) -> BTreeSet<Vec<usize>> {
        fn extend(
            s: usize,
            path: &mut Vec<usize>,
            n: usize,
            edges: &BTreeSet<(usize, usize)>,
            out: &mut BTreeSet<Vec<usize>>,
        ) {
            let last = *path.last().unwrap();
            for w in 0..n {
                if !edges.contains(&(last, w)) {
                    continue;
                }
                if w == s {
                    out.insert(path.clone());
                } else if w > s && !path.contains(&w) {
                    path.push(w);
                    extend(s, path, n, edges, out);
                    path.pop();
                }
            }
        }
        let mut out = BTreeSet::new();
        for s in 0..n {
            extend(s, &mut vec![s], n, edges, &mut out);
        }
        out
    }

    #[test]
    fn johnson_finds_exactly_the_cycles_of_a_brute_force_search_on_random_graphs() {
        let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let names = ["a", "b", "c", "d", "e", "f", "g"];
        for _ in 0..400 {
            let n = 1 + (next() % 7) as usize;
            let density = 1 + next() % 4;
            let edges: BTreeSet<(usize, usize)> =
                (0..n).flat_map(|a| (0..n).map(move |b| (a, b))).filter(|_| next() % 6 < density).collect();
            let expected: BTreeSet<Vec<String>> = brute_force(n, &edges)
                .into_iter()
                .map(|c| c.iter().chain([&c[0]]).map(|&i| names[i].to_string()).collect())
                .collect();
            let report = analyze(edges.iter().map(|&(a, b)| (names[a], names[b])));
            let got: BTreeSet<Vec<String>> = report.cycles.iter().cloned().collect();
            assert_eq!(got.len(), report.cycles.len(), "a cycle was listed twice: {edges:?}");
            assert_eq!(got, expected, "edges {edges:?}");
            assert_eq!(report.has_cycles, !expected.is_empty());
            // Every cycle lies inside one reported component.
            for cycle in &report.cycles {
                assert!(report.strongly_connected_components.iter().any(|c| cycle.iter().all(|n| c.contains(n))));
            }
        }
    }

    #[test]
    fn the_list_is_capped_on_dense_graphs() {
        let names: Vec<String> = (0..12).map(|i| format!("s{i:02}")).collect();
        let edges: Vec<(&str, &str)> = names
            .iter()
            .flat_map(|a| names.iter().map(move |b| (a.as_str(), b.as_str())))
            .filter(|(a, b)| a != b)
            .collect();
        let report = analyze(edges);
        assert!(report.truncated);
        assert_eq!(report.cycles.len(), MAX_CYCLES);
    }
}
