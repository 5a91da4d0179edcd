//! Samplers: ancestral sampling (Algorithm 2 of Ho et al. 2020) and DDIM (Song et al. 2021).
//!
//! **Ancestral** ([`GaussianDiffusion::p_sample`] at every step): from x_T ~ N(0, I), for
//! t = T..1: x_{t−1} = μ̃(x̂_0, x_t) + σ_t z, with μ̃ the
//! posterior mean (Eqs. 6-7) at the predicted x̂_0 (optionally clipped; without clipping this
//! is Eq. 11), z ~ N(0, I) except at the last step, which is noiseless. σ_t² is β_t
//! ("fixed large"; β̃_1 at the last step, as the official code) or β̃_t ("fixed small").
//!
//! **DDIM**: on a respaced subsequence τ of `steps` timesteps, evenly spread over 0..T−1 and
//! always including T−1 and 0: x_{τ_{i−1}} = √ᾱ_{τ_{i−1}} x̂_0 + √(1 − ᾱ_{τ_{i−1}} − σ²) ε̂ + σ z
//! with σ = η √((1 − ᾱ_{τ_{i−1}})/(1 − ᾱ_{τ_i})) √(1 − ᾱ_{τ_i}/ᾱ_{τ_{i−1}}); η = 0 is
//! deterministic, η = 1 is ancestral-like. After clipping x̂_0, ε̂ is recomputed from it.
//!
//! Noise comes from the host [`Rng`], so a seeded run repeats exactly.

use crate::diffusion::GaussianDiffusion;
use crate::model::Denoiser;
use crate::objective::Prediction;
pub use crate::reverse::{Variance, normal};
use burn::tensor::{Device, Tensor};
use dlp_core::progress::Progress;
use dlp_core::rng::Rng;

/// A sampling method.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "sampler", rename_all = "lowercase")]
pub enum Sampler {
    Ancestral { variance: Variance },
    Ddim { steps: usize, eta: f64 },
}

/// `count` timesteps evenly spread over `0..=T−1`, increasing, including both ends.
pub fn respace(num_timesteps: usize, count: usize) -> Vec<usize> {
    let count = count.clamp(1, num_timesteps);
    if count == 1 {
        return vec![num_timesteps - 1];
    }
    let mut seq: Vec<usize> = (0..count)
        .map(|i| ((i * (num_timesteps - 1)) as f64 / (count - 1) as f64).round() as usize)
        .collect();
    seq.dedup();
    seq
}

/// Draws samples of `shape` (batch first) from `model`.
#[allow(clippy::too_many_arguments)]
pub fn sample<const D: usize, M: Denoiser<D>>(
    model: &M,
    d: &GaussianDiffusion,
    prediction: Prediction,
    sampler: Sampler,
    clip_x0: Option<f64>,
    shape: [usize; D],
    rng: &mut Rng,
    device: &Device,
) -> Tensor<D> {
    let b = shape[0];
    let mut x = normal(shape, rng, device);
    let clip = |x0: Tensor<D>| match clip_x0 {
        Some(c) => x0.clamp(-c, c),
        None => x0,
    };
    match sampler {
        Sampler::Ancestral { variance } => {
            let progress = Progress::new("sample", d.num_timesteps() as u64);
            for t in (0..d.num_timesteps()).rev() {
                x = d.p_sample(model, prediction, x, t, clip_x0, variance, rng);
                progress.inc(1);
            }
            progress.finish();
        }
        Sampler::Ddim { steps, eta } => {
            let seq = respace(d.num_timesteps(), steps);
            let progress = Progress::new("ddim", seq.len() as u64);
            for i in (0..seq.len()).rev() {
                let t = seq[i];
                let ts = vec![t; b];
                let out = model.forward(x.clone(), &ts);
                let (eps, x0) = prediction.to_eps_x0(d, x.clone(), &ts, out);
                let (eps, x0) = if clip_x0.is_some() {
                    let x0 = clip(x0);
                    (d.predict_eps_from_x0(x.clone(), &ts, x0.clone()), x0)
                } else {
                    (eps, x0)
                };
                let abar = d.alphas_cumprod[t];
                let abar_prev = if i > 0 {
                    d.alphas_cumprod[seq[i - 1]]
                } else {
                    1.0
                };
                let sigma = eta
                    * ((1.0 - abar_prev) / (1.0 - abar)).sqrt()
                    * (1.0 - abar / abar_prev).max(0.0).sqrt();
                let dir = (1.0 - abar_prev - sigma * sigma).max(0.0).sqrt();
                x = x0 * abar_prev.sqrt() + eps * dir;
                if sigma > 0.0 && i > 0 {
                    x = x + normal(shape, rng, device) * sigma;
                }
                progress.inc(1);
            }
            progress.finish();
        }
    }
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn respacing_includes_both_ends_and_any_count() {
        assert_eq!(respace(1000, 5), vec![0, 250, 500, 749, 999]);
        assert_eq!(respace(1000, 1000), (0..1000).collect::<Vec<_>>());
        assert_eq!(respace(10, 50).len(), 10);
        assert_eq!(respace(1000, 1), vec![999]);
        for k in [2, 3, 7, 100, 333] {
            let s = respace(1000, k);
            assert_eq!((s[0], *s.last().unwrap(), s.len()), (0, 999, k));
        }
    }
}
