//! Checkpoints: round trip, exact resume, wrong shapes, and a write killed midway.

use burn::module::Module;
use burn::nn::{Initializer, Linear, LinearConfig};
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::{Device, Tensor, TensorData};
use dlp_core::checkpoint::{self, CheckpointState};
use dlp_core::demo::Mlp;
use dlp_core::rng::Rng;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

fn state(step: u64, rng: &Rng) -> CheckpointState {
    CheckpointState {
        step,
        unit: checkpoint::Unit::Step,
        rng: rng.state(),
        extra: serde_json::json!({"epoch": 3}),
        model_sha256: String::new(),
        optimizer_sha256: None,
        files: Default::default(),
    }
}

fn weights<M: Module>(m: &M) -> Vec<f32> {
    let bytes = checkpoint::model_to_safetensors(m).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut names: Vec<&str> = st.names();
    names.sort();
    names
        .iter()
        .flat_map(|n| {
            st.tensor(n)
                .unwrap()
                .data()
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect::<Vec<_>>()
        })
        .collect()
}

fn batch(step: usize, device: &Device) -> (Tensor<2>, Tensor<1, burn::tensor::Int>) {
    let mut rng = Rng::new(100 + step as u64);
    let (x, y) = dlp_core::demo::spirals(64, 3, 0.2, &mut rng);
    (
        Tensor::from_data(TensorData::new(x, [64, 2]), device),
        Tensor::from_data(TensorData::new(y, [64]), device),
    )
}

fn train(
    model: Mlp,
    optim: &mut burn::optim::ModuleOptimizer,
    steps: std::ops::Range<usize>,
    device: &Device,
) -> Mlp {
    let loss_fn = burn::nn::loss::CrossEntropyLossConfig::new().init(device);
    let mut model = model;
    for step in steps {
        let (x, y) = batch(step, device);
        let loss = loss_fn.forward(model.forward(x), y);
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = optim.step(0.01, model, grads);
    }
    model
}

#[test]
fn resumed_training_ends_with_the_same_weights() {
    let dir = tempfile::tempdir().unwrap();
    let device = Device::flex().autodiff();
    device.seed(1);
    let init = Mlp::new(2, 16, 3, &device);

    let mut optim = AdamConfig::new().init();
    let straight = train(init.clone(), &mut optim, 0..10, &device);

    let mut optim = AdamConfig::new().init();
    let half = train(init, &mut optim, 0..5, &device);
    let rng = Rng::new(9);
    checkpoint::save(dir.path(), &half, Some(&optim), &state(5, &rng), 2).unwrap();

    // A fresh model from another seed, and a fresh optimiser, take the saved state.
    device.seed(2);
    let fresh = Mlp::new(2, 16, 3, &device);
    let loaded = checkpoint::load_latest(dir.path(), fresh).unwrap().unwrap();
    assert_eq!(loaded.state.step, 5);
    assert_eq!(loaded.state.rng, rng.state());
    assert_eq!(loaded.state.extra["epoch"], 3);
    assert_eq!(weights(&loaded.model), weights(&half));
    let mut optim = AdamConfig::new()
        .init()
        .load_record(loaded.optimizer.unwrap());
    let resumed = train(loaded.model, &mut optim, 5..10, &device);

    let (a, b) = (weights(&straight), weights(&resumed));
    let max_diff = a
        .iter()
        .zip(&b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0f32, f32::max);
    assert!(max_diff <= 1e-6, "resumed run differs by {max_diff}");
    // Without the optimiser state (Adam's moments) the run would differ:
    let mut cold = AdamConfig::new().init();
    let reloaded = checkpoint::load_latest(dir.path(), Mlp::new(2, 16, 3, &device))
        .unwrap()
        .unwrap();
    let cold_run = weights(&train(reloaded.model, &mut cold, 5..10, &device));
    assert!(a.iter().zip(&cold_run).any(|(x, y)| (x - y).abs() > 1e-4));
}

#[test]
fn wrong_shape_names_the_tensor_and_both_shapes() {
    let dir = tempfile::tempdir().unwrap();
    let device = Device::flex();
    let small = Mlp::new(2, 16, 3, &device);
    checkpoint::save(dir.path(), &small, None, &state(1, &Rng::new(0)), 1).unwrap();
    let err = checkpoint::load_latest(dir.path(), Mlp::new(2, 32, 3, &device))
        .err()
        .expect("shape mismatch must fail")
        .to_string();
    assert!(err.contains("model.safetensors"), "{err}");
    assert!(err.contains("`layers.0.weight`"), "{err}");
    assert!(err.contains("[2, 16]") && err.contains("[2, 32]"), "{err}");
}

#[test]
fn a_lost_latest_pointer_falls_back_to_the_newest_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let device = Device::flex();
    let m = Mlp::new(2, 8, 3, &device);
    for step in [9, 10, 11] {
        checkpoint::save(dir.path(), &m, None, &state(step, &Rng::new(0)), 2).unwrap();
    }
    std::fs::remove_file(dir.path().join("checkpoints/latest")).unwrap();
    let loaded = checkpoint::load_latest(dir.path(), Mlp::new(2, 8, 3, &device))
        .unwrap()
        .expect("a checkpoint");
    assert_eq!(loaded.state.step, 11);
    // No checkpoint at all is a fresh start, not an error.
    let empty = tempfile::tempdir().unwrap();
    assert!(checkpoint::latest(empty.path()).unwrap().is_none());
}

#[test]
fn corrupted_weights_fail_the_checksum() {
    let dir = tempfile::tempdir().unwrap();
    let device = Device::flex();
    let m = Mlp::new(2, 8, 3, &device);
    let ck = checkpoint::save(dir.path(), &m, None, &state(1, &Rng::new(0)), 1).unwrap();
    let path = ck.join("model.safetensors");
    let mut bytes = std::fs::read(&path).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&path, bytes).unwrap();
    let err = checkpoint::load(&ck, Mlp::new(2, 8, 3, &device))
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("SHA-256 mismatch") && err.contains("model.safetensors"),
        "{err}"
    );
}

/// A model of 16.8M parameters (67 MB of weights), every weight equal to `value`.
#[derive(Module, Debug)]
struct Big {
    layers: Vec<Linear>,
}

fn big(value: f64, device: &Device) -> Big {
    let layers = (0..4)
        .map(|_| {
            LinearConfig::new(2048, 2048)
                .with_bias(false)
                .with_initializer(Initializer::Constant { value })
                .init(device)
        })
        .collect();
    Big { layers }
}

#[test]
#[ignore = "helper process for interrupted_write_keeps_the_last_good_checkpoint"]
fn checkpoint_writer_child() {
    let dir = std::env::var("DLP_CKPT_CHILD_DIR").expect("run by the interrupt test");
    let device = Device::flex();
    for step in 1.. {
        let model = big(step as f64, &device);
        checkpoint::save(dir.as_ref(), &model, None, &state(step, &Rng::new(0)), 2).unwrap();
        println!("saved {step}");
    }
}

#[test]
fn interrupted_write_keeps_the_last_good_checkpoint() {
    let exe = std::env::current_exe().unwrap();
    let mut cut_midway = 0;
    for (round, delay_ms) in [5u64, 40, 120].into_iter().enumerate() {
        let dir = tempfile::tempdir().unwrap();
        let mut child = Command::new(&exe)
            .args([
                "--ignored",
                "--exact",
                "checkpoint_writer_child",
                "--nocapture",
            ])
            .env("DLP_CKPT_CHILD_DIR", dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        // Wait for two complete checkpoints, then kill the writer during the third.
        let mut saved = 0;
        while saved < 2 {
            let line = lines.next().expect("child ended early").unwrap();
            if line.starts_with("saved") {
                saved += 1;
            }
        }
        std::thread::sleep(Duration::from_millis(delay_ms));
        child.kill().unwrap();
        child.wait().unwrap();
        // A temporary directory left behind shows the kill landed inside a write.
        let left = std::fs::read_dir(dir.path().join("checkpoints"))
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .starts_with(".step-")
            })
            .count();
        cut_midway += left;

        let loaded = checkpoint::load_latest(dir.path(), big(0.0, &Device::flex()))
            .unwrap_or_else(|e| panic!("round {round}: latest checkpoint unreadable: {e}"))
            .expect("a checkpoint exists");
        let step = loaded.state.step;
        assert!(step >= 2, "round {round}: step {step}");
        let w = weights(&loaded.model);
        assert!(
            w.iter().all(|&v| v == step as f32),
            "round {round}: weights of step {step} are not all {step}"
        );
    }
    eprintln!("{cut_midway} of 3 kills landed inside a checkpoint write");
    assert!(
        cut_midway > 0,
        "no kill landed inside a write; the test proved nothing"
    );
}
