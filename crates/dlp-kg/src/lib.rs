//! dlp-kg: knowledge graphs after *A Roadmap for Big Models* (Yuan et al., 2022): a graph in an
//! RDF store (built by experts, imported from Wikidata, extracted from text), link prediction that
//! fills its gaps, and the alignment and merge of two graphs.
//!
//! - [`embed`]: knowledge-graph embeddings (TransE, DistMult, ComplEx, RotatE) trained by negative
//!   sampling, 1vsAll or KvsAll, with hand-written forward and backward kernels; the entry type is
//!   [`embed::Kge`].
//! - [`rules`]: AMIE-style mining of closed Horn rules and prediction from them ([`rules::RuleSet`]).
//! - [`eval`]: the filtered ranking evaluator both are measured with ([`eval::evaluate`]).
//! - [`store`]: the graph in an Oxigraph store ([`store::KnowledgeGraph`]): import, export,
//!   SPARQL, counts, sources, completions in their own graphs.
//! - [`align`]: entity alignment between two graphs from seed links ([`align::Aligner`]) and
//!   their merge into one store ([`align::merge`]).
//! - [`extract`]: facts from text by lexical patterns, as candidates for review.
//! - [`store::serve`]: a read-only SPARQL 1.1 endpoint over HTTP with an HTML page.
//! - [`demo`]: the KG stage of `dlp demo`.

pub mod align;
pub mod demo;
pub mod embed;
pub mod eval;
pub mod extract;
pub mod graph;
pub mod linalg;
pub mod predict;
pub mod rules;
pub mod store;
