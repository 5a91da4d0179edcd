//! dlp-kg: knowledge graphs after *A Roadmap for Big Models* (Yuan et al., 2022).
//!
//! Not implemented yet: this crate holds the place of the KG system in the workspace so that
//! its dependency rules (on `dlp-core` only) hold from the start. See the project issues for
//! its scope: store, import, extraction, embeddings, rules, alignment and merge.
