//! Stride-1 convolutions with "same" padding (output as large as the input: an odd k_h×k_w kernel,
//! padding ((k_h − 1)/2, (k_w − 1)/2)), without im2col.
//!
//! For each column shift j of the kernel, X_j is the input moved j − p_w columns (zeros where a
//! row runs off the image) with p_h zero rows above and below, `[c_in, h + 2p_h, w]`. Stacked over
//! j, row q = j·c_in + c of the stack at offset i·w is input channel c at kernel tap (i, j) for
//! every output position, so for kernel row i
//!
//! y += W_i · X[i·w..],   W_i[o, j·c_in + c] = W[o, c, i, j],
//!
//! one product with K = k_w·c_in over a matrix of constant row stride (h + 2p_h)·w: k_h products
//! over k_w shifted copies of the input, where im2col writes k_h·k_w. The gradients run the same
//! way: dX[i·w..] += W_iᵀ·dy (then each shifted copy is added back onto dx), dW_i += dy·X[i·w..]ᵀ.

use crate::products::{ConvShape, Scratch, image_of, init_rows, matmul, split};
use crate::simd::with_simd;
use rayon::prelude::*;
use std::mem::MaybeUninit;

/// Whether `s` is a convolution this module computes.
pub fn serves(s: &ConvShape) -> bool {
    let [kh, kw] = s.kernel;
    s.stride == [1, 1] && kh % 2 == 1 && kw % 2 == 1 && s.padding == [kh / 2, kw / 2] && kh * kw > 1
}

/// Sizes of the shifted stack: (rows of one copy, values of one channel's copy).
fn stack(s: &ConvShape) -> (usize, usize) {
    let rows = s.h + 2 * s.padding[0];
    (rows, rows * s.w)
}

/// For the copy shifted by `j` − p_w columns: the range of positions t of the image (flattened
/// `h·w`) read at stack position p_h·w + t − shift, and the valid columns [c0, c1) of a stack row.
fn shift(s: &ConvShape, j: usize) -> (isize, [usize; 2], [usize; 2]) {
    let sh = j as isize - s.padding[1] as isize;
    let (w, hw) = (s.w as isize, (s.h * s.w) as isize);
    let cols = [(-sh).clamp(0, w) as usize, (w - sh).clamp(0, w) as usize];
    // Stack positions u = p_h·w + v, v in [max(0, −sh), hw − max(0, sh)), read image v + sh.
    let v = [
        (-sh).clamp(0, hw) as usize,
        (hw - sh.max(0)).clamp(0, hw) as usize,
    ];
    (sh, v, cols)
}

/// The stack of shifted copies of one image `x` (`[c_in, h, w]`) into `buf`.
fn build(x: &[f32], s: &ConvShape, buf: &mut [f32]) {
    let (_, per) = stack(s);
    let (w, top) = (s.w, s.padding[0] * s.w);
    let hw = s.h * w;
    with_simd!({
        for j in 0..s.kernel[1] {
            let (sh, [v0, v1], [c0, c1]) = shift(s, j);
            for c in 0..s.c_in {
                let plane = &x[c * hw..(c + 1) * hw];
                let dst = &mut buf[(j * s.c_in + c) * per..][..per];
                dst[..top].fill(0.0);
                dst[top + hw..].fill(0.0);
                let body = &mut dst[top..top + hw];
                body[..v0].fill(0.0);
                body[v1.max(v0)..].fill(0.0);
                if v0 < v1 {
                    let a = (v0 as isize + sh) as usize;
                    body[v0..v1].copy_from_slice(&plane[a..a + v1 - v0]);
                }
                for row in body.chunks_exact_mut(w) {
                    row[..c0].fill(0.0);
                    row[c1.max(c0)..].fill(0.0);
                }
            }
        }
    })
}

/// Input channels from which the weight gradient reads a position-major stack (a row of fewer
/// values than a vector register gains nothing: the first layer of an RGB or grey network).
const TRANSPOSE_FROM: usize = 16;

/// The stack of [`build`] stored position-major, value (q, u) at u·k_w·c_in + q, for the weight
/// gradient: there the product runs over positions, and `gemm` wants the other operand's rows
/// (the stack's) contiguous or copies them into place itself, three times an image (measured:
/// the weight gradient 15–30% faster this way on the MNIST U-Net's shapes, with a temporary
/// switch between the layouts, since removed).
fn build_transposed(x: &[f32], s: &ConvShape, buf: &mut [f32]) {
    let k = s.kernel[1] * s.c_in;
    let (w, top) = (s.w, s.padding[0] * s.w);
    let hw = s.h * w;
    buf.fill(0.0);
    with_simd!({
        for j in 0..s.kernel[1] {
            let (sh, _, [c0, c1]) = shift(s, j);
            for y in 0..s.h {
                for col in c0..c1 {
                    let u = top + y * w + col;
                    let src = (y * w + col) as isize + sh;
                    let dst = &mut buf[u * k + j * s.c_in..u * k + (j + 1) * s.c_in];
                    for (c, d) in dst.iter_mut().enumerate() {
                        *d = x[c * hw + src as usize];
                    }
                }
            }
        }
    })
}

/// Adds the gradient of the stack `dbuf` back onto the image gradient `dx` (the adjoint of
/// [`build`]); clobbers `dbuf`.
fn fold(dbuf: &mut [f32], s: &ConvShape, dx: &mut [f32]) {
    let (_, per) = stack(s);
    let (w, top) = (s.w, s.padding[0] * s.w);
    let hw = s.h * w;
    with_simd!({
        for j in 0..s.kernel[1] {
            let (sh, [v0, v1], [c0, c1]) = shift(s, j);
            if v0 >= v1 || c0 >= c1 {
                continue;
            }
            for c in 0..s.c_in {
                let body = &mut dbuf[(j * s.c_in + c) * per + top..][..hw];
                for row in body.chunks_exact_mut(w) {
                    row[..c0].fill(0.0);
                    row[c1..].fill(0.0);
                }
                let a = (v0 as isize + sh) as usize;
                let plane = &mut dx[c * hw..(c + 1) * hw];
                for (d, v) in plane[a..a + v1 - v0].iter_mut().zip(&body[v0..v1]) {
                    *d += v;
                }
            }
        }
    })
}

/// Calls `f(a, b)` for every weight W[o, c, i, j], with `a` its index in burn's layout
/// `[c_out, c_in, k_h, k_w]` and `b` its index in the k_h matrices `[c_out, k_w·c_in]` of
/// [`by_rows`].
fn each_weight(s: &ConvShape, mut f: impl FnMut(usize, usize)) {
    let ([kh, kw], ci, co) = (s.kernel, s.c_in, s.c_out);
    for o in 0..co {
        for c in 0..ci {
            for i in 0..kh {
                for j in 0..kw {
                    f(
                        ((o * ci + c) * kh + i) * kw + j,
                        ((i * co + o) * kw + j) * ci + c,
                    );
                }
            }
        }
    }
}

/// The weights as k_h matrices `[c_out, k_w·c_in]`, W_i[o, j·c_in + c] = W[o, c, i, j].
fn by_rows(w: &[f32], s: &ConvShape) -> Vec<f32> {
    let mut out = vec![0f32; w.len()];
    each_weight(s, |a, b| out[b] = w[a]);
    out
}

/// y = conv(x, w) + bias [+ residual], into `y` (every value written).
pub fn forward(
    x: &[f32],
    w: &[f32],
    bias: &[f32],
    residual: Option<&[f32]>,
    s: ConvShape,
    y: &mut [MaybeUninit<f32>],
) {
    let ([kh, kw], n, co, k) = (s.kernel, s.h * s.w, s.c_out, s.kernel[1] * s.c_in);
    let (_, per) = stack(&s);
    let wr = by_rows(w, &s);
    let (per_task, par) = split(&s);
    y.par_chunks_mut(per_task * co * n)
        .zip(x.par_chunks(per_task * s.c_in * n))
        .enumerate()
        .for_each(|(task, (ys, xs))| {
            let mut buf = Scratch::take(0, kw * s.c_in * per);
            for (b, (yb, xb)) in ys.chunks_mut(co * n).zip(xs.chunks(s.c_in * n)).enumerate() {
                build(xb, &s, &mut buf);
                let r = image_of(residual, task * per_task + b, co * n);
                let yb = init_rows(yb, bias, n, r);
                for i in 0..kh {
                    let wi = &wr[i * co * k..(i + 1) * co * k];
                    matmul(
                        [co, n, k],
                        yb,
                        n,
                        true,
                        wi,
                        [k, 1],
                        &buf[i * s.w..],
                        [per, 1],
                        par,
                    );
                }
            }
        });
}

/// dx from dy.
pub fn backward_input(w: &[f32], dy: &[f32], s: ConvShape) -> Vec<f32> {
    let ([kh, kw], n, co, k) = (s.kernel, s.h * s.w, s.c_out, s.kernel[1] * s.c_in);
    let (_, per) = stack(&s);
    let wr = by_rows(w, &s);
    let (per_task, par) = split(&s);
    let mut dx = vec![0f32; s.batch * s.c_in * n];
    dx.par_chunks_mut(per_task * s.c_in * n)
        .zip(dy.par_chunks(per_task * co * n))
        .for_each(|(dxs, dys)| {
            let mut dbuf = Scratch::take(0, kw * s.c_in * per);
            for (dxb, dyb) in dxs.chunks_mut(s.c_in * n).zip(dys.chunks(co * n)) {
                // Kernel row 0 writes the first h·w values of each stack row; the rest start at 0.
                for row in dbuf.chunks_exact_mut(per) {
                    row[n..].fill(0.0);
                }
                for i in 0..kh {
                    let wi = &wr[i * co * k..(i + 1) * co * k];
                    // dX[i·w..] (rows `per` apart) += W_iᵀ·dy.
                    let dst = &mut dbuf[i * s.w..];
                    matmul([k, n, co], dst, per, i > 0, wi, [1, k], dyb, [n, 1], par);
                }
                fold(&mut dbuf, &s, dxb);
            }
        });
    dx
}

/// (dW, d bias) from x and dy.
pub fn backward_weight(x: &[f32], dy: &[f32], s: ConvShape) -> (Vec<f32>, Vec<f32>) {
    let ([kh, kw], n, co, k) = (s.kernel, s.h * s.w, s.c_out, s.kernel[1] * s.c_in);
    let (_, per) = stack(&s);
    let (per_task, par) = split(&s);
    let partials: Vec<(Vec<f32>, Vec<f32>)> = x
        .par_chunks(per_task * s.c_in * n)
        .zip(dy.par_chunks(per_task * co * n))
        .map(|(xs, dys)| {
            let mut buf = Scratch::take(0, kw * s.c_in * per);
            let mut dwr = vec![0f32; kh * co * k];
            let mut db = vec![0f32; co];
            for (b, (xb, dyb)) in xs.chunks(s.c_in * n).zip(dys.chunks(co * n)).enumerate() {
                if s.c_in >= TRANSPOSE_FROM {
                    build_transposed(xb, &s, &mut buf);
                } else {
                    build(xb, &s, &mut buf);
                }
                // dW_i += dy·X[i·w..]ᵀ, X's element (position p, row q) at p·k + q (transposed:
                // read in place) or q·per + p (packed by gemm).
                let (at, strides) = if s.c_in >= TRANSPOSE_FROM {
                    (s.w * k, [k, 1])
                } else {
                    (s.w, [1, per])
                };
                for i in 0..kh {
                    let dwi = &mut dwr[i * co * k..(i + 1) * co * k];
                    let xi = &buf[i * at..];
                    matmul([co, k, n], dwi, k, b > 0, dyb, [n, 1], xi, strides, par);
                }
                for (d, row) in db.iter_mut().zip(dyb.chunks(n)) {
                    *d += row.iter().sum::<f32>();
                }
            }
            (dwr, db)
        })
        .collect();
    let mut dwr = vec![0f32; kh * co * k];
    let mut db = vec![0f32; co];
    for (w2, b2) in partials {
        dwr.iter_mut().zip(&w2).for_each(|(a, b)| *a += b);
        db.iter_mut().zip(&b2).for_each(|(a, b)| *a += b);
    }
    // Back to [c_out, c_in, k_h, k_w].
    let mut dw = vec![0f32; dwr.len()];
    each_weight(&s, |a, b| dw[a] = dwr[b]);
    (dw, db)
}
