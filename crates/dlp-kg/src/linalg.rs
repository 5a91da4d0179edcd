//! Dense kernels: matrix products through the `gemm` crate (blocked, SIMD, rayon-parallel) and
//! the vector reductions the scoring functions use, written with eight independent accumulators
//! so that they vectorise.
//!
//! ```
//! // C = A Bᵀ for A 1×2 and B 2×2 (rows of B are the entities).
//! let mut c = [0.0f32; 2];
//! dlp_kg::linalg::matmul_abt(&[1.0, 2.0], &[3.0, 4.0, 5.0, 6.0], 1, 2, 2, &mut c, false);
//! assert_eq!(c, [11.0, 17.0]);
//! ```

use gemm::Parallelism;

fn parallelism(flops: usize) -> Parallelism {
    let threads = rayon::current_num_threads();
    if threads > 1 && flops > 1 << 20 {
        Parallelism::Rayon(threads)
    } else {
        Parallelism::None
    }
}

/// `c (m×n) = A (m×k) · B (k×n)` where element (i, l) of A is `a[i·a_rs + l·a_cs]` and (l, j)
/// of B is `b[l·b_rs + j·b_cs]`; `c` is row-major; adds to `c` when `accumulate`.
#[allow(clippy::too_many_arguments)]
fn matmul_strided(
    (a, a_rs, a_cs): (&[f32], usize, usize),
    (b, b_rs, b_cs): (&[f32], usize, usize),
    m: usize,
    n: usize,
    k: usize,
    c: &mut [f32],
    accumulate: bool,
) {
    let last =
        |rs: usize, cs: usize, rows: usize, cols: usize| (rows - 1) * rs + (cols - 1) * cs + 1;
    if m == 0 || n == 0 || k == 0 {
        if !accumulate {
            c[..m * n].fill(0.0);
        }
        return;
    }
    assert!(
        a.len() >= last(a_rs, a_cs, m, k) && b.len() >= last(b_rs, b_cs, k, n) && c.len() >= m * n
    );
    // SAFETY: the assert bounds every index the strides reach.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            a.as_ptr(),
            a_cs as isize,
            a_rs as isize,
            b.as_ptr(),
            b_cs as isize,
            b_rs as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            parallelism(m * n * k),
        )
    }
}

/// `c (m×n) = A (m×k) · Bᵀ`, B stored as n rows of k; adds to `c` when `accumulate`.
pub fn matmul_abt(
    a: &[f32],
    b: &[f32],
    m: usize,
    n: usize,
    k: usize,
    c: &mut [f32],
    accumulate: bool,
) {
    matmul_strided((a, k, 1), (b, 1, k), m, n, k, c, accumulate)
}

/// `c (m×n) = A (m×k) · B (k×n)`, all row-major; adds to `c` when `accumulate`.
pub fn matmul_ab(
    a: &[f32],
    b: &[f32],
    m: usize,
    n: usize,
    k: usize,
    c: &mut [f32],
    accumulate: bool,
) {
    matmul_strided((a, k, 1), (b, n, 1), m, n, k, c, accumulate)
}

/// `c (m×n) = Aᵀ · B` for A stored k×m and B k×n, row-major; adds to `c` when `accumulate`.
pub fn matmul_atb(
    a: &[f32],
    b: &[f32],
    m: usize,
    n: usize,
    k: usize,
    c: &mut [f32],
    accumulate: bool,
) {
    matmul_strided((a, 1, m), (b, n, 1), m, n, k, c, accumulate)
}

const LANES: usize = 8;

/// Σ f(a_i, b_i) with eight partial sums.
#[inline(always)]
fn reduce2(a: &[f32], b: &[f32], f: impl Fn(f32, f32) -> f32) -> f32 {
    debug_assert_eq!(a.len(), b.len());
    let mut acc = [0.0f32; LANES];
    let (ac, ar) = a.split_at(a.len() / LANES * LANES);
    let (bc, br) = b.split_at(ac.len());
    for (x, y) in ac.chunks_exact(LANES).zip(bc.chunks_exact(LANES)) {
        for l in 0..LANES {
            acc[l] += f(x[l], y[l]);
        }
    }
    let mut s: f32 = acc.iter().sum();
    for (x, y) in ar.iter().zip(br) {
        s += f(*x, *y);
    }
    s
}

/// a · b.
#[inline(always)]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    reduce2(a, b, |x, y| x * y)
}

/// Σ |a_i − b_i|.
#[inline(always)]
pub fn l1_distance(a: &[f32], b: &[f32]) -> f32 {
    reduce2(a, b, |x, y| (x - y).abs())
}

/// Σ (a_i − b_i)².
#[inline(always)]
pub fn squared_distance(a: &[f32], b: &[f32]) -> f32 {
    reduce2(a, b, |x, y| (x - y) * (x - y))
}

/// Σ_j |a_j − b_j| over complex coordinates stored as [re…, im…] halves.
#[inline(always)]
pub fn complex_l1_distance(a: &[f32], b: &[f32]) -> f32 {
    let d = a.len() / 2;
    let (are, aim) = a.split_at(d);
    let (bre, bim) = b.split_at(d);
    let mut acc = [0.0f32; LANES];
    let full = d / LANES * LANES;
    let lanes = are[..full]
        .chunks_exact(LANES)
        .zip(aim[..full].chunks_exact(LANES))
        .zip(
            bre[..full]
                .chunks_exact(LANES)
                .zip(bim[..full].chunks_exact(LANES)),
        );
    for ((ar, ai), (br, bi)) in lanes {
        for l in 0..LANES {
            let x = ar[l] - br[l];
            let y = ai[l] - bi[l];
            acc[l] += (x * x + y * y).sqrt();
        }
    }
    let mut s: f32 = acc.iter().sum();
    for j in full..d {
        let x = are[j] - bre[j];
        let y = aim[j] - bim[j];
        s += (x * x + y * y).sqrt();
    }
    s
}

/// Runs `f` compiled for AVX2 and FMA when the CPU has them, else as built. Hot loops call
/// the `#[inline(always)]` kernels above inside `f` so that they are compiled for the wider
/// instructions too.
#[inline(always)]
pub fn with_simd<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx2,fma")]
        unsafe fn avx2<R>(f: impl FnOnce() -> R) -> R {
            f()
        }
        if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
            // SAFETY: the features were just detected.
            return unsafe { avx2(f) };
        }
    }
    f()
}
