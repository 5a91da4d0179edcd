//! dlp-dni: Decoupled Neural Interfaces using synthetic gradients (Jaderberg et al., ICML 2017).
//!
//! | module | what |
//! | --- | --- |
//! | [`synthetic`] | M_i: ĝ_i = M_i(h_i[, y]), zero-initialised output; I_i: ĥ_{i−1} = I_i(x) |
//! | [`layers`] | a fully connected block (Linear, batch norm, ReLU) and a network of them |
//! | [`dni`] | [`dni::Dni`], the entry type: one step of backprop, DNI, cDNI or decoupled, BP(λ) |
//! | [`train`] | settings, examples and the sequential training loop |
//! | [`concurrent`] | DNI/cDNI with a worker thread per module, channels, busy/idle times |
//!
//! Still to come (see the DNI issue): grouping modules onto fewer workers, the CNN, and recurrent
//! DNI.

pub mod concurrent;
pub mod dni;
pub mod layers;
pub mod synthetic;
pub mod train;
