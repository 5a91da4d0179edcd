//! 3×3 stride-1 convolutions with padding 1 by Winograd's minimal filtering F(2×2, 3×3) (Lavin &
//! Gray 2016, "Fast Algorithms for Convolutional Neural Networks"): 16 multiplications for a 2×2
//! output tile where the direct product takes 36, so 2.25x fewer floating-point operations in the
//! matrix products that dominate a U-Net.
//!
//! With d a 4×4 input tile (rows and columns 2t − 1 … 2t + 2), g a 3×3 kernel and
//!
//! Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1], G = [1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1],
//! Aᵀ = [1 1 1 0; 0 1 −1 −1],
//!
//! the output tile is Y = Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A. Summed over input channels, each of the 16
//! positions ξ of the transformed tile is one matrix product over all tiles at once:
//! M_ξ = U_ξ·V_ξ, with U_ξ `[c_out, c_in]` (the transformed kernels) and V_ξ `[c_in, tiles]`.
//!
//! Gradients: the input gradient is the same convolution of dy with the kernels turned 180° and
//! their channels swapped; for the weights, dU_ξ = Σ_tiles (A·dY·Aᵀ)_ξ·V_ξᵀ and dg = Gᵀ·dU·G.
//! Tiles of a group of images sit side by side in the products' columns. Every transform runs on
//! whole rows of tiles, so it vectorises; partial tiles at odd sides read zeros and drop outputs.

use crate::products::{ConvShape, Scratch, image_of, matmul, split, written};
use crate::simd::with_simd;
use rayon::prelude::*;
use std::mem::MaybeUninit;

/// A group's products aim at this many columns (tiles of its images).
const COLUMNS: usize = 256;
/// Fewer input or output channels than this and the products are too small to gain (measured:
/// slower than [`crate::conv_same`] at 32 and 64 channels, 1.05–1.5x faster at 128 and 256, by
/// `examples/winograd_speed.rs`).
const MIN_CHANNELS: usize = 128;
/// Images smaller than this on a side (4×4: four tiles) go to the grouped im2col instead.
const MIN_SIDE: usize = 8;

/// Whether `s` is a convolution this module computes.
pub fn serves(s: &ConvShape) -> bool {
    s.kernel == [3, 3]
        && s.stride == [1, 1]
        && s.padding == [1, 1]
        && s.c_in.min(s.c_out) >= MIN_CHANNELS
        && s.h.min(s.w) >= MIN_SIDE
}

/// Tiles of an image: (rows, columns).
fn tiles(s: &ConvShape) -> (usize, usize) {
    (s.h.div_ceil(2), s.w.div_ceil(2))
}

/// Images per group: enough for [`COLUMNS`] columns, balanced within a task of `per_task`.
fn group(s: &ConvShape, per_task: usize) -> usize {
    let (th, tw) = tiles(s);
    let want = COLUMNS.div_ceil(th * tw).clamp(1, per_task.max(1));
    per_task.div_ceil(per_task.div_ceil(want))
}

/// U = G·g·Gᵀ for each 3×3 kernel, laid out `[rows][16][cols]` (so U_ξ is the matrix at ξ·cols
/// with rows 16·cols apart); `g(r, c)` gives the kernel of row r and column c as its 9 values.
fn transform_weights(
    rows: usize,
    cols: usize,
    g: impl Fn(usize, usize) -> [f32; 9] + Sync,
) -> Vec<f32> {
    let mut u = vec![0f32; 16 * rows * cols];
    u.par_chunks_mut(16 * cols).enumerate().for_each(|(r, ur)| {
        for c in 0..cols {
            let k = g(r, c);
            // T = G·g (4×3), then U = T·Gᵀ (4×4).
            let mut t = [[0f32; 3]; 4];
            for j in 0..3 {
                let (a, b, e) = (k[j], k[3 + j], k[6 + j]);
                t[0][j] = a;
                t[1][j] = 0.5 * (a + b + e);
                t[2][j] = 0.5 * (a - b + e);
                t[3][j] = e;
            }
            for (i, [a, b, e]) in t.into_iter().enumerate() {
                let row = [a, 0.5 * (a + b + e), 0.5 * (a - b + e), e];
                for (j, v) in row.into_iter().enumerate() {
                    ur[(4 * i + j) * cols + c] = v;
                }
            }
        }
    });
    u
}

/// Puts `row` at column `shift` of the zero row `padded` and splits that into its even and odd
/// columns.
#[inline(always)]
fn deinterleave(row: &[f32], shift: usize, padded: &mut [f32], even: &mut [f32], odd: &mut [f32]) {
    padded.fill(0.0);
    padded[shift..shift + row.len()].copy_from_slice(row);
    for ((e, o), pair) in even
        .iter_mut()
        .zip(odd.iter_mut())
        .zip(padded.chunks_exact(2))
    {
        *e = pair[0];
        *o = pair[1];
    }
}

/// `out[i] = f(a[i], b[i])` over `out`'s length (one vectorised loop).
#[inline(always)]
fn map2(out: &mut [f32], a: &[f32], b: &[f32], f: impl Fn(f32, f32) -> f32) {
    for ((o, &x), &y) in out.iter_mut().zip(a).zip(b) {
        *o = f(x, y);
    }
}

/// V_ξ for one image `x` (`[c_in, h, w]`): `v[ξ·c_in·ld + c·ld + col0 + t]` for tile t. Works a
/// row of tiles at a time: input rows 2t_y − 1 … 2t_y + 2 split into their even and odd padded
/// columns (input columns 2i − 1 and 2i), Bᵀ down the rows, then B along them.
fn input_transform(x: &[f32], s: &ConvShape, v: &mut [f32], ld: usize, col0: usize) {
    let (th, tw) = tiles(s);
    let (h, w, ci) = (s.h, s.w, s.c_in);
    let n = tw + 1;
    let mut buf = vec![0f32; 18 * n];
    let (d, rest) = buf.split_at_mut(8 * n);
    let (e, padded) = rest.split_at_mut(8 * n);
    with_simd!({
        for c in 0..ci {
            let plane = &x[c * h * w..(c + 1) * h * w];
            for ty in 0..th {
                for k in 0..4 {
                    let r = (2 * ty + k) as isize - 1;
                    let (ev, od) = d[2 * k * n..(2 * k + 2) * n].split_at_mut(n);
                    if r < 0 || r >= h as isize {
                        ev.fill(0.0);
                        od.fill(0.0);
                    } else {
                        let row = &plane[r as usize * w..(r as usize + 1) * w];
                        deinterleave(row, 1, padded, ev, od);
                    }
                }
                // e[(k, parity)] = (Bᵀ d)_k: d0 − d2, d1 + d2, d2 − d1, d1 − d3.
                for p in 0..2 {
                    let at = |k: usize| &d[(2 * k + p) * n..(2 * k + p + 1) * n];
                    let out = |k: usize| (2 * k + p) * n..(2 * k + p + 1) * n;
                    map2(&mut e[out(0)], at(0), at(2), |a, b| a - b);
                    map2(&mut e[out(1)], at(1), at(2), |a, b| a + b);
                    map2(&mut e[out(2)], at(2), at(1), |a, b| a - b);
                    map2(&mut e[out(3)], at(1), at(3), |a, b| a - b);
                }
                let base = c * ld + col0 + ty * tw;
                for k in 0..4 {
                    let (ev, od) = (
                        &e[2 * k * n..(2 * k + 1) * n],
                        &e[(2 * k + 1) * n..(2 * k + 2) * n],
                    );
                    // A tile's columns are ev[t], od[t], ev[t + 1], od[t + 1].
                    let dst =
                        |l: usize| (4 * k + l) * ci * ld + base..(4 * k + l) * ci * ld + base + tw;
                    map2(&mut v[dst(0)], ev, &ev[1..], |a, b| a - b);
                    map2(&mut v[dst(1)], od, &ev[1..], |a, b| a + b);
                    map2(&mut v[dst(2)], &ev[1..], od, |a, b| a - b);
                    map2(&mut v[dst(3)], od, &od[1..], |a, b| a - b);
                }
            }
        }
    })
}

/// One image's output (`[c_out, h, w]`, every value written) from M_ξ (`m[ξ·c_out·ld + o·ld +
/// col0 + t]`): Y = Aᵀ·M·A + bias [+ the image's residual], a row of tiles at a time.
fn output_transform(
    m: &[f32],
    s: &ConvShape,
    (ld, col0): (usize, usize),
    bias: &[f32],
    residual: Option<&[f32]>,
    y: &mut [MaybeUninit<f32>],
) {
    let (th, tw) = tiles(s);
    let (h, w, co) = (s.h, s.w, s.c_out);
    let mut buf = vec![0f32; 10 * tw];
    let (p, line) = buf.split_at_mut(8 * tw);
    with_simd!({
        for (o, &b) in bias.iter().enumerate().take(co) {
            let plane = &mut y[o * h * w..(o + 1) * h * w];
            for ty in 0..th {
                let base = o * ld + col0 + ty * tw;
                let at = |k: usize, l: usize| &m[(4 * k + l) * co * ld + base..][..tw];
                // p[(r, l)] = (Aᵀ M)_r,l: M0 + M1 + M2 and M1 − M2 − M3 down column l.
                for l in 0..4 {
                    let (m0, m1, m2, m3) = (at(0, l), at(1, l), at(2, l), at(3, l));
                    let (p0, p1) = p[2 * l * tw..(2 * l + 2) * tw].split_at_mut(tw);
                    for i in 0..tw {
                        p0[i] = m0[i] + m1[i] + m2[i];
                        p1[i] = m1[i] - m2[i] - m3[i];
                    }
                }
                for r in 0..2.min(h - 2 * ty) {
                    let q = |l: usize| &p[(2 * l + r) * tw..(2 * l + r + 1) * tw];
                    let (q0, q1, q2, q3) = (q(0), q(1), q(2), q(3));
                    for (i, pair) in line.chunks_exact_mut(2).enumerate() {
                        pair[0] = q0[i] + q1[i] + q2[i] + b;
                        pair[1] = q1[i] - q2[i] - q3[i] + b;
                    }
                    let row = 2 * ty + r;
                    let dst = &mut plane[row * w..(row + 1) * w];
                    match residual {
                        Some(res) => {
                            let res = &res[(o * h + row) * w..(o * h + row + 1) * w];
                            for ((d, &v), &a) in dst.iter_mut().zip(&*line).zip(res) {
                                d.write(v + a);
                            }
                        }
                        None => {
                            for (d, &v) in dst.iter_mut().zip(&*line) {
                                d.write(v);
                            }
                        }
                    }
                }
            }
        }
    })
}

/// dM_ξ = (A·dY·Aᵀ)_ξ for one image's output gradient `dy` (`[c_out, h, w]`), as
/// [`output_transform`] lays M out.
fn output_gradient(dy: &[f32], s: &ConvShape, dm: &mut [f32], ld: usize, col0: usize) {
    let (th, tw) = tiles(s);
    let (h, w, co) = (s.h, s.w, s.c_out);
    let mut buf = vec![0f32; 8 * tw];
    let (r, rest) = buf.split_at_mut(4 * tw);
    let (q, padded) = rest.split_at_mut(2 * tw);
    with_simd!({
        for o in 0..co {
            let plane = &dy[o * h * w..(o + 1) * h * w];
            for ty in 0..th {
                // r: output rows 2t_y and 2t_y + 1, each as even then odd columns.
                for k in 0..2 {
                    let (ev, od) = r[2 * k * tw..(2 * k + 2) * tw].split_at_mut(tw);
                    let row = 2 * ty + k;
                    if row < h {
                        deinterleave(&plane[row * w..(row + 1) * w], 0, padded, ev, od);
                    } else {
                        ev.fill(0.0);
                        od.fill(0.0);
                    }
                }
                let base = o * ld + col0 + ty * tw;
                let (a, b) = (&r[..tw], &r[tw..2 * tw]);
                let (c, d) = (&r[2 * tw..3 * tw], &r[3 * tw..]);
                for k in 0..4 {
                    // Q_k = (A dY)_k: (a, b), (a + c, b + d), (a − c, b − d), (−c, −d).
                    let (q0, q1) = q.split_at_mut(tw);
                    for i in 0..tw {
                        (q0[i], q1[i]) = match k {
                            0 => (a[i], b[i]),
                            1 => (a[i] + c[i], b[i] + d[i]),
                            2 => (a[i] - c[i], b[i] - d[i]),
                            _ => (-c[i], -d[i]),
                        };
                    }
                    let dst =
                        |l: usize| (4 * k + l) * co * ld + base..(4 * k + l) * co * ld + base + tw;
                    // (Q Aᵀ)_k: q0, q0 + q1, q0 − q1, −q1.
                    dm[dst(0)].copy_from_slice(q0);
                    map2(&mut dm[dst(1)], q0, q1, |a, b| a + b);
                    map2(&mut dm[dst(2)], q0, q1, |a, b| a - b);
                    map2(&mut dm[dst(3)], q1, q1, |a, _| -a);
                }
            }
        }
    })
}

/// y = conv(x, g) + bias [+ residual] given U (as [`transform_weights`] lays it out),
/// `[batch, c_out, h, w]`.
fn convolve(
    x: &[f32],
    u: &[f32],
    bias: &[f32],
    residual: Option<&[f32]>,
    s: ConvShape,
) -> Vec<f32> {
    let (ci, co, hw) = (s.c_in, s.c_out, s.h * s.w);
    let (th, tw) = tiles(&s);
    let t = th * tw;
    let (per_task, par) = split(&s);
    let g = group(&s, per_task);
    let fill = |y: &mut [MaybeUninit<f32>]| {
        y.par_chunks_mut(per_task * co * hw)
            .zip(x.par_chunks(per_task * ci * hw))
            .enumerate()
            .for_each(|(task, (ys, xs))| {
                let mut v = Scratch::take(0, 16 * ci * g * t);
                let mut m = Scratch::take(1, 16 * co * g * t);
                let groups = ys.chunks_mut(g * co * hw).zip(xs.chunks(g * ci * hw));
                for (gi, (yg, xg)) in groups.enumerate() {
                    let ld = xg.len() / (ci * hw) * t;
                    for (b, xb) in xg.chunks(ci * hw).enumerate() {
                        input_transform(xb, &s, &mut v, ld, b * t);
                    }
                    for xi in 0..16 {
                        let (uk, vk) = (&u[xi * ci..], &v[xi * ci * ld..]);
                        let mk = &mut m[xi * co * ld..];
                        matmul(
                            [co, ld, ci],
                            mk,
                            ld,
                            false,
                            uk,
                            [16 * ci, 1],
                            vk,
                            [ld, 1],
                            par,
                        );
                    }
                    for (b, yb) in yg.chunks_mut(co * hw).enumerate() {
                        let r = image_of(residual, task * per_task + gi * g + b, co * hw);
                        output_transform(&m, &s, (ld, b * t), bias, r, yb);
                    }
                }
            });
    };
    // SAFETY: output_transform writes every value of each image (all rows < h, columns < w of
    // every channel), and the images cover y.
    unsafe { written(s.batch * co * hw, fill) }
}

/// y = conv(x, w) + bias [+ residual].
pub fn forward(
    x: &[f32],
    w: &[f32],
    bias: &[f32],
    residual: Option<&[f32]>,
    s: ConvShape,
) -> Vec<f32> {
    let u = transform_weights(s.c_out, s.c_in, |o, c| {
        std::array::from_fn(|k| w[(o * s.c_in + c) * 9 + k])
    });
    convolve(x, &u, bias, residual, s)
}

/// dx from dy: the convolution of dy with the kernels turned 180° and in and out swapped.
pub fn backward_input(w: &[f32], dy: &[f32], s: ConvShape) -> Vec<f32> {
    let u = transform_weights(s.c_in, s.c_out, |c, o| {
        std::array::from_fn(|k| w[(o * s.c_in + c) * 9 + 8 - k])
    });
    let swapped = ConvShape {
        c_in: s.c_out,
        c_out: s.c_in,
        ..s
    };
    convolve(dy, &u, &vec![0.0; s.c_in], None, swapped)
}

/// (dW, d bias) from x and dy.
pub fn backward_weight(x: &[f32], dy: &[f32], s: ConvShape) -> (Vec<f32>, Vec<f32>) {
    let (ci, co, hw) = (s.c_in, s.c_out, s.h * s.w);
    let (th, tw) = tiles(&s);
    let t = th * tw;
    let (per_task, par) = split(&s);
    let g = group(&s, per_task);
    let partials: Vec<(Vec<f32>, Vec<f32>)> = x
        .par_chunks(per_task * ci * hw)
        .zip(dy.par_chunks(per_task * co * hw))
        .map(|(xs, dys)| {
            let mut v = Scratch::take(0, 16 * ci * g * t);
            let mut dm = Scratch::take(1, 16 * co * g * t);
            // dU as `[c_out][16][c_in]`, as transform_weights lays U out.
            let mut du = vec![0f32; 16 * co * ci];
            let mut db = vec![0f32; co];
            let groups = xs.chunks(g * ci * hw).zip(dys.chunks(g * co * hw));
            for (i, (xg, dyg)) in groups.enumerate() {
                let ld = xg.len() / (ci * hw) * t;
                for (b, (xb, dyb)) in xg.chunks(ci * hw).zip(dyg.chunks(co * hw)).enumerate() {
                    input_transform(xb, &s, &mut v, ld, b * t);
                    output_gradient(dyb, &s, &mut dm, ld, b * t);
                }
                for xi in 0..16 {
                    let (mk, vk) = (&dm[xi * co * ld..], &v[xi * ci * ld..]);
                    let uk = &mut du[xi * ci..];
                    matmul(
                        [co, ci, ld],
                        uk,
                        16 * ci,
                        i > 0,
                        mk,
                        [ld, 1],
                        vk,
                        [1, ld],
                        par,
                    );
                }
                for (j, row) in dyg.chunks(hw).enumerate() {
                    db[j % co] += row.iter().sum::<f32>();
                }
            }
            (du, db)
        })
        .collect();
    let mut du = vec![0f32; 16 * co * ci];
    let mut db = vec![0f32; co];
    for (u2, b2) in partials {
        du.iter_mut().zip(&u2).for_each(|(a, b)| *a += b);
        db.iter_mut().zip(&b2).for_each(|(a, b)| *a += b);
    }
    // dg = Gᵀ·dU·G for each kernel.
    let mut dw = vec![0f32; co * ci * 9];
    dw.par_chunks_mut(ci * 9)
        .zip(du.par_chunks(16 * ci))
        .for_each(|(dwo, duo)| {
            for (c, out) in dwo.chunks_exact_mut(9).enumerate() {
                let at = |xi: usize| duo[xi * ci + c];
                // R = Gᵀ·dU (3×4), then dg = R·G.
                let col = |l: usize| (at(l), at(4 + l), at(8 + l), at(12 + l));
                let r: [[f32; 4]; 3] = std::array::from_fn(|i| {
                    std::array::from_fn(|l| {
                        let (a, b, e, d) = col(l);
                        [a + 0.5 * (b + e), 0.5 * (b - e), 0.5 * (b + e) + d][i]
                    })
                });
                for (i, [a, b, e, d]) in r.into_iter().enumerate() {
                    out[3 * i..3 * i + 3].copy_from_slice(&[
                        a + 0.5 * (b + e),
                        0.5 * (b - e),
                        0.5 * (b + e) + d,
                    ]);
                }
            }
        });
    (dw, db)
}
