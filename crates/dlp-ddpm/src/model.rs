//! Denoising networks: the [`Denoiser`] interface, the sinusoidal timestep embedding, and a
//! small MLP for 2D data.
//!
//! [`timestep_embedding`] is DDPM's (from the Transformer): for `dim = 2h`,
//! `e(t) = [sin(t ω_0), .., sin(t ω_{h−1}), cos(t ω_0), .., cos(t ω_{h−1})]` with
//! `ω_i = 10000^{−i/(h−1)}`, computed in f64.
//!
//! ```
//! use burn::tensor::Device;
//! use dlp_ddpm::model::{Denoiser, MlpDenoiser};
//! let device = Device::flex();
//! let net = MlpDenoiser::new(128, 3, &device);
//! let x = burn::tensor::Tensor::<2>::zeros([4, 2], &device);
//! assert_eq!(net.forward(x, &[0, 1, 2, 999]).dims(), [4, 2]);
//! ```

use burn::module::Module;
use burn::nn::{Initializer, Linear, LinearConfig};
use burn::tensor::{Device, Tensor, TensorData};

/// SiLU, x·σ(x): dlp-kernels' vectorised kernel on the CPU (one exponential per element, the
/// backward in one pass from x), burn's op on other devices.
pub use dlp_kernels::silu;

/// A network that maps noisy inputs and their 0-based timesteps to a prediction of the same
/// shape (ε, x_0 or v, as it was trained).
pub trait Denoiser<const D: usize> {
    /// The prediction for `x` at timesteps `t` (one per example).
    fn forward(&self, x: Tensor<D>, t: &[usize]) -> Tensor<D>;

    /// The prediction given class labels (`None`: the null class). Unconditional networks
    /// ignore the labels.
    fn forward_labels(&self, x: Tensor<D>, t: &[usize], labels: &[Option<usize>]) -> Tensor<D> {
        let _ = labels;
        self.forward(x, t)
    }
}

/// Classifier-free guidance (Ho & Salimans 2021) as a denoiser: with guidance scale `w`,
/// `ε̃ = (1 + w) ε(x, t, y) − w ε(x, t, ∅)`; `w = 0` is plain conditional sampling.
pub struct Guided<'a, M> {
    pub model: &'a M,
    pub labels: Vec<Option<usize>>,
    pub scale: f64,
}

impl<const D: usize, M: Denoiser<D>> Denoiser<D> for Guided<'_, M> {
    fn forward(&self, x: Tensor<D>, t: &[usize]) -> Tensor<D> {
        let cond = self.model.forward_labels(x.clone(), t, &self.labels);
        if self.scale == 0.0 {
            return cond;
        }
        let null = vec![None; t.len()];
        let uncond = self.model.forward_labels(x, t, &null);
        cond * (1.0 + self.scale) - uncond * self.scale
    }
}

/// The sinusoidal embedding `[b, dim]` of timesteps `t` (`dim` even, at least 4).
pub fn timestep_embedding(t: &[usize], dim: usize, device: &Device) -> Tensor<2> {
    assert!(
        dim >= 4 && dim.is_multiple_of(2),
        "embedding dimension must be even and at least 4"
    );
    let half = dim / 2;
    let scale = (10000f64).ln() / (half - 1) as f64;
    let mut values = Vec::with_capacity(t.len() * dim);
    for &ti in t {
        let arg = |i: usize| ti as f64 * (-(i as f64) * scale).exp();
        values.extend((0..half).map(|i| arg(i).sin() as f32));
        values.extend((0..half).map(|i| arg(i).cos() as f32));
    }
    Tensor::from_data(TensorData::new(values, [t.len(), dim]), device)
}

/// Width of the time embedding of [`MlpDenoiser`].
pub const MLP_TIME_DIM: usize = 64;

/// An MLP denoiser for 2D points: `h = SiLU(W_x x + W_t e(t))`, then `layers` residual blocks
/// `h ← h + SiLU(W h + b)`, then a zero-initialised output layer (so it starts by predicting 0).
#[derive(Module, Debug)]
pub struct MlpDenoiser {
    input: Linear,
    time: Linear,
    blocks: Vec<Linear>,
    output: Linear,
}

impl MlpDenoiser {
    /// An MLP with `hidden` units and `layers` residual blocks.
    pub fn new(hidden: usize, layers: usize, device: &Device) -> Self {
        Self {
            input: LinearConfig::new(2, hidden).init(device),
            time: LinearConfig::new(MLP_TIME_DIM, hidden).init(device),
            blocks: (0..layers)
                .map(|_| LinearConfig::new(hidden, hidden).init(device))
                .collect(),
            output: LinearConfig::new(hidden, 2)
                .with_initializer(Initializer::Zeros)
                .init(device),
        }
    }
}

impl Denoiser<2> for MlpDenoiser {
    fn forward(&self, x: Tensor<2>, t: &[usize]) -> Tensor<2> {
        let emb = timestep_embedding(t, MLP_TIME_DIM, &x.device());
        let mut h = silu(self.input.forward(x) + self.time.forward(emb));
        for block in &self.blocks {
            h = h.clone() + silu(block.forward(h));
        }
        self.output.forward(h)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedding_matches_the_formula() {
        let device = Device::flex();
        let e = timestep_embedding(&[0, 7], 8, &device);
        let v = dlp_core::tensor::to_vec(e);
        // t = 0: sines 0, cosines 1.
        assert_eq!(&v[..8], &[0., 0., 0., 0., 1., 1., 1., 1.]);
        // t = 7, i = 1: ω_1 = 10000^(-1/3).
        let w1 = 10000f64.powf(-1.0 / 3.0);
        assert!((v[8 + 1] as f64 - (7.0 * w1).sin()).abs() < 1e-6);
        assert!((v[8 + 4 + 1] as f64 - (7.0 * w1).cos()).abs() < 1e-6);
    }

    #[test]
    fn mlp_starts_by_predicting_zero() {
        let device = Device::flex();
        let net = MlpDenoiser::new(32, 2, &device);
        let x = Tensor::<2>::ones([2, 2], &device);
        let out = net.forward(x, &[1, 500]);
        let v = dlp_core::tensor::to_vec(out);
        assert!(v.iter().all(|&a| a == 0.0), "zero-initialised output layer");
    }

    #[test]
    fn silu_and_its_gradient_match_the_formula_and_stay_finite() {
        let device = Device::flex().autodiff();
        let xs = [-200.0f32, -90.0, -10.0, -1.5, 0.0, 0.7, 10.0, 100.0];
        let x = Tensor::<1>::from_data(TensorData::new(xs.to_vec(), [xs.len()]), &device)
            .require_grad();
        let y = silu(x.clone());
        let grads = y.clone().sum().backward();
        let vals = dlp_core::tensor::to_vec(y);
        let dydx = x.grad(&grads).unwrap();
        let dydx = dlp_core::tensor::to_vec(dydx);
        for ((&x, &v), &g) in xs.iter().zip(&vals).zip(&dydx) {
            let x = x as f64;
            let s = 1.0 / (1.0 + (-x).exp());
            let (want, want_grad) = (x * s, s * (1.0 + x * (1.0 - s)));
            assert!(
                (v as f64 - want).abs() <= 1e-5 * (1.0 + want.abs()),
                "{x}: {v} vs {want}"
            );
            assert!(
                g.is_finite() && (g as f64 - want_grad).abs() < 1e-5,
                "{x}: {g} vs {want_grad}"
            );
        }
    }
}
