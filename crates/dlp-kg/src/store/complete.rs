//! Completion into the store: a model's or rule set's best new facts, written into their own
//! source graph with scores ([`KnowledgeGraph::add_completions`]).

use super::{ENTITY_NS, KnowledgeGraph, RELATION_NS, encode};
use crate::eval::LinkScorer;
use crate::graph::{Answers, Query, Side};
use dlp_core::data::triples::LinkPrediction;
use dlp_core::error::Result;
use oxigraph::model::NamedNode;

/// Which predictions to keep.
#[derive(Debug, Clone)]
pub struct CompleteOptions {
    /// Facts per (head, relation, ?) query, best first.
    pub top_k: usize,
    /// Keep only predictions scoring at least this.
    pub min_score: Option<f32>,
    /// Only this relation id (default: every relation).
    pub relation: Option<u32>,
}

/// What a completion wrote.
#[derive(Debug, Clone)]
pub struct Completion {
    pub queries: usize,
    pub facts: usize,
    pub source: String,
}

/// The top `opts.top_k` new tails of every (h, r, ?) whose head heads some training fact: not
/// the head itself, not a fact already known in train, valid or test. (head, relation, tail,
/// score), best first per query.
pub fn top_predictions(
    scorer: &dyn LinkScorer,
    data: &LinkPrediction,
    opts: &CompleteOptions,
) -> (usize, Vec<(u32, u32, u32, f32)>) {
    let known = Answers::new([&data.train[..], &data.valid[..], &data.test[..]]);
    let relations: Vec<u32> = match opts.relation {
        Some(r) => vec![r],
        None => (0..data.relations.len() as u32).collect(),
    };
    let mut heads: Vec<u32> = data.train.iter().map(|t| t[0]).collect();
    heads.sort_unstable();
    heads.dedup();
    let queries: Vec<Query> = heads
        .iter()
        .flat_map(|&h| {
            relations.iter().map(move |&r| Query {
                anchor: h,
                rel: r,
                side: Side::Tail,
            })
        })
        .collect();
    let n = data.entities.len();
    let min = opts.min_score.unwrap_or(f32::NEG_INFINITY);
    let mut facts = Vec::new();
    let mut scores = vec![0.0f32; 256 * n];
    for chunk in queries.chunks(256) {
        let buf = &mut scores[..chunk.len() * n];
        scorer.score(chunk, buf);
        for (q, row) in chunk.iter().zip(buf.chunks_exact(n)) {
            let skip = known.get(*q);
            let mut best: Vec<u32> = (0..n as u32)
                .filter(|&e| {
                    row[e as usize] >= min && e != q.anchor && skip.binary_search(&e).is_err()
                })
                .collect();
            let by_score = |x: &u32, y: &u32| row[*y as usize].total_cmp(&row[*x as usize]);
            if best.len() > opts.top_k {
                best.select_nth_unstable_by(opts.top_k, by_score);
                best.truncate(opts.top_k);
            }
            best.sort_by(by_score);
            facts.extend(best.iter().map(|&e| (q.anchor, q.rel, e, row[e as usize])));
        }
    }
    (queries.len(), facts)
}

impl KnowledgeGraph {
    /// Writes [`top_predictions`] of `scorer` into the source `completion:<run>`, named with the
    /// dataset's IRIs (`urn:dlp:e:`, `urn:dlp:r:`), replacing what that run wrote before.
    pub fn complete(
        &self,
        scorer: &dyn LinkScorer,
        data: &LinkPrediction,
        opts: &CompleteOptions,
        run: &str,
        model: &str,
    ) -> Result<Completion> {
        let (queries, predicted) = top_predictions(scorer, data, opts);
        let iri = |ns: &str, s: &str| NamedNode::new_unchecked(format!("{ns}{}", encode(s)));
        let facts: Vec<_> = predicted
            .iter()
            .map(|&(h, r, t, s)| {
                (
                    iri(ENTITY_NS, data.entities.name(h)),
                    iri(RELATION_NS, data.relations.name(r)),
                    iri(ENTITY_NS, data.entities.name(t)),
                    s,
                )
            })
            .collect();
        let run_id = encode(run);
        let facts = self.add_completions(&run_id, model, &facts)?;
        Ok(Completion {
            queries,
            facts,
            source: format!("completion:{run_id}"),
        })
    }
}
