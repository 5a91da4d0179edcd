//! dlp-kg: knowledge graphs after *A Roadmap for Big Models* (Yuan et al., 2022), the
//! intra-graph side: link prediction that fills a graph's gaps.
//!
//! - [`embed`]: knowledge-graph embeddings (TransE, DistMult, ComplEx, RotatE) trained by negative
//!   sampling, 1vsAll or KvsAll, with hand-written forward and backward kernels; the entry type is
//!   [`embed::Kge`].
//! - [`rules`]: AMIE-style mining of closed Horn rules and prediction from them ([`rules::RuleSet`]).
//! - [`eval`]: the filtered ranking evaluator both are measured with ([`eval::evaluate`]).
//!
//! The store, import, extraction, alignment and merge of the KG issues are not built yet.

pub mod demo;
pub mod embed;
pub mod eval;
pub mod graph;
pub mod linalg;
pub mod rules;
pub mod store;
