//! What the training steps share: per-thread gradient buffers, the optimiser step that sums
//! them, and the regularisers (L2; N3 for the tensor-factorisation models).

use super::checkpoint::State;
use super::config::{EmbedConfig, Regularizer};
use super::optim::RowGrad;
use super::{Kge, ModelKind};

/// Per-thread buffers for negative sampling.
pub(super) struct Worker {
    pub(super) ent: RowGrad,
    pub(super) rel: RowGrad,
    pub(super) q: Vec<f32>,
    pub(super) dq: Vec<f32>,
    pub(super) scores: Vec<f32>,
    pub(super) grads: Vec<f32>,
    pub(super) cands: Vec<u32>,
}

impl Worker {
    /// Buffers for `negatives` negatives per example, gradients as wide as `model`'s tables.
    pub(super) fn new(model: &Kge, negatives: usize) -> Worker {
        let w = model.entity_width();
        Worker {
            ent: RowGrad::new(model.num_entities, w),
            rel: RowGrad::new(
                model.relations.len() / model.relation_width(),
                model.relation_width(),
            ),
            q: vec![0.0; w],
            dq: vec![0.0; w],
            scores: vec![0.0; negatives + 1],
            grads: vec![0.0; negatives + 1],
            cands: vec![0; negatives + 1],
        }
    }
}

/// Sums the workers' gradients into the first, updates, and re-applies constraints.
pub(super) fn apply(state: &mut State, workers: &mut [Worker]) {
    let constraint = state.model.entity_constraint();
    let mut ent: Vec<&mut RowGrad> = Vec::with_capacity(workers.len());
    let mut rel: Vec<&mut RowGrad> = Vec::with_capacity(workers.len());
    for w in workers.iter_mut() {
        ent.push(&mut w.ent);
        rel.push(&mut w.rel);
    }
    state
        .opt_ent
        .step(&mut state.model.entities, &mut ent, constraint);
    state
        .opt_rel
        .step(&mut state.model.relations, &mut rel, None);
}

/// Adds the regulariser's gradient for factor `x` into `g`; returns its value.
#[inline]
pub fn regularize(reg: Regularizer, weight: f32, complex: bool, x: &[f32], g: &mut [f32]) -> f32 {
    match reg {
        Regularizer::None => 0.0,
        Regularizer::L2 => {
            let mut v = 0.0;
            for (g, x) in g.iter_mut().zip(x) {
                v += x * x;
                *g += 2.0 * weight * x;
            }
            weight * v
        }
        Regularizer::N3 if complex => {
            let d = x.len() / 2;
            let mut v = 0.0;
            for j in 0..d {
                let m = (x[j] * x[j] + x[d + j] * x[d + j]).sqrt();
                v += m * m * m;
                g[j] += 3.0 * weight * m * x[j];
                g[d + j] += 3.0 * weight * m * x[d + j];
            }
            weight * v
        }
        Regularizer::N3 => {
            let mut v = 0.0;
            for (g, x) in g.iter_mut().zip(x) {
                v += x.abs().powi(3);
                *g += 3.0 * weight * x * x.abs();
            }
            weight * v
        }
    }
}

/// Adds the regulariser's gradient for one example's factors (entities `entities`, relation
/// `rel`; not RotatE's phases) at weight `reg_weight · scale`; returns the regulariser's value
/// divided by `scale`, so that the summed loss times `scale` is the batch mean.
pub(super) fn regularize_example(
    config: &EmbedConfig,
    model: &Kge,
    entities: &[u32],
    rel: u32,
    ent: &mut RowGrad,
    rel_grad: &mut RowGrad,
    scale: f32,
) -> f32 {
    if config.regularizer == Regularizer::None || config.reg_weight == 0.0 {
        return 0.0;
    }
    let (w, complex) = (config.reg_weight * scale, model.kind.is_complex());
    let mut value = 0.0;
    for &e in entities {
        value += regularize(config.regularizer, w, complex, model.entity(e), ent.row(e));
    }
    if model.kind != ModelKind::RotatE {
        value += regularize(
            config.regularizer,
            w,
            complex,
            model.relation(rel),
            rel_grad.row(rel),
        );
    }
    value / scale
}
