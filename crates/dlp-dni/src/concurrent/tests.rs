//! The concurrent trainer's workers and partition, and its refusals.

use super::worker::{Activation, BlockModule, Target};
use super::{partition, train_concurrent};
use crate::config::Optimizer;
use crate::synthetic::SyntheticGradient;
use crate::train::{Examples, Method, TrainConfig};
use burn::optim::GradientsParams;
use burn::tensor::{Device, Distribution, Tensor};
use dlp_core::rng::Rng;

/// A worker's block steps by the configured optimiser: with SGD its weights move by exactly
/// the rate times ∂(Σ h·ĝ)/B, as `Dni`'s do, and not as Adam would move them.
#[test]
fn a_block_module_steps_by_the_configured_optimiser() {
    let device = Device::flex().autodiff();
    device.seed(4);
    let cfg = TrainConfig {
        method: Method::Dni,
        layers: 1,
        width: 5,
        optimizer: Optimizer::Sgd,
        ..TrainConfig::default()
    };
    let net = cfg.net(3, 2, &device);
    let sg = SyntheticGradient::for_block(cfg.arch, net.block_shapes()[0], 8, None, &device);
    let mut m = BlockModule::new(net.blocks[0].clone(), sg, &cfg, Rng::new(0), false);
    let x = Tensor::<2>::random([8, 3], Distribution::Normal(0.0, 1.0), &device);
    let labels = vec![0; 8];
    let msg = |id| Activation {
        id,
        lr: 0.1,
        x: x.clone(),
        labels: labels.clone(),
    };
    // ĝ starts at zero (M's output layer is zero-initialised); one regression step on a
    // target of ones makes it non-zero.
    m.step(&msg(1), false, &cfg);
    let delta = Tensor::ones([8, 5], &device);
    m.train_sg(Target { id: 1, delta }, 0.5);
    let (before, sg) = (m.block.clone().unwrap(), m.sg.clone().unwrap());
    m.step(&msg(2), false, &cfg);
    let after = m.block.clone().unwrap();
    let by = |optimizer: Optimizer| {
        let h = before.forward(x.clone());
        let g = sg.forward(h.clone().detach(), Some(&labels)).detach();
        let grads = (h * (g / 8.0)).sum().backward();
        let grads = GradientsParams::from_grads(grads, &before);
        optimizer.init().step(0.1, before.clone(), grads)
    };
    let gap = |a: &crate::layers::Block, b: &crate::layers::Block| {
        let d = a.forward(x.clone()) - b.forward(x.clone());
        d.abs().max().into_scalar::<f32>()
    };
    assert!(gap(&after, &before) > 1e-3, "the block moved");
    assert!(gap(&after, &by(Optimizer::Sgd)) < 1e-6, "SGD's step");
    assert!(gap(&after, &by(Optimizer::Adam)) > 1e-3, "not Adam's");
}

/// 512 random rows of 6 features in 3 classes.
fn random_examples() -> Examples {
    let mut rng = Rng::new(5);
    Examples {
        x: (0..512 * 6).map(|_| rng.normal() as f32).collect(),
        y: (0..512).map(|i| i % 3).collect(),
        dim: 6,
        classes: 3,
    }
}

#[test]
fn frozen_blocks_never_update_and_bp_lambda_is_refused() {
    let data = random_examples();
    let cfg = TrainConfig {
        method: Method::Cdni,
        layers: 3,
        width: 8,
        freeze: 2,
        ..TrainConfig::default()
    };
    let s = train_concurrent(&cfg, 2, &data, &data, &Device::flex()).unwrap();
    let updates: Vec<usize> = s.modules.iter().map(|m| m.updates).collect();
    assert_eq!(updates, vec![0, 0, 2, 2], "{:?}", s.modules);
    let bp = TrainConfig { lambda: 0.5, ..cfg };
    let err = train_concurrent(&bp, 2, &data, &data, &Device::flex()).unwrap_err();
    assert!(err.to_string().contains("lambda: 0.5"), "{err}");
}

#[test]
fn partition_minimises_the_largest_group() {
    assert_eq!(partition(&[4.0, 3.0, 3.0, 0.1], 2), vec![0, 1]);
    assert_eq!(partition(&[1.0, 1.0, 1.0, 1.0], 2), vec![0, 2]);
    assert_eq!(partition(&[1.0, 5.0, 1.0], 3), vec![0, 1, 2]);
    assert_eq!(partition(&[2.0, 2.0], 5), vec![0, 1]);
    assert_eq!(partition(&[2.0, 2.0], 1), vec![0]);
}
