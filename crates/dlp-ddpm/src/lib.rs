//! dlp-ddpm: Denoising Diffusion Probabilistic Models (Ho, Jain, Abbeel, NeurIPS 2020).
//!
//! The entry type is [`GaussianDiffusion`]: the fixed forward process and its closed forms,
//! with every schedule array computed in f64 as the official code does, and method names after
//! the paper's symbols (`q_sample`, `q_posterior`, `p_mean_from_eps`).
//!
//! | module | what |
//! | --- | --- |
//! | [`schedule`] | beta schedules: linear, quadratic, cosine, sigmoid |
//! | [`diffusion`] | `GaussianDiffusion`: q(x_t \| x_0) (Eq. 4), the posterior (Eqs. 6-7), the mean from ε (Eq. 11), ε / x_0 / v conversions |
//!
//! Still to come (see the DDPM issue): the U-Net, training, samplers and evaluation.

pub mod data2d;
pub mod demo;
pub mod diffusion;
pub mod ema;
pub mod eval2d;
pub mod eval_image;
pub mod frechet;
pub mod model;
pub mod objective;
pub mod sample;
pub mod schedule;
pub mod task2d;
pub mod task_image;
pub mod train;
pub mod unet;

pub use diffusion::GaussianDiffusion;
pub use schedule::BetaSchedule;
