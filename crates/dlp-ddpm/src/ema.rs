//! Exponential moving average of a model's weights, the weights DDPM samples with.
//!
//! θ_ema ← d θ_ema + (1 − d) θ after each step, with the warm-up
//! d_k = min(d, (1 + k)/(10 + k)) at step k, so that early averages are not dominated by the
//! random initialisation. The average lives on the plain (non-autodiff) device.

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::tensor::Tensor;

/// The decay at step `step` (1-based) with warm-up.
pub fn ema_decay(decay: f64, step: u64) -> f64 {
    decay.min((1.0 + step as f64) / (10.0 + step as f64))
}

/// Updates `ema` (same architecture as `model`) toward `model` with decay `d`.
pub fn update_ema<M: Module>(ema: M, model: &M, d: f64) -> M {
    let mut collect = Collect(Vec::new());
    model.visit(&mut collect);
    let mut mapper = Blend {
        values: collect.0.into_iter(),
        d,
    };
    ema.map(&mut mapper)
}

struct Collect(Vec<Tensor<1>>);

impl ModuleVisitor for Collect {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        self.0.push(param.val().inner().flatten::<1>(0, D - 1));
    }
}

struct Blend {
    values: std::vec::IntoIter<Tensor<1>>,
    d: f64,
}

impl ModuleMapper for Blend {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let new = self
            .values
            .next()
            .expect("EMA and model have the same parameters");
        let d = self.d;
        param.map(|old| {
            let shape = old.dims();
            old * d + new.reshape(shape) * (1.0 - d)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::MlpDenoiser;
    use burn::tensor::Device;

    use dlp_core::testing::flat_parameters as flat;

    #[test]
    fn blends_every_parameter() {
        let device = Device::flex();
        device.seed(0);
        let a = MlpDenoiser::new(8, 1, &device);
        let b = MlpDenoiser::new(8, 1, &device);
        let (fa, fb) = (flat(&a), flat(&b));
        let mixed = flat(&update_ema(a, &b, 0.75));
        for i in 0..fa.len() {
            let want = 0.75 * fa[i] + 0.25 * fb[i];
            assert!((mixed[i] - want).abs() < 1e-6, "param {i}");
        }
        assert_eq!(ema_decay(0.999, 0), 0.1);
        assert_eq!(ema_decay(0.999, 1_000_000), 0.999);
    }
}
