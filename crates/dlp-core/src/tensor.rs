//! Tensor values out to plain numbers.

use burn::tensor::Tensor;

/// The first value of `t` as `f64` (NaN when it cannot be read): a loss, a metric.
pub fn scalar(t: Tensor<1>) -> f64 {
    t.into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .ok()
        .and_then(|v| v.first().copied())
        .map_or(f64::NAN, f64::from)
}

/// The values of `t` as `f32`s, in row-major order (empty when they cannot be read).
pub fn to_vec<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .unwrap_or_default()
}
