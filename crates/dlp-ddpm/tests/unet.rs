//! The U-Net: the paper's parameter count, shapes, and that it learns.

use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::{Device, Distribution, Tensor};
use dlp_ddpm::model::Denoiser;
use dlp_ddpm::unet::UNetConfig;

#[test]
fn cifar10_configuration_has_the_papers_35_7m_parameters() {
    let net = UNetConfig::cifar10().init(&Device::flex());
    // 35,746,307: the count of the official model, recomputed independently layer by layer.
    assert_eq!(net.num_params(), 35_746_307);
}

#[test]
fn mnist_configuration_shapes_and_zero_start() {
    let device = Device::flex();
    let cfg = UNetConfig::mnist();
    let net = cfg.init(&device);
    assert_eq!(net.num_params(), 686_769);
    let x = Tensor::<4>::random([3, 1, 28, 28], Distribution::Normal(0.0, 1.0), &device);
    let out = net.forward(x, &[0, 10, 999]);
    assert_eq!(out.dims(), [3, 1, 28, 28]);
    let v = dlp_core::tensor::to_vec(out);
    assert!(
        v.iter().all(|&a| a == 0.0),
        "zero-initialised output convolution"
    );
    let cond = UNetConfig {
        num_classes: 10,
        ..cfg
    }
    .init(&device);
    assert_eq!(cond.num_params(), 686_769 + 11 * 64);
}

#[test]
fn a_small_unet_fits_a_fixed_target() {
    let device = Device::flex().autodiff();
    device.seed(0);
    let cfg = UNetConfig {
        ch: 32,
        ch_mult: vec![1, 2],
        attn_resolutions: vec![4],
        dropout: 0.0,
        resolution: 8,
        ..UNetConfig::mnist()
    };
    let mut net = cfg.init(&device);
    let x = Tensor::<4>::random([4, 1, 8, 8], Distribution::Normal(0.0, 1.0), &device);
    let target = Tensor::<4>::random([4, 1, 8, 8], Distribution::Normal(0.0, 1.0), &device);
    let t = [1, 200, 500, 900];
    let mut optim = AdamConfig::new().init();
    let loss_at = |net: &dlp_ddpm::unet::UNet| {
        (net.forward(x.clone(), &t) - target.clone())
            .square()
            .mean()
    };
    let first = scalar(loss_at(&net));
    for _ in 0..60 {
        let loss = loss_at(&net);
        let grads = GradientsParams::from_grads(loss.backward(), &net);
        net = optim.step(2e-3, net, grads);
    }
    let last = scalar(loss_at(&net));
    assert!(last < 0.3 * first, "loss {first} -> {last}");
}

fn scalar(t: Tensor<1>) -> f64 {
    dlp_core::tensor::to_vec(t)[0] as f64
}
