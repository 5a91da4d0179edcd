//! The Rust side of `benches/ddpm_speed.sh`: seconds per U-Net training step (Adam, gradient
//! clipping) and DDIM sampling throughput (network evaluations per second, in image-steps), as
//! one JSON object with the keys of `benches/reference/ddpm_unet.py`.
//!
//! `cargo run --release -p dlp-ddpm --example unet_speed -- [mnist|cifar10] [BATCH] [THREADS]`
use burn::module::Module;
use burn::nn::conv::Conv2dConfig;
use burn::nn::{GroupNormConfig, PaddingConfig2d};
use burn::optim::grad_clipping::GradientClippingConfig;
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::{Device, Distribution, Tensor};
use dlp_ddpm::model::{Denoiser, silu};
use dlp_ddpm::unet::UNetConfig;
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
    // The U-Net's building blocks alone, forward, on [64, 32, 28, 28].
    let y = Tensor::<4>::random([64, 32, 28, 28], Distribution::Normal(0.0, 1.0), &plain);
    let conv = Conv2dConfig::new([32, 32], [3, 3])
        .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
        .init(&plain);
    let gn = GroupNormConfig::new(32, 32).init(&plain);
    let ms = |f: &dyn Fn() -> Tensor<4>| {
        let _ = f().into_data();
        let s = Instant::now();
        for _ in 0..10 {
            let _ = f().into_data();
        }
        s.elapsed().as_secs_f64() * 100.0
    };
    let ops = serde_json::json!({
        "conv3x3_32_ms": ms(&|| conv.forward(y.clone())),
        "groupnorm_ms": ms(&|| gn.forward(y.clone())),
        "silu_ms": ms(&|| silu(y.clone())),
        "sigmoid_ms": ms(&|| burn::tensor::activation::sigmoid(y.clone())),
        "exp_ms": ms(&|| y.clone().exp()),
        "mul_ms": ms(&|| y.clone() * y.clone()),
    });
    println!(
        "{}",
        serde_json::json!({
            "framework": format!("dlp {} (burn 0.22.1 flex)", dlp_core::run::VERSION),
            "config": name, "batch": b, "threads": threads, "parameters": net.num_params(),
            "train_step_seconds": times[times.len() / 2],
            "ddim_image_steps_per_second": (b * steps) as f64 / sample_s,
            "forward_seconds": sample_s / steps as f64,
            "ops_forward_ms": ops,
        })
    );
}
