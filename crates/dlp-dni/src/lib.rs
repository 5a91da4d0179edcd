//! dlp-dni: Decoupled Neural Interfaces using synthetic gradients (Jaderberg et al., ICML 2017).
//!
//! So far: the building blocks and the sequential trainer that defines the method's semantics.
//!
//! | module | what |
//! | --- | --- |
//! | [`synthetic`] | the synthetic-gradient model M_i: ĝ_i = M_i(h_i[, y]), zero-initialised output |
//! | [`layers`] | a fully connected block (Linear, batch norm, ReLU) and a network of them |
//! | [`train`] | backprop and DNI/cDNI on the same model code, sequential execution |
//! | [`concurrent`] | DNI/cDNI with a worker thread per module, channels, busy/idle times |
//!
//! Still to come (see the DNI issue): grouping modules onto fewer workers, forward unlocking,
//! stochastic updates, BP(λ), the CNN, and recurrent DNI.

pub mod concurrent;
pub mod layers;
pub mod synthetic;
pub mod train;
