//! Closed Horn rules mined as AMIE does (Galárraga et al. 2013, 2015), and link prediction from
//! them.
//!
//! A rule r(X, Y) ⇐ B(X, Y) has a body B that is a path of one or two atoms from X to Y, each
//! atom a relation read forwards (X →ᵇ Y) or backwards (written `b^-1`). Over the training
//! graph:
//! - support = #{(x, y) : B(x, y) ∧ r(x, y)}, x ≠ y;
//! - head coverage = support / #{(x, y) : r(x, y)};
//! - standard confidence = support / #{(x, y) : B(x, y)};
//! - PCA confidence = support / #{(x, y) : B(x, y) ∧ ∃y′ r(x, y′)} (partial completeness).
//!
//! To answer (h, r, ?) every rule with head r walks its body from h; a candidate's score is the
//! best PCA confidence among the rules that reach it, ties broken by the noisy-or
//! 1 − Π(1 − conf) of the others (scaled by 10⁻³; AnyBURL's max-aggregation, Meilicke et al.
//! 2019, ranks the same way); 0 if no rule reaches it. (?, r, t) walks the bodies backwards from t.
//!
//! ```
//! use dlp_kg::rules::{MineOptions, RuleSet};
//! // r(x, y) holds exactly when s(y, x) does: the rule r(X,Y) ⇐ s(Y,X) has confidence 1.
//! let train = vec![[0, 1, 1], [1, 1, 2], [2, 1, 3], [1, 0, 0], [2, 0, 1], [3, 0, 2]];
//! let rules = RuleSet::mine(&train, 4, 2, &MineOptions::default());
//! let rule = rules.rules.iter().find(|r| r.head == 0 && r.body == [3]).unwrap(); // 3 = s^-1
//! assert_eq!((rule.support, rule.pca_confidence), (3, 1.0));
//! ```

use crate::eval::LinkScorer;
use crate::graph::{Query, Side};
use dlp_core::data::triples::{Triple, Vocab};
use dlp_core::error::{Error, Result};
use rayon::prelude::*;
use std::collections::HashMap;
use std::path::Path;

/// Weight of the noisy-or of the other rules, below the resolution of confidences that matter.
const TIE_BREAK: f32 = 1e-3;

/// A directed relation: `2r` reads r forwards, `2r + 1` backwards.
pub type Atom = u32;

/// One mined rule with its quality measures.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub head: u32,
    pub body: Vec<Atom>,
    pub support: usize,
    pub head_coverage: f64,
    pub std_confidence: f64,
    pub pca_confidence: f64,
}

/// Thresholds of the search.
#[derive(Debug, Clone, serde::Serialize)]
pub struct MineOptions {
    /// Longest rule counted in atoms, head included (2 or 3).
    pub max_length: usize,
    pub min_support: usize,
    pub min_head_coverage: f64,
    pub min_pca_confidence: f64,
}

impl Default for MineOptions {
    fn default() -> Self {
        MineOptions {
            max_length: 3,
            min_support: 2,
            min_head_coverage: 0.01,
            min_pca_confidence: 0.1,
        }
    }
}

/// The training graph in compressed rows, per atom.
#[derive(Debug, Clone)]
struct Graph {
    n: usize,
    offsets: Vec<Vec<u32>>,
    targets: Vec<Vec<u32>>,
    /// Relations holding from x to y.
    pairs: HashMap<(u32, u32), Vec<u32>>,
    /// Relations with x as a subject, per x.
    subject_of: Vec<Vec<u32>>,
    facts: Vec<usize>,
}

impl Graph {
    fn new(train: &[Triple], n: usize, num_relations: usize) -> Self {
        let atoms = 2 * num_relations;
        let mut lists: Vec<Vec<(u32, u32)>> = vec![Vec::new(); atoms];
        let mut pairs: HashMap<(u32, u32), Vec<u32>> = HashMap::new();
        let mut subject_of = vec![Vec::new(); n];
        let mut facts = vec![0; num_relations];
        for &[h, r, t] in train {
            lists[2 * r as usize].push((h, t));
            lists[2 * r as usize + 1].push((t, h));
            pairs.entry((h, t)).or_default().push(r);
            subject_of[h as usize].push(r);
        }
        for v in pairs.values_mut().chain(subject_of.iter_mut()) {
            v.sort_unstable();
            v.dedup();
        }
        let (mut offsets, mut targets): (Vec<Vec<u32>>, Vec<Vec<u32>>) = (Vec::new(), Vec::new());
        for mut l in lists {
            l.sort_unstable();
            l.dedup();
            let mut off = vec![0u32; n + 1];
            for &(x, _) in &l {
                off[x as usize + 1] += 1;
            }
            for i in 0..n {
                off[i + 1] += off[i];
            }
            targets.push(l.iter().map(|&(_, y)| y).collect());
            offsets.push(off);
        }
        for r in 0..num_relations {
            facts[r] = targets[2 * r].len();
        }
        Graph {
            n,
            offsets,
            targets,
            pairs,
            subject_of,
            facts,
        }
    }

    fn next(&self, atom: Atom, x: u32) -> &[u32] {
        let off = &self.offsets[atom as usize];
        &self.targets[atom as usize][off[x as usize] as usize..off[x as usize + 1] as usize]
    }

    /// Every entity reached from `x` along `path`, each once, via the stamp array.
    fn walk(&self, path: &[Atom], x: u32, stamp: &mut [u32], round: u32, out: &mut Vec<u32>) {
        out.clear();
        match path {
            [a] => out.extend(self.next(*a, x).iter().filter(|&&y| {
                let fresh = stamp[y as usize] != round;
                stamp[y as usize] = round;
                fresh
            })),
            [a, b] => {
                for &z in self.next(*a, x) {
                    for &y in self.next(*b, z) {
                        if stamp[y as usize] != round {
                            stamp[y as usize] = round;
                            out.push(y);
                        }
                    }
                }
            }
            _ => unreachable!("bodies have one or two atoms"),
        }
    }
}

/// The first line of a rules file.
pub const HEADER: &str = "support\thead_coverage\tstd_confidence\tpca_confidence\thead\tbody";

/// A set of rules over a training graph; answers queries as a [`LinkScorer`].
#[derive(Debug, Clone)]
pub struct RuleSet {
    pub rules: Vec<Rule>,
    graph: Graph,
    by_head: Vec<Vec<usize>>,
}

impl RuleSet {
    /// Mines every rule over `train` that passes `opts`, sorted by PCA confidence.
    pub fn mine(
        train: &[Triple],
        num_entities: usize,
        num_relations: usize,
        opts: &MineOptions,
    ) -> Self {
        let graph = Graph::new(train, num_entities, num_relations);
        let atoms = 2 * num_relations as u32;
        let mut bodies: Vec<Vec<Atom>> = (0..atoms).map(|a| vec![a]).collect();
        if opts.max_length >= 3 {
            for a in 0..atoms {
                for b in 0..atoms {
                    bodies.push(vec![a, b]);
                }
            }
        }
        let mut rules: Vec<Rule> = bodies
            .par_iter()
            .flat_map_iter(|body| Self::rules_of_body(&graph, body, num_relations, opts))
            .collect();
        rules.sort_by(|a, b| {
            b.pca_confidence
                .total_cmp(&a.pca_confidence)
                .then(b.support.cmp(&a.support))
                .then((a.head, &a.body).cmp(&(b.head, &b.body)))
        });
        Self::from_rules(rules, graph, num_relations)
    }

    fn from_rules(rules: Vec<Rule>, graph: Graph, num_relations: usize) -> Self {
        let mut by_head = vec![Vec::new(); num_relations];
        for (i, r) in rules.iter().enumerate() {
            by_head[r.head as usize].push(i);
        }
        RuleSet {
            rules,
            graph,
            by_head,
        }
    }

    fn rules_of_body(
        g: &Graph,
        body: &[Atom],
        num_relations: usize,
        opts: &MineOptions,
    ) -> Vec<Rule> {
        let mut support = vec![0usize; num_relations];
        let mut pca = vec![0usize; num_relations];
        let mut size = 0usize;
        let mut stamp = vec![u32::MAX; g.n];
        let mut ys = Vec::new();
        for x in 0..g.n as u32 {
            if g.next(body[0], x).is_empty() {
                continue;
            }
            g.walk(body, x, &mut stamp, x, &mut ys);
            ys.retain(|&y| y != x);
            if ys.is_empty() {
                continue;
            }
            size += ys.len();
            for &r in &g.subject_of[x as usize] {
                pca[r as usize] += ys.len();
            }
            for &y in &ys {
                if let Some(rs) = g.pairs.get(&(x, y)) {
                    for &r in rs {
                        support[r as usize] += 1;
                    }
                }
            }
        }
        (0..num_relations)
            .filter(|&r| !(body.len() == 1 && body[0] == 2 * r as u32))
            .filter_map(|r| {
                let s = support[r];
                let hc = s as f64 / g.facts[r].max(1) as f64;
                let conf = s as f64 / pca[r].max(1) as f64;
                (s >= opts.min_support
                    && hc >= opts.min_head_coverage
                    && conf >= opts.min_pca_confidence)
                    .then(|| Rule {
                        head: r as u32,
                        body: body.to_vec(),
                        support: s,
                        head_coverage: hc,
                        std_confidence: s as f64 / size.max(1) as f64,
                        pca_confidence: conf,
                    })
            })
            .collect()
    }

    /// Writes the rules as TSV ([`HEADER`], then one rule a line): support, head coverage, standard and PCA confidence, head
    /// relation, body atoms (`name` or `name^-1`).
    pub fn to_tsv(&self, relations: &Vocab) -> String {
        let atom = |a: Atom| {
            let name = relations.name(a / 2);
            if a % 2 == 1 {
                format!("{name}^-1")
            } else {
                name.to_string()
            }
        };
        let mut s = String::from(HEADER);
        s.push('\n');
        for r in &self.rules {
            let body: Vec<String> = r.body.iter().map(|&a| atom(a)).collect();
            s += &format!(
                "{}\t{:.6}\t{:.6}\t{:.6}\t{}\t{}\n",
                r.support,
                r.head_coverage,
                r.std_confidence,
                r.pca_confidence,
                relations.name(r.head),
                body.join("\t")
            );
        }
        s
    }

    /// Reads rules written by [`RuleSet::to_tsv`] and attaches them to `train`.
    pub fn from_tsv(
        path: &Path,
        text: &str,
        train: &[Triple],
        num_entities: usize,
        relations: &Vocab,
    ) -> Result<Self> {
        match text.lines().next() {
            Some(first) if first.trim_end() == HEADER => {}
            first => {
                return Err(Error::format(
                    path,
                    Some(1),
                    format!(
                        "expected the header `{}` of a rules file written by `kg rules mine`, found `{}`",
                        HEADER.replace('\t', "<TAB>"),
                        first.unwrap_or("").chars().take(60).collect::<String>()
                    ),
                ));
            }
        }
        let mut rules = Vec::new();
        for (i, line) in text.lines().enumerate().skip(1) {
            let bad = |m: String| Error::format(path, Some(i + 1), m);
            let f: Vec<&str> = line.split('\t').collect();
            if f.len() < 6 || f.len() > 7 {
                return Err(bad(format!(
                    "expected 6 or 7 tab-separated fields, found {}",
                    f.len()
                )));
            }
            let num = |k: usize| {
                f[k].parse::<f64>()
                    .map_err(|_| bad(format!("field {} `{}` is not a number", k + 1, f[k])))
            };
            let rel = |name: &str| {
                relations
                    .id(name)
                    .ok_or_else(|| bad(format!("unknown relation `{name}`")))
            };
            let mut body = Vec::new();
            for a in &f[5..] {
                body.push(match a.strip_suffix("^-1") {
                    Some(n) => 2 * rel(n)? + 1,
                    None => 2 * rel(a)?,
                });
            }
            rules.push(Rule {
                head: rel(f[4])?,
                body,
                support: num(0)? as usize,
                head_coverage: num(1)?,
                std_confidence: num(2)?,
                pca_confidence: num(3)?,
            });
        }
        let graph = Graph::new(train, num_entities, relations.len());
        Ok(Self::from_rules(rules, graph, relations.len()))
    }

    fn score_one(&self, q: Query, stamp: &mut [u32], ys: &mut Vec<u32>, out: &mut [f32]) {
        // `out` holds the best confidence so far; `rest` the product Π(1 − conf) of the others.
        out.fill(0.0);
        let mut rest = vec![1.0f32; out.len()];
        for (k, &i) in self.by_head[q.rel as usize].iter().enumerate() {
            let rule = &self.rules[i];
            let path: Vec<Atom> = match q.side {
                Side::Tail => rule.body.clone(),
                Side::Head => rule.body.iter().rev().map(|a| a ^ 1).collect(),
            };
            self.graph.walk(&path, q.anchor, stamp, k as u32, ys);
            let c = rule.pca_confidence as f32;
            for &y in ys.iter().filter(|&&y| y != q.anchor) {
                let (best, r) = (&mut out[y as usize], &mut rest[y as usize]);
                if c > *best {
                    *r *= 1.0 - *best;
                    *best = c;
                } else {
                    *r *= 1.0 - c;
                }
            }
        }
        stamp.fill(u32::MAX);
        for (o, r) in out.iter_mut().zip(&rest) {
            *o += TIE_BREAK * (1.0 - r);
        }
    }
}

impl LinkScorer for RuleSet {
    fn num_entities(&self) -> usize {
        self.graph.n
    }

    fn score(&self, queries: &[Query], out: &mut [f32]) {
        let n = self.graph.n;
        out[..queries.len() * n]
            .par_chunks_mut(n)
            .zip(queries)
            .for_each_init(
                || (vec![u32::MAX; n], Vec::new()),
                |(stamp, ys), (row, q)| self.score_one(*q, stamp, ys, row),
            );
    }
}
