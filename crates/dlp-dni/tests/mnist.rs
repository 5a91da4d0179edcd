//! DNI, cDNI and backprop on MNIST, and DNI at both interfaces (skipped, saying why, when the
//! shared data are absent).

use burn::tensor::Device;
use dlp_core::data::idx::{LabelledImages, Split};
use dlp_core::testing::{shared_data, skip};
use dlp_dni::layers::Interface;
use dlp_dni::train::{Examples, Method, TrainConfig, train};

fn examples(set: &LabelledImages) -> Examples {
    Examples {
        x: set.images.iter().map(|&p| p as f32 / 255.0).collect(),
        y: set.labels.iter().map(|&l| l as usize).collect(),
        dim: set.height * set.width,
        classes: 10,
    }
}

/// MNIST's training and test examples, or `None` after saying why `test` is skipped.
fn mnist(test: &str) -> Option<(Examples, Examples)> {
    let Some(root) = shared_data() else {
        skip(test, "no shared data");
        return None;
    };
    let load = |split| examples(&LabelledImages::load(&root.join("mnist"), split).unwrap());
    Some((load(Split::Train), load(Split::Test)))
}

#[test]
fn dni_and_cdni_learn_mnist_like_backprop() {
    let Some((train_set, test_set)) = mnist("dni_and_cdni_learn_mnist_like_backprop") else {
        return;
    };
    let device = Device::flex();
    let (mut errors, mut top_alignment) = (Vec::new(), Vec::new());
    for method in [
        Method::Backprop,
        Method::Dni,
        Method::Cdni,
        Method::Decoupled,
    ] {
        let cfg = TrainConfig {
            method,
            epochs: 3,
            ..TrainConfig::default()
        };
        let s = train(&cfg, &train_set, &test_set, &device, None, false).unwrap();
        eprintln!("{method:?}: {s:?}");
        errors.push(s.test_error);
        // The last epoch's cosine of the top block's ĝ with its true gradient.
        let last = s.sg_alignment.last();
        top_alignment.push(last.and_then(|(_, per_block)| per_block.last().copied()));
    }
    // Three epochs, 3 layers of 256 (measured: backprop 2.2%, DNI 6.8%, cDNI 3.0%, decoupled
    // 5.2%): the synthetic gradients train every layer; the label makes them far better early
    // on, as in the paper; synthetic inputs cost a little more early on.
    assert!(errors[0] < 0.03, "{errors:?}");
    assert!(errors[2] < 0.045, "{errors:?}");
    assert!(errors[1] < 0.09, "{errors:?}");
    assert!(errors[3] < 0.07, "{errors:?}");
    // Backprop has no synthetic gradients. Without the label, ĝ has little left to predict once
    // the classifier fits (measured: DNI 0.04, cDNI 0.56, decoupled 0.49).
    assert_eq!(top_alignment[0], None);
    let (dni, cdni) = (top_alignment[1].unwrap(), top_alignment[2].unwrap());
    assert!(dni.abs() < 0.2 && cdni > dni + 0.3, "{top_alignment:?}");
}

#[test]
fn dni_trains_every_layer_on_generated_spirals() {
    // No data needed: three interleaved spirals, which a linear model cannot separate.
    let mut rng = dlp_core::rng::Rng::new(4);
    let make = |n, rng: &mut dlp_core::rng::Rng| {
        let (x, y) = dlp_core::demo::spirals(n, 3, 0.2, rng);
        Examples {
            x,
            y: y.into_iter().map(|l| l as usize).collect(),
            dim: 2,
            classes: 3,
        }
    };
    let (train_set, test_set) = (make(6000, &mut rng), make(1500, &mut rng));
    let device = Device::flex();
    for method in [Method::Backprop, Method::Cdni] {
        let cfg = TrainConfig {
            method,
            width: 16,
            batch_size: 64,
            epochs: 8,
            ..TrainConfig::default()
        };
        let s = train(&cfg, &train_set, &test_set, &device, None, false).unwrap();
        let err = s.test_error;
        eprintln!("{method:?}: test error {err}");
        assert!(err < 0.1, "{method:?}: {err}");
    }
    // Stochastic updates: each module updates at half of the steps, and still learns.
    let half = TrainConfig {
        method: Method::Cdni,
        width: 16,
        batch_size: 64,
        epochs: 8,
        update_prob: 0.5,
        ..TrainConfig::default()
    };
    let err = train(&half, &train_set, &test_set, &device, None, false)
        .unwrap()
        .test_error;
    eprintln!("cDNI with update probability 0.5: test error {err}");
    assert!(err < 0.1, "{err}");
    // Without learning the synthetic gradients (they stay at their zero start), only the
    // classifier learns, on random features: the layers below owe their training to M_i.
    let frozen = TrainConfig {
        method: Method::Cdni,
        width: 16,
        batch_size: 64,
        epochs: 8,
        sg_learning_rate: 0.0,
        ..TrainConfig::default()
    };
    let err = train(&frozen, &train_set, &test_set, &device, None, false)
        .unwrap()
        .test_error;
    eprintln!("cDNI with untrained synthetic gradients: test error {err}");
    assert!(err > 0.1, "{err}");
}

#[test]
fn concurrent_workers_learn_mnist_and_report_their_time() {
    let Some((train_set, test_set)) = mnist("concurrent_workers_learn_mnist_and_report_their_time")
    else {
        return;
    };
    let cfg = TrainConfig {
        method: Method::Cdni,
        epochs: 3,
        ..TrainConfig::default()
    };
    let s = dlp_dni::concurrent::train_concurrent(&cfg, 4, &train_set, &test_set, &Device::flex())
        .unwrap();
    eprintln!("concurrent cDNI: {s:?}");
    assert_eq!(s.workers.len(), 4);
    for w in &s.workers {
        assert!(w.busy_fraction > 0.0 && w.busy_fraction <= 1.0, "{w:?}");
    }
    for m in &s.modules {
        assert_eq!(m.updates, 3 * (60000 / 256), "{m:?}");
        assert!(m.forward_seconds > 0.0, "{m:?}");
    }
    // Every block's synthetic-gradient model learned from (stale) targets.
    assert!(
        s.modules[..3]
            .iter()
            .all(|m| m.synthetic_gradient_updates > 500)
    );
    assert!(s.test_error < 0.06, "{s:?}");
    // Two workers: the blocks are grouped, and the targets inside a group are never stale.
    let s = dlp_dni::concurrent::train_concurrent(&cfg, 2, &train_set, &test_set, &Device::flex())
        .unwrap();
    assert_eq!(s.workers.len(), 2);
    assert_eq!(s.modules.len(), 4);
    assert!(s.test_error < 0.06, "{s:?}");
}

#[test]
fn dni_at_the_preactivation_beats_dni_at_the_output() {
    let Some((train_set, test_set)) = mnist("dni_at_the_preactivation_beats_dni_at_the_output")
    else {
        return;
    };
    let run = |interface, sg_learning_rate| {
        let cfg = TrainConfig {
            method: Method::Dni,
            epochs: 3,
            interface,
            sg_learning_rate,
            ..TrainConfig::default()
        };
        let s = train(&cfg, &train_set, &test_set, &Device::flex(), None, false).unwrap();
        s.test_error
    };
    // 3 epochs, seeds 0-2, when written: 6.75/7.22/6.82% at the output, 5.63/5.82/5.39% before
    // the ReLU.
    let output = run(Interface::Output, 1e-2);
    let pre = run(Interface::Preactivation, 3e-3);
    eprintln!("DNI test error: output {output}, pre-activation {pre}");
    assert!(
        pre < output - 0.005,
        "pre-activation {pre} vs output {output}"
    );
}
