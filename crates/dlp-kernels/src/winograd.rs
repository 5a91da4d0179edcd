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
//! Tiles of a group of images sit side by side in the products' columns. Each image's input is
//! split into phase-planes (by row and column parity), so that every transform is a few long
//! vectorised passes per channel (see [`columns`]); partial tiles at odd sides read zeros and drop
//! outputs.

use crate::products::{ConvShape, Scratch, image_of, matmul, split, written};
use crate::simd::with_simd;
use rayon::prelude::*;
use std::mem::MaybeUninit;

/// A group's products aim at this many columns (tiles of its images).
const COLUMNS: usize = 256;
/// Fewer input or output channels than this and the products are too small to gain. Measured by
/// `examples/winograd_speed.rs` against [`crate::conv_same`]: 1.2–1.7x faster forward and 1.1–1.4x
/// for the weight gradient at 64–256 channels on sides of 14–32; 0.8–1.1x at 16 and 32 channels.
const MIN_CHANNELS: usize = 64;
/// Images smaller than this on a side go to [`crate::conv_same`] (or the grouped im2col): at 7 and
/// 8 pixels partial tiles and spare columns waste a quarter of the products, and Winograd is
/// 0.85–1.0x as fast forward and 0.7–0.8x for the weight gradient (same example).
const MIN_SIDE: usize = 12;

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

/// Columns an image takes in the products: its tiles row by row, each row of tiles followed by
/// one spare column. With rows of q = tiles + 1, the tile at (t_y, t_x) is column t_y·q + t_x,
/// so the input value at tile offset (a, b) of every tile is one contiguous run of a
/// phase-plane (see [`input_transform`]): each transform is a few long vectorised passes
/// per channel instead of many short ones. The spare columns' outputs are dropped.
fn columns(s: &ConvShape) -> usize {
    let (th, tw) = tiles(s);
    th * (tw + 1)
}

/// Images per group: enough for [`COLUMNS`] columns, balanced within a task of `per_task`.
fn group(s: &ConvShape, per_task: usize) -> usize {
    let want = COLUMNS.div_ceil(columns(s)).clamp(1, per_task.max(1));
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

/// Splits `row` into its even and odd columns (zeros past its end), after `shift` (0 or 1)
/// zero columns: `even[c]` is column 2c − shift of `row`, `odd[c]` column 2c + 1 − shift.
#[inline(always)]
fn deinterleave(row: &[f32], shift: usize, even: &mut [f32], odd: &mut [f32]) {
    even.fill(0.0);
    odd.fill(0.0);
    let (row, even, odd) = match shift {
        0 => (row, even, odd),
        _ => {
            odd[0] = row[0];
            (&row[1..], &mut even[1..], &mut odd[1..])
        }
    };
    let pairs = row.chunks_exact(2);
    if let [last] = pairs.remainder() {
        even[row.len() / 2] = *last;
    }
    for ((e, o), pair) in even.iter_mut().zip(odd.iter_mut()).zip(pairs) {
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

/// Four disjoint runs of `n` values of `v`, `stride` apart from `start`.
#[inline(always)]
fn runs4(v: &mut [f32], start: usize, stride: usize, n: usize) -> [&mut [f32]; 4] {
    let (r0, rest) = v[start..].split_at_mut(stride);
    let (r1, rest) = rest.split_at_mut(stride);
    let (r2, r3) = rest.split_at_mut(stride);
    [&mut r0[..n], &mut r1[..n], &mut r2[..n], &mut r3[..n]]
}

/// One row k of V = Bᵀ·d·B over a run of tiles: E_b = d_ib + sign·d_jb, then
/// V_k = (E_0 − E_2, E_1 + E_2, E_2 − E_1, E_1 − E_3).
#[inline(always)]
fn input_row(di: [&[f32]; 4], dj: [&[f32]; 4], sign: f32, out: [&mut [f32]; 4]) {
    let [v0, v1, v2, v3] = out;
    let n = v0.len();
    let (v1, v2, v3) = (&mut v1[..n], &mut v2[..n], &mut v3[..n]);
    let [a0, a1, a2, a3] = di.map(|s| &s[..n]);
    let [b0, b1, b2, b3] = dj.map(|s| &s[..n]);
    for t in 0..n {
        let e0 = a0[t] + sign * b0[t];
        let e1 = a1[t] + sign * b1[t];
        let e2 = a2[t] + sign * b2[t];
        let e3 = a3[t] + sign * b3[t];
        v0[t] = e0 - e2;
        v1[t] = e1 + e2;
        v2[t] = e2 - e1;
        v3[t] = e1 - e3;
    }
}

/// V_ξ for one image `x` (`[c_in, h, w]`): `v[ξ·c_in·ld + c·ld + col0 + j]` for column j (see
/// [`columns`]). Per channel, the zero-padded input is split by row and column parity into
/// four phase-planes P_ab[r][c] = x[2r + a − 1][2c + b − 1] (rows of q = tiles + 1): the value
/// at offset (a, b) of every tile d is then the run of P at (a mod 2, b mod 2) starting at
/// ⌊a/2⌋·q + ⌊b/2⌋. E = Bᵀ·d (d0 − d2, d1 + d2, d2 − d1, d1 − d3 down the tile) and V = E·B
/// (the same along it) are passes over whole runs.
fn input_transform(x: &[f32], s: &ConvShape, v: &mut [f32], ld: usize, col0: usize) {
    let (th, tw) = tiles(s);
    let (h, w, ci) = (s.h, s.w, s.c_in);
    let q = tw + 1;
    let n = th * q;
    // A plane's last value stays zero: the spare column's run of the last tile row reaches it.
    let plane = (th + 1) * q + 1;
    let mut ph = vec![0f32; 4 * plane];
    with_simd!({
        for c in 0..ci {
            let xc = &x[c * h * w..(c + 1) * h * w];
            for r in 0..=th {
                for a in 0..2 {
                    let (p0, p1) = ph[2 * a * plane..(2 * a + 2) * plane].split_at_mut(plane);
                    let (ev, od) = (&mut p0[r * q..(r + 1) * q], &mut p1[r * q..(r + 1) * q]);
                    match (2 * r + a).checked_sub(1).filter(|&i| i < h) {
                        Some(i) => deinterleave(&xc[i * w..(i + 1) * w], 1, ev, od),
                        None => {
                            ev.fill(0.0);
                            od.fill(0.0);
                        }
                    }
                }
            }
            let d =
                |a: usize, b: usize| &ph[(2 * (a % 2) + b % 2) * plane + a / 2 * q + b / 2..][..n];
            // Row k of Bᵀ·d is d_i − d_j (d_i + d_j for k = 1), then V_k = E_k·B along it.
            for (k, (i, j, sign)) in [(0, 2, -1.0), (1, 2, 1.0), (2, 1, -1.0), (1, 3, -1.0)]
                .into_iter()
                .enumerate()
            {
                let out = runs4(v, 4 * k * ci * ld + c * ld + col0, ci * ld, n);
                let (di, dj) = (
                    std::array::from_fn(|b| d(i, b)),
                    std::array::from_fn(|b| d(j, b)),
                );
                input_row(di, dj, sign, out);
            }
        }
    })
}

/// One image's output (`[c_out, h, w]`, every value written) from M_ξ (`m[ξ·c_out·ld + o·ld +
/// col0 + j]`): Y = Aᵀ·M·A + bias [+ the image's residual], as whole runs of columns, then
/// interleaved into rows.
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
    let q = tw + 1;
    let n = th * q;
    let mut buf = vec![0f32; 4 * n + 2 * q];
    let (yt, line) = buf.split_at_mut(4 * n);
    with_simd!({
        for (o, &b) in bias.iter().enumerate().take(co) {
            let mk: [&[f32]; 16] = std::array::from_fn(|x| &m[x * co * ld + o * ld + col0..][..n]);
            let (y00, rest) = yt.split_at_mut(n);
            let (y01, rest) = rest.split_at_mut(n);
            let (y10, y11) = rest.split_at_mut(n);
            let y11 = &mut y11[..n];
            for t in 0..n {
                let at = |k: usize, l: usize| mk[4 * k + l][t];
                // P = Aᵀ·M: P_0l = M_0l + M_1l + M_2l, P_1l = M_1l − M_2l − M_3l.
                let p0: [f32; 4] = std::array::from_fn(|l| at(0, l) + at(1, l) + at(2, l));
                let p1: [f32; 4] = std::array::from_fn(|l| at(1, l) - at(2, l) - at(3, l));
                // Y = P·A + bias.
                y00[t] = p0[0] + p0[1] + p0[2] + b;
                y01[t] = p0[1] - p0[2] - p0[3] + b;
                y10[t] = p1[0] + p1[1] + p1[2] + b;
                y11[t] = p1[1] - p1[2] - p1[3] + b;
            }
            // Output (2t_y + r, 2t_x + c) is at yt[(2r + c)·n + t_y·q + t_x].
            let plane = &mut y[o * h * w..(o + 1) * h * w];
            for row in 0..h {
                let (ty, r) = (row / 2, row % 2);
                let (y0, y1) = (
                    &yt[2 * r * n + ty * q..][..tw],
                    &yt[(2 * r + 1) * n + ty * q..][..tw],
                );
                for ((pair, &a), &c) in line.chunks_exact_mut(2).zip(y0).zip(y1) {
                    pair[0] = a;
                    pair[1] = c;
                }
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
    })
}

/// dM_ξ = (A·dY·Aᵀ)_ξ for one image's output gradient `dy` (`[c_out, h, w]`), laid out as
/// [`output_transform`] reads M; spare columns get zero, so they add nothing to dU.
fn output_gradient(dy: &[f32], s: &ConvShape, dm: &mut [f32], ld: usize, col0: usize) {
    let (th, tw) = tiles(s);
    let (h, w, co) = (s.h, s.w, s.c_out);
    let q = tw + 1;
    let n = th * q;
    let mut buf = vec![0f32; 6 * n];
    let (dd, qk) = buf.split_at_mut(4 * n);
    with_simd!({
        for o in 0..co {
            let plane = &dy[o * h * w..(o + 1) * h * w];
            // dY_rc at dd[(2r + c)·n + t_y·q + t_x] = dy[2t_y + r][2t_x + c] (zero past the edge).
            for ty in 0..th {
                for r in 0..2 {
                    let (d0, d1) = dd[2 * r * n..(2 * r + 2) * n].split_at_mut(n);
                    let (ev, od) = (&mut d0[ty * q..(ty + 1) * q], &mut d1[ty * q..(ty + 1) * q]);
                    let row = 2 * ty + r;
                    if row < h {
                        deinterleave(&plane[row * w..(row + 1) * w], 0, ev, od);
                    } else {
                        ev.fill(0.0);
                        od.fill(0.0);
                    }
                }
            }
            let at = |r: usize, c: usize| &dd[(2 * r + c) * n..(2 * r + c + 1) * n];
            for k in 0..4 {
                // Q_k = (A·dY)_k: dY_0, dY_0 + dY_1, dY_0 − dY_1, −dY_1 (each columns 0 and 1).
                let (q0, q1) = qk.split_at_mut(n);
                for (c, out) in [q0, q1].into_iter().enumerate() {
                    match k {
                        0 => out.copy_from_slice(at(0, c)),
                        1 => map2(out, at(0, c), at(1, c), |a, b| a + b),
                        2 => map2(out, at(0, c), at(1, c), |a, b| a - b),
                        _ => map2(out, at(1, c), at(1, c), |a, _| -a),
                    }
                }
                let (q0, q1) = qk.split_at(n);
                let dst = |l: usize| {
                    let start = (4 * k + l) * co * ld + o * ld + col0;
                    start..start + n
                };
                // (Q·Aᵀ)_k: Q_k0, Q_k0 + Q_k1, Q_k0 − Q_k1, −Q_k1.
                dm[dst(0)].copy_from_slice(q0);
                map2(&mut dm[dst(1)], q0, q1, |a, b| a + b);
                map2(&mut dm[dst(2)], q0, q1, |a, b| a - b);
                map2(&mut dm[dst(3)], q1, q1, |a, _| -a);
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
    let t = columns(&s);
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
    let t = columns(&s);
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
