//! What the network predicts and how the loss weighs it.
//!
//! L_simple (Ho et al. 2020, Eq. 14) is `E ||ε − ε_θ(x_t, t)||²` with t uniform. The network may
//! instead predict x_0 or v = √ᾱ_t ε − √(1 − ᾱ_t) x_0 (Salimans & Ho 2022). Min-SNR-γ weighting
//! (Hang et al. 2023) multiplies the per-example loss by `min(SNR_t, γ)` divided by `SNR_t`
//! (ε), by 1 (x_0) or by `SNR_t + 1` (v), with SNR_t = ᾱ_t / (1 − ᾱ_t).

use crate::diffusion::GaussianDiffusion;
use burn::tensor::Tensor;
use std::str::FromStr;

/// The network's target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Prediction {
    Eps,
    X0,
    V,
}

impl FromStr for Prediction {
    type Err = dlp_core::Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "eps" | "epsilon" => Ok(Self::Eps),
            "x0" | "x_0" | "sample" => Ok(Self::X0),
            "v" => Ok(Self::V),
            other => Err(dlp_core::Error::setting(
                "prediction",
                format!("unknown target `{other}` (expected eps, x0 or v)"),
            )),
        }
    }
}

impl Prediction {
    /// The training target for a draw `x_t = q_sample(x_0, t, ε)`.
    pub fn target<const D: usize>(
        self,
        d: &GaussianDiffusion,
        x0: Tensor<D>,
        eps: Tensor<D>,
        t: &[usize],
    ) -> Tensor<D> {
        match self {
            Self::Eps => eps,
            Self::X0 => x0,
            Self::V => d.v_from_eps_x0(eps, x0, t),
        }
    }

    /// (ε̂, x̂_0) from the network output at x_t.
    pub fn to_eps_x0<const D: usize>(
        self,
        d: &GaussianDiffusion,
        xt: Tensor<D>,
        t: &[usize],
        out: Tensor<D>,
    ) -> (Tensor<D>, Tensor<D>) {
        match self {
            Self::Eps => (out.clone(), d.predict_x0_from_eps(xt, t, out)),
            Self::X0 => (d.predict_eps_from_x0(xt, t, out.clone()), out),
            Self::V => (
                d.predict_eps_from_v(xt.clone(), t, out.clone()),
                d.predict_x0_from_v(xt, t, out),
            ),
        }
    }

    /// The per-example loss weight at timestep `t` (1 without min-SNR weighting).
    pub fn weight(self, d: &GaussianDiffusion, t: usize, min_snr_gamma: Option<f64>) -> f64 {
        let Some(gamma) = min_snr_gamma else {
            return 1.0;
        };
        let snr = d.alphas_cumprod[t] / (1.0 - d.alphas_cumprod[t]);
        match self {
            Self::Eps => snr.min(gamma) / snr,
            Self::X0 => snr.min(gamma),
            Self::V => snr.min(gamma) / (snr + 1.0),
        }
    }
}

/// The weighted mean squared error over all but the batch dimension, averaged over the batch.
pub fn weighted_mse<const D: usize>(
    pred: Tensor<D>,
    target: Tensor<D>,
    weights: &[f64],
) -> Tensor<1> {
    let b = weights.len();
    let per_example = (pred - target).square().flatten::<2>(1, D - 1).mean_dim(1);
    if weights.iter().all(|&w| w == 1.0) {
        return per_example.mean();
    }
    let device = per_example.device();
    let w: Vec<f32> = weights.iter().map(|&w| w as f32).collect();
    let w = Tensor::<2>::from_data(burn::tensor::TensorData::new(w, [b, 1]), &device);
    (per_example * w).mean()
}
