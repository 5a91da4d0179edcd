//! The data audit on generated data with planted problems (each found with recall at least
//! 0.95 and precision at least 0.9), and on the shared FB15k-237 and WN18RR.

use dlp_core::audit::{images, text, triples};
use dlp_core::data::idx::LabelledImages;
use dlp_core::data::triples::LinkPrediction;
use dlp_core::rng::Rng;
use dlp_core::testing::{shared_data, skip};
use std::collections::HashSet;

fn score<T: Eq + std::hash::Hash + std::fmt::Debug>(
    found: &HashSet<T>,
    planted: &HashSet<T>,
    what: &str,
) {
    let hit = found.intersection(planted).count() as f64;
    let recall = hit / planted.len() as f64;
    let precision = hit / found.len().max(1) as f64;
    assert!(
        recall >= 0.95 && precision >= 0.9,
        "{what}: recall {recall:.3}, precision {precision:.3} ({} found, {} planted)",
        found.len(),
        planted.len()
    );
}

/// 10 classes of 16x16 images, each a class prototype under heavy noise.
fn images_set(n: usize, protos: &[Vec<f64>], rng: &mut Rng) -> LabelledImages {
    let mut set = LabelledImages {
        images: Vec::new(),
        labels: Vec::new(),
        channels: 1,
        height: 16,
        width: 16,
    };
    for i in 0..n {
        let k = i % 10;
        set.labels.push(k as u8);
        set.images.extend(
            protos[k]
                .iter()
                .map(|p| (p + 50.0 * rng.normal()).clamp(0.0, 255.0) as u8),
        );
    }
    set
}

#[test]
fn planted_image_problems_are_found() {
    let mut rng = Rng::new(1);
    let protos: Vec<Vec<f64>> = (0..10)
        .map(|_| {
            (0..256)
                .map(|_| if rng.uniform() < 0.5 { 40.0 } else { 215.0 })
                .collect()
        })
        .collect();
    let mut train = images_set(2500, &protos, &mut rng);
    let mut test = images_set(500, &protos, &mut rng);
    let size = 256;
    let copy = |from: &LabelledImages, i: usize| from.images[i * size..(i + 1) * size].to_vec();
    let mut planted_cross = HashSet::new();
    let mut planted_near = HashSet::new();
    let mut planted_flips = HashSet::new();
    // 20 test images that are exact copies of training images (cross-split leaks).
    for k in 0..20 {
        let (src, dst) = (100 + k, 10 + k);
        test.images
            .splice(dst * size..(dst + 1) * size, copy(&train, src));
        test.labels[dst] = train.labels[src];
        planted_cross.insert(dst);
    }
    // 20 test and 10 training images that are slightly perturbed copies of training images.
    for k in 0..30 {
        let src = 300 + k;
        let (split, dst) = if k < 20 { (1, 100 + k) } else { (0, 1000 + k) };
        let img: Vec<u8> = copy(&train, src)
            .iter()
            .map(|&p| (p as f64 + 3.0 * rng.normal()).clamp(0.0, 255.0) as u8)
            .collect();
        let label = train.labels[src];
        let target = if split == 1 { &mut test } else { &mut train };
        target.images.splice(dst * size..(dst + 1) * size, img);
        target.labels[dst] = label;
        let a = images::ImageRef {
            split: 0,
            index: src,
        };
        let b = images::ImageRef { split, index: dst };
        planted_near.insert(if a < b { (a, b) } else { (b, a) });
    }
    // 10 exact duplicates within the training set.
    let mut planted_within = HashSet::new();
    for k in 0..10 {
        let (src, dst) = (2000 + k, 2100 + k);
        train
            .images
            .splice(dst * size..(dst + 1) * size, copy(&train, src));
        train.labels[dst] = train.labels[src];
        planted_within.insert((src, dst));
    }
    // 40 flipped training labels.
    for k in 0..40 {
        let i = 1500 + 7 * k;
        train.labels[i] = (train.labels[i] + 1 + (k % 9) as u8) % 10;
        planted_flips.insert(i);
    }
    let splits = [&train, &test];
    let exact = images::exact_duplicates(&splits);
    let found_cross: HashSet<usize> = exact
        .iter()
        .filter(|g| g.iter().any(|r| r.split == 0))
        .flat_map(|g| {
            g.iter()
                .filter(|r| r.split == 1)
                .map(|r| r.index)
                .collect::<Vec<_>>()
        })
        .collect();
    score(&found_cross, &planted_cross, "cross-split exact duplicates");
    let found_within: HashSet<(usize, usize)> = exact
        .iter()
        .filter(|g| g.len() == 2 && g.iter().all(|r| r.split == 0))
        .map(|g| (g[0].index, g[1].index))
        .collect();
    score(
        &found_within,
        &planted_within,
        "exact duplicates within a split",
    );
    let near: HashSet<_> = images::near_duplicates(&splits, images::NEAR_COSINE, 0)
        .into_iter()
        .map(|p| (p.0, p.1))
        .collect();
    score(&near, &planted_near, "near duplicates");
    let probs = images::out_of_fold_probabilities(&train, 2, 0, &burn::tensor::Device::flex());
    let flips: HashSet<usize> = images::suspected_label_errors(&train.labels, &probs)
        .into_iter()
        .map(|s| s.0)
        .collect();
    score(&flips, &planted_flips, "flipped labels");
    // Strong enough here for the suspects to mean something.
    let acc = images::accuracy(&train.labels, &probs);
    assert!(
        acc >= images::RELIABLE_ACCURACY,
        "out-of-fold accuracy {acc}"
    );
}

#[test]
fn accuracy_counts_the_most_probable_class() {
    let probs = vec![
        vec![0.7, 0.2, 0.1],
        vec![0.1, 0.3, 0.6],
        vec![0.2, 0.5, 0.3],
        vec![0.4, 0.4, 0.2],
    ];
    // Right, right, wrong (label 0, best 1); a tie goes to the later class, so the last is wrong.
    assert_eq!(images::accuracy(&[0, 2, 0, 0], &probs), 0.5);
    assert_eq!(images::accuracy(&[], &[]), 0.0);
}

#[test]
fn planted_triple_problems_are_found() {
    let mut rng = Rng::new(2);
    let mut kg = LinkPrediction::default();
    for e in 0..2000 {
        kg.entities.intern(&format!("e{e}"));
    }
    for r in 0..10 {
        kg.relations.intern(&format!("r{r}"));
    }
    let mut seen = HashSet::new();
    let mut draw = |rng: &mut Rng| loop {
        let t = [
            rng.below(2000) as u32,
            rng.below(10) as u32,
            rng.below(2000) as u32,
        ];
        if t[0] != t[2] && seen.insert(t) {
            return t;
        }
    };
    kg.train = (0..5000).map(|_| draw(&mut rng)).collect();
    kg.test = (0..300).map(|_| draw(&mut rng)).collect();
    // 15 test triples copied from training; 30 test triples whose reverse is added to training.
    let mut planted_cross = HashSet::new();
    for k in 0..15 {
        kg.test[k] = kg.train[k * 7];
        planted_cross.insert(kg.test[k]);
    }
    let mut planted_leaks = HashSet::new();
    for k in 100..130 {
        let t = kg.test[k];
        kg.train.push([t[2], (t[1] + 3) % 10, t[0]]);
        planted_leaks.insert(t);
    }
    let train: HashSet<_> = kg.train.iter().copied().collect();
    let found_cross: HashSet<_> = kg
        .test
        .iter()
        .filter(|t| train.contains(*t))
        .copied()
        .collect();
    score(&found_cross, &planted_cross, "triples in train and test");
    let reversed: HashSet<(u32, u32)> = kg.train.iter().map(|t| (t[2], t[0])).collect();
    let leaks: HashSet<_> = triples::inverse_leaks(&kg, &reversed)
        .into_iter()
        .filter(|t| !train.contains(t))
        .collect();
    score(&leaks, &planted_leaks, "inverse leaks");
    let report = triples::audit(&kg);
    assert_eq!(report.cross_split_duplicates, 15);
}

#[test]
fn planted_text_duplicates_are_found() {
    let mut rng = Rng::new(3);
    let words: Vec<String> = (0..500).map(|i| format!("w{i}x{}", i * 7 % 13)).collect();
    let mut docs: Vec<String> = (0..300)
        .map(|_| {
            (0..25)
                .map(|_| words[rng.below(500)].clone())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    let (mut exact, mut near) = (HashSet::new(), HashSet::new());
    for k in 0..15 {
        docs[200 + k] = docs[k].clone();
        exact.insert((k, 200 + k));
        let mut w: Vec<String> = docs[20 + k].split(' ').map(str::to_string).collect();
        w[12] = "changed".into();
        docs[250 + k] = w.join(" ");
        near.insert((20 + k, 250 + k));
    }
    let refs: Vec<&str> = docs.iter().map(String::as_str).collect();
    let found_exact: HashSet<(usize, usize)> = text::exact_duplicates(&refs)
        .into_iter()
        .map(|g| (g[0], g[1]))
        .collect();
    score(&found_exact, &exact, "exact text duplicates");
    let found_near: HashSet<(usize, usize)> = text::near_duplicates(&refs, text::NEAR_JACCARD)
        .into_iter()
        .map(|p| (p.0, p.1))
        .collect();
    score(&found_near, &near, "near text duplicates");
}

#[test]
fn shared_link_prediction_sets_report_their_leakage() {
    let Some(root) = shared_data() else {
        return skip(
            "shared_link_prediction_sets_report_their_leakage",
            "no shared data",
        );
    };
    for name in ["wn18rr", "fb15k-237"] {
        let kg = LinkPrediction::load(&root.join(name)).unwrap();
        let clean = triples::audit(&kg);
        let leak = clean.inverse_leak_fraction;
        eprintln!(
            "{name}: inverse leak {leak:.3}, inverse-rule MRR {:.3}",
            clean.inverse_rule_mrr
        );
        assert_eq!(clean.cross_split_duplicates, 0, "{name}");
        // The FB15k situation: every triple's inverse, under an inverse relation, in training.
        let mut leaky = kg.clone();
        for t in kg.train.iter().chain(&kg.test) {
            let inv = leaky
                .relations
                .intern(&format!("{}_inverse", kg.relations.name(t[1])));
            leaky.train.push([t[2], inv, t[0]]);
        }
        let dirty = triples::audit(&leaky);
        assert_eq!(dirty.inverse_leak_fraction, 1.0, "{name}");
        let mrr = dirty.inverse_rule_mrr;
        assert!(
            mrr > 0.9 && mrr > clean.inverse_rule_mrr + 0.3,
            "{name}: {mrr}"
        );
        assert!(!dirty.near_inverse_relation_pairs.is_empty());
    }
}
