//! Completion into the store: a model's or rule set's best new facts, written into their own
//! source graph with scores ([`KnowledgeGraph::add_completions`]). Where the store declares a
//! relation's `rdfs:domain` or `rdfs:range`, only heads and tails of those classes are proposed.

use super::{ENTITY_NS, KnowledgeGraph, RELATION_NS, encode};
use crate::eval::LinkScorer;
use crate::graph::{Answers, Query, Side};
use dlp_core::data::triples::LinkPrediction;
use dlp_core::error::Result;
use oxigraph::model::{NamedNode, Term};

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
    /// Relations whose declared domain or range filtered the candidates.
    pub schema_relations: usize,
}

/// Per relation id: the entities admitted as head and as tail (`None`: any), from the store's
/// `rdfs:domain` and `rdfs:range` declarations.
pub type Admitted = Vec<(Option<Vec<bool>>, Option<Vec<bool>>)>;

/// The top `opts.top_k` new tails of every (h, r, ?) whose head heads some training fact: not
/// the head itself, not a fact already known in train, valid or test, and, where `admitted`
/// says so for r, only heads and tails the schema admits. (head, relation, tail, score), best
/// first per query.
pub fn top_predictions(
    scorer: &dyn LinkScorer,
    data: &LinkPrediction,
    opts: &CompleteOptions,
    admitted: &Admitted,
) -> (usize, Vec<(u32, u32, u32, f32)>) {
    let ok = |mask: &Option<Vec<bool>>, e: u32| mask.as_ref().is_none_or(|m| m[e as usize]);
    let side = |r: u32| admitted.get(r as usize);
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
        .filter(|q| side(q.rel).is_none_or(|(d, _)| ok(d, q.anchor)))
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
            let range = side(q.rel).map(|(_, r)| r);
            let mut best: Vec<u32> = (0..n as u32)
                .filter(|&e| {
                    row[e as usize] >= min
                        && e != q.anchor
                        && skip.binary_search(&e).is_err()
                        && range.is_none_or(|r| ok(r, e))
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
        let iri = |ns: &str, s: &str| NamedNode::new_unchecked(format!("{ns}{}", encode(s)));
        let schema = self.schema()?;
        let entities: Vec<Term> = (0..data.entities.len() as u32)
            .map(|e| iri(ENTITY_NS, data.entities.name(e)).into())
            .collect();
        let admitted: Admitted = (0..data.relations.len() as u32)
            .map(|r| schema.admitted(&iri(RELATION_NS, data.relations.name(r)), &entities))
            .collect();
        let schema_relations = admitted
            .iter()
            .filter(|(d, r)| d.is_some() || r.is_some())
            .count();
        let (queries, predicted) = top_predictions(scorer, data, opts, &admitted);
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
            schema_relations,
        })
    }
}
