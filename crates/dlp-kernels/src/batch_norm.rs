//! Batch normalisation with the batch's own statistics (Ioffe & Szegedy 2015, Algorithm 1),
//! optionally followed by a ReLU, on contiguous `[B, C, S]` `f32` data (S = H·W for images).
//!
//! For each channel c, over its n = B·S elements:
//!
//! μ_c = mean(x), σ²_c = mean((x − μ_c)²) (biased, as the running statistics take it),
//! x̂ = (x − μ_c)/√(σ²_c + ε), y = γ_c·x̂ + β_c, out = max(y, 0) (or y).
//!
//! Backward, with dy = d_out·[y > 0] (or d_out):
//! dx = γ_c/√(σ²_c + ε)·(dy − mean(dy) − x̂·mean(dy·x̂)), dγ_c = Σ dy·x̂, dβ_c = Σ dy.
//!
//! A channel is B strided planes of S values. The statistics and the backward sums run in
//! parallel over channels, the element-wise passes over planes; the ReLU mask is recomputed from
//! x rather than stored.

use crate::simd::{sum, sum_sq_dev, with_simd};
use rayon::prelude::*;

/// Sizes and settings of one batch-norm call.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BnShape {
    pub batch: usize,
    pub channels: usize,
    /// Elements per (sample, channel) plane: h·w.
    pub spatial: usize,
    pub epsilon: f32,
    /// Apply a ReLU after the affine map.
    pub relu: bool,
}

/// The batch's per-channel mean and biased variance.
#[derive(Debug, Clone)]
pub struct BnStats {
    pub mean: Vec<f32>,
    pub var: Vec<f32>,
}

/// Gradients of the loss with respect to x, γ and β.
pub struct BnGrads {
    pub x: Vec<f32>,
    pub gamma: Vec<f32>,
    pub beta: Vec<f32>,
}

/// Planes per parallel task: enough work to pay for a task.
fn min_planes(spatial: usize) -> usize {
    (4096 / spatial.max(1)).max(1)
}

/// `(scale, shift)` of channel c: y = x·scale + shift.
fn affine(stats: &BnStats, gamma: &[f32], beta: &[f32], c: usize, eps: f32) -> (f32, f32) {
    let scale = gamma[c] / (stats.var[c] + eps).sqrt();
    (scale, beta[c] - stats.mean[c] * scale)
}

/// The forward pass: fills `out` and returns the batch statistics.
pub fn forward(x: &[f32], gamma: &[f32], beta: &[f32], s: BnShape, out: &mut [f32]) -> BnStats {
    let (sp, cn) = (s.spatial, s.channels);
    let n = (s.batch * sp) as f32;
    let plane = |b: usize, c: usize| &x[(b * cn + c) * sp..(b * cn + c + 1) * sp];
    let (mean, var): (Vec<f32>, Vec<f32>) = (0..cn)
        .into_par_iter()
        .map(|c| {
            with_simd!({
                let m = (0..s.batch).map(|b| sum(plane(b, c))).sum::<f32>() / n;
                let v = (0..s.batch)
                    .map(|b| sum_sq_dev(plane(b, c), m))
                    .sum::<f32>();
                (m, v / n)
            })
        })
        .unzip();
    let stats = BnStats { mean, var };
    out.par_chunks_mut(sp)
        .zip(x.par_chunks(sp))
        .enumerate()
        .with_min_len(min_planes(sp))
        .for_each(|(p, (o, xs))| {
            let (scale, shift) = affine(&stats, gamma, beta, p % cn, s.epsilon);
            with_simd!({
                if s.relu {
                    for (o, &v) in o.iter_mut().zip(xs) {
                        *o = (v * scale + shift).max(0.0);
                    }
                } else {
                    for (o, &v) in o.iter_mut().zip(xs) {
                        *o = v * scale + shift;
                    }
                }
            })
        });
    stats
}

/// `[Σ dy, Σ dy·(x − μ)]` over one plane, dy masked by the ReLU when `RELU`.
#[inline(always)]
fn plane_sums<const RELU: bool>(
    x: &[f32],
    dout: &[f32],
    m: f32,
    scale: f32,
    shift: f32,
) -> [f32; 2] {
    let mut acc = [[0f32; 16]; 2];
    let mut one = |v: f32, g: f32, l: usize| {
        let dy = if RELU && v * scale + shift <= 0.0 {
            0.0
        } else {
            g
        };
        acc[0][l] += dy;
        acc[1][l] += dy * (v - m);
    };
    let (mut xc, mut gc) = (x.chunks_exact(16), dout.chunks_exact(16));
    for (xs, gs) in (&mut xc).zip(&mut gc) {
        for l in 0..16 {
            one(xs[l], gs[l], l);
        }
    }
    for (&v, &g) in xc.remainder().iter().zip(gc.remainder()) {
        one(v, g, 0);
    }
    [acc[0].iter().sum(), acc[1].iter().sum()]
}

/// The backward pass, from the forward's input, parameters and statistics.
pub fn backward(
    x: &[f32],
    gamma: &[f32],
    beta: &[f32],
    stats: &BnStats,
    dout: &[f32],
    s: BnShape,
) -> BnGrads {
    let (sp, cn) = (s.spatial, s.channels);
    let n = (s.batch * sp) as f32;
    let at = |b: usize, c: usize| (b * cn + c) * sp..(b * cn + c + 1) * sp;
    // Per channel: Σ dy and Σ dy·x̂.
    let (d_beta, d_gamma): (Vec<f32>, Vec<f32>) = (0..cn)
        .into_par_iter()
        .map(|c| {
            let (scale, shift) = affine(stats, gamma, beta, c, s.epsilon);
            let (m, r) = (stats.mean[c], 1.0 / (stats.var[c] + s.epsilon).sqrt());
            let [dy, dyc] = (0..s.batch).fold([0f32; 2], |acc, b| {
                let (xs, gs) = (&x[at(b, c)], &dout[at(b, c)]);
                let p = with_simd!(if s.relu {
                    plane_sums::<true>(xs, gs, m, scale, shift)
                } else {
                    plane_sums::<false>(xs, gs, m, scale, shift)
                });
                [acc[0] + p[0], acc[1] + p[1]]
            });
            (dy, dyc * r)
        })
        .unzip();
    let mut dx = vec![0f32; x.len()];
    dx.par_chunks_mut(sp)
        .zip(x.par_chunks(sp).zip(dout.par_chunks(sp)))
        .enumerate()
        .with_min_len(min_planes(sp))
        .for_each(|(p, (dx, (xs, gs)))| {
            let c = p % cn;
            let (scale, shift) = affine(stats, gamma, beta, c, s.epsilon);
            let r = 1.0 / (stats.var[c] + s.epsilon).sqrt();
            // dx = γr·(dy − Σdy/n − x̂·Σdy·x̂/n) with x̂ = (x − μ)·r.
            let k = gamma[c] * r;
            let (mean_dy, proj) = (d_beta[c] / n, d_gamma[c] / n * r);
            let m = stats.mean[c];
            with_simd!({
                for ((d, &v), &g) in dx.iter_mut().zip(xs).zip(gs) {
                    let dy = if s.relu && v * scale + shift <= 0.0 {
                        0.0
                    } else {
                        g
                    };
                    *d = k * (dy - mean_dy - (v - m) * proj);
                }
            })
        });
    BnGrads {
        x: dx,
        gamma: d_gamma,
        beta: d_beta,
    }
}
