use std::time::Instant;
fn bench(m: usize, n: usize, k: usize, rowmajor_dst: bool) -> f64 {
    let a = vec![1.0f32; m * k];
    let b = vec![1.0f32; k * n];
    let mut c = vec![0f32; m * n];
    let reps = (2e9 / (2.0 * (m * n * k) as f64)).max(3.0) as usize;
    let run = |c: &mut [f32]| unsafe {
        if rowmajor_dst {
            gemm::gemm(
                m,
                n,
                k,
                c.as_mut_ptr(),
                1,
                n as isize,
                false,
                a.as_ptr(),
                1,
                k as isize,
                b.as_ptr(),
                1,
                n as isize,
                1.0,
                1.0,
                false,
                false,
                false,
                gemm::Parallelism::None,
            );
        } else {
            // column-major dst: c[i + j*m]
            gemm::gemm(
                m,
                n,
                k,
                c.as_mut_ptr(),
                m as isize,
                1,
                false,
                a.as_ptr(),
                m as isize,
                1,
                b.as_ptr(),
                k as isize,
                1,
                1.0,
                1.0,
                false,
                false,
                false,
                gemm::Parallelism::None,
            );
        }
    };
    run(&mut c);
    let s = Instant::now();
    for _ in 0..reps {
        run(&mut c);
    }
    2.0 * (m * n * k) as f64 * reps as f64 / s.elapsed().as_secs_f64() / 1e9
}
fn main() {
    for &(m, n, k) in &[
        (64, 49, 576),
        (64, 49 * 8, 576),
        (64, 49 * 32, 576),
        (16, 784, 144),
        (16, 784 * 4, 144),
        (32, 784, 288),
        (32, 196, 288),
        (32, 196 * 8, 288),
        (64, 3136, 576),
        (512, 512, 512),
    ] {
        println!(
            "m{m} n{n} k{k}: rowmajor {:.1} colmajor {:.1} GF/s",
            bench(m, n, k, true),
            bench(m, n, k, false)
        );
    }
}
