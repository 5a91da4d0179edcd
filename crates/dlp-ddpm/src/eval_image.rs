//! Evaluation of image samples with a classifier that dlp trains on the training set:
//! classifier-FID (the Fréchet distance of its penultimate features, samples vs test images)
//! beside the real-vs-real baseline (train vs test images at the same n), the predicted-class
//! histogram, the mean top-class probability, and for conditional models the accuracy against
//! the conditioning label.
//!
//! The classifier is an MLP `input → 256 → 128 → classes` with ReLU, trained for 3 epochs with
//! Adam; its features are the 128 penultimate activations. It is cached in the run directory
//! (`classifier.safetensors`).

use crate::frechet::frechet_distance;
use crate::sample::Sampler;
use crate::task_image::{Images, load_split, sample_images, write_grid};
use crate::train::{load_ema, read_config};
use burn::module::Module;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::nn::{Linear, LinearConfig};
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::activation::{relu, softmax};
use burn::tensor::{Device, Tensor};
use dlp_core::checkpoint::{self, CheckpointState};
use dlp_core::data::idx::{LabelledImages, Split};
use dlp_core::error::{Error, Result};
use dlp_core::progress::Progress;
use dlp_core::rng::Rng;
use serde::Serialize;
use serde_json::json;
use std::path::Path;
use std::time::Instant;

/// The evaluation classifier.
#[derive(Module, Debug)]
pub struct Classifier {
    l1: Linear,
    l2: Linear,
    l3: Linear,
}

impl Classifier {
    pub fn new(input: usize, classes: usize, device: &Device) -> Self {
        Self {
            l1: LinearConfig::new(input, 256).init(device),
            l2: LinearConfig::new(256, 128).init(device),
            l3: LinearConfig::new(128, classes).init(device),
        }
    }

    /// Penultimate features `[b, 128]` of images in [−1, 1].
    pub fn features(&self, x: Tensor<4>) -> Tensor<2> {
        let x = x.flatten::<2>(1, 3);
        relu(self.l2.forward(relu(self.l1.forward(x))))
    }

    /// Class logits.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        self.l3.forward(self.features(x))
    }
}

fn scaled(images: &LabelledImages, idx: &[usize], device: &Device) -> Tensor<4> {
    images.images_tensor(idx, device) * 2.0 - 1.0
}

fn rows(t: Tensor<2>) -> Vec<Vec<f64>> {
    let [_, k] = t.dims();
    let v = dlp_core::tensor::to_vec(t);
    v.chunks_exact(k)
        .map(|r| r.iter().map(|&x| x as f64).collect())
        .collect()
}

/// Trains the classifier on `train` and returns it with its accuracy on `test`.
pub fn train_classifier(
    train: &LabelledImages,
    test: &LabelledImages,
    seed: u64,
    device: &Device,
) -> (Classifier, f64) {
    let ad = device.clone().autodiff();
    ad.seed(seed);
    let input = train.channels * train.height * train.width;
    let classes = train.label_counts().len().max(10);
    let mut net = Classifier::new(input, classes, &ad);
    let mut optim = AdamConfig::new().init();
    let loss_fn = CrossEntropyLossConfig::new().init(&ad);
    let mut rng = Rng::new(seed).fork(31);
    let epochs = 3;
    let progress = Progress::new("classifier", (epochs * train.len().div_ceil(128)) as u64);
    for _ in 0..epochs {
        for idx in rng.batches(train.len(), 128, false) {
            let loss = loss_fn.forward(
                net.forward(scaled(train, &idx, &ad)),
                train.labels_tensor(&idx, &ad),
            );
            let grads = GradientsParams::from_grads(loss.backward(), &net);
            net = optim.step(1e-3, net, grads);
            progress.inc(1);
        }
    }
    progress.finish();
    let net = net.valid();
    let all: Vec<usize> = (0..test.len()).collect();
    let correct: usize = all
        .chunks(1000)
        .map(|idx| {
            let pred = argmax_rows(net.forward(scaled(test, idx, device)));
            idx.iter()
                .zip(pred)
                .filter(|(i, p)| test.labels[**i] as usize == *p)
                .count()
        })
        .sum();
    (net, correct as f64 / test.len() as f64)
}

fn argmax_rows(logits: Tensor<2>) -> Vec<usize> {
    rows(logits)
        .iter()
        .map(|r| (0..r.len()).fold(0, |b, j| if r[j] > r[b] { j } else { b }))
        .collect()
}

/// The classifier for a run: loaded from `classifier.safetensors` in the run, or trained and
/// saved there. Returns it with its test accuracy.
pub fn classifier_for(
    run: &Path,
    train: &LabelledImages,
    test: &LabelledImages,
    device: &Device,
) -> Result<(Classifier, f64)> {
    let input = train.channels * train.height * train.width;
    let dir = run.join("classifier");
    if let Some(loaded) = checkpoint::load_latest(&dir, Classifier::new(input, 10, device))? {
        let acc = loaded.state.extra["test_accuracy"]
            .as_f64()
            .unwrap_or(f64::NAN);
        return Ok((loaded.model, acc));
    }
    let (net, acc) = train_classifier(train, test, 0, device);
    let state = CheckpointState {
        step: 0,
        unit: dlp_core::checkpoint::Unit::Step,
        rng: Rng::new(0).state(),
        extra: json!({"test_accuracy": acc}),
        model_sha256: String::new(),
        optimizer_sha256: None,
        files: Default::default(),
    };
    checkpoint::save(&dir, &net, None, &state, 1)?;
    Ok((net, acc))
}

/// What an image evaluation does.
#[derive(Debug, Clone, Copy)]
pub struct ImageEval {
    /// Samples drawn (and real images compared).
    pub n: usize,
    pub sampler: Sampler,
    /// Classifier-free guidance scale for conditional models.
    pub guidance: f64,
    /// Test images whose variational bound (bits/dim) is computed; 0 skips it (T network
    /// evaluations per image).
    pub bpd_images: usize,
}

/// What [`evaluate_images`] reports; also `eval.json`.
#[derive(Debug, Clone, Serialize)]
pub struct ImageScores {
    pub task: &'static str,
    pub dataset: String,
    pub seed: u64,
    pub n: usize,
    pub sampler: Sampler,
    pub guidance: f64,
    /// Fréchet distance of the classifier's features, samples against test images.
    pub classifier_fid: f64,
    /// The same between training and test images: the floor.
    pub classifier_fid_real: f64,
    /// Share of the samples the classifier puts in each class.
    pub class_histogram: Vec<f64>,
    pub mean_top_probability: f64,
    /// For conditional models: how often the classifier names the class sampled.
    pub conditional_accuracy: Option<f64>,
    pub classifier_test_accuracy: f64,
    pub bits_per_dim: Option<f64>,
    pub bits_per_dim_images: Option<usize>,
    pub samples_plot: String,
    pub seconds: f64,
    pub dlp_version: &'static str,
}

/// Samples from a run's EMA U-Net and evaluates them (see the module doc), with the bound in
/// bits/dim on the first test images when asked. Writes `eval.json` and `eval_samples.png` into
/// `out` (the run, or a directory of the evaluation's own).
pub fn evaluate_images(
    run: &Path,
    data_dir: &Path,
    out: &Path,
    device: &Device,
    opts: ImageEval,
) -> Result<ImageScores> {
    let ImageEval {
        n,
        sampler,
        guidance,
        bpd_images,
    } = opts;
    let start = Instant::now();
    let cfg = read_config(run)?;
    let images = Images::from_config(&cfg, data_dir)?;
    let test = load_split(&cfg.dataset, data_dir, Split::Test)?;
    if n < 2 || n > test.len() {
        return Err(Error::setting(
            "n",
            format!("between 2 and {} for {}", test.len(), cfg.dataset),
        ));
    }
    let (classifier, classifier_accuracy) = classifier_for(run, &images.train, &test, device)?;
    let ema = load_ema(run, &images, device)?;
    let d = crate::GaussianDiffusion::new(cfg.schedule, cfg.timesteps);
    let mut rng = Rng::new(cfg.seed).fork(301);
    let (mut feats, mut probs, mut labels, mut grid) = (Vec::new(), Vec::new(), Vec::new(), None);
    let mut done = 0;
    while done < n {
        let b = (n - done).min(250);
        let (x, l) = sample_images(
            &ema,
            &images.unet,
            &d,
            cfg.prediction,
            sampler,
            b,
            guidance,
            &mut rng,
            device,
        );
        if grid.is_none() {
            grid = Some(x.clone().narrow(0, 0, b.min(100)));
        }
        feats.extend(rows(classifier.features(x.clone())));
        probs.extend(rows(softmax(classifier.forward(x), 1)));
        labels.extend(l);
        done += b;
    }
    let mut sel = Rng::new(cfg.seed).fork(302);
    let pick = |len: usize, rng: &mut Rng| rng.permutation(len)[..n].to_vec();
    let test_idx = pick(test.len(), &mut sel);
    let train_idx = pick(images.train.len(), &mut sel);
    let feats_of = |set: &LabelledImages, idx: &[usize]| -> Vec<Vec<f64>> {
        idx.chunks(1000)
            .flat_map(|c| rows(classifier.features(scaled(set, c, device))))
            .collect()
    };
    let test_feats = feats_of(&test, &test_idx);
    let train_feats = feats_of(&images.train, &train_idx);
    let classes = probs[0].len();
    let predicted: Vec<usize> = probs
        .iter()
        .map(|r| (0..classes).fold(0, |b, j| if r[j] > r[b] { j } else { b }))
        .collect();
    let mut histogram = vec![0.0; classes];
    for &p in &predicted {
        histogram[p] += 1.0 / n as f64;
    }
    let mean_top = probs
        .iter()
        .map(|r| r.iter().cloned().fold(0.0, f64::max))
        .sum::<f64>()
        / n as f64;
    let conditional_accuracy = (images.unet.num_classes > 0).then(|| {
        let hits = labels
            .iter()
            .zip(&predicted)
            .filter(|(l, p)| **l == Some(**p))
            .count();
        hits as f64 / n as f64
    });
    let bpd = (bpd_images > 0).then(|| {
        let mut rng = Rng::new(cfg.seed).fork(303);
        let count = bpd_images.min(test.len());
        let all: Vec<usize> = (0..count).collect();
        let values: Vec<f64> = all
            .chunks(50)
            .flat_map(|idx| {
                let x0 = scaled(&test, idx, device);
                crate::vlb::bits_per_dim(&ema, &d, cfg.prediction, x0, &mut rng)
            })
            .collect();
        values.iter().sum::<f64>() / values.len() as f64
    });
    let png = out.join("eval_samples.png");
    if let Some(g) = grid {
        write_grid(&png, g, 10)?;
    }
    let summary = ImageScores {
        task: "ddpm-eval",
        dataset: cfg.dataset.clone(),
        seed: cfg.seed,
        n,
        sampler,
        guidance,
        classifier_fid: frechet_distance(&feats, &test_feats),
        classifier_fid_real: frechet_distance(&train_feats, &test_feats),
        class_histogram: histogram,
        mean_top_probability: mean_top,
        conditional_accuracy,
        classifier_test_accuracy: classifier_accuracy,
        bits_per_dim: bpd,
        bits_per_dim_images: bpd.map(|_| bpd_images.min(test.len())),
        samples_plot: png.display().to_string(),
        seconds: start.elapsed().as_secs_f64(),
        dlp_version: dlp_core::run::VERSION,
    };
    let text = serde_json::to_string_pretty(&summary).expect("JSON serialises");
    dlp_core::atomic::write(out.join("eval.json"), text.as_bytes())?;
    Ok(summary)
}
