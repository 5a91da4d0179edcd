//! `dni train` checkpoints: a run stopped after one epoch and resumed reaches exactly the
//! weights, loss curve and test error of an uninterrupted run, for every method (one Adam state
//! over blocks, synthetic-gradient and synthetic-input models, and the stochastic-update stream).

use burn::tensor::Device;
use dlp_core::rng::Rng;
use dlp_dni::train::{Examples, Method, TrainConfig, train};

fn examples(seed: u64, n: usize) -> Examples {
    let (dim, classes) = (12, 3);
    let mut rng = Rng::new(seed);
    let y: Vec<usize> = (0..n).map(|i| i % classes).collect();
    let x = y
        .iter()
        .flat_map(|&c| (0..dim).map(move |j| (j % classes == c) as u8 as f32))
        .map(|v| v + 0.5 * rng.normal() as f32)
        .collect();
    Examples { x, y, dim, classes }
}

#[test]
fn a_resumed_run_matches_an_uninterrupted_one() {
    let (train_set, test_set) = (examples(1, 384), examples(2, 128));
    let device = Device::flex();
    for method in [Method::Backprop, Method::Dni, Method::Decoupled] {
        let cfg = TrainConfig {
            method,
            layers: 2,
            width: 16,
            batch_size: 32,
            epochs: 3,
            update_prob: if method == Method::Dni { 0.5 } else { 1.0 },
            ..TrainConfig::default()
        };
        let whole = train(&cfg, &train_set, &test_set, &device, None, false).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let first = TrainConfig {
            epochs: 1,
            ..cfg.clone()
        };
        train(
            &first,
            &train_set,
            &test_set,
            &device,
            Some(dir.path()),
            false,
        )
        .unwrap();
        let resumed = train(&cfg, &train_set, &test_set, &device, Some(dir.path()), true).unwrap();
        assert_eq!(resumed.resumed_from_epoch, 1, "{method:?}");
        let results = |s: &dlp_dni::train::TrainSummary| {
            (
                s.final_loss,
                s.final_sg_loss,
                s.final_si_loss,
                s.test_error,
                s.loss_curve.clone(),
            )
        };
        assert_eq!(results(&whole), results(&resumed), "{method:?}");
    }
}
