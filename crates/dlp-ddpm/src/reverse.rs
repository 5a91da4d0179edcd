//! The model's side of [`GaussianDiffusion`], under the official code's names
//! (`diffusion_utils_2.py`): the reverse step's mean and variance ([`GaussianDiffusion::p_mean_variance`]),
//! one step of Algorithm 2 ([`GaussianDiffusion::p_sample`]), and the loss of Algorithm 1
//! ([`GaussianDiffusion::training_losses`]).
//!
//! ```
//! use burn::tensor::{Device, Tensor};
//! use dlp_core::rng::Rng;
//! use dlp_ddpm::diffusion::GaussianDiffusion;
//! use dlp_ddpm::model::{Denoiser, MlpDenoiser};
//! use dlp_ddpm::objective::Prediction;
//! use dlp_ddpm::sample::Variance;
//! use dlp_ddpm::BetaSchedule;
//! let device = Device::flex();
//! let d = GaussianDiffusion::new(BetaSchedule::Linear, 100);
//! let model = MlpDenoiser::new(16, 1, &device);
//! let x = Tensor::<2>::zeros([4, 2], &device);
//! let p = d.p_mean_variance(&model, Prediction::Eps, x.clone(), 50, None, Variance::Small);
//! assert_eq!(p.variance, d.posterior_variance[50]);
//! let x_prev = d.p_sample(&model, Prediction::Eps, x, 50, None, Variance::Small, &mut Rng::new(0));
//! assert_eq!(x_prev.dims(), [4, 2]);
//! ```

use crate::diffusion::GaussianDiffusion;
use crate::model::Denoiser;
use crate::objective::{Prediction, weighted_mse};
use burn::tensor::{Device, Tensor, TensorData};
use dlp_core::rng::Rng;

/// The reverse-process variance of ancestral sampling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Variance {
    /// σ_t² = β_t.
    Large,
    /// σ_t² = β̃_t, the posterior variance.
    Small,
}

/// `n` standard normal values as a tensor of `shape`, drawn from the host RNG.
pub fn normal<const D: usize>(shape: [usize; D], rng: &mut Rng, device: &Device) -> Tensor<D> {
    let n: usize = shape.iter().product();
    let values: Vec<f32> = (0..n).map(|_| rng.normal() as f32).collect();
    Tensor::from_data(TensorData::new(values, shape), device)
}

/// p_θ(x_{t−1} | x_t) at one timestep, with the predictions it came from.
pub struct PMeanVariance<const D: usize> {
    /// μ_θ(x_t, t): the posterior mean (Eqs. 6-7) at the predicted x̂_0; Eq. 11 when unclipped.
    pub mean: Tensor<D>,
    /// σ_t²: β̃_t (fixed small) or β_t (fixed large).
    pub variance: f64,
    /// x̂_0, clipped to ±`clip` when given.
    pub pred_x0: Tensor<D>,
}

impl GaussianDiffusion {
    /// The mean and variance of p_θ(x_{t−1} | x_t) for `model`'s output at every example's
    /// timestep `t` (its x̂_0 clipped to ±`clip` first, as the official code clips to ±1).
    pub fn p_mean_variance<const D: usize, M: Denoiser<D>>(
        &self,
        model: &M,
        prediction: Prediction,
        x: Tensor<D>,
        t: usize,
        clip: Option<f64>,
        variance: Variance,
    ) -> PMeanVariance<D> {
        let ts = vec![t; x.dims()[0]];
        let out = model.forward(x.clone(), &ts);
        let (_, x0) = prediction.to_eps_x0(self, x.clone(), &ts, out);
        let pred_x0 = match clip {
            Some(c) => x0.clamp(-c, c),
            None => x0,
        };
        PMeanVariance {
            mean: self.q_posterior(pred_x0.clone(), x, &ts),
            variance: match variance {
                Variance::Small => self.posterior_variance[t],
                Variance::Large => self.betas[t],
            },
            pred_x0,
        }
    }

    /// Algorithm 2, one step: x_{t−1} = μ_θ(x_t, t) + σ_t z with z ~ N(0, I) from `rng`, and no
    /// noise at t = 0.
    #[allow(clippy::too_many_arguments)]
    pub fn p_sample<const D: usize, M: Denoiser<D>>(
        &self,
        model: &M,
        prediction: Prediction,
        x: Tensor<D>,
        t: usize,
        clip: Option<f64>,
        variance: Variance,
        rng: &mut Rng,
    ) -> Tensor<D> {
        let (shape, device) = (x.dims(), x.device());
        let p = self.p_mean_variance(model, prediction, x, t, clip, variance);
        if t == 0 {
            p.mean
        } else {
            p.mean + normal(shape, rng, &device) * p.variance.sqrt()
        }
    }

    /// Algorithm 1 / Eq. 14: the weighted L_simple of `out`, the network's output at
    /// x_t = q_sample(x_0, t, ε) (Eq. 4), against the `prediction` target of (x_0, ε), each
    /// example weighted by `prediction.weight` (1, or min-SNR-γ). Returns the loss and x_t is
    /// the caller's to feed: `training_losses(x0, eps, t, |xt| model(xt))`.
    pub fn training_losses<const D: usize>(
        &self,
        prediction: Prediction,
        min_snr_gamma: Option<f64>,
        x0: Tensor<D>,
        eps: Tensor<D>,
        t: &[usize],
        model: impl FnOnce(Tensor<D>) -> Tensor<D>,
    ) -> Tensor<1> {
        let xt = self.q_sample(x0.clone(), t, eps.clone());
        let target = prediction.target(self, x0, eps, t);
        let weights: Vec<f64> = t
            .iter()
            .map(|&ti| prediction.weight(self, ti, min_snr_gamma))
            .collect();
        weighted_mse(model(xt), target, &weights)
    }
}
