//! The DNI step against independent computations, for the FC net and the CNN: BP(1) is
//! backprop, a zero-initialised synthetic gradient leaves the blocks unchanged, a
//! synthetic-gradient model learns a fixed gradient field, and the gradient a block updates by
//! matches finite differences of the loss.

use burn::module::Module;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::tensor::{Device, Tensor, TensorData};
use dlp_core::rng::Rng;
use dlp_core::testing::{flat_parameters, max_abs_diff as max_diff};
use dlp_dni::dni::Dni;
use dlp_dni::layers::{Arch, Net};
use dlp_dni::synthetic::{SyntheticGradient, labels_tensor};
use dlp_dni::train::{Method, Optimizer, TrainConfig};

const CLASSES: usize = 3;
const CNN: Arch = Arch::Cnn { image: [2, 5, 5] };
const ARCHS: [Arch; 2] = [Arch::Fc, CNN];

/// Input features: 6 for the FC net, 2 × 5 × 5 for the CNN.
fn input(arch: Arch) -> usize {
    match arch {
        Arch::Fc => 6,
        Arch::Cnn { image } => image.iter().product(),
    }
}

fn batch(seed: u64, n: usize, arch: Arch, device: &Device) -> (Tensor<2>, Vec<usize>) {
    let mut rng = Rng::new(seed);
    let f = input(arch);
    let x: Vec<f32> = (0..n * f).map(|_| rng.normal() as f32).collect();
    let y = (0..n).map(|i| i % CLASSES).collect();
    (Tensor::from_data(TensorData::new(x, [n, f]), device), y)
}

fn config(arch: Arch, method: Method, lambda: f64) -> TrainConfig {
    TrainConfig {
        method,
        arch,
        layers: 3,
        width: if arch == Arch::Fc { 8 } else { 3 },
        lambda,
        optimizer: Optimizer::Sgd,
        learning_rate: 0.5,
        ..TrainConfig::default()
    }
}

fn stepped(cfg: &TrainConfig, steps: u64) -> (Vec<f32>, Vec<f32>) {
    let device = Device::flex().autodiff();
    device.seed(7);
    let mut dni = Dni::new(cfg, input(cfg.arch), CLASSES, &device);
    let before = flat_parameters(dni.net());
    for s in 0..steps {
        let (x, y) = batch(s, 16, cfg.arch, &device);
        dni = dni.step(x, &y).0;
    }
    (before, flat_parameters(dni.net()))
}

#[test]
fn bp_lambda_one_gives_backprops_updates() {
    for arch in ARCHS {
        for method in [Method::Dni, Method::Cdni] {
            let (start, bp) = stepped(&config(arch, Method::Backprop, 0.0), 3);
            let (start2, dni) = stepped(&config(arch, method, 1.0), 3);
            assert_eq!(start, start2, "same initial network");
            assert!(max_diff(&start, &bp) > 1e-2, "backprop moved the network");
            let d = max_diff(&bp, &dni);
            assert!(
                d < 1e-5,
                "{arch:?} {method:?}: BP(1) differs from backprop by {d}"
            );
        }
        // λ = 0 is DNI proper, which differs.
        let (_, bp) = stepped(&config(arch, Method::Backprop, 0.0), 3);
        let (_, dni) = stepped(&config(arch, Method::Dni, 0.0), 3);
        assert!(max_diff(&bp, &dni) > 1e-3, "{arch:?}");
    }
}

/// `TrainConfig::rate_at` and `Dni::set_learning_rate`: the multi-step schedule's rates, and a
/// step at a tenth of the rate moves every layer parameter a tenth as far (plain SGD), on both
/// code paths.
#[test]
fn the_decayed_rate_scales_the_layers_step() {
    let cfg = TrainConfig {
        lr_decay: true,
        ..config(Arch::Fc, Method::Backprop, 0.0)
    };
    let rates: Vec<f64> = [0, 59, 60, 79, 80, 99]
        .map(|s| cfg.rate_at(s, 100) / cfg.learning_rate)
        .into();
    assert_eq!(rates, [1.0, 1.0, 0.1, 0.1, 0.01, 0.01]);
    let constant = TrainConfig {
        lr_decay: false,
        ..cfg.clone()
    };
    assert_eq!(constant.rate_at(99, 100), cfg.learning_rate);
    for (method, lambda) in [(Method::Backprop, 0.0), (Method::Dni, 1.0)] {
        let moved = |lr: f64| {
            let device = Device::flex().autodiff();
            device.seed(7);
            let mut dni = Dni::new(&config(Arch::Fc, method, lambda), 6, CLASSES, &device);
            dni.set_learning_rate(lr);
            let before = flat_parameters(dni.net());
            let (x, y) = batch(0, 16, Arch::Fc, &device);
            let after = flat_parameters(dni.step(x, &y).0.net());
            before
                .iter()
                .zip(after)
                .map(|(b, a)| a - b)
                .collect::<Vec<f32>>()
        };
        let (full, tenth) = (moved(0.5), moved(0.05));
        assert!(full.iter().any(|d| d.abs() > 1e-3), "{method:?} moved");
        let scaled: Vec<f32> = full.iter().map(|d| d / 10.0).collect();
        let d = max_diff(&scaled, &tenth);
        assert!(d < 1e-6, "{method:?}: a tenth of the rate is off by {d}");
    }
}

#[test]
fn a_zero_initialised_synthetic_gradient_leaves_the_blocks_unchanged_at_first() {
    for (arch, optimizer) in ARCHS
        .into_iter()
        .flat_map(|a| [(a, Optimizer::Sgd), (a, Optimizer::Adam)])
    {
        let cfg = TrainConfig {
            optimizer,
            ..config(arch, Method::Dni, 0.0)
        };
        let device = Device::flex().autodiff();
        device.seed(3);
        let dni = Dni::new(&cfg, input(arch), CLASSES, &device);
        let blocks_before = flat_parameters(&dni.net().blocks);
        let head_before = flat_parameters(&dni.net().classifier);
        let (x, y) = batch(1, 16, arch, &device);
        let (dni, _) = dni.step(x, &y);
        let d = max_diff(&blocks_before, &flat_parameters(&dni.net().blocks));
        assert_eq!(d, 0.0, "{arch:?} {optimizer:?}: blocks moved by {d}");
        let h = max_diff(&head_before, &flat_parameters(&dni.net().classifier));
        assert!(
            h > 1e-4,
            "{optimizer:?}: the classifier learns from the true loss"
        );
    }
}

#[test]
fn freezing_every_block_leaves_the_classifier_to_learn_alone() {
    for method in [Method::Backprop, Method::Dni] {
        let cfg = TrainConfig {
            freeze: 3,
            ..config(Arch::Fc, method, 0.0)
        };
        let device = Device::flex().autodiff();
        device.seed(3);
        let mut dni = Dni::new(&cfg, input(Arch::Fc), CLASSES, &device);
        let blocks = learnable(&dni.net().blocks);
        // Weights, biases and batch norm's scales and shifts: (6 + 1 + 2)·8 + 2·(8 + 1 + 2)·8.
        assert_eq!(blocks.len(), 248);
        let head = flat_parameters(&dni.net().classifier);
        for s in 0..3 {
            let (x, y) = batch(s, 16, Arch::Fc, &device);
            dni = dni.step(x, &y).0;
        }
        let d = max_diff(&blocks, &learnable(&dni.net().blocks));
        assert_eq!(d, 0.0, "{method:?}: frozen blocks moved by {d}");
        assert!(max_diff(&head, &flat_parameters(&dni.net().classifier)) > 1e-3);
    }
    let too_many = TrainConfig {
        freeze: 4,
        ..config(Arch::Fc, Method::Backprop, 0.0)
    };
    let err = too_many.validate().unwrap_err().to_string();
    assert!(err.contains("freeze: 4 is more than the 3 blocks"), "{err}");
}

/// Losses of M (`hidden` units, cDNI over 3 classes) regressing `field(h, y)` for 600 Adam
/// steps on fresh standard normal h `[64, 8]`.
fn fit_field(hidden: usize, field: &dyn Fn(Tensor<2>, Tensor<2>) -> Tensor<2>) -> Vec<f64> {
    let device = Device::flex().autodiff();
    device.seed(5);
    let (w, classes, n) = (8, 3, 64);
    let mut rng = Rng::new(9);
    let mut sg = SyntheticGradient::new(w, hidden, Some(classes), &device);
    let mut opt = burn::optim::AdamConfig::new().init();
    let mut losses = Vec::new();
    for step in 0..600 {
        let h: Vec<f32> = (0..n * w).map(|_| rng.normal() as f32).collect();
        let h = Tensor::<2>::from_data(TensorData::new(h, [n, w]), &device);
        let y: Vec<usize> = (0..n).map(|i| (i + step) % classes).collect();
        let onehot = burn::tensor::Tensor::one_hot(labels_tensor(&y, &device), classes).float();
        let target = field(h.clone(), onehot);
        let loss = (sg.forward(h, Some(&y)) - target).square().mean();
        losses.push(loss.clone().into_scalar::<f32>() as f64);
        let g = burn::optim::GradientsParams::from_grads(loss.backward(), &sg);
        sg = opt.step(1e-2, sg, g);
    }
    losses
}

#[test]
fn a_synthetic_gradient_model_learns_a_fixed_gradient_field() {
    // Target field δ = A h + c(y): linear in h, shifted by the label (what cDNI can represent).
    let device = Device::flex().autodiff();
    let mut rng = Rng::new(3);
    let (w, classes) = (8, 3);
    let a: Vec<f32> = (0..w * w).map(|_| rng.normal() as f32 * 0.3).collect();
    let a = Tensor::<2>::from_data(TensorData::new(a, [w, w]), &device);
    let c: Vec<f32> = (0..classes * w).map(|_| rng.normal() as f32).collect();
    let c = Tensor::<2>::from_data(TensorData::new(c, [classes, w]), &device);
    let losses = fit_field(0, &|h, onehot| {
        h.matmul(a.clone()) + onehot.matmul(c.clone())
    });
    let (first, last) = (losses[0], *losses.last().unwrap());
    assert!(last < 1e-3 * first, "loss {first} -> {last}");
}

#[test]
fn a_hidden_layer_lets_the_model_learn_a_field_that_a_linear_one_cannot() {
    // δ = |h|: its best linear fit from h is the constant E|h| (residual variance 1 − 2/π ≈ 0.36
    // per unit); batch-normalised ReLU units represent it.
    let mean_last = |l: Vec<f64>| l[l.len() - 50..].iter().sum::<f64>() / 50.0;
    let linear = mean_last(fit_field(0, &|h, _| h.abs()));
    let mlp = mean_last(fit_field(64, &|h, _| h.abs()));
    assert!((0.25..0.5).contains(&linear), "linear M: {linear}");
    assert!(mlp < 0.2 * linear, "MLP M: {mlp}, linear M: {linear}");
}

#[test]
fn a_blocks_update_gradient_matches_finite_differences_of_the_loss() {
    for arch in ARCHS {
        finite_differences(arch);
    }
}

fn finite_differences(arch: Arch) {
    // With λ = 1 and SGD at rate 1, a step moves each parameter by −∂L/∂θ; compare with central
    // differences of the batch loss of the untouched network, in f32.
    let cfg = TrainConfig {
        learning_rate: 1.0,
        ..config(arch, Method::Dni, 1.0)
    };
    let device = Device::flex().autodiff();
    device.seed(11);
    let dni = Dni::new(&cfg, input(arch), CLASSES, &device);
    let net = dni.net().clone();
    let (x, y) = batch(4, 32, arch, &device);
    let (after, _) = dni.step(x.clone(), &y);
    let step: Vec<f32> = trainable(&net)
        .iter()
        .zip(trainable(after.net()))
        .map(|(b, a)| b - a)
        .collect();
    let loss_fn = CrossEntropyLossConfig::new().init(&device);
    let loss_at = |m: &Net| -> f64 {
        let l = loss_fn.forward(m.forward(x.clone()), labels_tensor(&y, &device));
        l.into_scalar::<f32>() as f64
    };
    let params = trainable(&net);
    assert_eq!(trainable(&with_parameters(&net, &params)), params);
    let n_blocks = trainable(&net.blocks).len();
    // Directional derivatives along random directions u over the blocks' parameters: the
    // signal adds up over all of them, well above the f32 rounding of the loss.
    let mut rng = Rng::new(2);
    for _ in 0..6 {
        let u: Vec<f32> = (0..params.len())
            .map(|k| {
                let z = rng.normal() as f32 / (n_blocks as f32).sqrt();
                if k < n_blocks { z } else { 0.0 }
            })
            .collect();
        let eps = 1e-3f32;
        let shifted = |d: f32| {
            let p: Vec<f32> = params.iter().zip(&u).map(|(p, u)| p + d * u).collect();
            loss_at(&with_parameters(&net, &p))
        };
        let fd = (shifted(eps) - shifted(-eps)) / (2.0 * eps as f64);
        let analytic: f64 = u.iter().zip(&step).map(|(u, g)| (u * g) as f64).sum();
        // 2% of the derivative, plus three times the f32 rounding of the two losses divided by
        // 2·eps (about 1e-4 here, which is all a direction with a tiny derivative can show).
        let rounding = 2.0 * f32::EPSILON as f64 * shifted(0.0).abs() / (2.0 * eps as f64);
        let rel = ((fd - analytic).abs() - 3.0 * rounding).max(0.0) / analytic.abs().max(1e-4);
        eprintln!(
            "{arch:?}: directional derivative: finite difference {fd:.6}, update {analytic:.6}"
        );
        assert!(
            rel < 0.02,
            "{arch:?}: finite difference {fd}, update {analytic}"
        );
    }
}

/// The parameters that gradients reach (not batch norm's running statistics).
fn learnable<M: Module>(m: &M) -> Vec<f32> {
    struct Get(Vec<f32>);
    impl burn::module::ModuleVisitor for Get {
        fn visit_float<const D: usize>(&mut self, param: &burn::module::Param<Tensor<D>>) {
            if param.is_require_grad() {
                self.0
                    .extend(param.val().into_data().convert::<f32>().iter::<f32>());
            }
        }
    }
    let mut g = Get(Vec::new());
    m.visit(&mut g);
    g.0
}

/// Every float tensor of `m` in mapping order, batch norm's running statistics included.
fn trainable<M: Module>(m: &M) -> Vec<f32> {
    struct Get(Vec<f32>);
    impl burn::module::ModuleMapper for Get {
        fn map_float<const D: usize>(
            &mut self,
            param: burn::module::Param<Tensor<D>>,
        ) -> burn::module::Param<Tensor<D>> {
            let data = param.val().into_data().convert::<f32>();
            self.0.extend(data.iter::<f32>());
            param
        }
    }
    let mut g = Get(Vec::new());
    let _ = m.clone().map(&mut g);
    g.0
}

/// `net` with its trainable parameters replaced, in mapping order, by `values`.
fn with_parameters(net: &Net, values: &[f32]) -> Net {
    struct Set<'a>(&'a [f32]);
    impl burn::module::ModuleMapper for Set<'_> {
        fn map_float<const D: usize>(
            &mut self,
            param: burn::module::Param<Tensor<D>>,
        ) -> burn::module::Param<Tensor<D>> {
            param.map(|t| {
                let shape = t.dims();
                let n: usize = shape.iter().product();
                let (now, rest) = self.0.split_at(n);
                self.0 = rest;
                Tensor::from_data(TensorData::new(now.to_vec(), shape), &t.device())
            })
        }
    }
    net.clone().map(&mut Set(values))
}

#[test]
fn precise_batch_norm_on_one_batch_reproduces_the_training_mode_outputs() {
    // In training mode each block normalises by its batch's statistics; recalibrated on that
    // same batch, inference mode must give the same logits (the moving averages would not).
    for arch in ARCHS {
        let device = Device::flex().autodiff();
        device.seed(13);
        let net = Net::new(arch, input(arch), 4, 3, CLASSES, &device);
        let (x, _) = batch(6, 32, arch, &device);
        let train_mode = net.forward(x.clone()).inner();
        let eval = net.valid();
        let x = x.inner();
        let calibrated = eval
            .clone()
            .recalibrate(std::slice::from_ref(&x))
            .forward(x.clone());
        let d = (train_mode.clone() - calibrated)
            .abs()
            .max()
            .into_scalar::<f32>();
        assert!(d < 1e-4, "{arch:?}: {d}");
        let moving = (train_mode - eval.forward(x))
            .abs()
            .max()
            .into_scalar::<f32>();
        assert!(
            moving > 1e-2,
            "{arch:?}: the moving averages differ ({moving})"
        );
    }
}

#[test]
fn sg_alignment_measures_the_prediction_of_the_true_gradient() {
    for arch in ARCHS {
        let device = Device::flex().autodiff();
        device.seed(7);
        let fresh = |method| Dni::new(&config(arch, method, 1.0), input(arch), CLASSES, &device);
        let (x, y) = batch(99, 64, arch, &device);
        assert!(
            fresh(Method::Backprop)
                .sg_alignment(x.clone(), &y)
                .is_empty()
        );
        // Zero-initialised models predict ĝ = 0: cosine 0 for every block.
        assert_eq!(
            fresh(Method::Cdni).sg_alignment(x.clone(), &y),
            vec![0.0; 3]
        );
        // The labels here are unrelated to the inputs, so only the label-conditioned model can
        // predict ∂L/∂h = Wᵀ(p − y); trained on the true gradients (BP(1)), its prediction of
        // the top block's gradient lines up with the probe's backpropagated one.
        let trained = |method| {
            let mut dni = fresh(method);
            for s in 0..60 {
                let (x, y) = batch(s % 4, 64, arch, &device);
                dni = dni.step(x, &y).0;
            }
            dni.sg_alignment(x.clone(), &y)
        };
        let (c, u) = (trained(Method::Cdni), trained(Method::Dni));
        eprintln!("{arch:?}: cDNI {c:?}, DNI {u:?}");
        assert!(c.iter().all(|v| v.abs() <= 1.0 + 1e-9), "{c:?}");
        assert!(
            c[2] > 0.6 && c[2] > u[2] + 0.3,
            "{arch:?}: cDNI {c:?}, DNI {u:?}"
        );
    }
}
