//! Seconds per training step and per forward pass of a U-Net on 28x28 images.
//! `cargo run --release -p dlp-ddpm --example unet_speed -- BATCH CH MULT,MULT,.. [ATTN]`
use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::{Device, Distribution, Tensor};
use dlp_ddpm::model::Denoiser;
use dlp_ddpm::unet::UNetConfig;
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let b: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(64);
    let mut cfg = UNetConfig::mnist();
    if let Some(ch) = args.get(2).and_then(|s| s.parse().ok()) {
        cfg.ch = ch;
    }
    if let Some(m) = args.get(3) {
        cfg.ch_mult = m.split(',').map(|x| x.parse().unwrap()).collect();
    }
    if let Some(a) = args.get(4) {
        cfg.attn_resolutions = a
            .split(',')
            .filter(|x| !x.is_empty())
            .map(|x| x.parse().unwrap())
            .collect();
    }
    let device = Device::flex().autodiff();
    let mut net = cfg.init(&device);
    println!("{cfg:?}: {} parameters", net.num_params());
    let mut optim = AdamConfig::new().init();
    let mut total = 0.0;
    for i in 0..5 {
        let x = Tensor::<4>::random([b, 1, 28, 28], Distribution::Normal(0.0, 1.0), &device);
        let t: Vec<usize> = (0..b).map(|i| i * 7 % 1000).collect();
        let s = Instant::now();
        let loss = (net.forward(x.clone(), &t) - x).square().mean();
        let grads = GradientsParams::from_grads(loss.backward(), &net);
        net = optim.step(1e-3, net, grads);
        if i > 0 {
            total += s.elapsed().as_secs_f64();
        }
    }
    println!("train step: {:.3}s", total / 4.0);
    let net = net.valid();
    let x = Tensor::<4>::random(
        [b, 1, 28, 28],
        Distribution::Normal(0.0, 1.0),
        &Device::flex(),
    );
    let s = Instant::now();
    for _ in 0..3 {
        let _ = net.forward(x.clone(), &vec![5; b]).into_data();
    }
    println!("forward: {:.3}s", s.elapsed().as_secs_f64() / 3.0);
}
