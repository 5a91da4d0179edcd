//! dlp-dni: Decoupled Neural Interfaces using synthetic gradients (Jaderberg et al., ICML 2017).
//!
//! Not implemented yet: this crate holds the place of the DNI system in the workspace so that
//! its dependency rules (on `dlp-core` only) hold from the start. See the project issues for
//! its scope: synthetic-gradient models, decoupled modules, sequential and concurrent trainers.
