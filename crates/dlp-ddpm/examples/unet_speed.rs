//! The Rust side of `benches/ddpm_speed.sh`: seconds per U-Net training step (Adam, gradient
//! clipping) and DDIM sampling throughput (network evaluations per second, in image-steps), as
//! one JSON object with the keys of `benches/reference/ddpm_unet.py`.
//!
//! `cargo run --release -p dlp-ddpm --example unet_speed -- [mnist|cifar10] [BATCH] [THREADS] [burn]`
//! (`burn` as the fourth argument: burn's own conv and GroupNorm instead of dlp-kernels).
use burn::module::Module;
use burn::nn::conv::Conv2dConfig;
use burn::nn::{GroupNormConfig, PaddingConfig2d};
use burn::optim::grad_clipping::GradientClippingConfig;
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::{Device, Distribution, Tensor};
use dlp_ddpm::model::{Denoiser, silu};
use dlp_ddpm::unet::UNetConfig;
use serde_json::{Value, json};
use std::time::Instant;

/// The allocator `dlp` itself uses.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    // As `dlp` runs its commands: on a thread of the kernels' pool.
    dlp_core::device::init_threads(std::env::args().nth(3).and_then(|s| s.parse().ok())).unwrap();
    dlp_core::device::in_pool(bench);
}

fn bench() {
    let args: Vec<String> = std::env::args().collect();
    let name = args.get(1).map_or("mnist", String::as_str);
    let b: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(64);
    let threads = rayon::current_num_threads();
    dlp_kernels::set_enabled(args.get(4).map(String::as_str) != Some("burn"));
    let cfg = match name {
        "cifar10" => UNetConfig::cifar10(),
        _ => UNetConfig::mnist(),
    };
    let shape = [b, cfg.in_channels, cfg.resolution, cfg.resolution];
    let device = Device::flex().autodiff();
    device.seed(0);
    let mut net = cfg.init(&device);
    let mut optim = AdamConfig::new()
        .with_grad_clipping(Some(GradientClippingConfig::Norm(1.0)))
        .init();
    let t: Vec<usize> = (0..b).map(|i| i * 7 % 1000).collect();
    let mut times = Vec::new();
    for i in 0..6 {
        let x = Tensor::<4>::random(shape, Distribution::Normal(0.0, 1.0), &device);
        let s = Instant::now();
        let loss = (net.forward(x.clone(), &t) - x).square().mean();
        let grads = GradientsParams::from_grads(loss.backward(), &net);
        net = optim.step(1e-3, net, grads);
        let _ = loss.into_data();
        if i > 0 {
            times.push(s.elapsed().as_secs_f64());
        }
    }
    times.sort_by(f64::total_cmp);
    let net = net.valid();
    let plain = Device::flex();
    let mut x = Tensor::<4>::random(shape, Distribution::Normal(0.0, 1.0), &plain);
    let steps = 10;
    let s = Instant::now();
    for k in 0..steps {
        x = x.clone() - net.forward(x, &vec![999 - k * 10; b]) * 0.01;
    }
    let _ = x.into_data();
    let sample_s = s.elapsed().as_secs_f64();
    let ops = op_table();
    println!(
        "{}",
        serde_json::json!({
            "framework": format!("dlp {} (burn 0.22.1 flex)", dlp_core::run::VERSION),
            "config": name, "batch": b, "threads": threads, "parameters": net.num_params(),
            "train_step_seconds": times[times.len() / 2],
            "ddim_image_steps_per_second": (b * steps) as f64 / sample_s,
            "forward_seconds": sample_s / steps as f64,
            "ops_ms": ops,
            "gemm_gflops": gemm_gflops(),
            "kernels": if dlp_kernels::serves(&plain, burn::tensor::DType::F32) { "dlp-kernels" } else { "burn" },
        })
    );
}

/// Milliseconds per call of `f`, after one warm-up call.
fn ms(reps: usize, f: &dyn Fn()) -> f64 {
    f();
    let s = Instant::now();
    for _ in 0..reps {
        f();
    }
    s.elapsed().as_secs_f64() * 1000.0 / reps as f64
}

/// The U-Net's building blocks on `[64, 32, 28, 28]`, as `ddpm_unet.py` measures them.
fn op_table() -> Value {
    let plain = Device::flex();
    let grad = Device::flex().autodiff();
    let y = Tensor::<4>::random([64, 32, 28, 28], Distribution::Normal(0.0, 1.0), &plain);
    let conv = Conv2dConfig::new([32, 32], [3, 3])
        .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
        .init(&plain);
    let gn = GroupNormConfig::new(32, 32).init(&plain);
    let (conv_g, gn_g) = (conv.clone().fork(&grad), gn.clone().fork(&grad));
    let r = Tensor::<4>::random([64, 32, 28, 28], Distribution::Normal(0.0, 1.0), &grad);
    let backward = |f: &dyn Fn(Tensor<4>) -> Tensor<4>| {
        let x = Tensor::<4>::from_data(y.to_data(), &grad).require_grad();
        let grads = (f(x.clone()) * r.clone()).sum().backward();
        let _ = x.grad(&grads).map(|g| g.into_data());
    };
    json!({
        "conv3x3_forward_ms": ms(10, &|| { let _ = dlp_kernels::conv2d(&conv, y.clone()).into_data(); }),
        "groupnorm_silu_forward_ms": ms(10, &|| { let _ = dlp_kernels::group_norm(&gn, y.clone(), None, true).into_data(); }),
        "silu_ms": ms(10, &|| { let _ = silu(y.clone()).into_data(); }),
        "exp_ms": ms(10, &|| { let _ = dlp_kernels::exp(y.clone()).into_data(); }),
        "conv3x3_forward_backward_ms": ms(10, &|| backward(&|x| dlp_kernels::conv2d(&conv_g, x))),
        "groupnorm_silu_forward_backward_ms": ms(10, &|| backward(&|x| dlp_kernels::group_norm(&gn_g, x, None, true))),
    })
}

/// The machine's single-precision matrix-product rate on the pool's threads, 2048³, best of 3.
fn gemm_gflops() -> f64 {
    let n: usize = 2048;
    let a = Tensor::<2>::random([n, n], Distribution::Normal(0.0, 1.0), &Device::flex());
    let b = a.clone();
    let best = (0..3)
        .map(|_| {
            ms(3, &|| {
                let _ = a.clone().matmul(b.clone()).into_data();
            })
        })
        .fold(f64::INFINITY, f64::min);
    2.0 * (n as f64).powi(3) / best / 1e6
}
