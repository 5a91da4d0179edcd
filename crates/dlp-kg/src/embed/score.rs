//! Scoring functions, each split into a *query* q = compose(anchor, relation) and a
//! *similarity* s(q, e) with every candidate entity e, so that one query is composed once and
//! compared with many candidates (negatives, or all entities).
//!
//! | model | f(h, r, t) | tail query q(h, r) | head query q(r, t) | s(q, e) |
//! |---|---|---|---|---|
//! | TransE (Bordes et al. 2013) | −‖h + r − t‖_p | h + r | t − r | −‖q − e‖_p |
//! | DistMult (Yang et al. 2015) | ⟨h, r, t⟩ | h ∘ r | t ∘ r | q · e |
//! | ComplEx (Trouillon et al. 2016) | Re⟨h, r, t̄⟩ | h ∘ r | r̄ ∘ t | Re q·ē = q · e (as reals) |
//! | RotatE (Sun et al. 2019) | −‖h ∘ r − t‖₁, \|r_j\| = 1 | h ∘ e^{iθ} | t ∘ e^{−iθ} | −Σ_j \|q_j − e_j\| |
//!
//! Complex vectors are stored as [re₀ … re_{d−1}, im₀ … im_{d−1}]; RotatE's relation is its d
//! phases θ. Each function has its backward pass here, checked against finite differences in
//! the tests.

use crate::graph::Side;
use crate::linalg::{complex_l1_distance, dot, l1_distance, squared_distance};
use serde::{Deserialize, Serialize};

/// A knowledge-graph embedding model's scoring function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ModelKind {
    /// TransE with the L1 (`p = 1`) or L2 (`p = 2`) distance.
    TransE {
        p: u8,
    },
    DistMult,
    ComplEx,
    RotatE,
}

/// How a query is compared with a candidate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Similarity {
    Dot,
    NegL1,
    NegL2,
    NegComplexL1,
}

impl ModelKind {
    /// Parses `transe` (L1), `transe-l2`, `distmult`, `complex`, `rotate`.
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name.to_ascii_lowercase().as_str() {
            "transe" | "transe-l1" => ModelKind::TransE { p: 1 },
            "transe-l2" => ModelKind::TransE { p: 2 },
            "distmult" => ModelKind::DistMult,
            "complex" => ModelKind::ComplEx,
            "rotate" => ModelKind::RotatE,
            _ => return None,
        })
    }

    /// The name [`ModelKind::parse`] reads.
    pub fn name(self) -> &'static str {
        match self {
            ModelKind::TransE { p: 2 } => "transe-l2",
            ModelKind::TransE { .. } => "transe",
            ModelKind::DistMult => "distmult",
            ModelKind::ComplEx => "complex",
            ModelKind::RotatE => "rotate",
        }
    }

    /// Floats per entity for embedding dimension `dim` (complex models store two per coordinate).
    pub fn entity_width(self, dim: usize) -> usize {
        match self {
            ModelKind::ComplEx | ModelKind::RotatE => 2 * dim,
            _ => dim,
        }
    }

    /// Floats per relation.
    pub fn relation_width(self, dim: usize) -> usize {
        match self {
            ModelKind::ComplEx => 2 * dim,
            _ => dim,
        }
    }

    pub fn similarity(self) -> Similarity {
        match self {
            ModelKind::TransE { p: 2 } => Similarity::NegL2,
            ModelKind::TransE { .. } => Similarity::NegL1,
            ModelKind::DistMult | ModelKind::ComplEx => Similarity::Dot,
            ModelKind::RotatE => Similarity::NegComplexL1,
        }
    }

    /// Whether coordinates pair up as complex numbers (for the N3 regulariser's modulus).
    pub fn is_complex(self) -> bool {
        matches!(self, ModelKind::ComplEx | ModelKind::RotatE)
    }

    /// q = compose(anchor, rel) for a query on `side`, written into `q`.
    #[inline(always)]
    pub fn compose(self, side: Side, a: &[f32], r: &[f32], q: &mut [f32]) {
        let tail = side == Side::Tail;
        match self {
            ModelKind::TransE { .. } => {
                let sign = if tail { 1.0 } else { -1.0 };
                for ((q, a), r) in q.iter_mut().zip(a).zip(r) {
                    *q = a + sign * r;
                }
            }
            ModelKind::DistMult => {
                for ((q, a), r) in q.iter_mut().zip(a).zip(r) {
                    *q = a * r;
                }
            }
            ModelKind::ComplEx => {
                let d = a.len() / 2;
                let (are, aim) = a.split_at(d);
                let (rre, rim) = r.split_at(d);
                let (qre, qim) = q.split_at_mut(d);
                // tail: a∘r; head: r̄∘a.
                let s = if tail { 1.0 } else { -1.0 };
                for j in 0..d {
                    qre[j] = are[j] * rre[j] - s * aim[j] * rim[j];
                    qim[j] = s * are[j] * rim[j] + aim[j] * rre[j];
                }
            }
            ModelKind::RotatE => {
                let d = a.len() / 2;
                let (are, aim) = a.split_at(d);
                let (qre, qim) = q.split_at_mut(d);
                let s = if tail { 1.0 } else { -1.0 };
                for j in 0..d {
                    let (sin, cos) = r[j].sin_cos();
                    let sin = s * sin;
                    qre[j] = are[j] * cos - aim[j] * sin;
                    qim[j] = are[j] * sin + aim[j] * cos;
                }
            }
        }
    }

    /// Backward of [`ModelKind::compose`]: adds dq·∂q/∂a to `da` and dq·∂q/∂r to `dr`.
    #[inline(always)]
    pub fn compose_backward(
        self,
        side: Side,
        a: &[f32],
        r: &[f32],
        dq: &[f32],
        da: &mut [f32],
        dr: &mut [f32],
    ) {
        let tail = side == Side::Tail;
        match self {
            ModelKind::TransE { .. } => {
                let sign = if tail { 1.0 } else { -1.0 };
                for ((g, da), dr) in dq.iter().zip(da.iter_mut()).zip(dr.iter_mut()) {
                    *da += g;
                    *dr += sign * g;
                }
            }
            ModelKind::DistMult => {
                for i in 0..dq.len() {
                    da[i] += dq[i] * r[i];
                    dr[i] += dq[i] * a[i];
                }
            }
            ModelKind::ComplEx => {
                let d = a.len() / 2;
                let s = if tail { 1.0 } else { -1.0 };
                for j in 0..d {
                    let (gre, gim) = (dq[j], dq[d + j]);
                    let (are, aim) = (a[j], a[d + j]);
                    let (rre, rim) = (r[j], r[d + j]);
                    // q_re = a_re r_re − s a_im r_im, q_im = s a_re r_im + a_im r_re.
                    da[j] += gre * rre + s * gim * rim;
                    da[d + j] += -s * gre * rim + gim * rre;
                    dr[j] += gre * are + gim * aim;
                    dr[d + j] += s * (-gre * aim + gim * are);
                }
            }
            ModelKind::RotatE => {
                let d = a.len() / 2;
                let s = if tail { 1.0 } else { -1.0 };
                for j in 0..d {
                    let (sin, cos) = r[j].sin_cos();
                    let sin = s * sin;
                    let (gre, gim) = (dq[j], dq[d + j]);
                    let (are, aim) = (a[j], a[d + j]);
                    let qre = are * cos - aim * sin;
                    let qim = are * sin + aim * cos;
                    da[j] += gre * cos + gim * sin;
                    da[d + j] += -gre * sin + gim * cos;
                    // ∂q/∂θ = s·(−q_im, q_re).
                    dr[j] += s * (-gre * qim + gim * qre);
                }
            }
        }
    }
}

impl Similarity {
    /// s(q, e).
    #[inline(always)]
    pub fn score(self, q: &[f32], e: &[f32]) -> f32 {
        match self {
            Similarity::Dot => dot(q, e),
            Similarity::NegL1 => -l1_distance(q, e),
            Similarity::NegL2 => -squared_distance(q, e).sqrt(),
            Similarity::NegComplexL1 => -complex_l1_distance(q, e),
        }
    }

    /// Adds g·∂s/∂q to `dq` and g·∂s/∂e to `de`; `s` is the score already computed.
    #[inline(always)]
    pub fn backward(self, q: &[f32], e: &[f32], s: f32, g: f32, dq: &mut [f32], de: &mut [f32]) {
        match self {
            Similarity::Dot => {
                for i in 0..q.len() {
                    dq[i] += g * e[i];
                    de[i] += g * q[i];
                }
            }
            Similarity::NegL1 => {
                for i in 0..q.len() {
                    let d = q[i] - e[i];
                    let v = if d > 0.0 {
                        -g
                    } else if d < 0.0 {
                        g
                    } else {
                        0.0
                    };
                    dq[i] += v;
                    de[i] -= v;
                }
            }
            Similarity::NegL2 => {
                let c = -g / (-s).max(1e-12);
                for i in 0..q.len() {
                    let v = c * (q[i] - e[i]);
                    dq[i] += v;
                    de[i] -= v;
                }
            }
            Similarity::NegComplexL1 => {
                let d = q.len() / 2;
                for j in 0..d {
                    let x = q[j] - e[j];
                    let y = q[d + j] - e[d + j];
                    let m = (x * x + y * y).sqrt().max(1e-12);
                    let (vx, vy) = (-g * x / m, -g * y / m);
                    dq[j] += vx;
                    dq[d + j] += vy;
                    de[j] -= vx;
                    de[d + j] -= vy;
                }
            }
        }
    }
}
