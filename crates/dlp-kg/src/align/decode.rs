//! From features to alignments: cosine similarity, Sinkhorn normalisation (the soft one-to-one
//! constraint), ranking metrics, and the confident pairs that bootstrapping adds.
//!
//! Sinkhorn (Cuturi 2013) turns a similarity matrix S into a near doubly-stochastic one:
//! P = exp(S / τ), then rows and columns are scaled to sum to 1, alternately, `iters` times.
//! Each row is shifted by its maximum before `exp` (a row scale, which the first normalisation
//! removes anyway), so nothing overflows.
//!
//! ```
//! use dlp_kg::align::decode::{sinkhorn, metrics};
//! // Row 1 prefers column 0, but column 0 belongs to row 0 far more clearly.
//! let mut s = vec![0.9, 0.0, 0.6, 0.5];
//! assert_eq!(metrics(&s, 2).hits_at_1, 0.5);
//! sinkhorn(&mut s, 2, 2, 0.05, 10);
//! assert_eq!(metrics(&s, 2).hits_at_1, 1.0);
//! ```

use crate::linalg::matmul_abt;
use rayon::prelude::*;

/// Hits@1, Hits@10 and MRR of ranking each left entity's gold partner among the candidates.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AlignMetrics {
    pub hits_at_1: f64,
    pub hits_at_10: f64,
    pub mrr: f64,
    /// Number of ranked links.
    pub count: usize,
}

/// The rows `idx` of a row-major matrix with `d` columns.
pub fn gather(x: &[f32], d: usize, idx: &[u32]) -> Vec<f32> {
    let mut out = vec![0.0f32; idx.len() * d];
    out.par_chunks_mut(d.max(1))
        .zip(idx)
        .for_each(|(o, &i)| o.copy_from_slice(&x[i as usize * d..(i as usize + 1) * d]));
    out
}

/// S += X_left X_rightᵀ (`left.len() × right.len()`), accumulated into `s` by the GEMM.
pub fn add_similarity(x: &[f32], d: usize, left: &[u32], right: &[u32], s: &mut [f32]) {
    let (a, b) = (gather(x, d, left), gather(x, d, right));
    matmul_abt(&a, &b, left.len(), right.len(), d, s, true);
}

/// Sinkhorn normalisation of an `m × n` matrix in place, temperature `tau`.
pub fn sinkhorn(s: &mut [f32], m: usize, n: usize, tau: f32, iters: usize) {
    assert_eq!(s.len(), m * n);
    s.par_chunks_mut(n.max(1)).for_each(|row| {
        let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        row.iter_mut().for_each(|v| {
            let z = (*v - max) / tau;
            *v = if z < -80.0 { 0.0 } else { z.exp() };
        });
    });
    for _ in 0..iters {
        s.par_chunks_mut(n.max(1)).for_each(|row| {
            let sum: f32 = row.iter().sum();
            if sum > 0.0 {
                row.iter_mut().for_each(|v| *v /= sum);
            }
        });
        let cols = s
            .par_chunks(n.max(1))
            .fold(
                || vec![0.0f32; n],
                |mut acc, row| {
                    acc.iter_mut().zip(row).for_each(|(a, v)| *a += v);
                    acc
                },
            )
            .reduce(
                || vec![0.0f32; n],
                |mut a, b| {
                    a.iter_mut().zip(&b).for_each(|(x, y)| *x += y);
                    a
                },
            );
        s.par_chunks_mut(n.max(1)).for_each(|row| {
            row.iter_mut().zip(&cols).for_each(|(v, &c)| {
                if c > 0.0 {
                    *v /= c
                }
            })
        });
    }
}

/// Metrics of a square `m × m` score matrix whose gold pairs are on the diagonal; ties count by
/// the realistic rank (the mean of the optimistic and pessimistic ranks).
pub fn metrics(s: &[f32], m: usize) -> AlignMetrics {
    let ranks: Vec<f64> = s
        .par_chunks(m.max(1))
        .enumerate()
        .map(|(i, row)| {
            let g = row[i];
            let greater = row.iter().filter(|&&v| v > g).count();
            let equal = row.iter().filter(|&&v| v == g).count() - 1;
            1.0 + greater as f64 + equal as f64 / 2.0
        })
        .collect();
    let count = ranks.len().max(1) as f64;
    AlignMetrics {
        hits_at_1: ranks.iter().filter(|&&r| r <= 1.0).count() as f64 / count,
        hits_at_10: ranks.iter().filter(|&&r| r <= 10.0).count() as f64 / count,
        mrr: ranks.iter().map(|r| 1.0 / r).sum::<f64>() / count,
        count: ranks.len(),
    }
}

/// Mutual best pairs (i, j, s_ij) of an `m × n` matrix with s_ij above `threshold`: each row and
/// column appears at most once, so the result is a one-to-one matching.
pub fn mutual_best(s: &[f32], m: usize, n: usize, threshold: f32) -> Vec<(usize, usize, f32)> {
    let argmax = |it: &mut dyn Iterator<Item = (usize, f32)>| {
        it.fold((usize::MAX, f32::NEG_INFINITY), |b, (j, v)| {
            if v > b.1 { (j, v) } else { b }
        })
    };
    let row_best: Vec<(usize, f32)> = (0..m)
        .into_par_iter()
        .map(|i| argmax(&mut s[i * n..(i + 1) * n].iter().copied().enumerate()))
        .collect();
    let col_best: Vec<usize> = (0..n)
        .into_par_iter()
        .map(|j| argmax(&mut (0..m).map(|i| (i, s[i * n + j]))).0)
        .collect();
    row_best
        .iter()
        .enumerate()
        .filter(|&(i, &(j, v))| j != usize::MAX && v > threshold && col_best[j] == i)
        .map(|(i, &(j, v))| (i, j, v))
        .collect()
}
