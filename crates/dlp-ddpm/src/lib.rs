//! dlp-ddpm: Denoising Diffusion Probabilistic Models (Ho, Jain, Abbeel, NeurIPS 2020).
//!
//! The entry type is [`GaussianDiffusion`]: the fixed forward process and its closed forms,
//! with every schedule array computed in f64 as the official code does, and method names after
//! the paper's symbols (`q_sample`, `q_posterior`, `p_mean_from_eps`).
//!
//! | module | what |
//! | --- | --- |
//! | [`schedule`] | beta schedules: linear, quadratic, cosine, sigmoid |
//! | [`diffusion`] | `GaussianDiffusion`: q(x_t \| x_{t−1}) (Eq. 2), q(x_t \| x_0) (Eq. 4), the posterior (Eqs. 6-7), the mean from ε (Eq. 11), ε / x_0 / v conversions |
//! | [`objective`] | ε, x_0 or v targets, min-SNR weighting, the weighted MSE |
//! | [`model`] | the `Denoiser` interface, timestep embedding, 2D MLP, classifier-free guidance |
//! | [`unet`] | the paper's U-Net (35.7M parameters for CIFAR-10) |
//! | [`ema`] | exponential moving average of weights |
//! | [`train`] | the training loop (Algorithm 1) with checkpoints and resume, over a `Workload` |
//! | [`task2d`], [`task_image`] | the 2D and image workloads |
//! | [`sample`] | ancestral (Algorithm 2) and DDIM samplers |
//! | [`data2d`] | 8 Gaussians, swiss roll, two moons |
//! | [`eval2d`], [`eval_image`], [`frechet`] | MMD and mode coverage; classifier-FID |
//! | [`inception`], [`fid`] | standard FID and KID: pytorch-fid's Inception-v3 with the user's weights |
//! | [`demo`] | the DDPM stage of `dlp demo` |
//! | [`export`] | a trained run's weights for PyTorch |

pub mod data2d;
pub mod demo;
pub mod diffusion;
pub mod ema;
pub mod eval2d;
pub mod eval_image;
pub mod export;
pub mod fid;
pub mod frechet;
pub mod inception;
pub mod model;
pub mod objective;
pub mod reverse;
pub mod run;
pub mod sample;
pub mod schedule;
pub mod task2d;
pub mod task_image;
pub mod train;
pub mod unet;
pub mod vlb;

pub use diffusion::GaussianDiffusion;
pub use schedule::BetaSchedule;
