//! dlp-dni: Decoupled Neural Interfaces using synthetic gradients (Jaderberg et al., ICML 2017).
//!
//! | module | what |
//! | --- | --- |
//! | [`synthetic`] | M_i: ĝ_i = M_i(h_i[, y]), zero-initialised output; I_i: ĥ_{i−1} = I_i(x) |
//! | [`layers`] | a fully connected block (Linear, batch norm, ReLU), the paper's convolutional block, and a network of them |
//! | [`dni`] | [`dni::Dni`], the entry type: one step of backprop, DNI, cDNI or decoupled, BP(λ) |
//! | [`train`] | settings, examples and the sequential training loop |
//! | [`concurrent`] | modules grouped onto worker threads, channels, per-module costs |
//! | [`summary`] | what the trainers report (typed, serialisable) |
//! | [`lstm`] | an LSTM cell with a linear read-out |
//! | [`copy`] | the Copy and Repeat Copy tasks as endless streams of episodes |
//! | [`recurrent`] | truncated BPTT with synthetic gradients between windows ([`recurrent::Windows`]), Copy curriculum |
//! | [`charlm`] | character-level language modelling in bits per character |
//! | [`demo`] | the DNI stage of `dlp demo` |
//! | [`export`] | a trained run's network for PyTorch |

pub mod charlm;
pub mod concurrent;
pub mod config;
pub mod copy;
pub mod demo;
pub mod dni;
pub mod export;
pub mod layers;
pub mod lstm;
pub mod recurrent;
pub mod summary;
pub mod synthetic;
pub mod train;
