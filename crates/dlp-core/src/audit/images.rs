//! Audit of a labelled image dataset: exact and near duplicates within and across splits, class
//! balance, out-of-range labels, and suspected label errors by confident learning.
//!
//! - **Exact duplicates**: byte-identical images (hashed, then compared).
//! - **Near duplicates**: distinct images whose pixels, centred and L2-normalised, have cosine
//!   similarity at least [`NEAR_COSINE`]; candidates come from random-hyperplane LSH (64 bits in
//!   8 bands of 8), so not every pair is compared.
//! - **Label errors** (Northcutt et al. 2021, confident learning): out-of-fold probabilities
//!   from an MLP trained by dlp on the other folds; with t_j the mean probability of class j over
//!   examples labelled j, an example labelled y is suspected when its most probable class among
//!   those with p_j ≥ t_j is not y. Suspects are ranked by p_y, lowest first.

use crate::data::idx::LabelledImages;
use crate::demo::Mlp;
use crate::rng::Rng;
use burn::module::Module;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::activation::softmax;
use burn::tensor::{Device, Tensor};
use rayon::prelude::*;
use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};

/// Cosine similarity from which two distinct images are near duplicates.
pub const NEAR_COSINE: f64 = 0.98;

/// An image of one split.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ImageRef {
    pub split: usize,
    pub index: usize,
}

/// Groups of byte-identical images (each group at least two).
pub fn exact_duplicates(splits: &[&LabelledImages]) -> Vec<Vec<ImageRef>> {
    let mut groups: HashMap<u64, Vec<ImageRef>> = HashMap::new();
    for (s, set) in splits.iter().enumerate() {
        for i in 0..set.len() {
            let mut h = std::collections::hash_map::DefaultHasher::new();
            set.image(i).hash(&mut h);
            groups
                .entry(h.finish())
                .or_default()
                .push(ImageRef { split: s, index: i });
        }
    }
    let mut out: Vec<Vec<ImageRef>> = groups
        .into_values()
        .filter(|g| g.len() > 1)
        // Split hash groups by the bytes themselves (a hash collision is not a duplicate).
        .flat_map(|g| {
            let mut by_bytes: HashMap<&[u8], Vec<ImageRef>> = HashMap::new();
            for r in g {
                by_bytes
                    .entry(splits[r.split].image(r.index))
                    .or_default()
                    .push(r);
            }
            by_bytes
                .into_values()
                .filter(|g| g.len() > 1)
                .collect::<Vec<_>>()
        })
        .collect();
    out.iter_mut().for_each(|g| g.sort());
    out.sort();
    out
}

/// Centred, L2-normalised pixels of one image.
pub fn features(set: &LabelledImages, i: usize) -> Vec<f32> {
    let mut f: Vec<f32> = set.image(i).iter().map(|&p| p as f32).collect();
    let mean = f.iter().sum::<f32>() / f.len() as f32;
    f.iter_mut().for_each(|v| *v -= mean);
    let norm = f.iter().map(|v| v * v).sum::<f32>().sqrt().max(1e-6);
    f.iter_mut().for_each(|v| *v /= norm);
    f
}

fn cosine(a: &[f32], b: &[f32]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x * y) as f64).sum()
}

/// Pairs of distinct (not byte-identical) near-duplicate images, with their cosine similarity.
pub fn near_duplicates(
    splits: &[&LabelledImages],
    threshold: f64,
    seed: u64,
) -> Vec<(ImageRef, ImageRef, f64)> {
    let refs: Vec<ImageRef> = splits
        .iter()
        .enumerate()
        .flat_map(|(s, set)| (0..set.len()).map(move |i| ImageRef { split: s, index: i }))
        .collect();
    let feats: Vec<Vec<f32>> = refs
        .par_iter()
        .map(|r| features(splits[r.split], r.index))
        .collect();
    let dim = feats.first().map_or(0, Vec::len);
    let mut rng = Rng::new(seed);
    let planes: Vec<Vec<f32>> = (0..64)
        .map(|_| (0..dim).map(|_| rng.normal() as f32).collect())
        .collect();
    let sigs: Vec<u64> = feats
        .par_iter()
        .map(|f| {
            planes.iter().enumerate().fold(0u64, |acc, (k, p)| {
                acc | (u64::from(p.iter().zip(f).map(|(a, b)| a * b).sum::<f32>() >= 0.0) << k)
            })
        })
        .collect();
    let mut candidates: HashSet<(u32, u32)> = HashSet::new();
    for band in 0..8 {
        let mut buckets: HashMap<u8, Vec<u32>> = HashMap::new();
        for (i, s) in sigs.iter().enumerate() {
            buckets
                .entry((s >> (8 * band)) as u8)
                .or_default()
                .push(i as u32);
        }
        for members in buckets.values() {
            for (a, &i) in members.iter().enumerate() {
                for &j in &members[a + 1..] {
                    if (sigs[i as usize] ^ sigs[j as usize]).count_ones() <= 16 {
                        candidates.insert((i, j));
                    }
                }
            }
        }
    }
    let mut out: Vec<(ImageRef, ImageRef, f64)> = candidates
        .into_par_iter()
        .filter_map(|(i, j)| {
            let (a, b) = (refs[i as usize], refs[j as usize]);
            let sim = cosine(&feats[i as usize], &feats[j as usize]);
            let identical = splits[a.split].image(a.index) == splits[b.split].image(b.index);
            (sim >= threshold && !identical).then_some((a, b, sim))
        })
        .collect();
    out.sort_by(|x, y| y.2.total_cmp(&x.2).then((x.0, x.1).cmp(&(y.0, y.1))));
    out
}

/// Out-of-fold class probabilities of every example of `set` from `folds` MLPs.
pub fn out_of_fold_probabilities(
    set: &LabelledImages,
    folds: usize,
    seed: u64,
    device: &Device,
) -> Vec<Vec<f32>> {
    let classes = set.label_counts().len().max(2);
    let input = set.channels * set.height * set.width;
    let mut rng = Rng::new(seed);
    let order = rng.permutation(set.len());
    let mut probs = vec![Vec::new(); set.len()];
    let ad = device.clone().autodiff();
    let per_fold = 3 * (set.len() - set.len() / folds).div_ceil(128);
    let progress = crate::progress::Progress::new("label-error folds", (folds * per_fold) as u64);
    for k in 0..folds {
        let held: Vec<usize> = order.iter().copied().skip(k).step_by(folds).collect();
        let held_set: HashSet<usize> = held.iter().copied().collect();
        let train: Vec<usize> = order
            .iter()
            .copied()
            .filter(|i| !held_set.contains(i))
            .collect();
        ad.seed(seed + k as u64);
        let mut net = Mlp::new(input, 256, classes, &ad);
        let mut optim = AdamConfig::new().init();
        let loss_fn = CrossEntropyLossConfig::new().init(&ad);
        let mut fold_rng = rng.fork(k as u64);
        for _epoch in 0..3 {
            let perm = fold_rng.permutation(train.len());
            for chunk in perm.chunks(128) {
                let idx: Vec<usize> = chunk.iter().map(|&p| train[p]).collect();
                let x: Tensor<2> = set.images_tensor(&idx, &ad).flatten(1, 3);
                let loss = loss_fn.forward(net.forward(x), set.labels_tensor(&idx, &ad));
                let grads = GradientsParams::from_grads(loss.backward(), &net);
                net = optim.step(1e-3, net, grads);
                progress.inc(1);
            }
        }
        let net = net.valid();
        for chunk in held.chunks(2048) {
            let x: Tensor<2> = set.images_tensor(chunk, device).flatten(1, 3);
            let p = softmax(net.forward(x), 1)
                .into_data()
                .convert::<f32>()
                .try_to_vec::<f32>()
                .unwrap_or_default();
            for (row, &i) in p.chunks_exact(classes).zip(chunk) {
                probs[i] = row.to_vec();
            }
        }
    }
    progress.finish();
    probs
}

/// Below this out-of-fold accuracy the confident-learning suspects are reported as unreliable:
/// the method assumes probabilities that are mostly right (Northcutt et al. 2021), and a weak
/// model flags hard examples by the thousand.
pub const RELIABLE_ACCURACY: f64 = 0.9;

/// The fraction of examples whose most probable class under `probs` is their label.
pub fn accuracy(labels: &[u8], probs: &[Vec<f32>]) -> f64 {
    let right = labels
        .iter()
        .zip(probs)
        .filter(|(l, p)| {
            let best = (0..p.len()).max_by(|&a, &b| p[a].total_cmp(&p[b]));
            best == Some(**l as usize)
        })
        .count();
    right as f64 / labels.len().max(1) as f64
}

/// Suspected label errors by confident learning: (index, given label, suggested label, p_given),
/// lowest p_given first.
pub fn suspected_label_errors(labels: &[u8], probs: &[Vec<f32>]) -> Vec<(usize, u8, usize, f32)> {
    let classes = probs.first().map_or(0, Vec::len);
    let mut sum = vec![0.0f64; classes];
    let mut count = vec![0usize; classes];
    for (l, p) in labels.iter().zip(probs) {
        sum[*l as usize] += p[*l as usize] as f64;
        count[*l as usize] += 1;
    }
    let thresholds: Vec<f64> = (0..classes)
        .map(|j| sum[j] / count[j].max(1) as f64)
        .collect();
    let mut out: Vec<(usize, u8, usize, f32)> = labels
        .iter()
        .zip(probs)
        .enumerate()
        .filter_map(|(i, (&l, p))| {
            let best = (0..classes)
                .filter(|&j| p[j] as f64 >= thresholds[j])
                .max_by(|&a, &b| p[a].total_cmp(&p[b]))?;
            (best != l as usize).then_some((i, l, best, p[l as usize]))
        })
        .collect();
    out.sort_by(|a, b| a.3.total_cmp(&b.3));
    out
}
