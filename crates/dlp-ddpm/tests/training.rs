//! Training: convergence on 8 Gaussians, exact resume, and a NaN that stops the run.

use burn::tensor::Device;
use dlp_core::checkpoint;
use dlp_ddpm::data2d::Toy2d;
use dlp_ddpm::run::train_run;
use dlp_ddpm::sample::Sampler;
use dlp_ddpm::train::{ModelConfig, TrainConfig, TrainState};
use std::path::Path;

fn small(steps: usize) -> TrainConfig {
    TrainConfig {
        steps,
        batch_size: 64,
        model: ModelConfig::Mlp {
            hidden: 16,
            layers: 1,
        },
        timesteps: 50,
        checkpoint_every: 10,
        log_every: 5,
        ..TrainConfig::for_dataset("8gaussians").unwrap()
    }
}

fn train_2d(
    cfg: &TrainConfig,
    out: &Path,
    device: &Device,
    resume: bool,
) -> dlp_core::Result<dlp_ddpm::train::TrainSummary> {
    train_run(cfg, Path::new("."), out, device, resume)
}

fn weights(run: &std::path::Path, cfg: &TrainConfig) -> Vec<u8> {
    // The tensors (not the file, whose metadata holds run-specific parameter ids).
    let dir = checkpoint::latest(run).unwrap().unwrap();
    let bytes = std::fs::read(dir.join("model.safetensors")).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut names = st.names();
    names.sort();
    let _ = cfg;
    names
        .iter()
        .flat_map(|n| st.tensor(n).unwrap().data().to_vec())
        .collect()
}

#[test]
fn resumed_run_ends_with_the_same_model_and_ema() {
    let device = Device::flex();
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    train_2d(&small(40), a.path(), &device, false).unwrap();
    train_2d(&small(20), b.path(), &device, false).unwrap();
    let resumed = train_2d(&small(40), b.path(), &device, true).unwrap();
    assert_eq!(weights(a.path(), &small(40)), weights(b.path(), &small(40)));
    assert_eq!(resumed.steps, 40);
    // The metrics log has each step once.
    let m = dlp_core::run::read_metrics(&b.path().join("metrics.jsonl")).unwrap();
    let steps: Vec<u64> = m.iter().map(|r| r["step"].as_u64().unwrap()).collect();
    assert_eq!(steps, (1..=8).map(|i| i * 5).collect::<Vec<_>>());
}

#[test]
fn a_non_finite_loss_stops_and_keeps_the_last_good_checkpoint() {
    let device = Device::flex();
    let dir = tempfile::tempdir().unwrap();
    let cfg = TrainConfig {
        learning_rate: 1e30,
        warmup_steps: 1,
        checkpoint_every: 1,
        ..small(50)
    };
    let err = train_2d(&cfg, dir.path(), &device, false)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("loss is") && err.contains("checkpoints"),
        "{err}"
    );
    let fresh = TrainState {
        model: dlp_ddpm::model::MlpDenoiser::new(16, 1, &device),
        ema: dlp_ddpm::model::MlpDenoiser::new(16, 1, &device),
    };
    let loaded = checkpoint::load_latest(dir.path(), fresh)
        .unwrap()
        .expect("a good checkpoint");
    assert!(loaded.state.step < 50);
}

#[test]
fn eight_gaussians_reach_the_data_floor() {
    // A shortened run (the command's default trains longer); deterministic for the seed.
    let device = Device::flex();
    let dir = tempfile::tempdir().unwrap();
    let cfg = TrainConfig {
        steps: 1500,
        checkpoint_every: 1500,
        ..TrainConfig::for_dataset(Toy2d::EightGaussians.name()).unwrap()
    };
    train_2d(&cfg, dir.path(), &device, false).unwrap();
    let s = dlp_ddpm::eval2d::evaluate_run(
        dir.path(),
        dir.path(),
        &device,
        1500,
        Sampler::Ddim {
            steps: 100,
            eta: 1.0,
        },
    )
    .unwrap();
    let (mmd, floor) = (s.mmd, s.mmd_floor);
    assert!(mmd <= 2.0 * floor, "MMD {mmd} vs floor {floor}");
    for f in s.mode_fractions.as_ref().unwrap() {
        assert!((f - 0.125).abs() <= 0.03, "{s:?}");
    }
    assert!(dir.path().join("samples.png").is_file() && dir.path().join("loss.png").is_file());
}
