//! The Fréchet distance between two Gaussians fitted to feature sets (the statistic of FID):
//! `d² = |μ₁ − μ₂|² + Tr(Σ₁) + Tr(Σ₂) − 2 Tr((Σ₁^{½} Σ₂ Σ₁^{½})^{½})`,
//! with matrix square roots from a Jacobi eigendecomposition, all in f64.
//!
//! ```
//! use dlp_ddpm::frechet::frechet_distance;
//! let a = vec![vec![0.0, 0.0], vec![2.0, 0.0], vec![0.0, 2.0], vec![2.0, 2.0]];
//! let b: Vec<Vec<f64>> = a.iter().map(|x| vec![x[0] + 1.0, x[1]]).collect();
//! assert!((frechet_distance(&a, &b) - 1.0).abs() < 1e-9); // a shift of 1
//! ```

// Index loops read as the matrix formulas they implement.
#![allow(clippy::needless_range_loop)]

/// Mean and (unbiased) covariance of row vectors.
pub fn mean_cov(x: &[Vec<f64>]) -> (Vec<f64>, Vec<Vec<f64>>) {
    let n = x.len();
    let d = x.first().map_or(0, Vec::len);
    let mut mu = vec![0.0; d];
    for row in x {
        for (m, v) in mu.iter_mut().zip(row) {
            *m += v / n as f64;
        }
    }
    let mut cov = vec![vec![0.0; d]; d];
    for row in x {
        for i in 0..d {
            let di = row[i] - mu[i];
            for j in i..d {
                cov[i][j] += di * (row[j] - mu[j]);
            }
        }
    }
    let denom = (n.max(2) - 1) as f64;
    for i in 0..d {
        for j in i..d {
            cov[i][j] /= denom;
            cov[j][i] = cov[i][j];
        }
    }
    (mu, cov)
}

/// Eigenvalues and eigenvectors (columns) of a symmetric matrix, by cyclic Jacobi rotations.
pub fn symmetric_eigen(a: &[Vec<f64>]) -> (Vec<f64>, Vec<Vec<f64>>) {
    let n = a.len();
    let mut a: Vec<Vec<f64>> = a.to_vec();
    let mut v: Vec<Vec<f64>> = (0..n)
        .map(|i| (0..n).map(|j| f64::from(i == j)).collect())
        .collect();
    for _sweep in 0..100 {
        let off: f64 = (0..n)
            .flat_map(|i| (0..n).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| a[i][j] * a[i][j])
            .sum();
        let scale: f64 = (0..n).map(|i| a[i][i] * a[i][i]).sum::<f64>().max(1e-300);
        if off <= 1e-24 * scale {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                if a[p][q].abs() < 1e-300 {
                    continue;
                }
                let theta = (a[q][q] - a[p][p]) / (2.0 * a[p][q]);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..n {
                    let (akp, akq) = (a[k][p], a[k][q]);
                    a[k][p] = c * akp - s * akq;
                    a[k][q] = s * akp + c * akq;
                }
                for k in 0..n {
                    let (apk, aqk) = (a[p][k], a[q][k]);
                    a[p][k] = c * apk - s * aqk;
                    a[q][k] = s * apk + c * aqk;
                }
                for row in v.iter_mut() {
                    let (vkp, vkq) = (row[p], row[q]);
                    row[p] = c * vkp - s * vkq;
                    row[q] = s * vkp + c * vkq;
                }
            }
        }
    }
    ((0..n).map(|i| a[i][i]).collect(), v)
}

/// The square root of a symmetric positive semi-definite matrix (negative eigenvalues, from
/// rounding, are taken as 0).
pub fn sqrtm_psd(a: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let (w, v) = symmetric_eigen(a);
    let n = a.len();
    let s: Vec<f64> = w.iter().map(|x| x.max(0.0).sqrt()).collect();
    (0..n)
        .map(|i| {
            (0..n)
                .map(|j| (0..n).map(|k| v[i][k] * s[k] * v[j][k]).sum())
                .collect()
        })
        .collect()
}

fn matmul(a: &[Vec<f64>], b: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let (n, m, p) = (a.len(), b.len(), b.first().map_or(0, Vec::len));
    let mut c = vec![vec![0.0; p]; n];
    for i in 0..n {
        for k in 0..m {
            let aik = a[i][k];
            for j in 0..p {
                c[i][j] += aik * b[k][j];
            }
        }
    }
    c
}

/// The Fréchet distance (squared, as FID reports it) between Gaussians fitted to `x` and `y`.
pub fn frechet_distance(x: &[Vec<f64>], y: &[Vec<f64>]) -> f64 {
    let (m1, s1) = mean_cov(x);
    let (m2, s2) = mean_cov(y);
    let r1 = sqrtm_psd(&s1);
    let mut inner = matmul(&matmul(&r1, &s2), &r1);
    for i in 0..inner.len() {
        for j in 0..i {
            let avg = 0.5 * (inner[i][j] + inner[j][i]);
            inner[i][j] = avg;
            inner[j][i] = avg;
        }
    }
    let (w, _) = symmetric_eigen(&inner);
    let tr_sqrt: f64 = w.iter().map(|x| x.max(0.0).sqrt()).sum();
    let mean_term: f64 = m1.iter().zip(&m2).map(|(a, b)| (a - b).powi(2)).sum();
    let tr: f64 = (0..s1.len()).map(|i| s1[i][i] + s2[i][i]).sum();
    (mean_term + tr - 2.0 * tr_sqrt).max(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use dlp_core::rng::Rng;

    #[test]
    fn eigen_reconstructs_the_matrix() {
        let a = vec![
            vec![4.0, 1.0, 0.5],
            vec![1.0, 3.0, 0.2],
            vec![0.5, 0.2, 1.0],
        ];
        let r = sqrtm_psd(&a);
        let back = matmul(&r, &r);
        for i in 0..3 {
            for j in 0..3 {
                assert!((back[i][j] - a[i][j]).abs() < 1e-10);
            }
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
