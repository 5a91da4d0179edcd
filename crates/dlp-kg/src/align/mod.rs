//! Entity alignment between two graphs from seed links, the Roadmap's inter-graph integration.
//! [`Aligner`] is the entry type; [`merge`] builds the integrated graph from its links.
//!
//! - Structure ([`propagate`]): three-view label propagation of random seed labels (LightEA,
//!   Mao et al. 2022); no training.
//! - Names ([`names`]): character bigrams of the IRIs' local names.
//! - Combined: the sum of the two cosine similarities.
//! - Bootstrapping (as BootEA, Sun et al. 2018): after each round, the mutual best pairs among
//!   the still unlinked entities of both graphs whose Sinkhorn probability exceeds `threshold`
//!   become seeds for the next round. Candidates are all unlinked entities, not just the test
//!   links' (which a real user would not know).
//! - Decoding ([`decode`]): ranking by cosine, or with `one_to_one` by the Sinkhorn-normalised
//!   similarity, a soft one-to-one constraint.
//!
//! Evaluation ranks every test link's graph-2 entity among all test links' graph-2 entities
//! (the DBP15K protocol of GCN-Align, BootEA and OpenEA).
//!
//! ```
//! use dlp_core::data::pair::AlignmentPair;
//! use dlp_kg::align::{AlignConfig, Aligner};
//! // Two copies of a 6-cycle with a chord; three seeds, three links to find.
//! let mut pair = AlignmentPair { n1: 6, ..Default::default() };
//! pair.entities = (0..12).map(|i| format!("urn:e{i}")).collect();
//! pair.relations = vec!["r".into(), "s".into()];
//! for g in [0u32, 6] {
//!     for i in 0..6 { pair.triples.push([g + i, 0, g + (i + 1) % 6]); }
//!     pair.triples.push([g, 1, g + 3]);
//! }
//! pair.t1 = 7;
//! pair.train = vec![(0, 6), (1, 7), (3, 9)];
//! pair.test = vec![(2, 8), (4, 10), (5, 11)];
//! let mut cfg = AlignConfig::default();
//! cfg.propagation.dim = 32;
//! let out = Aligner::new(&pair, cfg).run(false, |_| {});
//! assert_eq!(out.metrics.hits_at_1, 1.0);
//! ```

pub mod decode;
pub mod links;
pub mod merge;
pub mod names;
pub mod propagate;
pub mod sparse;

use decode::{AlignMetrics, add_similarity, metrics, mutual_best, sinkhorn};
use dlp_core::data::pair::AlignmentPair;
use propagate::{PropagationConfig, Views};
use std::collections::HashSet;
use std::time::Instant;

/// Which evidence aligns entities.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// Graph structure only.
    Structure,
    /// Entity names only.
    Names,
    /// Both, similarities added.
    Combined,
}

/// Settings of an alignment run; the defaults are the ones the README's table uses.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AlignConfig {
    pub method: Method,
    pub propagation: PropagationConfig,
    /// Rounds of propagation; each but the last adds confident pairs as seeds.
    pub rounds: usize,
    /// Sinkhorn probability a bootstrapped pair must exceed.
    pub threshold: f32,
    /// Rank by the Sinkhorn-normalised similarity (soft one-to-one constraint).
    pub one_to_one: bool,
    /// Sinkhorn temperature and iterations.
    pub tau: f32,
    pub sinkhorn_iters: usize,
    pub seed: u64,
}

impl Default for AlignConfig {
    fn default() -> Self {
        AlignConfig {
            method: Method::Structure,
            propagation: PropagationConfig::default(),
            rounds: 3,
            threshold: 0.5,
            one_to_one: false,
            tau: 0.02,
            sinkhorn_iters: 15,
            seed: 0,
        }
    }
}

/// What one round did and how well its features rank the test links.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Round {
    pub round: usize,
    /// Seeds the round propagated from.
    pub seeds: usize,
    /// Pairs it added as seeds for the next round.
    pub added: usize,
    pub metrics: AlignMetrics,
    pub seconds: f64,
}

/// A predicted (or seed) link between a graph-1 and a graph-2 entity, by dense index.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Link {
    pub a: u32,
    pub b: u32,
    /// 1 for seeds; otherwise the Sinkhorn probability when the pair was found.
    pub confidence: f32,
    /// Given as a seed rather than predicted.
    pub seed: bool,
}

/// The result of [`Aligner::run`].
#[derive(Debug, Clone, serde::Serialize)]
pub struct Alignment {
    pub rounds: Vec<Round>,
    /// The last round's metrics.
    pub metrics: AlignMetrics,
    /// Seeds, bootstrapped pairs and the last round's mutual best pairs (when asked for).
    pub links: Vec<Link>,
}

/// Aligns the two graphs of a pair.
pub struct Aligner<'a> {
    pair: &'a AlignmentPair,
    cfg: AlignConfig,
    views: Option<Views>,
    names: Option<(Vec<f32>, usize)>,
}

impl<'a> Aligner<'a> {
    /// Builds the graph views and name features the method needs.
    pub fn new(pair: &'a AlignmentPair, cfg: AlignConfig) -> Self {
        let views = (cfg.method != Method::Names)
            .then(|| Views::new(pair.len(), pair.relations.len(), &pair.triples));
        let names = (cfg.method != Method::Structure)
            .then(|| names::name_features(&pair.entities, pair.n1));
        Aligner {
            pair,
            cfg,
            views,
            names,
        }
    }

    /// Similarity of `left × right` under the method.
    fn similarity(&self, structure: Option<&[f32]>, left: &[u32], right: &[u32]) -> Vec<f32> {
        let mut s = vec![0.0f32; left.len() * right.len()];
        let parts = [
            structure.map(|f| (f, self.cfg.propagation.heads * self.cfg.propagation.mini)),
            self.names.as_ref().map(|(f, d)| (&f[..], *d)),
        ];
        for (f, d) in parts.into_iter().flatten() {
            add_similarity(f, d, left, right, &mut s);
        }
        s
    }

    /// Runs the rounds; `want_links` also decodes the last round over all unlinked entities.
    /// `progress` sees each round as it ends.
    pub fn run(&self, want_links: bool, mut progress: impl FnMut(&Round)) -> Alignment {
        let pair = self.pair;
        let mut links: Vec<Link> = pair
            .train
            .iter()
            .map(|&(a, b)| Link {
                a,
                b,
                confidence: 1.0,
                seed: true,
            })
            .collect();
        let (test_l, test_r): (Vec<u32>, Vec<u32>) = pair.test.iter().copied().unzip();
        let rounds = if self.views.is_some() {
            self.cfg.rounds.max(1)
        } else {
            1
        };
        let mut out = Vec::new();
        for round in 0..rounds {
            let start = Instant::now();
            let seeds: Vec<(u32, u32)> = links.iter().map(|l| (l.a, l.b)).collect();
            let structure = self.views.as_ref().map(|v| {
                v.features(
                    &seeds,
                    &self.cfg.propagation,
                    self.cfg.seed.wrapping_add(round as u64),
                )
            });
            let mut s = self.similarity(structure.as_deref(), &test_l, &test_r);
            if self.cfg.one_to_one {
                sinkhorn(
                    &mut s,
                    test_l.len(),
                    test_r.len(),
                    self.cfg.tau,
                    self.cfg.sinkhorn_iters,
                );
            }
            let m = metrics(&s, test_l.len());
            drop(s);
            let last = round + 1 == rounds;
            let mut added = 0;
            if !last || want_links {
                let linked: HashSet<u32> = links.iter().flat_map(|l| [l.a, l.b]).collect();
                let n1 = pair.n1 as u32;
                let left: Vec<u32> = (0..n1).filter(|i| !linked.contains(i)).collect();
                let right: Vec<u32> = (n1..pair.len() as u32)
                    .filter(|i| !linked.contains(i))
                    .collect();
                let mut c = self.similarity(structure.as_deref(), &left, &right);
                sinkhorn(
                    &mut c,
                    left.len(),
                    right.len(),
                    self.cfg.tau,
                    self.cfg.sinkhorn_iters,
                );
                let threshold = if last { 0.0 } else { self.cfg.threshold };
                for (i, j, p) in mutual_best(&c, left.len(), right.len(), threshold) {
                    links.push(Link {
                        a: left[i],
                        b: right[j],
                        confidence: p,
                        seed: false,
                    });
                    added += 1;
                }
            }
            let r = Round {
                round,
                seeds: seeds.len(),
                added: if last { 0 } else { added },
                metrics: m,
                seconds: start.elapsed().as_secs_f64(),
            };
            progress(&r);
            out.push(r);
        }
        let metrics = out.last().map(|r| r.metrics).unwrap_or_default();
        Alignment {
            rounds: out,
            metrics,
            links: if want_links { links } else { Vec::new() },
        }
    }
}
