//! 2D convolution on contiguous NCHW `f32` data (weights `[c_out, c_in, k_h, k_w]`), forward,
//! input gradient and weight gradient, as matrix products on an im2col buffer.
//!
//! For a group of images G, with col_G the `[c_in·k_h·k_w, |G|·h_o·w_o]` matrix of their input
//! patches side by side and dy_G their output gradients the same way:
//! y_G = W·col_G + bias, d col_G = Wᵀ·dy_G (scattered back onto each dx_b by col2im),
//! dW = Σ_G dy_G·col_Gᵀ, d bias = Σ_b Σ_hw dy_b.
//! Images are split among the pool's threads, each with its own buffers and single-threaded
//! products; with fewer images than threads the products themselves go parallel. A group holds
//! one image, or, for outputs smaller than [`GROUP_BELOW`] positions (4×4 in the CIFAR-10 U-Net),
//! enough images for about [`GROUP_COLUMNS`] columns: a product of 16 columns runs the narrowest
//! micro-kernel and packs the weights once per image (measured once with a temporary switch,
//! since removed: 1.3x faster grouped at 4×4 with 256 channels; slower at 7×7 and above, where im2col's nine copies cost more than they save).
//! A 1×1 convolution with stride 1 and no padding uses the image as its own col; 3×3 stride-1
//! convolutions of 64 channels and more on sides of 12 and more go by Winograd's F(2×2, 3×3)
//! ([`crate::winograd`]), and other stride-1 convolutions with "same" padding without im2col
//! ([`crate::conv_same`]) from 32 positions up.

pub use crate::products::ConvShape;
use crate::products::{Scratch, copy_row, image_of, init_rows, matmul, split, written};
use crate::simd::with_simd;
use crate::{conv_same, winograd};
use rayon::prelude::*;

/// Outputs with fewer positions than this (a 4×4 or 5×5 image) are computed in groups of images.
const GROUP_BELOW: usize = 32;
/// A group's products aim at this many columns (images × output positions).
const GROUP_COLUMNS: usize = 256;

fn by_same(s: &ConvShape) -> bool {
    conv_same::serves(s) && s.n() >= GROUP_BELOW
}

/// Images per group for a task of `per_task` images: one for outputs of [`GROUP_BELOW`] positions
/// or more and for a 1×1 convolution (its own col, no copy); else enough for [`GROUP_COLUMNS`]
/// columns, balanced so that the task's groups differ by at most one image.
fn group(s: &ConvShape, per_task: usize) -> usize {
    if s.direct() || s.n() >= GROUP_BELOW {
        return 1;
    }
    let want = GROUP_COLUMNS
        .div_ceil(s.n().max(1))
        .clamp(1, per_task.max(1));
    per_task.div_ceil(per_task.div_ceil(want))
}

/// A group's `[g, c_out, n]` values as the `[c_out, g·n]` matrix of its products.
fn gather(v: &[f32], co: usize, n: usize, out: &mut [f32]) {
    let cols = v.len() / co;
    for (b, image) in v.chunks(co * n).enumerate() {
        for (o, row) in image.chunks(n).enumerate() {
            copy_row(&mut out[o * cols + b * n..][..n], row);
        }
    }
}

/// The patch of input row (c, ki, kj) at output (oy, ox) for every output position, into `col`
/// (its rows `ld` apart).
fn im2col(x: &[f32], s: &ConvShape, col: &mut [f32], ld: usize) {
    let [ho, wo] = s.out_hw();
    let ([kh, kw], [sh, sw], [ph, pw]) = (s.kernel, s.stride, s.padding);
    with_simd!({
        let mut row = 0;
        for c in 0..s.c_in {
            let plane = &x[c * s.h * s.w..(c + 1) * s.h * s.w];
            for ki in 0..kh {
                for kj in 0..kw {
                    let dst = &mut col[row * ld..row * ld + ho * wo];
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
    })
}

/// Adds the columns of `col` (its rows `ld` apart) back onto the image `dx` (the adjoint of
/// [`im2col`]).
fn col2im(col: &[f32], s: &ConvShape, ld: usize, dx: &mut [f32]) {
    let [ho, wo] = s.out_hw();
    let ([kh, kw], [sh, sw], [ph, pw]) = (s.kernel, s.stride, s.padding);
    with_simd!({
        let mut row = 0;
        for c in 0..s.c_in {
            let plane = &mut dx[c * s.h * s.w..(c + 1) * s.h * s.w];
            for ki in 0..kh {
                for kj in 0..kw {
                    let src = &col[row * ld..row * ld + ho * wo];
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
                            for (d, v) in dst[start..start + hi - lo].iter_mut().zip(&line[lo..hi])
                            {
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
    })
}

/// y = conv(x, w) + bias, `[batch, c_out, h_o, w_o]`.
pub fn forward(x: &[f32], w: &[f32], bias: &[f32], s: ConvShape) -> Vec<f32> {
    forward_add(x, w, bias, None, s)
}

/// y = conv(x, w) + bias + residual (a tensor of y's shape, when given): the residual block's
/// skip added while each output is first written, not in a pass of its own.
pub fn forward_add(
    x: &[f32],
    w: &[f32],
    bias: &[f32],
    residual: Option<&[f32]>,
    s: ConvShape,
) -> Vec<f32> {
    if winograd::serves(&s) {
        return winograd::forward(x, w, bias, residual, s);
    }
    let (k, n, co) = (s.k(), s.n(), s.c_out);
    let (per_task, par) = split(&s);
    let g = group(&s, per_task);
    let fill = |y: &mut [std::mem::MaybeUninit<f32>]| {
        if by_same(&s) {
            return conv_same::forward(x, w, bias, residual, s, y);
        }
        y.par_chunks_mut(per_task * co * n)
            .zip(x.par_chunks(per_task * s.in_size()))
            .enumerate()
            .for_each(|(task, (ys, xs))| {
                let lone_direct = s.direct() && g == 1;
                let mut col = Scratch::take(0, if lone_direct { 0 } else { k * g * n });
                let mut out = Scratch::take(1, if g == 1 { 0 } else { co * g * n });
                let groups = ys.chunks_mut(g * co * n).zip(xs.chunks(g * s.in_size()));
                for (gi, (yg, xg)) in groups.enumerate() {
                    let first = task * per_task + gi * g;
                    let cols = xg.len() / s.in_size() * n;
                    if cols == n {
                        let yb = init_rows(yg, bias, n, image_of(residual, first, co * n));
                        let patches = if lone_direct {
                            xg
                        } else {
                            im2col(xg, &s, &mut col, n);
                            &col
                        };
                        matmul([co, n, k], yb, n, true, w, [k, 1], patches, [n, 1], par);
                        continue;
                    }
                    for (b, xb) in xg.chunks(s.in_size()).enumerate() {
                        im2col(xb, &s, &mut col[b * n..], cols);
                    }
                    matmul(
                        [co, cols, k],
                        &mut out,
                        cols,
                        false,
                        w,
                        [k, 1],
                        &col,
                        [cols, 1],
                        par,
                    );
                    for (b, yb) in yg.chunks_mut(co * n).enumerate() {
                        let yb = init_rows(yb, bias, n, image_of(residual, first + b, co * n));
                        for (o, row) in yb.chunks_mut(n).enumerate() {
                            let product = &out[o * cols + b * n..][..n];
                            row.iter_mut().zip(product).for_each(|(d, v)| *d += v);
                        }
                    }
                }
            });
    };
    // SAFETY: every image's rows are written: by init_rows, or value by value from the group's
    // product (every o < c_out, p < n); conv_same::forward likewise starts each image with
    // init_rows.
    unsafe { written(s.batch * co * n, fill) }
}

/// dx from dy: col2im(Wᵀ·dy_G) for each group.
pub fn backward_input(w: &[f32], dy: &[f32], s: ConvShape) -> Vec<f32> {
    if winograd::serves(&s) {
        return winograd::backward_input(w, dy, s);
    }
    if by_same(&s) {
        return conv_same::backward_input(w, dy, s);
    }
    let (k, n, co) = (s.k(), s.n(), s.c_out);
    let (per_task, par) = split(&s);
    let g = group(&s, per_task);
    let mut dx = vec![0f32; s.batch * s.in_size()];
    dx.par_chunks_mut(per_task * s.in_size())
        .zip(dy.par_chunks(per_task * co * n))
        .for_each(|(dxs, dys)| {
            let lone_direct = s.direct() && g == 1;
            let mut col = Scratch::take(0, if lone_direct { 0 } else { k * g * n });
            let mut dy_g = Scratch::take(1, if g == 1 { 0 } else { co * g * n });
            for (dxg, dyg) in dxs.chunks_mut(g * s.in_size()).zip(dys.chunks(g * co * n)) {
                let cols = dyg.len() / co;
                let rhs = if cols == n {
                    dyg
                } else {
                    gather(dyg, co, n, &mut dy_g);
                    &dy_g
                };
                if lone_direct {
                    matmul([k, n, co], dxg, n, false, w, [1, k], rhs, [n, 1], par);
                    continue;
                }
                matmul(
                    [k, cols, co],
                    &mut col,
                    cols,
                    false,
                    w,
                    [1, k],
                    rhs,
                    [cols, 1],
                    par,
                );
                for (b, dxb) in dxg.chunks_mut(s.in_size()).enumerate() {
                    col2im(&col[b * n..], &s, cols, dxb);
                }
            }
        });
    dx
}

/// (dW, d bias) from x and dy: Σ_G dy_G·col_Gᵀ and Σ_b Σ_hw dy_b.
pub fn backward_weight(x: &[f32], dy: &[f32], s: ConvShape) -> (Vec<f32>, Vec<f32>) {
    if winograd::serves(&s) {
        return winograd::backward_weight(x, dy, s);
    }
    if by_same(&s) {
        return conv_same::backward_weight(x, dy, s);
    }
    let (k, n, co) = (s.k(), s.n(), s.c_out);
    let (per_task, par) = split(&s);
    let g = group(&s, per_task);
    let partials: Vec<(Vec<f32>, Vec<f32>)> = x
        .par_chunks(per_task * s.in_size())
        .zip(dy.par_chunks(per_task * co * n))
        .map(|(xs, dys)| {
            let lone_direct = s.direct() && g == 1;
            let mut col = Scratch::take(0, if lone_direct { 0 } else { k * g * n });
            let mut dy_g = Scratch::take(1, if g == 1 { 0 } else { co * g * n });
            let mut dw = vec![0f32; co * k];
            let mut db = vec![0f32; co];
            let groups = xs.chunks(g * s.in_size()).zip(dys.chunks(g * co * n));
            for (i, (xg, dyg)) in groups.enumerate() {
                let cols = dyg.len() / co;
                let (lhs, patches) = if lone_direct {
                    (dyg, xg)
                } else {
                    for (b, xb) in xg.chunks(s.in_size()).enumerate() {
                        im2col(xb, &s, &mut col[b * n..], cols);
                    }
                    if cols != n {
                        gather(dyg, co, n, &mut dy_g);
                    }
                    (if cols == n { dyg } else { &dy_g[..] }, &col[..])
                };
                let (acc, l, r) = (i > 0, [cols, 1], [1, cols]);
                matmul([co, k, cols], &mut dw, k, acc, lhs, l, patches, r, par);
                for (j, row) in dyg.chunks(n).enumerate() {
                    db[j % co] += row.iter().sum::<f32>();
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
