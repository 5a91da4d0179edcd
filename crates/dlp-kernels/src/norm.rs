//! GroupNorm (Wu & He 2018), optionally after a per-channel add and before a SiLU, on contiguous
//! NCHW `f32` data, forward and backward.
//!
//! With x' = x + a[b, c] (the residual block's time embedding; `a = 0` without one), for each
//! sample b and group g of channels:
//!
//! μ = mean(x'), σ² = mean((x' − μ)²), x̂ = (x' − μ)/√(σ² + ε), y = γ_c·x̂ + β_c,
//! out = SiLU(y) (or y), then dropout: out·m_i/keep, with m_i = 1 with probability `keep`.
//!
//! The dropout mask is a hash of (seed, element index) ([`dropout_scale`]), so the backward pass
//! recomputes it instead of storing it, and any thread can draw any element's.
//!
//! Backward, with dy = d_out·m/keep·SiLU'(y) and dx̂ = γ_c·dy, over the group's n elements:
//! dx' = (dx̂ − mean(dx̂) − x̂·mean(dx̂·x̂))/√(σ² + ε), dγ_c = Σ dy·x̂, dβ_c = Σ dy,
//! da[b, c] = Σ_hw dx'. A group is contiguous in NCHW, so each (b, g) is one task: two passes over
//! its data forward and two backward, in parallel over the tasks.

use crate::products::written;
use crate::simd::{silu, silu_grad, sum, sum_sq_dev, with_simd};
use rayon::prelude::*;
use std::mem::MaybeUninit;

/// Sizes and settings of one GroupNorm call.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NormShape {
    pub batch: usize,
    pub channels: usize,
    /// h·w.
    pub spatial: usize,
    pub groups: usize,
    pub epsilon: f32,
    /// Apply SiLU after the affine map.
    pub silu: bool,
    /// Dropout's probability of keeping an element (1: no dropout).
    pub keep: f32,
    /// Dropout's seed.
    pub seed: u64,
}

impl NormShape {
    fn per_group(&self) -> usize {
        self.channels / self.groups
    }
    /// The dropout mask's threshold (an element is kept when its hash is below it) and scale.
    fn dropout(&self) -> Option<(u32, f32)> {
        (self.keep < 1.0).then(|| ((self.keep as f64 * 4_294_967_296.0) as u32, 1.0 / self.keep))
    }
}

/// Dropout's factor for element `i`: `scale` when the hash of (seed, i) falls below `threshold`,
/// else 0. The hash is Wellons' lowbias32 (a bijective integer mixer) on the index offset by the
/// seed; it vectorises (32-bit multiplies and shifts).
#[inline(always)]
pub fn dropout_scale(seed: u64, i: usize, threshold: u32, scale: f32) -> f32 {
    let mut h = (i as u32 ^ (seed >> 32) as u32).wrapping_add(seed as u32);
    h ^= h >> 16;
    h = h.wrapping_mul(0x21f0_aaad);
    h ^= h >> 15;
    h = h.wrapping_mul(0x735a_2d97);
    h ^= h >> 15;
    if h < threshold { scale } else { 0.0 }
}

/// Per-(b, g) statistics saved by the forward pass for the backward pass.
#[derive(Debug, Clone)]
pub struct Stats {
    pub mean: Vec<f32>,
    pub rstd: Vec<f32>,
}

/// The forward pass: the output and the statistics.
pub fn forward(
    x: &[f32],
    gamma: &[f32],
    beta: &[f32],
    add: Option<&[f32]>,
    s: NormShape,
) -> (Vec<f32>, Stats) {
    let mut mean = vec![0f32; s.batch * s.groups];
    let mut rstd = vec![0f32; s.batch * s.groups];
    // SAFETY: each (b, g) task writes all cpg·hw values of its chunk (every channel, every
    // position), and the chunks cover x.len() values.
    let out = unsafe {
        written(x.len(), |out| {
            fill(x, gamma, beta, add, s, out, &mut mean, &mut rstd)
        })
    };
    (out, Stats { mean, rstd })
}

#[allow(clippy::too_many_arguments)]
fn fill(
    x: &[f32],
    gamma: &[f32],
    beta: &[f32],
    add: Option<&[f32]>,
    s: NormShape,
    out: &mut [MaybeUninit<f32>],
    mean: &mut [f32],
    rstd: &mut [f32],
) {
    let (cpg, hw) = (s.per_group(), s.spatial);
    out.par_chunks_mut(cpg * hw)
        .zip(x.par_chunks(cpg * hw))
        .zip(mean.par_iter_mut().zip(rstd.par_iter_mut()))
        .enumerate()
        .for_each(|(unit, ((out, x), (m_out, r_out)))| {
            let (b, g) = (unit / s.groups, unit % s.groups);
            let c0 = g * cpg;
            let a = |c: usize| add.map_or(0.0, |a| a[b * s.channels + c0 + c]);
            with_simd!({
                let n = (cpg * hw) as f32;
                let mut total = 0f32;
                for c in 0..cpg {
                    total += sum(&x[c * hw..(c + 1) * hw]) + a(c) * hw as f32;
                }
                let m = total / n;
                let mut var = 0f32;
                for c in 0..cpg {
                    var += sum_sq_dev(&x[c * hw..(c + 1) * hw], m - a(c));
                }
                let r = 1.0 / (var / n + s.epsilon).sqrt();
                for c in 0..cpg {
                    let scale = r * gamma[c0 + c];
                    let shift = beta[c0 + c] + (a(c) - m) * scale;
                    let (xs, os) = (&x[c * hw..(c + 1) * hw], &mut out[c * hw..(c + 1) * hw]);
                    let base = (unit * cpg + c) * hw;
                    match (s.silu, s.dropout()) {
                        (true, None) => {
                            for (o, &v) in os.iter_mut().zip(xs) {
                                o.write(silu(v * scale + shift));
                            }
                        }
                        (false, None) => {
                            for (o, &v) in os.iter_mut().zip(xs) {
                                o.write(v * scale + shift);
                            }
                        }
                        (silu_on, Some((threshold, inv))) => {
                            for (j, (o, &v)) in os.iter_mut().zip(xs).enumerate() {
                                let y = v * scale + shift;
                                let y = if silu_on { silu(y) } else { y };
                                o.write(y * dropout_scale(s.seed, base + j, threshold, inv));
                            }
                        }
                    }
                }
                *m_out = m;
                *r_out = r;
            })
        });
}

/// Where one channel sits and what was done to it, for backward pass 1.
#[derive(Clone, Copy)]
struct Channel {
    /// x̂ = (x + shift)·r; y = γ·x̂ + β.
    shift: f32,
    r: f32,
    gamma: f32,
    beta: f32,
    /// Index of the channel's first element in the tensor, and the dropout's seed, threshold and
    /// scale (see [`dropout_scale`]).
    base: usize,
    seed: u64,
    dropout: Option<(u32, f32)>,
}

/// Backward pass 1 over one channel: dx̂ = γ·dy into `dx`; returns [Σ dy·x̂, Σ dy, Σ dx̂, Σ dx̂·x̂].
#[inline(always)]
fn pass1<const SILU: bool, const DROP: bool>(
    dx: &mut [f32],
    x: &[f32],
    dout: &[f32],
    ch: Channel,
) -> [f32; 4] {
    let Channel {
        shift,
        r,
        gamma: gm,
        beta: bt,
        base,
        seed,
        dropout,
    } = ch;
    let (threshold, inv) = dropout.unwrap_or((0, 1.0));
    let mut acc = [[0f32; 16]; 4];
    let one = |d: &mut f32, v: f32, go: f32, i: usize, acc: &mut [[f32; 16]; 4], l: usize| {
        let go = if DROP {
            go * dropout_scale(seed, base + i, threshold, inv)
        } else {
            go
        };
        let xh = (v + shift) * r;
        let dy = if SILU {
            go * silu_grad(xh * gm + bt)
        } else {
            go
        };
        let dxh = dy * gm;
        *d = dxh;
        acc[0][l] += dy * xh;
        acc[1][l] += dy;
        acc[2][l] += dxh;
        acc[3][l] += dxh * xh;
    };
    let n = x.len() / 16 * 16;
    for (k, ((d, v), go)) in dx[..n]
        .chunks_exact_mut(16)
        .zip(x[..n].chunks_exact(16))
        .zip(dout[..n].chunks_exact(16))
        .enumerate()
    {
        for l in 0..16 {
            one(&mut d[l], v[l], go[l], 16 * k + l, &mut acc, l);
        }
    }
    for i in n..x.len() {
        one(&mut dx[i], x[i], dout[i], i, &mut acc, 0);
    }
    acc.map(|a| a.iter().sum())
}

/// Backward pass 2 over one channel: dx' = r·(dx̂ − k1 − x̂·k2) in place; returns Σ dx'.
#[inline(always)]
fn pass2(dx: &mut [f32], x: &[f32], shift: f32, r: f32, k1: f32, k2: f32) -> f32 {
    let mut acc = [0f32; 16];
    let n = x.len() / 16 * 16;
    for (d, v) in dx[..n].chunks_exact_mut(16).zip(x[..n].chunks_exact(16)) {
        for l in 0..16 {
            let xh = (v[l] + shift) * r;
            d[l] = r * (d[l] - k1 - xh * k2);
            acc[l] += d[l];
        }
    }
    let mut rest = 0f32;
    for i in n..x.len() {
        let xh = (x[i] + shift) * r;
        dx[i] = r * (dx[i] - k1 - xh * k2);
        rest += dx[i];
    }
    acc.iter().sum::<f32>() + rest
}

/// Gradients of the forward pass.
pub struct Grads {
    pub x: Vec<f32>,
    pub gamma: Vec<f32>,
    pub beta: Vec<f32>,
    /// `[batch, channels]`, when there was an add.
    pub add: Option<Vec<f32>>,
}

/// The backward pass for `d_out`, from the forward inputs and statistics.
pub fn backward(
    x: &[f32],
    gamma: &[f32],
    beta: &[f32],
    add: Option<&[f32]>,
    stats: &Stats,
    d_out: &[f32],
    s: NormShape,
) -> Grads {
    let (cpg, hw, ch) = (s.per_group(), s.spatial, s.channels);
    let mut dx = vec![0f32; x.len()];
    // Per (b, c): dγ, dβ and da partial sums; reduced over b afterwards.
    let mut per_bc = vec![[0f32; 3]; s.batch * ch];
    dx.par_chunks_mut(cpg * hw)
        .zip(x.par_chunks(cpg * hw).zip(d_out.par_chunks(cpg * hw)))
        .zip(per_bc.par_chunks_mut(cpg))
        .enumerate()
        .for_each(|(unit, ((dx, (x, dout)), sums))| {
            let (b, g) = (unit / s.groups, unit % s.groups);
            let c0 = g * cpg;
            let a = |c: usize| add.map_or(0.0, |a| a[b * ch + c0 + c]);
            let (m, r) = (stats.mean[unit], stats.rstd[unit]);
            with_simd!({
                // Pass 1: dx̂ into dx; the group sums and the per-channel dγ, dβ.
                let (mut s1, mut s2) = (0f32, 0f32);
                for c in 0..cpg {
                    let ch = Channel {
                        shift: a(c) - m,
                        r,
                        gamma: gamma[c0 + c],
                        beta: beta[c0 + c],
                        base: (unit * cpg + c) * hw,
                        seed: s.seed,
                        dropout: s.dropout(),
                    };
                    let range = c * hw..(c + 1) * hw;
                    let (dx, x, dout) = (&mut dx[range.clone()], &x[range.clone()], &dout[range]);
                    // Called, not taken as a function pointer: inlined, it is compiled for the
                    // instruction set with_simd! picked.
                    let sums_c = match (s.silu, ch.dropout.is_some()) {
                        (true, false) => pass1::<true, false>(dx, x, dout, ch),
                        (false, false) => pass1::<false, false>(dx, x, dout, ch),
                        (true, true) => pass1::<true, true>(dx, x, dout, ch),
                        (false, true) => pass1::<false, true>(dx, x, dout, ch),
                    };
                    sums[c][0] = sums_c[0];
                    sums[c][1] = sums_c[1];
                    s1 += sums_c[2];
                    s2 += sums_c[3];
                }
                // Pass 2: dx' from dx̂.
                let n = (cpg * hw) as f32;
                let (k1, k2) = (s1 / n, s2 / n);
                for (c, sum) in sums.iter_mut().enumerate() {
                    let range = c * hw..(c + 1) * hw;
                    sum[2] = pass2(&mut dx[range.clone()], &x[range], a(c) - m, r, k1, k2);
                }
            })
        });
    let mut dgamma = vec![0f32; ch];
    let mut dbeta = vec![0f32; ch];
    for (i, v) in per_bc.iter().enumerate() {
        dgamma[i % ch] += v[0];
        dbeta[i % ch] += v[1];
    }
    Grads {
        x: dx,
        gamma: dgamma,
        beta: dbeta,
        add: add.map(|_| per_bc.iter().map(|v| v[2]).collect()),
    }
}
