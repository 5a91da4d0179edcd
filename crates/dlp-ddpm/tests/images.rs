//! Image training and evaluation on the shared MNIST (skipped, saying why, when absent).

use burn::tensor::Device;
use dlp_core::testing::{shared_data, skip};
use dlp_ddpm::eval_image::{ImageEval, evaluate_images};
use dlp_ddpm::run::train_run;
use dlp_ddpm::sample::Sampler;
use dlp_ddpm::train::{ModelConfig, TrainConfig};
use dlp_ddpm::unet::UNetConfig;

#[test]
fn mnist_run_trains_samples_and_is_scored_against_real_data() {
    let Some(data) = shared_data() else {
        return skip(
            "mnist_run_trains_samples_and_is_scored_against_real_data",
            "no shared data",
        );
    };
    let device = Device::flex();
    let dir = tempfile::tempdir().unwrap();
    let unet = UNetConfig {
        ch: 8,
        ch_mult: vec![1, 2],
        attn_resolutions: vec![14],
        num_classes: 10,
        ..UNetConfig::mnist()
    };
    let cfg = TrainConfig {
        steps: 4,
        batch_size: 8,
        checkpoint_every: 4,
        timesteps: 20,
        model: ModelConfig::Unet(unet),
        ..TrainConfig::for_dataset("mnist").unwrap()
    };
    let s = train_run(&cfg, &data, dir.path(), &device, false).unwrap();
    assert_eq!(s.steps, 4);
    let grid = image::open(dir.path().join("samples.png")).unwrap();
    assert_eq!((grid.width(), grid.height()), (8 * 58 + 2, 8 * 58 + 2));

    let opts = ImageEval {
        n: 300,
        sampler: Sampler::Ddim { steps: 4, eta: 0.0 },
        guidance: 1.0,
        bpd_images: 4,
    };
    let e = evaluate_images(dir.path(), &data, dir.path(), &device, opts).unwrap();
    // An untrained model's bound is poor but finite: above the 1 bit/dim that MNIST's many
    // black pixels make easy, below 8 bits of raw bytes plus the prior's slack.
    let bpd = e.bits_per_dim.unwrap();
    assert!(bpd.is_finite() && bpd > 0.5 && bpd < 40.0, "{bpd}");
    let (fid, real) = (e.classifier_fid, e.classifier_fid_real);
    // A 4-step model draws noise: far from the data, while train and test images are close.
    assert!(fid > 5.0 * real, "classifier-FID {fid} vs real {real}");
    assert!(e.classifier_test_accuracy > 0.95, "{e:?}");
    let hist: f64 = e.class_histogram.iter().sum();
    assert!((hist - 1.0).abs() < 1e-9);
    assert!(e.conditional_accuracy.is_some());
    // The classifier is cached in the run: a second evaluation does not retrain it.
    assert!(dir.path().join("classifier/checkpoints/latest").is_file());
}

#[test]
fn image_run_with_dropout_resumes_to_the_same_weights() {
    let Some(data) = shared_data() else {
        return skip(
            "image_run_with_dropout_resumes_to_the_same_weights",
            "no shared data",
        );
    };
    let device = Device::flex();
    let unet = UNetConfig {
        ch: 8,
        ch_mult: vec![1, 2],
        attn_resolutions: vec![],
        dropout: 0.5,
        ..UNetConfig::mnist()
    };
    let cfg = |steps| TrainConfig {
        steps,
        batch_size: 4,
        checkpoint_every: 2,
        timesteps: 20,
        model: ModelConfig::Unet(unet.clone()),
        ..TrainConfig::for_dataset("mnist").unwrap()
    };
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    train_run(&cfg(4), &data, a.path(), &device, false).unwrap();
    train_run(&cfg(2), &data, b.path(), &device, false).unwrap();
    train_run(&cfg(4), &data, b.path(), &device, true).unwrap();
    let weights = |dir: &std::path::Path| {
        let ck = dlp_core::checkpoint::latest(dir).unwrap().unwrap();
        let bytes = std::fs::read(ck.join("model.safetensors")).unwrap();
        let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
        let mut names = st.names();
        names.sort();
        names
            .iter()
            .flat_map(|n| st.tensor(n).unwrap().data().to_vec())
            .collect::<Vec<u8>>()
    };
    assert_eq!(weights(a.path()), weights(b.path()));
}
