//! The whole U-Net with dlp-kernels against the same U-Net on burn's own ops: the loss and every
//! parameter's gradient agree. (Its own test binary: it switches the kernels off process-wide.)

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::tensor::{Device, Distribution, Tensor};
use dlp_ddpm::model::Denoiser;
use dlp_ddpm::unet::UNetConfig;

/// Every parameter's gradient, flattened, in visiting order.
struct Grads<'a>(&'a burn::tensor::Gradients, Vec<Vec<f32>>);

impl ModuleVisitor for Grads<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if let Some(g) = param.val().grad(self.0) {
            self.1.push(dlp_core::tensor::to_vec(g));
        }
    }
}

/// Every parameter drawn afresh, so that no gradient is zero by the zero-initialised layers.
struct Perturb;

impl ModuleMapper for Perturb {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        param.map(|t| t.random_like(Distribution::Normal(0.0, 0.2)).require_grad())
    }
}

fn loss_and_grads(on: bool) -> (f32, Vec<Vec<f32>>) {
    dlp_kernels::set_enabled(on);
    let device = Device::flex().autodiff();
    device.seed(3);
    let cfg = UNetConfig {
        in_channels: 1,
        resolution: 16,
        // 64 channels at 16×16: the first level's 3×3 convolutions go by Winograd.
        ch: 64,
        ch_mult: vec![1, 2],
        num_res_blocks: 1,
        attn_resolutions: vec![8],
        dropout: 0.0,
        num_classes: 0,
    };
    let net = cfg.init(&device).map(&mut Perturb);
    let x = Tensor::<4>::random([3, 1, 16, 16], Distribution::Normal(0.0, 1.0), &device);
    let loss = (net.forward(x.clone(), &[5, 500, 999]) - x).square().mean();
    let value = loss.clone().into_scalar::<f32>();
    let grads = loss.backward();
    let mut v = Grads(&grads, Vec::new());
    net.visit(&mut v);
    (value, v.1)
}

#[test]
fn unet_loss_and_gradients_agree_with_burns_ops() {
    let (ours, g_ours) = loss_and_grads(true);
    let (burns, g_burns) = loss_and_grads(false);
    dlp_kernels::set_enabled(true);
    assert!(
        (ours - burns).abs() <= 1e-4 * burns.abs(),
        "loss {ours} against {burns}"
    );
    assert_eq!(g_ours.len(), g_burns.len());
    // A bias just before a GroupNorm of one channel per group (16 channels here) has a zero
    // gradient in exact arithmetic, rounding noise in both runs: such a gradient is measured
    // against a hundredth of the largest gradient of the network.
    let largest = g_burns.iter().flatten().fold(0f32, |m, v| m.max(v.abs()));
    let mut nonzero = 0;
    for (i, (a, b)) in g_ours.iter().zip(&g_burns).enumerate() {
        let scale = b.iter().fold(0f32, |m, v| m.max(v.abs()));
        let diff = a.iter().zip(b).fold(0f32, |m, (x, y)| m.max((x - y).abs()));
        assert!(
            diff <= 1e-3 * scale.max(1e-2 * largest),
            "parameter {i}: difference {diff}, scale {scale}"
        );
        nonzero += usize::from(scale > 1e-4 * largest);
    }
    assert!(
        nonzero > g_ours.len() / 2,
        "most parameters get a gradient: {nonzero} of {}",
        g_ours.len()
    );
}
