//! 2D convolution on contiguous NCHW `f32` data (weights `[c_out, c_in, k_h, k_w]`), forward,
//! input gradient and weight gradient, as matrix products on an im2col buffer.
//!
//! For image b, with col_b the `[c_in·k_h·k_w, h_o·w_o]` matrix of input patches:
//! y_b = W·col_b + bias, d col_b = Wᵀ·dy_b (scattered back onto dx_b by col2im),
//! dW = Σ_b dy_b·col_bᵀ, d bias = Σ_b Σ_hw dy_b.
//! Images are split among the pool's threads, each with one patch buffer for all its images and
//! single-threaded products; with fewer images than threads the products themselves go parallel.
//! A 1×1 convolution with stride 1 and no padding uses the input as col_b directly; stride-1
//! convolutions with "same" padding go without im2col ([`crate::conv_same`]).

use crate::conv_same;
pub use crate::products::ConvShape;
use crate::products::{Scratch, copy_row, matmul, split};
use rayon::prelude::*;

/// The patch of input row (c, ki, kj) at output (oy, ox) for every output position, into `col`.
fn im2col(x: &[f32], s: &ConvShape, col: &mut [f32]) {
    let [ho, wo] = s.out_hw();
    let ([kh, kw], [sh, sw], [ph, pw]) = (s.kernel, s.stride, s.padding);
    let mut row = 0;
    for c in 0..s.c_in {
        let plane = &x[c * s.h * s.w..(c + 1) * s.h * s.w];
        for ki in 0..kh {
            for kj in 0..kw {
                let dst = &mut col[row * ho * wo..(row + 1) * ho * wo];
                row += 1;
                for oy in 0..ho {
                    let out = &mut dst[oy * wo..(oy + 1) * wo];
                    let iy = (oy * sh + ki) as isize - ph as isize;
                    if iy < 0 || iy >= s.h as isize {
                        out.fill(0.0);
                        continue;
                    }
                    let src = &plane[iy as usize * s.w..(iy as usize + 1) * s.w];
                    // Valid ox: 0 ≤ ox·sw + kj − pw < w.
                    let lo = pw.saturating_sub(kj).div_ceil(sw).min(wo);
                    let hi = ((s.w + pw).saturating_sub(kj)).div_ceil(sw).clamp(lo, wo);
                    out[..lo].fill(0.0);
                    out[hi..].fill(0.0);
                    if hi == lo {
                        // No valid column on this row (a kernel wider than the padded image).
                    } else if sw == 1 {
                        let start = lo + kj - pw;
                        copy_row(&mut out[lo..hi], &src[start..start + hi - lo]);
                    } else {
                        for (ox, o) in out.iter_mut().enumerate().take(hi).skip(lo) {
                            *o = src[ox * sw + kj - pw];
                        }
                    }
                }
            }
        }
    }
}

/// Adds the columns of `col` back onto the image `dx` (the adjoint of [`im2col`]).
fn col2im(col: &[f32], s: &ConvShape, dx: &mut [f32]) {
    let [ho, wo] = s.out_hw();
    let ([kh, kw], [sh, sw], [ph, pw]) = (s.kernel, s.stride, s.padding);
    let mut row = 0;
    for c in 0..s.c_in {
        let plane = &mut dx[c * s.h * s.w..(c + 1) * s.h * s.w];
        for ki in 0..kh {
            for kj in 0..kw {
                let src = &col[row * ho * wo..(row + 1) * ho * wo];
                row += 1;
                for oy in 0..ho {
                    let iy = (oy * sh + ki) as isize - ph as isize;
                    if iy < 0 || iy >= s.h as isize {
                        continue;
                    }
                    let dst = &mut plane[iy as usize * s.w..(iy as usize + 1) * s.w];
                    let lo = pw.saturating_sub(kj).div_ceil(sw).min(wo);
                    let hi = ((s.w + pw).saturating_sub(kj)).div_ceil(sw).clamp(lo, wo);
                    let line = &src[oy * wo..(oy + 1) * wo];
                    if hi == lo {
                        // No valid column on this row (a kernel wider than the padded image).
                    } else if sw == 1 {
                        let start = lo + kj - pw;
                        for (d, v) in dst[start..start + hi - lo].iter_mut().zip(&line[lo..hi]) {
                            *d += v;
                        }
                    } else {
                        for ox in lo..hi {
                            dst[ox * sw + kj - pw] += line[ox];
                        }
                    }
                }
            }
        }
    }
}

/// y = conv(x, w) + bias, `y` of `[batch, c_out, h_o, w_o]`.
pub fn forward(x: &[f32], w: &[f32], bias: &[f32], s: ConvShape, y: &mut [f32]) {
    if conv_same::serves(&s) {
        return conv_same::forward(x, w, bias, s, y);
    }
    let (k, n, co) = (s.k(), s.n(), s.c_out);
    let (per_task, par) = split(&s);
    y.par_chunks_mut(per_task * co * n)
        .zip(x.par_chunks(per_task * s.in_size()))
        .for_each(|(ys, xs)| {
            let mut col = Scratch::take(if s.direct() { 0 } else { k * n });
            for (yb, xb) in ys.chunks_mut(co * n).zip(xs.chunks(s.in_size())) {
                for (row, &b) in yb.chunks_mut(n).zip(bias) {
                    row.fill(b);
                }
                let patches = if s.direct() {
                    xb
                } else {
                    im2col(xb, &s, &mut col);
                    &col
                };
                matmul([co, n, k], yb, n, true, w, [k, 1], patches, [n, 1], par);
            }
        });
}

/// dx from dy: col2im(Wᵀ·dy_b) for each image.
pub fn backward_input(w: &[f32], dy: &[f32], s: ConvShape) -> Vec<f32> {
    if conv_same::serves(&s) {
        return conv_same::backward_input(w, dy, s);
    }
    let (k, n, co) = (s.k(), s.n(), s.c_out);
    let (per_task, par) = split(&s);
    let mut dx = vec![0f32; s.batch * s.in_size()];
    dx.par_chunks_mut(per_task * s.in_size())
        .zip(dy.par_chunks(per_task * co * n))
        .for_each(|(dxs, dys)| {
            let mut col = Scratch::take(if s.direct() { 0 } else { k * n });
            for (dxb, dyb) in dxs.chunks_mut(s.in_size()).zip(dys.chunks(co * n)) {
                if s.direct() {
                    matmul([k, n, co], dxb, n, false, w, [1, k], dyb, [n, 1], par);
                } else {
                    matmul([k, n, co], &mut col, n, false, w, [1, k], dyb, [n, 1], par);
                    col2im(&col, &s, dxb);
                }
            }
        });
    dx
}

/// (dW, d bias) from x and dy: Σ_b dy_b·col_bᵀ and Σ_b Σ_hw dy_b.
pub fn backward_weight(x: &[f32], dy: &[f32], s: ConvShape) -> (Vec<f32>, Vec<f32>) {
    if conv_same::serves(&s) {
        return conv_same::backward_weight(x, dy, s);
    }
    let (k, n, co) = (s.k(), s.n(), s.c_out);
    let (per_task, par) = split(&s);
    let partials: Vec<(Vec<f32>, Vec<f32>)> = x
        .par_chunks(per_task * s.in_size())
        .zip(dy.par_chunks(per_task * co * n))
        .map(|(xs, dys)| {
            let mut col = Scratch::take(if s.direct() { 0 } else { k * n });
            let mut dw = vec![0f32; co * k];
            let mut db = vec![0f32; co];
            for (i, (xb, dyb)) in xs.chunks(s.in_size()).zip(dys.chunks(co * n)).enumerate() {
                let patches = if s.direct() {
                    xb
                } else {
                    im2col(xb, &s, &mut col);
                    &col
                };
                matmul(
                    [co, k, n],
                    &mut dw,
                    k,
                    i > 0,
                    dyb,
                    [n, 1],
                    patches,
                    [1, n],
                    par,
                );
                for (d, row) in db.iter_mut().zip(dyb.chunks(n)) {
                    *d += row.iter().sum::<f32>();
                }
            }
            (dw, db)
        })
        .collect();
    let mut parts = partials.into_iter();
    let (mut dw, mut db) = parts
        .next()
        .unwrap_or_else(|| (vec![0.0; co * k], vec![0.0; co]));
    for (w2, b2) in parts {
        dw.iter_mut().zip(&w2).for_each(|(a, b)| *a += b);
        db.iter_mut().zip(&b2).for_each(|(a, b)| *a += b);
    }
    (dw, db)
}
