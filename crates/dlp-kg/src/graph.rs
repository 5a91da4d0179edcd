//! Link-prediction queries and the index of known answers that filtered ranking and KvsAll
//! training read.
//!
//! A triple (h, r, t) asks two queries: (h, r, ?) with [`Side::Tail`] and (?, r, t) with
//! [`Side::Head`]. With reciprocal relations a model answers the head query as (t, r⁻¹, ?), where
//! r⁻¹ = r + R for R relations; [`Query::reciprocal`] does that rewrite.

use dlp_core::data::triples::Triple;
use std::collections::HashMap;

/// Which end of a triple a query asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// (anchor = h, r, ?): rank candidate tails.
    Tail,
    /// (?, r, anchor = t): rank candidate heads.
    Head,
}

/// A query: the known entity, the relation, and the side asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Query {
    pub anchor: u32,
    pub rel: u32,
    pub side: Side,
}

impl Query {
    /// The tail query (h, r, ?) and the head query (?, r, t) of a triple, with their answers.
    pub fn of_triple([h, r, t]: Triple) -> [(Query, u32); 2] {
        [
            (
                Query {
                    anchor: h,
                    rel: r,
                    side: Side::Tail,
                },
                t,
            ),
            (
                Query {
                    anchor: t,
                    rel: r,
                    side: Side::Head,
                },
                h,
            ),
        ]
    }

    /// The same query for a model with reciprocal relations: a head query (?, r, t) becomes the
    /// tail query (t, r + num_relations, ?).
    pub fn reciprocal(self, num_relations: usize) -> Query {
        match self.side {
            Side::Tail => self,
            Side::Head => Query {
                anchor: self.anchor,
                rel: self.rel + num_relations as u32,
                side: Side::Tail,
            },
        }
    }
}

/// Known answers of every query over a set of triples, each list sorted and unique.
#[derive(Debug, Clone, Default)]
pub struct Answers {
    map: HashMap<(u32, u32, bool), Vec<u32>>,
}

impl Answers {
    /// Indexes the answers of both queries of every triple in `splits`.
    pub fn new<'a>(splits: impl IntoIterator<Item = &'a [Triple]>) -> Self {
        let mut map: HashMap<(u32, u32, bool), Vec<u32>> = HashMap::new();
        for split in splits {
            for &triple in split {
                for (q, answer) in Query::of_triple(triple) {
                    map.entry(Self::key(q)).or_default().push(answer);
                }
            }
        }
        for list in map.values_mut() {
            list.sort_unstable();
            list.dedup();
        }
        Answers { map }
    }

    fn key(q: Query) -> (u32, u32, bool) {
        (q.anchor, q.rel, q.side == Side::Tail)
    }

    /// The known answers of `q` (empty if none).
    pub fn get(&self, q: Query) -> &[u32] {
        self.map.get(&Self::key(q)).map_or(&[], |v| v.as_slice())
    }

    /// Every query with at least one answer, in a fixed order.
    pub fn queries(&self) -> Vec<Query> {
        let mut qs: Vec<Query> = self
            .map
            .keys()
            .map(|&(anchor, rel, tail)| Query {
                anchor,
                rel,
                side: if tail { Side::Tail } else { Side::Head },
            })
            .collect();
        qs.sort_unstable_by_key(|q| (q.rel, q.side == Side::Head, q.anchor));
        qs
    }
}

/// Per relation, the probability of corrupting the head in Bernoulli negative sampling (Wang
/// et al. 2014): tph / (tph + hpt), tails per head over heads per tail.
pub fn bernoulli_head_probability(train: &[Triple], num_relations: usize) -> Vec<f32> {
    let mut heads: Vec<HashMap<u32, u32>> = vec![HashMap::new(); num_relations];
    let mut tails: Vec<HashMap<u32, u32>> = vec![HashMap::new(); num_relations];
    for &[h, r, t] in train {
        *heads[r as usize].entry(h).or_default() += 1;
        *tails[r as usize].entry(t).or_default() += 1;
    }
    (0..num_relations)
        .map(|r| {
            let n: u32 = heads[r].values().sum();
            if n == 0 {
                return 0.5;
            }
            let tph = n as f32 / heads[r].len() as f32;
            let hpt = n as f32 / tails[r].len() as f32;
            tph / (tph + hpt)
        })
        .collect()
}
