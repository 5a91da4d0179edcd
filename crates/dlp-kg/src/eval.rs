//! Filtered link-prediction evaluation, as the careful libraries do it (Bordes et al. 2013;
//! Ali et al. 2021 on ties).
//!
//! For a test triple (h, r, t), the tail query (h, r, ?) scores every entity; the rank of t
//! counts the entities that score higher, leaving out every other known answer of (h, r, ?) in
//! train, valid and test (the filter). Ties are ranked by the *realistic* rank, the mean of the
//! optimistic rank 1 + #{s_e > s_t} and the pessimistic rank 1 + #{s_e ≥ s_t, e ≠ t}; the other
//! two on request. The head query (?, r, t) is ranked the same way, and the metrics average both.
//! A non-finite score of the answer gets the worst rank; a non-finite candidate counts as
//! higher.
//!
//! MRR = mean(1/rank), MR = mean(rank), Hits@k = fraction with rank ≤ k. Queries are scored in
//! chunks so that memory stays at `chunk × entities` floats.

use crate::graph::{Answers, Query};
use dlp_core::data::triples::Triple;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// Anything that scores queries against every entity: embeddings, rules.
pub trait LinkScorer: Sync {
    fn num_entities(&self) -> usize;
    /// `out[i * n + e]` = score of entity e as the answer of `queries[i]`, higher is better.
    fn score(&self, queries: &[Query], out: &mut [f32]);
}

/// How ties are broken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TieRule {
    Optimistic,
    Realistic,
    Pessimistic,
}

/// Evaluation settings.
#[derive(Debug, Clone)]
pub struct EvalOptions {
    pub ties: TieRule,
    /// Triples scored at once (both of their queries).
    pub chunk: usize,
}

impl Default for EvalOptions {
    fn default() -> Self {
        EvalOptions {
            ties: TieRule::Realistic,
            chunk: 256,
        }
    }
}

/// Ranking metrics over a set of queries.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct RankMetrics {
    pub count: usize,
    pub mrr: f64,
    pub mr: f64,
    pub hits_at_1: f64,
    pub hits_at_3: f64,
    pub hits_at_10: f64,
}

impl RankMetrics {
    pub fn from_ranks(ranks: &[f64]) -> Self {
        let n = ranks.len().max(1) as f64;
        let hits = |k: f64| ranks.iter().filter(|&&r| r <= k).count() as f64 / n;
        RankMetrics {
            count: ranks.len(),
            mrr: ranks.iter().map(|r| 1.0 / r).sum::<f64>() / n,
            mr: ranks.iter().sum::<f64>() / n,
            hits_at_1: hits(1.0),
            hits_at_3: hits(3.0),
            hits_at_10: hits(10.0),
        }
    }
}

/// Metrics over both sides, each side alone, and per relation (both sides).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Metrics {
    #[serde(flatten)]
    pub both: RankMetrics,
    pub head: RankMetrics,
    pub tail: RankMetrics,
    /// Indexed by relation id.
    pub per_relation: Vec<RankMetrics>,
}

impl std::ops::Deref for Metrics {
    type Target = RankMetrics;
    fn deref(&self) -> &RankMetrics {
        &self.both
    }
}

/// The rank of `answer` among `scores`, leaving out `filter` (sorted; may contain the answer).
pub fn rank(scores: &[f32], answer: u32, filter: &[u32], ties: TieRule) -> f64 {
    let target = scores[answer as usize];
    if !target.is_finite() {
        return (scores.len() - filter.iter().filter(|&&e| e != answer).count()) as f64;
    }
    let (mut higher, mut equal) = (0usize, 0usize);
    for &s in scores {
        // NaN compares false with everything: count it as higher.
        if s > target || s.is_nan() {
            higher += 1;
        } else if s == target {
            equal += 1;
        }
    }
    equal -= 1; // the answer itself
    for &e in filter {
        if e == answer {
            continue;
        }
        let s = scores[e as usize];
        if s > target || s.is_nan() {
            higher -= 1;
        } else if s == target {
            equal -= 1;
        }
    }
    match ties {
        TieRule::Optimistic => 1.0 + higher as f64,
        TieRule::Pessimistic => 1.0 + (higher + equal) as f64,
        TieRule::Realistic => 1.0 + higher as f64 + equal as f64 / 2.0,
    }
}

/// Filtered ranks of both queries of every triple, in order: `[tail rank, head rank]` each.
pub fn ranks(
    scorer: &impl LinkScorer,
    triples: &[Triple],
    filter: &Answers,
    opts: &EvalOptions,
) -> Vec<[f64; 2]> {
    let n = scorer.num_entities();
    let mut out = Vec::with_capacity(triples.len());
    let mut scores = vec![0.0f32; 2 * opts.chunk.max(1) * n];
    for chunk in triples.chunks(opts.chunk.max(1)) {
        let queries: Vec<(Query, u32)> = chunk.iter().flat_map(|&t| Query::of_triple(t)).collect();
        let plain: Vec<Query> = queries.iter().map(|(q, _)| *q).collect();
        let buf = &mut scores[..plain.len() * n];
        scorer.score(&plain, buf);
        let r: Vec<f64> = buf
            .par_chunks(n)
            .zip(&queries)
            .map(|(s, (q, a))| rank(s, *a, filter.get(*q), opts.ties))
            .collect();
        out.extend(r.chunks_exact(2).map(|p| [p[0], p[1]]));
    }
    out
}

/// Filtered MRR, MR and Hits@{1,3,10} of `scorer` on `triples`.
pub fn evaluate(
    scorer: &impl LinkScorer,
    triples: &[Triple],
    filter: &Answers,
    opts: &EvalOptions,
) -> Metrics {
    let r = ranks(scorer, triples, filter, opts);
    let tail: Vec<f64> = r.iter().map(|p| p[0]).collect();
    let head: Vec<f64> = r.iter().map(|p| p[1]).collect();
    let both: Vec<f64> = r.iter().flatten().copied().collect();
    let num_rel = triples.iter().map(|t| t[1] as usize + 1).max().unwrap_or(0);
    let mut by_rel: Vec<Vec<f64>> = vec![Vec::new(); num_rel];
    for (t, p) in triples.iter().zip(&r) {
        by_rel[t[1] as usize].extend(p);
    }
    Metrics {
        both: RankMetrics::from_ranks(&both),
        head: RankMetrics::from_ranks(&head),
        tail: RankMetrics::from_ranks(&tail),
        per_relation: by_rel.iter().map(|v| RankMetrics::from_ranks(v)).collect(),
    }
}
