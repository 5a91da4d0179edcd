use dlp_kernels::conv::{self, ConvShape};
use std::time::Instant;
fn t(f: &mut dyn FnMut()) -> f64 {
    f();
    let mut best = f64::INFINITY;
    for _ in 0..5 {
        let s = Instant::now();
        for _ in 0..5 {
            f();
        }
        best = best.min(s.elapsed().as_secs_f64() / 5.0);
    }
    best
}
fn main() {
    rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build_global()
        .unwrap();
    let shapes = [
        (64, 7, 64, 64),
        (16, 28, 16, 64),
        (48, 28, 16, 64),
        (32, 28, 32, 64),
        (32, 14, 32, 64),
        (96, 14, 32, 64),
        (64, 14, 64, 64),
        (128, 7, 64, 64),
    ];
    let mut tot = [0.0; 3];
    for &(ci, h, co, b) in &shapes {
        let s = ConvShape {
            batch: b,
            c_in: ci,
            h,
            w: h,
            c_out: co,
            kernel: [3, 3],
            stride: [1, 1],
            padding: [1, 1],
        };
        let x: Vec<f32> = (0..b * ci * h * h).map(|i| (i % 7) as f32 * 0.1).collect();
        let w: Vec<f32> = (0..co * ci * 9).map(|i| (i % 5) as f32 * 0.1).collect();
        let bias = vec![0.1f32; co];
        let mut y = vec![0f32; b * co * h * h];
        let fl = 2.0 * (b * ci * co * 9 * h * h) as f64 / 1e9;
        let f = t(&mut || conv::forward(&x, &w, &bias, s, &mut y));
        let bi = t(&mut || {
            let _ = conv::backward_input(&w, &y, s);
        });
        let bw = t(&mut || {
            let _ = conv::backward_weight(&x, &y, s);
        });
        tot[0] += f;
        tot[1] += bi;
        tot[2] += bw;
        println!(
            "{ci:3}->{co:3} {h:2}x{h:2}: fwd {:5.2} ms {:5.1} GF/s | bin {:5.2} ms {:5.1} | bw {:5.2} ms {:5.1}",
            f * 1e3,
            fl / f,
            bi * 1e3,
            fl / bi,
            bw * 1e3,
            fl / bw
        );
    }
    println!(
        "total fwd {:.2} bin {:.2} bw {:.2} ms",
        tot[0] * 1e3,
        tot[1] * 1e3,
        tot[2] * 1e3
    );
}
