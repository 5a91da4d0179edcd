//! Every scoring function and loss against central finite differences, and the head query
//! against the tail query of the same triple.

use dlp_core::rng::Rng;
use dlp_kg::embed::ModelKind;
use dlp_kg::embed::loss::{self, LossKind};
use dlp_kg::embed::step::regularize;
use dlp_kg::embed::train::Regularizer;
use dlp_kg::graph::Side;

const KINDS: [ModelKind; 5] = [
    ModelKind::TransE { p: 1 },
    ModelKind::TransE { p: 2 },
    ModelKind::DistMult,
    ModelKind::ComplEx,
    ModelKind::RotatE,
];

fn random(rng: &mut Rng, n: usize) -> Vec<f64> {
    (0..n).map(|_| rng.normal()).collect()
}

fn f32s(v: &[f64]) -> Vec<f32> {
    v.iter().map(|&x| x as f32).collect()
}

/// s(compose(side, a, r), e) in f32 from f64 inputs.
fn score(kind: ModelKind, side: Side, a: &[f64], r: &[f64], e: &[f64]) -> f64 {
    let mut q = vec![0.0; a.len()];
    kind.compose(side, &f32s(a), &f32s(r), &mut q);
    kind.similarity().score(&q, &f32s(e)) as f64
}

fn check(name: &str, analytic: &[f32], mut f: impl FnMut(usize, f64) -> f64, x: &[f64]) {
    let h = 1e-2;
    for i in 0..x.len() {
        let numeric = (f(i, x[i] + h) - f(i, x[i] - h)) / (2.0 * h);
        let a = analytic[i] as f64;
        assert!(
            (numeric - a).abs() <= 2e-2 * (1.0 + a.abs()),
            "{name}[{i}]: analytic {a}, finite difference {numeric}"
        );
    }
}

#[test]
fn scoring_functions_pass_a_finite_difference_check() {
    let mut rng = Rng::new(3);
    let dim = 6;
    for kind in KINDS {
        for side in [Side::Tail, Side::Head] {
            let (ew, rw) = (kind.entity_width(dim), kind.relation_width(dim));
            let (a, r, e) = (
                random(&mut rng, ew),
                random(&mut rng, rw),
                random(&mut rng, ew),
            );
            let mut q = vec![0.0; ew];
            kind.compose(side, &f32s(&a), &f32s(&r), &mut q);
            let s = kind.similarity().score(&q, &f32s(&e));
            let (mut dq, mut de) = (vec![0.0; ew], vec![0.0; ew]);
            let g = 0.7f32; // an upstream gradient, to check the chain rule scaling
            kind.similarity()
                .backward(&q, &f32s(&e), s, g, &mut dq, &mut de);
            let (mut da, mut dr) = (vec![0.0; ew], vec![0.0; rw]);
            kind.compose_backward(side, &f32s(&a), &f32s(&r), &dq, &mut da, &mut dr);
            let tag = format!("{} {side:?}", kind.name());
            let with = |v: &[f64], i: usize, x: f64| {
                let mut v = v.to_vec();
                v[i] = x;
                v
            };
            check(
                &format!("{tag} d/d anchor"),
                &da,
                |i, x| g as f64 * score(kind, side, &with(&a, i, x), &r, &e),
                &a,
            );
            check(
                &format!("{tag} d/d relation"),
                &dr,
                |i, x| g as f64 * score(kind, side, &a, &with(&r, i, x), &e),
                &r,
            );
            check(
                &format!("{tag} d/d candidate"),
                &de,
                |i, x| g as f64 * score(kind, side, &a, &r, &with(&e, i, x)),
                &e,
            );
        }
    }
}

#[test]
fn the_head_query_scores_a_triple_as_the_tail_query_does() {
    let mut rng = Rng::new(4);
    for kind in KINDS {
        let dim = 5;
        let (h, r, t) = (
            random(&mut rng, kind.entity_width(dim)),
            random(&mut rng, kind.relation_width(dim)),
            random(&mut rng, kind.entity_width(dim)),
        );
        let tail = score(kind, Side::Tail, &h, &r, &t);
        let head = score(kind, Side::Head, &t, &r, &h);
        assert!(
            (tail - head).abs() < 1e-4 * (1.0 + tail.abs()),
            "{}: {tail} vs {head}",
            kind.name()
        );
    }
}

#[test]
fn complex_scores_match_the_textbook_formulas() {
    // ComplEx: Re(Σ h r conj(t)); RotatE: −Σ |h e^{iθ} − t|; computed with f64 complex arithmetic.
    let mut rng = Rng::new(5);
    let d = 4;
    let (h, t) = (random(&mut rng, 2 * d), random(&mut rng, 2 * d));
    let r = random(&mut rng, 2 * d);
    let complex: f64 = (0..d)
        .map(|j| {
            let (hr_re, hr_im) = (
                h[j] * r[j] - h[d + j] * r[d + j],
                h[j] * r[d + j] + h[d + j] * r[j],
            );
            hr_re * t[j] + hr_im * t[d + j]
        })
        .sum();
    assert!((score(ModelKind::ComplEx, Side::Tail, &h, &r, &t) - complex).abs() < 1e-4);
    let theta = &r[..d];
    let rotate: f64 = -(0..d)
        .map(|j| {
            let (c, s) = (theta[j].cos(), theta[j].sin());
            let (x, y) = (
                h[j] * c - h[d + j] * s - t[j],
                h[j] * s + h[d + j] * c - t[d + j],
            );
            (x * x + y * y).sqrt()
        })
        .sum::<f64>();
    assert!((score(ModelKind::RotatE, Side::Tail, &h, theta, &t) - rotate).abs() < 1e-4);
}

#[test]
fn losses_pass_a_finite_difference_check() {
    let mut rng = Rng::new(6);
    let scores = random(&mut rng, 9);
    for kind in [LossKind::Margin, LossKind::Softplus, LossKind::Nssa] {
        let mut grad = vec![0.0; 9];
        loss::negative_sampling(kind, 1.5, 0.8, &f32s(&scores), &mut grad);
        let f = |i: usize, x: f64| {
            let mut s = scores.clone();
            s[i] = x;
            loss::negative_sampling(kind, 1.5, 0.8, &f32s(&s), &mut [0.0; 9]) as f64
        };
        if kind == LossKind::Nssa {
            // The adversarial weights are held constant: differentiate with them frozen.
            let neg = &scores[1..];
            let z: f64 = neg.iter().map(|s| (0.8 * s).exp()).sum();
            let p: Vec<f64> = neg.iter().map(|s| (0.8 * s).exp() / z).collect();
            let sp = |x: f64| (1.0 + x.exp()).ln();
            let frozen = |i: usize, x: f64| {
                let mut s = scores.clone();
                s[i] = x;
                0.5 * (sp(-(1.5 + s[0])) + (1..9).map(|k| p[k - 1] * sp(1.5 + s[k])).sum::<f64>())
            };
            check("nssa", &grad, frozen, &scores);
        } else {
            check(&format!("{kind:?}"), &grad, f, &scores);
        }
    }
    let mut all = f32s(&scores);
    let ce = |s: &[f64]| {
        let m = s.iter().cloned().fold(f64::MIN, f64::max);
        let lz = m + s.iter().map(|x| (x - m).exp()).sum::<f64>().ln();
        let n = s.len() as f64;
        (0..s.len())
            .map(|e| -(0.1 / n + if e == 2 { 0.9 } else { 0.0 }) * (s[e] - lz))
            .sum::<f64>()
    };
    let value = loss::cross_entropy(&mut all, 2, 0.1) as f64;
    assert!((value - ce(&scores)).abs() < 1e-4);
    check(
        "cross_entropy",
        &all,
        |i, x| {
            let mut s = scores.clone();
            s[i] = x;
            ce(&s)
        },
        &scores,
    );
    let mut all = f32s(&scores);
    loss::binary_cross_entropy(&mut all, &[1, 4], 0.0);
    let bce = |s: &[f64]| {
        (0..s.len())
            .map(|e| (1.0 + s[e].exp()).ln() - if e == 1 || e == 4 { s[e] } else { 0.0 })
            .sum::<f64>()
    };
    check(
        "binary_cross_entropy",
        &all,
        |i, x| {
            let mut s = scores.clone();
            s[i] = x;
            bce(&s)
        },
        &scores,
    );
}

#[test]
fn regularisers_pass_a_finite_difference_check() {
    let mut rng = Rng::new(7);
    let x = random(&mut rng, 8);
    for (reg, complex) in [
        (Regularizer::L2, false),
        (Regularizer::N3, false),
        (Regularizer::N3, true),
    ] {
        let mut g = vec![0.0; 8];
        regularize(reg, 0.3, complex, &f32s(&x), &mut g);
        let f = |i: usize, v: f64| {
            let mut y = x.clone();
            y[i] = v;
            regularize(reg, 0.3, complex, &f32s(&y), &mut [0.0; 8]) as f64
        };
        check(&format!("{reg:?} complex={complex}"), &g, f, &x);
    }
}
