//! 1vsAll and KvsAll: each query (h, r, ?) scored against every entity at once (a matrix
//! product for the dot-product models), with cross-entropy over one answer (1vsAll) or binary
//! cross-entropy over all known answers (KvsAll).

use super::checkpoint::State;
use super::config::EmbedConfig;
use super::loss;
use super::step::{Worker, apply, regularize_example};
use super::{Similarity, score_all};
use crate::graph::{Answers, Query};
use crate::linalg::{matmul_ab, matmul_atb};
use rayon::prelude::*;

/// One 1vsAll or KvsAll batch; returns the mean loss.
pub(super) fn all_step(
    config: &EmbedConfig,
    state: &mut State,
    queries: &[(Query, Option<u32>)],
    train_answers: &Answers,
    w: &mut Worker,
) -> f32 {
    let model = &state.model;
    let kind = model.kind;
    let (ew, ne) = (model.entity_width(), model.num_entities);
    let b = queries.len();
    let scale = 1.0 / b as f32;
    let plain: Vec<Query> = queries.iter().map(|(q, _)| *q).collect();
    let mut composed = vec![0.0; b * ew];
    model.compose_queries(&plain, &mut composed);
    let mut scores = vec![0.0; b * ne];
    let sim = kind.similarity();
    score_all(sim, &composed, &model.entities, ew, ne, &mut scores);
    let mut loss: f32 = scores
        .par_chunks_mut(ne)
        .zip(queries)
        .map(|(row, (q, answer))| match answer {
            Some(a) => loss::cross_entropy(row, *a as usize, config.label_smoothing),
            None => loss::binary_cross_entropy(row, train_answers.get(*q), config.label_smoothing),
        })
        .sum();
    scores.par_iter_mut().for_each(|g| *g *= scale);
    let mut dq = vec![0.0; b * ew];
    if sim == Similarity::Dot {
        matmul_ab(&scores, &model.entities, b, ew, ne, &mut dq, false);
        matmul_atb(&scores, &composed, ne, ew, b, &mut w.ent.data, true);
        w.ent.touch_all();
    } else {
        // dS/dq for every candidate, then dS/de summed over the batch, both by rows.
        dq.par_chunks_mut(ew).enumerate().for_each(|(i, dqi)| {
            let q = &composed[i * ew..(i + 1) * ew];
            let mut sink = vec![0.0; ew];
            for (e, ent) in model.entities.chunks_exact(ew).enumerate() {
                let g = scores[i * ne + e];
                sim.backward(q, ent, sim.score(q, ent), g, dqi, &mut sink);
            }
        });
        w.ent
            .data
            .par_chunks_mut(ew)
            .enumerate()
            .for_each(|(e, de)| {
                let ent = &model.entities[e * ew..(e + 1) * ew];
                let mut sink = vec![0.0; ew];
                for i in 0..b {
                    let q = &composed[i * ew..(i + 1) * ew];
                    sim.backward(q, ent, sim.score(q, ent), scores[i * ne + e], &mut sink, de);
                }
            });
        w.ent.touch_all();
    }
    let mut da = vec![0.0; ew];
    for (i, (q, answer)) in queries.iter().enumerate() {
        let q = model.canonical(*q);
        let (a, rv) = (model.entity(q.anchor), model.relation(q.rel));
        da.fill(0.0);
        kind.compose_backward(
            q.side,
            a,
            rv,
            &dq[i * ew..(i + 1) * ew],
            &mut da,
            w.rel.row(q.rel),
        );
        for (x, g) in w.ent.row(q.anchor).iter_mut().zip(&da) {
            *x += g;
        }
        let mut factors = vec![q.anchor];
        factors.extend(answer);
        loss += regularize_example(
            config, model, &factors, q.rel, &mut w.ent, &mut w.rel, scale,
        );
    }
    apply(state, std::slice::from_mut(w));
    loss * scale
}
