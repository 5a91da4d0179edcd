//! The variational bound in bits per dimension (Ho et al. 2020, Eq. 5 and Section 3.3), as the
//! official `calc_bpd_loop` computes it:
//!
//! L = L_T + Σ_{t>1} L_{t−1} + L_0, with L_T = KL(q(x_T | x_0) ‖ N(0, I)),
//! L_{t−1} = KL(q(x_{t−1} | x_t, x_0) ‖ p_θ(x_{t−1} | x_t)) at x_t ~ q(x_t | x_0), and L_0 the
//! negative log-likelihood of the 8-bit image under the discretised Gaussian decoder
//! p_θ(x_0 | x_1) (bins of width 2/255 on [−1, 1], open-ended at the edges). The model's mean
//! is the posterior mean at its clipped x̂_0, its variance the fixed-small β̃_t. In bits per
//! dimension: L / (D ln 2). The normal CDF is the tanh approximation of the official code.

use crate::diffusion::GaussianDiffusion;
use crate::model::Denoiser;
use crate::objective::Prediction;
use crate::sample::normal;
use burn::tensor::{Device, Tensor, TensorData};
use dlp_core::rng::Rng;

/// KL(N(m1, e^{lv1}) ‖ N(m2, e^{lv2})) elementwise.
pub fn normal_kl(m1: Tensor<4>, lv1: Tensor<4>, m2: Tensor<4>, lv2: Tensor<4>) -> Tensor<4> {
    ((lv2.clone() - lv1.clone())
        + (lv1 - lv2.clone()).exp()
        + (m1 - m2).square() * (lv2 * -1.0).exp()
        - 1.0)
        * 0.5
}

/// Φ(x) ≈ ½(1 + tanh(√(2/π)(x + 0.044715 x³))).
pub fn approx_standard_normal_cdf(x: Tensor<4>) -> Tensor<4> {
    let c = (2.0 / std::f64::consts::PI).sqrt();
    ((x.clone() + x.powi_scalar(3) * 0.044715) * c)
        .tanh()
        .add_scalar(1.0)
        * 0.5
}

/// log p(x) of images `x` in [−1, 1] (multiples of 2/255 away from −1) under a discretised
/// Gaussian with mean `mean` and log-variance `log_var`, elementwise.
pub fn discretized_gaussian_log_likelihood(
    x: Tensor<4>,
    mean: Tensor<4>,
    log_var: Tensor<4>,
) -> Tensor<4> {
    let centered = x.clone() - mean;
    let inv_std = (log_var * -0.5).exp();
    let cdf_plus = approx_standard_normal_cdf((centered.clone() + 1.0 / 255.0) * inv_std.clone());
    let cdf_min = approx_standard_normal_cdf((centered - 1.0 / 255.0) * inv_std);
    let log_cdf_plus = cdf_plus.clone().clamp_min(1e-12).log();
    let log_one_minus_cdf_min = (cdf_min.clone() * -1.0 + 1.0).clamp_min(1e-12).log();
    let log_delta = (cdf_plus - cdf_min).clamp_min(1e-12).log();
    let low = x.clone().lower_elem(-0.999);
    let high = x.greater_elem(0.999);
    log_delta
        .mask_where(high, log_one_minus_cdf_min)
        .mask_where(low, log_cdf_plus)
}

fn per_image(t: Tensor<4>) -> Vec<f64> {
    let v = t
        .flatten::<2>(1, 3)
        .sum_dim(1)
        .into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .unwrap_or_default();
    v.into_iter().map(f64::from).collect()
}

fn full(shape: [usize; 4], value: f64, device: &Device) -> Tensor<4> {
    Tensor::full(shape, value, device)
}

/// The bound in bits per dimension of each image of `x0` (in [−1, 1]): T network evaluations.
pub fn bits_per_dim<M: Denoiser<4>>(
    model: &M,
    d: &GaussianDiffusion,
    prediction: Prediction,
    x0: Tensor<4>,
    rng: &mut Rng,
) -> Vec<f64> {
    let shape = x0.dims();
    let [b, c, h, w] = shape;
    let device = x0.device();
    let dims = (c * h * w) as f64;
    let last = d.num_timesteps() - 1;
    // L_T: q(x_T | x_0) = N(√ᾱ_T x_0, 1 − ᾱ_T) against N(0, 1).
    let prior = normal_kl(
        x0.clone() * d.sqrt_alphas_cumprod[last],
        full(shape, (1.0 - d.alphas_cumprod[last]).ln(), &device),
        full(shape, 0.0, &device),
        full(shape, 0.0, &device),
    );
    let mut total = per_image(prior);
    let progress = dlp_core::progress::Progress::new("bits/dim", d.num_timesteps() as u64);
    for t in (0..d.num_timesteps()).rev() {
        progress.inc(1);
        let ts = vec![t; b];
        let xt = d.q_sample(x0.clone(), &ts, normal(shape, rng, &device));
        let out = model.forward(xt.clone(), &ts);
        let (_, x0_hat) = prediction.to_eps_x0(d, xt.clone(), &ts, out);
        let mean_p = d.q_posterior(x0_hat.clamp(-1.0, 1.0), xt.clone(), &ts);
        let log_var_p = full(shape, d.posterior_log_variance_clipped[t], &device);
        let term = if t == 0 {
            discretized_gaussian_log_likelihood(x0.clone(), mean_p, log_var_p) * -1.0
        } else {
            let mean_q = d.q_posterior(x0.clone(), xt, &ts);
            let log_var_q = full(shape, d.posterior_log_variance_clipped[t], &device);
            normal_kl(mean_q, log_var_q, mean_p, log_var_p)
        };
        for (acc, v) in total.iter_mut().zip(per_image(term)) {
            *acc += v;
        }
    }
    progress.finish();
    total
        .into_iter()
        .map(|nats| nats / (dims * std::f64::consts::LN_2))
        .collect()
}

/// Images `[n, c, h, w]` of 8-bit values, scaled to [−1, 1].
pub fn from_bytes(bytes: &[u8], shape: [usize; 4], device: &Device) -> Tensor<4> {
    let v: Vec<f32> = bytes.iter().map(|&p| p as f32 / 127.5 - 1.0).collect();
    Tensor::from_data(TensorData::new(v, shape), device)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vals(t: Tensor<4>) -> Vec<f64> {
        t.into_data()
            .convert::<f32>()
            .try_to_vec::<f32>()
            .unwrap()
            .into_iter()
            .map(f64::from)
            .collect()
    }

    #[test]
    fn decoder_probabilities_over_all_256_values_sum_to_one() {
        let device = Device::flex();
        let all: Vec<u8> = (0..=255).collect();
        let x = from_bytes(&all, [1, 1, 16, 16], &device);
        for (mean, lv) in [
            (0.0, (0.05f64).ln()),
            (0.7, (0.3f64).ln()),
            (-0.95, (0.001f64).ln()),
        ] {
            let p: f64 = vals(discretized_gaussian_log_likelihood(
                x.clone(),
                full([1, 1, 16, 16], mean, &device),
                full([1, 1, 16, 16], lv, &device),
            ))
            .iter()
            .map(|l| l.exp())
            .sum();
            assert!((p - 1.0).abs() < 2e-3, "mean {mean}: total probability {p}");
        }
    }

    #[test]
    fn kl_matches_the_closed_form() {
        let device = Device::flex();
        let s = [1, 1, 1, 1];
        let kl = vals(normal_kl(
            full(s, 0.3, &device),
            full(s, 0.5f64.ln(), &device),
            full(s, -0.2, &device),
            full(s, 2f64.ln(), &device),
        ))[0];
        // ½(log(σ2²/σ1²) + (σ1² + (μ1 − μ2)²)/σ2² − 1)
        let want = 0.5 * ((2.0f64 / 0.5).ln() + (0.5 + 0.25) / 2.0 - 1.0);
        assert!((kl - want).abs() < 1e-6, "{kl} vs {want}");
    }
}
