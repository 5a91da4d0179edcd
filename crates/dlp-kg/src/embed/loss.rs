//! Training losses and their derivatives with respect to the scores.
//!
//! Negative sampling, for one positive score s⁺ and k negative scores s⁻ᵢ:
//! - `margin` (TransE): (1/k) Σᵢ max(0, γ − s⁺ + s⁻ᵢ).
//! - `softplus` (binary cross-entropy with logits, as PyKEEN's `SoftplusLoss`):
//!   (softplus(−s⁺) + Σᵢ softplus(s⁻ᵢ)) / (1 + k).
//! - `nssa`, self-adversarial negative sampling (Sun et al. 2019, eq. 5):
//!   ½(−log σ(γ + s⁺) − Σᵢ pᵢ log σ(−γ − s⁻ᵢ)), pᵢ = softmax(α s⁻)ᵢ held constant.
//!
//! Against all entities (1vsAll, KvsAll), for scores s over N entities and labels y smoothed by
//! ε to (1 − ε)y + ε/N:
//! - `ce`: −Σ_e y_e log softmax(s)_e (1vsAll; y one-hot);
//! - `bce`: Σ_e [softplus(s_e) − y_e s_e] (KvsAll; y marks every known answer).
//!
//! Each function returns the loss and writes dL/ds over the scores it was given.

use serde::{Deserialize, Serialize};

/// Which loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LossKind {
    Margin,
    Softplus,
    Nssa,
    Ce,
    Bce,
}

impl LossKind {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "margin" => LossKind::Margin,
            "softplus" | "bce-ns" => LossKind::Softplus,
            "nssa" | "self-adversarial" => LossKind::Nssa,
            "ce" | "cross-entropy" => LossKind::Ce,
            "bce" => LossKind::Bce,
            _ => return None,
        })
    }
}

#[inline]
pub fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// log(1 + eˣ) without overflow.
#[inline]
pub fn softplus(x: f32) -> f32 {
    if x > 20.0 {
        x
    } else if x < -20.0 {
        x.exp()
    } else {
        x.exp().ln_1p()
    }
}

/// A negative-sampling loss: `scores[0]` is the positive, the rest negatives; `grad` gets dL/ds.
pub fn negative_sampling(
    kind: LossKind,
    margin: f32,
    temperature: f32,
    scores: &[f32],
    grad: &mut [f32],
) -> f32 {
    let (pos, neg) = (scores[0], &scores[1..]);
    let k = neg.len() as f32;
    match kind {
        LossKind::Margin => {
            let (mut loss, mut active) = (0.0, 0.0);
            for (g, &s) in grad[1..].iter_mut().zip(neg) {
                let v = margin - pos + s;
                *g = if v > 0.0 { 1.0 / k } else { 0.0 };
                if v > 0.0 {
                    loss += v;
                    active += 1.0;
                }
            }
            grad[0] = -active / k;
            loss / k
        }
        LossKind::Softplus => {
            let n = 1.0 + k;
            grad[0] = -sigmoid(-pos) / n;
            let mut loss = softplus(-pos);
            for (g, &s) in grad[1..].iter_mut().zip(neg) {
                loss += softplus(s);
                *g = sigmoid(s) / n;
            }
            loss / n
        }
        LossKind::Nssa => {
            let max = neg
                .iter()
                .fold(f32::NEG_INFINITY, |m, &s| m.max(temperature * s));
            let z: f32 = neg.iter().map(|&s| (temperature * s - max).exp()).sum();
            grad[0] = -0.5 * sigmoid(-(margin + pos));
            let mut loss = softplus(-(margin + pos));
            for (g, &s) in grad[1..].iter_mut().zip(neg) {
                let p = (temperature * s - max).exp() / z;
                loss += p * softplus(margin + s);
                *g = 0.5 * p * sigmoid(margin + s);
            }
            0.5 * loss
        }
        LossKind::Ce | LossKind::Bce => panic!("{kind:?} is a loss against all entities"),
    }
}

/// Cross-entropy of `scores` (all entities) against `target`, label smoothing `eps`; `scores`
/// is overwritten with dL/ds.
pub fn cross_entropy(scores: &mut [f32], target: usize, eps: f32) -> f32 {
    let n = scores.len() as f32;
    let max = scores.iter().fold(f32::NEG_INFINITY, |m, &s| m.max(s));
    let z: f32 = scores.iter().map(|&s| (s - max).exp()).sum();
    let log_z = max + z.ln();
    let mut loss = 0.0;
    for (e, s) in scores.iter_mut().enumerate() {
        let y = eps / n + if e == target { 1.0 - eps } else { 0.0 };
        if y > 0.0 {
            loss -= y * (*s - log_z);
        }
        *s = (*s - log_z).exp() - y;
    }
    loss
}

/// Binary cross-entropy of `scores` against the answer set `targets` (sorted), label smoothing
/// `eps`; `scores` is overwritten with dL/ds.
pub fn binary_cross_entropy(scores: &mut [f32], targets: &[u32], eps: f32) -> f32 {
    let n = scores.len() as f32;
    let mut loss = 0.0;
    let mut next = targets.iter().peekable();
    for (e, s) in scores.iter_mut().enumerate() {
        let hit = next.peek().is_some_and(|&&t| t as usize == e);
        if hit {
            next.next();
        }
        let y = (1.0 - eps) * if hit { 1.0 } else { 0.0 } + eps / n;
        loss += softplus(*s) - y * *s;
        *s = sigmoid(*s) - y;
    }
    loss
}
