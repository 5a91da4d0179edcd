//! Knowledge-graph embeddings: [`Kge`] holds an entity table and a relation table and scores
//! queries against every entity; [`train::train`] fits it.
//!
//! ```
//! use dlp_kg::embed::{Kge, ModelKind};
//! use dlp_kg::graph::{Query, Side};
//! let model = Kge::new(ModelKind::ComplEx, 4, 10, 3, false, 0);
//! let mut scores = vec![0.0; 10];
//! model.score_queries(&[Query { anchor: 1, rel: 2, side: Side::Tail }], &mut scores);
//! assert!((scores[7] - model.score_triple([1, 2, 7])).abs() < 1e-6);
//! ```

mod all_entities;
pub mod checkpoint;
pub mod config;
pub mod export;
pub mod loss;
mod negative;
pub mod optim;
pub mod score;
pub mod step;
pub mod train;

pub use score::{ModelKind, Similarity};

use crate::eval::LinkScorer;
use crate::graph::{Query, Side};
use crate::linalg::{matmul_abt, with_simd};
use dlp_core::data::triples::Triple;
use dlp_core::error::{Error, Result};
use dlp_core::rng::Rng;
use rayon::prelude::*;
use std::collections::HashMap;
use std::path::Path;

/// An embedding model: entity and relation tables, row-major.
#[derive(Debug, Clone)]
pub struct Kge {
    pub kind: ModelKind,
    pub dim: usize,
    pub num_entities: usize,
    /// Relations in the data; the table holds twice as many when `reciprocal`.
    pub num_relations: usize,
    /// Whether head queries are answered as tail queries of inverse relations r + R.
    pub reciprocal: bool,
    pub entities: Vec<f32>,
    pub relations: Vec<f32>,
}

impl Kge {
    /// A model with Xavier-uniform entities and relations (RotatE: phases uniform in [−π, π]).
    pub fn new(
        kind: ModelKind,
        dim: usize,
        num_entities: usize,
        num_relations: usize,
        reciprocal: bool,
        seed: u64,
    ) -> Self {
        let mut rng = Rng::new(seed);
        let ew = kind.entity_width(dim);
        let rw = kind.relation_width(dim);
        let table_rels = num_relations * if reciprocal { 2 } else { 1 };
        let bound = (6.0 / (2 * dim) as f64).sqrt();
        let mut uniform = |n: usize, b: f64| -> Vec<f32> {
            (0..n)
                .map(|_| ((rng.uniform() * 2.0 - 1.0) * b) as f32)
                .collect()
        };
        let entities = uniform(num_entities * ew, bound);
        let relations = match kind {
            ModelKind::RotatE => uniform(table_rels * rw, std::f64::consts::PI),
            _ => uniform(table_rels * rw, bound),
        };
        let mut model = Kge {
            kind,
            dim,
            num_entities,
            num_relations,
            reciprocal,
            entities,
            relations,
        };
        model.apply_constraints();
        model
    }

    pub fn entity_width(&self) -> usize {
        self.kind.entity_width(self.dim)
    }

    pub fn relation_width(&self) -> usize {
        self.kind.relation_width(self.dim)
    }

    pub fn entity(&self, e: u32) -> &[f32] {
        let w = self.entity_width();
        &self.entities[e as usize * w..(e as usize + 1) * w]
    }

    pub fn relation(&self, r: u32) -> &[f32] {
        let w = self.relation_width();
        &self.relations[r as usize * w..(r as usize + 1) * w]
    }

    /// The query as this model answers it (reciprocal rewrite when the model has inverses).
    pub fn canonical(&self, q: Query) -> Query {
        if self.reciprocal {
            q.reciprocal(self.num_relations)
        } else {
            q
        }
    }

    /// f(h, r, t) for one triple, through the tail query.
    pub fn score_triple(&self, [h, r, t]: Triple) -> f32 {
        let mut q = vec![0.0; self.entity_width()];
        self.kind
            .compose(Side::Tail, self.entity(h), self.relation(r), &mut q);
        self.kind.similarity().score(&q, self.entity(t))
    }

    /// Writes each query's composed vector into `out` (queries × entity width).
    pub fn compose_queries(&self, queries: &[Query], out: &mut [f32]) {
        let w = self.entity_width();
        for (q, o) in queries.iter().zip(out.chunks_exact_mut(w)) {
            let q = self.canonical(*q);
            self.kind
                .compose(q.side, self.entity(q.anchor), self.relation(q.rel), o);
        }
    }

    /// Scores of every entity for each query, `out` is queries × entities.
    pub fn score_queries(&self, queries: &[Query], out: &mut [f32]) {
        let (w, n) = (self.entity_width(), self.num_entities);
        let mut composed = vec![0.0; queries.len() * w];
        self.compose_queries(queries, &mut composed);
        score_all(self.kind.similarity(), &composed, &self.entities, w, n, out);
    }

    /// The constraint on entity rows after each update: TransE keeps entities on the unit L2
    /// sphere (Bordes et al. 2013); the others are free.
    pub fn entity_constraint(&self) -> Option<fn(&mut [f32])> {
        fn unit_norm(row: &mut [f32]) {
            let n = row.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
            row.iter_mut().for_each(|x| *x /= n);
        }
        matches!(self.kind, ModelKind::TransE { .. }).then_some(unit_norm as fn(&mut [f32]))
    }

    /// Applies [`Kge::entity_constraint`] to every entity.
    pub fn apply_constraints(&mut self) {
        if let Some(f) = self.entity_constraint() {
            let w = self.entity_width();
            self.entities.par_chunks_mut(w).for_each(f);
        }
    }

    /// Saves the model as safetensors (`entities`, `relations`) with its kind and sizes in the
    /// metadata, written atomically.
    pub fn save(&self, path: &Path) -> Result<()> {
        let meta: HashMap<String, String> = [
            ("model", self.kind.name().to_string()),
            ("dim", self.dim.to_string()),
            ("num_entities", self.num_entities.to_string()),
            ("num_relations", self.num_relations.to_string()),
            ("reciprocal", self.reciprocal.to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        let rows = self.relations.len() / self.relation_width();
        let bytes = dlp_core::checkpoint::f32_safetensors(
            &[
                (
                    "entities".into(),
                    vec![self.num_entities, self.entity_width()],
                    self.entities.clone(),
                ),
                (
                    "relations".into(),
                    vec![rows, self.relation_width()],
                    self.relations.clone(),
                ),
            ],
            Some(meta),
        )?;
        dlp_core::atomic::write(path, &bytes)
    }

    /// Loads a model written by [`Kge::save`].
    pub fn load(path: &Path) -> Result<Self> {
        let (bytes, meta) = read_safetensors(path)?;
        let bad = |msg: String| Error::format(path, None, msg);
        let field = |k: &str| meta_field(path, &meta, k);
        let kind =
            ModelKind::parse(&field("model")?).ok_or_else(|| bad("unknown `model`".into()))?;
        let num = |k: &str| {
            field(k)?
                .parse::<usize>()
                .map_err(|_| bad(format!("`{k}` is not a number")))
        };
        let (dim, num_entities, num_relations) =
            (num("dim")?, num("num_entities")?, num("num_relations")?);
        let reciprocal = field("reciprocal")? == "true";
        let st = safetensors::SafeTensors::deserialize(&bytes).map_err(|e| bad(e.to_string()))?;
        let table = |name: &str, shape: Vec<usize>| -> Result<Vec<f32>> {
            let t = st.tensor(name).map_err(|e| bad(format!("{name}: {e}")))?;
            if t.shape() != shape.as_slice() {
                return Err(Error::Shape {
                    path: path.into(),
                    tensor: name.into(),
                    expected: shape,
                    found: t.shape().to_vec(),
                });
            }
            Ok(t.data()
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect())
        };
        let rel_rows = num_relations * if reciprocal { 2 } else { 1 };
        Ok(Kge {
            kind,
            dim,
            num_entities,
            num_relations,
            reciprocal,
            entities: table("entities", vec![num_entities, kind.entity_width(dim)])?,
            relations: table("relations", vec![rel_rows, kind.relation_width(dim)])?,
        })
    }
}

/// The bytes of a safetensors file and its string metadata.
pub(crate) fn read_safetensors(path: &Path) -> Result<(Vec<u8>, HashMap<String, String>)> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let (_, header) = safetensors::SafeTensors::read_metadata(&bytes)
        .map_err(|e| Error::format(path, None, e.to_string()))?;
    let meta = header.metadata().clone().unwrap_or_default();
    Ok((bytes, meta))
}

/// Metadata field `key`, or an error naming it.
pub(crate) fn meta_field(path: &Path, meta: &HashMap<String, String>, key: &str) -> Result<String> {
    meta.get(key)
        .cloned()
        .ok_or_else(|| Error::format(path, None, format!("metadata has no `{key}`")))
}

impl LinkScorer for Kge {
    fn num_entities(&self) -> usize {
        self.num_entities
    }
    fn score(&self, queries: &[Query], out: &mut [f32]) {
        self.score_queries(queries, out)
    }
}

/// `out[i, e] = s(q_i, entity_e)` for composed queries `q` (m × w) and `entities` (n × w): one
/// matrix product for the dot similarity, a parallel loop for the distances.
pub fn score_all(
    sim: Similarity,
    q: &[f32],
    entities: &[f32],
    w: usize,
    n: usize,
    out: &mut [f32],
) {
    let m = q.len() / w;
    if sim == Similarity::Dot {
        return matmul_abt(q, entities, m, n, w, out, false);
    }
    out[..m * n]
        .par_chunks_mut(n)
        .zip(q.par_chunks(w))
        .for_each(|(row, q)| {
            with_simd(|| {
                for (o, e) in row.iter_mut().zip(entities.chunks_exact(w)) {
                    *o = sim.score(q, e);
                }
            })
        });
}
