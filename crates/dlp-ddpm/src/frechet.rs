//! The Fréchet distance between two Gaussians fitted to feature sets (the statistic of FID):
//! `d² = |μ₁ − μ₂|² + Tr(Σ₁) + Tr(Σ₂) − 2 Tr((Σ₁^{½} Σ₂ Σ₁^{½})^{½})`, all in f64.
//!
//! The trace of the square root is where implementations differ. pytorch-fid takes
//! `scipy.linalg.sqrtm(Σ₁Σ₂)` (a Schur decomposition of a non-symmetric product, which can turn
//! complex or non-finite when the covariances are singular; it then adds 10⁻⁶·I). We use the
//! symmetric form: with Σ₁ = V diag(w) Vᵀ, the eigenvalues of Σ₁^{½} Σ₂ Σ₁^{½} are those of
//! D Vᵀ Σ₂ V D (D = diag(√w)), a symmetric positive semi-definite matrix whose eigenvalues come
//! from a Householder tridiagonalisation and implicit QL iterations (EISPACK's `tred2`/`tql2`);
//! eigenvalues below 0 (rounding) count as 0. This needs no regularisation, so singular
//! covariances (fewer samples than dimensions) are handled as they are.
//!
//! ```
//! use dlp_ddpm::frechet::frechet_distance;
//! let a = vec![vec![0.0, 0.0], vec![2.0, 0.0], vec![0.0, 2.0], vec![2.0, 2.0]];
//! let b: Vec<Vec<f64>> = a.iter().map(|x| vec![x[0] + 1.0, x[1]]).collect();
//! assert!((frechet_distance(&a, &b) - 1.0).abs() < 1e-9); // a shift of 1
//! ```

/// A Gaussian fitted to `d`-dimensional samples: mean and (unbiased) covariance, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Gaussian {
    pub mean: Vec<f64>,
    pub cov: Vec<f64>,
    pub d: usize,
}

impl Gaussian {
    /// Fits `n = rows.len() / d` samples, one per row of `rows`.
    pub fn fit(rows: &[f64], d: usize) -> Self {
        let n = rows.len() / d.max(1);
        let mut mean = vec![0.0; d];
        for row in rows.chunks_exact(d) {
            for (m, v) in mean.iter_mut().zip(row) {
                *m += v;
            }
        }
        mean.iter_mut().for_each(|m| *m /= n.max(1) as f64);
        let centred: Vec<f64> = rows
            .chunks_exact(d)
            .flat_map(|r| r.iter().zip(&mean).map(|(v, m)| v - m))
            .collect();
        // cov = Xᵀ X / (n − 1), X the centred samples [n, d].
        let mut cov = vec![0.0; d * d];
        matmul(&mut cov, &centred, true, &centred, false, [d, n, d]);
        let denom = (n.max(2) - 1) as f64;
        cov.iter_mut().for_each(|c| *c /= denom);
        Self { mean, cov, d }
    }

    /// [`Gaussian::fit`] of f32 samples (Inception features), computed in f64.
    pub fn fit_f32(rows: &[f32], d: usize) -> Self {
        Self::fit(&rows.iter().map(|&v| f64::from(v)).collect::<Vec<_>>(), d)
    }
}

/// `dst [m, p] = op(a) · op(b)`, `op(a)` `[m, k]`: `a` is stored `[k, m]` when `ta`, else
/// `[m, k]` (row-major); `b` likewise with `[k, p]`.
fn matmul(dst: &mut [f64], a: &[f64], ta: bool, b: &[f64], tb: bool, [m, k, p]: [usize; 3]) {
    let (a_rs, a_cs) = if ta { (1, m) } else { (k, 1) };
    let (b_rs, b_cs) = if tb { (1, k) } else { (p, 1) };
    let threads = rayon::current_num_threads();
    // SAFETY: the strides describe matrices inside the given slices (checked by the asserts).
    assert!(a.len() >= m * k && b.len() >= k * p && dst.len() >= m * p);
    unsafe {
        gemm::gemm(
            m,
            p,
            k,
            dst.as_mut_ptr(),
            1,
            p as isize,
            false,
            a.as_ptr(),
            a_cs as isize,
            a_rs as isize,
            b.as_ptr(),
            b_cs as isize,
            b_rs as isize,
            0.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::Rayon(threads),
        );
    }
}

/// The Gram matrix `dst [m, m] = P Qᵀ` of the rows of `p` and `q` (`[m, d]` each).
pub fn gram(dst: &mut [f64], p: &[f64], q: &[f64], m: usize, d: usize) {
    matmul(dst, p, false, q, true, [m, d, m]);
}

/// Eigenvalues of the symmetric `n×n` matrix `a` (row-major), ascending, and, when `vectors`,
/// the matching unit eigenvectors as the rows of the second result.
pub fn symmetric_eigen(a: &[f64], n: usize, vectors: bool) -> (Vec<f64>, Vec<f64>) {
    if n == 0 {
        return (vec![], vec![]);
    }
    // W holds Vᵀ of EISPACK's V (a symmetric start, so W = A), which keeps every inner loop on
    // contiguous memory: V[r][c] is w[c·n + r].
    let mut w = a.to_vec();
    let (mut d, mut e) = (vec![0.0; n], vec![0.0; n]);
    tred2(&mut w, &mut d, &mut e, n, vectors);
    tql2(&mut w, &mut d, &mut e, n, vectors);
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&i, &j| d[i].total_cmp(&d[j]));
    let values = order.iter().map(|&i| d[i]).collect();
    let vecs = if vectors {
        order
            .iter()
            .flat_map(|&i| w[i * n..(i + 1) * n].to_vec())
            .collect()
    } else {
        vec![]
    };
    (values, vecs)
}

/// Householder reduction to tridiagonal form (EISPACK `tred2`, as in JAMA), with the
/// transformation accumulated when `vectors`; `w` is Vᵀ.
#[allow(clippy::needless_range_loop)]
fn tred2(w: &mut [f64], d: &mut [f64], e: &mut [f64], n: usize, vectors: bool) {
    let at = |r: usize, c: usize| c * n + r;
    for j in 0..n {
        d[j] = w[at(n - 1, j)];
    }
    for i in (1..n).rev() {
        let scale: f64 = d[..i].iter().map(|x| x.abs()).sum();
        let mut h = 0.0;
        if scale == 0.0 {
            e[i] = d[i - 1];
            for j in 0..i {
                d[j] = w[at(i - 1, j)];
                w[at(i, j)] = 0.0;
                w[at(j, i)] = 0.0;
            }
        } else {
            for k in 0..i {
                d[k] /= scale;
                h += d[k] * d[k];
            }
            let mut f = d[i - 1];
            let mut g = h.sqrt();
            if f > 0.0 {
                g = -g;
            }
            e[i] = scale * g;
            h -= f * g;
            d[i - 1] = f - g;
            e[..i].iter_mut().for_each(|x| *x = 0.0);
            for j in 0..i {
                f = d[j];
                w[at(j, i)] = f;
                g = e[j] + w[at(j, j)] * f;
                // Column j of V below the diagonal is row j of w.
                let col = &w[j * n + j + 1..j * n + i];
                for (k, &v) in (j + 1..i).zip(col) {
                    g += v * d[k];
                    e[k] += v * f;
                }
                e[j] = g;
            }
            f = 0.0;
            for j in 0..i {
                e[j] /= h;
                f += e[j] * d[j];
            }
            let hh = f / (h + h);
            for j in 0..i {
                e[j] -= hh * d[j];
            }
            for j in 0..i {
                let (f, g) = (d[j], e[j]);
                let col = &mut w[j * n + j..j * n + i];
                for (v, k) in col.iter_mut().zip(j..i) {
                    *v -= f * e[k] + g * d[k];
                }
                d[j] = w[at(i - 1, j)];
                w[at(i, j)] = 0.0;
            }
        }
        d[i] = h;
    }
    if !vectors {
        // The reduction leaves the tridiagonal's diagonal on V's diagonal.
        for j in 0..n {
            d[j] = w[at(j, j)];
        }
        e[0] = 0.0;
        return;
    }
    for i in 0..n - 1 {
        w[at(n - 1, i)] = w[at(i, i)];
        w[at(i, i)] = 1.0;
        let h = d[i + 1];
        if h != 0.0 {
            for k in 0..=i {
                d[k] = w[at(k, i + 1)] / h;
            }
            for j in 0..=i {
                let (cj, ci) = (j * n, (i + 1) * n);
                let g: f64 = (0..=i).map(|k| w[ci + k] * w[cj + k]).sum();
                for k in 0..=i {
                    w[cj + k] -= g * d[k];
                }
            }
        }
        for k in 0..=i {
            w[at(k, i + 1)] = 0.0;
        }
    }
    for j in 0..n {
        d[j] = w[at(n - 1, j)];
        w[at(n - 1, j)] = 0.0;
    }
    w[at(n - 1, n - 1)] = 1.0;
    e[0] = 0.0;
}

/// Implicit QL iterations on the tridiagonal (d, e) (EISPACK `tql2`); rotates the rows of `w`
/// (the eigenvectors) when `vectors`.
fn tql2(w: &mut [f64], d: &mut [f64], e: &mut [f64], n: usize, vectors: bool) {
    for i in 1..n {
        e[i - 1] = e[i];
    }
    e[n - 1] = 0.0;
    let (mut f, mut tst1) = (0.0f64, 0.0f64);
    let eps = f64::EPSILON;
    for l in 0..n {
        tst1 = tst1.max(d[l].abs() + e[l].abs());
        let mut m = l;
        while m < n && e[m].abs() > eps * tst1 {
            m += 1;
        }
        let m = m.min(n - 1);
        if m > l {
            for _ in 0..1000 {
                let mut g = d[l];
                let mut p = (d[l + 1] - g) / (2.0 * e[l]);
                let mut r = p.hypot(1.0);
                if p < 0.0 {
                    r = -r;
                }
                d[l] = e[l] / (p + r);
                d[l + 1] = e[l] * (p + r);
                let dl1 = d[l + 1];
                let mut h = g - d[l];
                for x in &mut d[l + 2..] {
                    *x -= h;
                }
                f += h;
                p = d[m];
                let (mut c, mut c2, mut c3) = (1.0, 1.0, 1.0);
                let el1 = e[l + 1];
                let (mut s, mut s2) = (0.0, 0.0);
                for i in (l..m).rev() {
                    c3 = c2;
                    c2 = c;
                    s2 = s;
                    g = c * e[i];
                    h = c * p;
                    r = p.hypot(e[i]);
                    e[i + 1] = s * r;
                    s = e[i] / r;
                    c = p / r;
                    p = c * d[i] - s * g;
                    d[i + 1] = h + s * (c * g + s * d[i]);
                    if vectors {
                        let (lo, hi) = w.split_at_mut((i + 1) * n);
                        let (vi, vi1) = (&mut lo[i * n..], &mut hi[..n]);
                        for (a, b) in vi.iter_mut().zip(vi1.iter_mut()) {
                            let h = *b;
                            *b = s * *a + c * h;
                            *a = c * *a - s * h;
                        }
                    }
                }
                p = -s * s2 * c3 * el1 * e[l] / dl1;
                e[l] = s * p;
                d[l] = c * p;
                if e[l].abs() <= eps * tst1 {
                    break;
                }
            }
        }
        d[l] += f;
        e[l] = 0.0;
    }
}

/// The Fréchet distance (squared, as FID reports it) between two Gaussians.
pub fn frechet(a: &Gaussian, b: &Gaussian) -> f64 {
    let n = a.d;
    let (w, v) = symmetric_eigen(&a.cov, n, true);
    // B = V Σ₂ Vᵀ with V's rows the eigenvectors; then D B D.
    let mut tmp = vec![0.0; n * n];
    matmul(&mut tmp, &v, false, &b.cov, false, [n, n, n]);
    let mut inner = vec![0.0; n * n];
    matmul(&mut inner, &tmp, false, &v, true, [n, n, n]);
    let s: Vec<f64> = w.iter().map(|x| x.max(0.0).sqrt()).collect();
    for i in 0..n {
        for j in 0..n {
            let sym = 0.5 * (inner[i * n + j] + inner[j * n + i]);
            tmp[i * n + j] = s[i] * sym * s[j];
        }
    }
    let (mu, _) = symmetric_eigen(&tmp, n, false);
    let tr_sqrt: f64 = mu.iter().map(|x| x.max(0.0).sqrt()).sum();
    let mean_term: f64 = a
        .mean
        .iter()
        .zip(&b.mean)
        .map(|(x, y)| (x - y).powi(2))
        .sum();
    let tr: f64 = (0..n).map(|i| a.cov[i * n + i] + b.cov[i * n + i]).sum();
    (mean_term + tr - 2.0 * tr_sqrt).max(0.0)
}

/// The Fréchet distance between Gaussians fitted to the rows of `x` and of `y`.
pub fn frechet_distance(x: &[Vec<f64>], y: &[Vec<f64>]) -> f64 {
    let d = x.first().map_or(0, Vec::len);
    let fit = |rows: &[Vec<f64>]| Gaussian::fit(&rows.concat(), d);
    frechet(&fit(x), &fit(y))
}

#[cfg(test)]
mod tests {
    use super::*;
    use dlp_core::rng::Rng;

    #[test]
    fn eigenvectors_reconstruct_the_matrix() {
        let mut rng = Rng::new(3);
        for n in [1, 2, 3, 17, 64] {
            let x: Vec<f64> = (0..n * n).map(|_| rng.normal()).collect();
            let mut a = vec![0.0; n * n];
            matmul(&mut a, &x, true, &x, false, [n, n, n]);
            let (w, v) = symmetric_eigen(&a, n, true);
            assert!(w.windows(2).all(|p| p[0] <= p[1]));
            for i in 0..n {
                for j in 0..n {
                    let back: f64 = (0..n).map(|k| v[k * n + i] * w[k] * v[k * n + j]).sum();
                    let tol = 1e-9 * (1.0 + a[i * n + j].abs());
                    assert!((back - a[i * n + j]).abs() < tol, "n {n} ({i}, {j})");
                    let dot: f64 = (0..n).map(|k| v[i * n + k] * v[j * n + k]).sum();
                    assert!((dot - f64::from(i == j)).abs() < 1e-9, "orthonormal");
                }
            }
            let (w2, _) = symmetric_eigen(&a, n, false);
            assert!(w.iter().zip(&w2).all(|(a, b)| (a - b).abs() < 1e-9));
        }
    }

    #[test]
    fn matches_the_closed_form_for_diagonal_gaussians() {
        // Independent coordinates with variances a_i and b_i: d² = |Δμ|² + Σ (√a_i − √b_i)².
        let mut rng = Rng::new(0);
        let (va, vb) = ([1.0, 4.0, 0.25], [2.0, 1.0, 0.25]);
        let draw = |v: [f64; 3], shift: f64, rng: &mut Rng| -> Vec<Vec<f64>> {
            (0..200_000)
                .map(|_| (0..3).map(|i| shift + v[i].sqrt() * rng.normal()).collect())
                .collect()
        };
        let x = draw(va, 0.0, &mut rng);
        let y = draw(vb, 0.5, &mut rng);
        let want: f64 = 3.0 * 0.25
            + (0..3)
                .map(|i| (va[i].sqrt() - vb[i].sqrt()).powi(2))
                .sum::<f64>();
        let got = frechet_distance(&x, &y);
        assert!((got - want).abs() < 0.03, "{got} vs {want}");
    }
}
