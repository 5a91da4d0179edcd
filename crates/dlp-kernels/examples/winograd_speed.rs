//! Winograd's F(2×2, 3×3) against the shifted-copy products of `conv_same`, per 3×3 "same"
//! convolution shape: milliseconds and GFLOP/s (direct-convolution count) for the forward pass,
//! the input gradient and the weight gradient, each the mean of 3 interleaved medians of 5.
//!
//! `cargo run --release -p dlp-kernels --example winograd_speed -- BATCH C_IN,C_OUT,SIDE ...`
//! (2 threads), e.g. `16 128,128,32 256,256,16 256,256,8` for the CIFAR-10 U-Net's shapes.
use dlp_kernels::conv::ConvShape;
use dlp_kernels::{conv_same, winograd};
use std::mem::MaybeUninit;
use std::time::Instant;

fn median_of_5(f: &mut dyn FnMut()) -> f64 {
    f();
    let mut t: Vec<f64> = (0..5)
        .map(|_| {
            let s = Instant::now();
            f();
            s.elapsed().as_secs_f64()
        })
        .collect();
    t.sort_by(f64::total_cmp);
    t[2]
}

/// (forward, input gradient, weight gradient) seconds for one way of computing `s`.
fn time(s: ConvShape, x: &[f32], w: &[f32], bias: &[f32], dy: &[f32], wino: bool) -> [f64; 3] {
    let mut y = vec![MaybeUninit::<f32>::uninit(); dy.len()];
    let fwd = median_of_5(&mut || {
        if wino {
            std::hint::black_box(winograd::forward(x, w, bias, None, s));
        } else {
            conv_same::forward(x, w, bias, None, s, &mut y);
        }
    });
    let dx = median_of_5(&mut || {
        std::hint::black_box(if wino {
            winograd::backward_input(w, dy, s)
        } else {
            conv_same::backward_input(w, dy, s)
        });
    });
    let dw = median_of_5(&mut || {
        std::hint::black_box(if wino {
            winograd::backward_weight(x, dy, s)
        } else {
            conv_same::backward_weight(x, dy, s)
        });
    });
    [fwd, dx, dw]
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let batch: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(16);
    let shapes: Vec<[usize; 3]> = args
        .iter()
        .skip(1)
        .filter_map(|a| {
            let v: Vec<usize> = a.split(',').filter_map(|p| p.parse().ok()).collect();
            (v.len() == 3).then(|| [v[0], v[1], v[2]])
        })
        .collect();
    let pool = rayon::ThreadPoolBuilder::new().num_threads(2).build();
    pool.expect("a thread pool").install(|| {
        for [ci, co, side] in shapes {
            let s = ConvShape {
                batch,
                c_in: ci,
                h: side,
                w: side,
                c_out: co,
                kernel: [3, 3],
                stride: [1, 1],
                padding: [1, 1],
            };
            let x: Vec<f32> = (0..batch * ci * side * side)
                .map(|i| (i % 7) as f32 * 0.1)
                .collect();
            let w: Vec<f32> = (0..co * ci * 9).map(|i| (i % 5) as f32 * 0.1).collect();
            let bias = vec![0.1f32; co];
            let dy: Vec<f32> = (0..batch * co * side * side)
                .map(|i| (i % 3) as f32)
                .collect();
            let gflop = 2.0 * (batch * co * side * side * ci * 9) as f64 / 1e9;
            let mut mean = [[0f64; 3]; 2];
            for _ in 0..3 {
                for (k, wino) in [false, true].into_iter().enumerate() {
                    let t = time(s, &x, &w, &bias, &dy, wino);
                    for (m, v) in mean[k].iter_mut().zip(t) {
                        *m += v / 3.0;
                    }
                }
            }
            for (name, t) in ["shifted copies", "winograd"].into_iter().zip(mean) {
                let cell = |v: f64| format!("{:7.2} ms {:4.0} GFLOP/s", v * 1e3, gflop / v);
                println!(
                    "{ci:4}->{co:<4} {side:3}px {name:<14} fwd {} | dx {} | dw {}",
                    cell(t[0]),
                    cell(t[1]),
                    cell(t[2])
                );
            }
        }
    });
}
