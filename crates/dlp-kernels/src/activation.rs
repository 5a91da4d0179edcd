//! Element functions (e^x, σ(x), SiLU(x) = x·σ(x)) and the softmax over a tensor's last axis,
//! forward and backward, vectorised ([`crate::simd`]) and split among the pool's threads.
//!
//! Gradients: d e^x = e^x·dy, dσ = σ(1 − σ)·dy, d SiLU = σ(x)(1 + x(1 − σ(x)))·dy; for
//! y = softmax(x) along a row, dx = y ⊙ (dy − Σ dy·y).

use crate::products::written;
use crate::simd::{exp, sigmoid, silu, silu_grad, sum, with_simd};
use rayon::prelude::*;
use std::mem::MaybeUninit;

/// Values per task: small tensors stay on one thread.
const CHUNK: usize = 1 << 14;

/// An element function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unary {
    Exp,
    Sigmoid,
    Silu,
}

/// `o[i] = g(x[i])`, one loop per function so that it vectorises.
#[inline(always)]
fn map(o: &mut [MaybeUninit<f32>], x: &[f32], g: impl Fn(f32) -> f32) {
    for (o, &v) in o.iter_mut().zip(x) {
        o.write(g(v));
    }
}

/// `d[i] *= g(x[i], y[i])`.
#[inline(always)]
fn scale(d: &mut [f32], x: &[f32], y: &[f32], g: impl Fn(f32, f32) -> f32) {
    for ((d, &x), &y) in d.iter_mut().zip(x).zip(y) {
        *d *= g(x, y);
    }
}

/// `f(x)` for every value.
pub fn forward(x: &[f32], f: Unary) -> Vec<f32> {
    let fill = |out: &mut [MaybeUninit<f32>]| {
        out.par_chunks_mut(CHUNK)
            .zip(x.par_chunks(CHUNK))
            .for_each(|(o, x)| {
                with_simd!(match f {
                    Unary::Exp => map(o, x, exp),
                    Unary::Sigmoid => map(o, x, sigmoid),
                    Unary::Silu => map(o, x, silu),
                })
            });
    };
    // SAFETY: the chunks cover `out`, and each loop writes every value of its chunk.
    unsafe { written(x.len(), fill) }
}

/// dx from the input `x`, the output `y = f(x)` and `dy`.
pub fn backward(x: &[f32], y: &[f32], dy: &[f32], f: Unary) -> Vec<f32> {
    let mut dx = dy.to_vec();
    dx.par_chunks_mut(CHUNK)
        .zip(x.par_chunks(CHUNK).zip(y.par_chunks(CHUNK)))
        .for_each(|(d, (x, y))| {
            with_simd!(match f {
                Unary::Exp => scale(d, x, y, |_, y| y),
                Unary::Sigmoid => scale(d, x, y, |_, y| y * (1.0 - y)),
                Unary::Silu => scale(d, x, y, |x, _| silu_grad(x)),
            })
        });
    dx
}

/// Rows per task for rows of `n` values.
fn rows_per_task(n: usize) -> usize {
    CHUNK.div_ceil(n.max(1))
}

/// The softmax of each row of `n` values: e^(x − max) / Σ e^(x − max).
pub fn softmax(x: &[f32], n: usize) -> Vec<f32> {
    let per = rows_per_task(n) * n;
    let fill = |out: &mut [MaybeUninit<f32>]| {
        out.par_chunks_mut(per)
            .zip(x.par_chunks(per))
            .for_each(|(o, x)| {
                with_simd!({
                    for (o, x) in o.chunks_mut(n).zip(x.chunks(n)) {
                        softmax_row(x, o);
                    }
                })
            });
    };
    // SAFETY: the chunks cover `out` (rows of n), and each row's loop writes every value.
    unsafe { written(x.len(), fill) }
}

/// One row's softmax into `o` (every value written).
#[inline(always)]
fn softmax_row(x: &[f32], o: &mut [MaybeUninit<f32>]) {
    let max = x.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
    for (o, &v) in o.iter_mut().zip(x) {
        o.write(exp(v - max));
    }
    // SAFETY: every value of `o` was written just above (o and x have the row's length).
    let o = unsafe { &mut *(o as *mut [MaybeUninit<f32>] as *mut [f32]) };
    let inv = 1.0 / sum(o);
    o.iter_mut().for_each(|e| *e *= inv);
}

/// Σ a·b in 16 lanes.
#[inline(always)]
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 16];
    let (ac, bc) = (a.chunks_exact(16), b.chunks_exact(16));
    let rest: f32 = ac
        .remainder()
        .iter()
        .zip(bc.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ac.zip(bc) {
        for i in 0..16 {
            acc[i] += x[i] * y[i];
        }
    }
    acc.iter().sum::<f32>() + rest
}

/// dx = y ⊙ (dy − Σ dy·y) for each row of `n` values, from the softmax's output `y`.
pub fn softmax_backward(y: &[f32], dy: &[f32], n: usize) -> Vec<f32> {
    let per = rows_per_task(n) * n;
    let mut dx = dy.to_vec();
    dx.par_chunks_mut(per)
        .zip(y.par_chunks(per))
        .for_each(|(d, y)| {
            with_simd!({
                for (d, y) in d.chunks_mut(n).zip(y.chunks(n)) {
                    let dot = dot(d, y);
                    for (d, &y) in d.iter_mut().zip(y) {
                        *d = y * (*d - dot);
                    }
                }
            })
        });
    dx
}
