//! Negative sampling: each example (h, r, t) against `negatives` corrupted heads or tails
//! (uniform or Bernoulli side, known answers avoided), on all rayon threads, each thread into
//! its own row-sparse gradient, summed in a fixed order.

use super::checkpoint::State;
use super::config::EmbedConfig;
use super::loss;
use super::step::{Worker, apply, regularize_example};
use crate::graph::{Answers, Query, Side};
use crate::linalg::with_simd;
use dlp_core::data::triples::Triple;
use dlp_core::rng::Rng;
use rayon::prelude::*;

/// One negative-sampling batch; returns the mean loss.
pub(super) fn ns_step(
    config: &EmbedConfig,
    state: &mut State,
    triples: &[Triple],
    batch: &[usize],
    (head_prob, train_answers): (&[f32], &Answers),
    rng: &Rng,
    workers: &mut [Worker],
) -> f32 {
    let model = &state.model;
    let kind = model.kind;
    let sim = kind.similarity();
    let ne = model.num_entities;
    let nr = model.num_relations;
    let scale = 1.0 / batch.len() as f32;
    let per = batch.len().div_ceil(workers.len());
    let losses: Vec<f32> = workers
        .par_iter_mut()
        .zip(batch.par_chunks(per))
        .enumerate()
        .map(|(c, (w, chunk))| {
            let mut rng = rng.fork(c as u64);
            with_simd(|| {
                let mut loss = 0.0;
                for &i in chunk {
                    let [h, r, t] = triples[i];
                    // With reciprocal relations only tails are corrupted.
                    let corrupt_head =
                        !config.reciprocal && (rng.uniform() as f32) < head_prob[r as usize % nr];
                    let (side, anchor, answer) = if corrupt_head {
                        (Side::Head, t, h)
                    } else {
                        (Side::Tail, h, t)
                    };
                    let (a, rv) = (model.entity(anchor), model.relation(r));
                    kind.compose(side, a, rv, &mut w.q);
                    let known = if config.filter_negatives {
                        let query = match (r as usize) < nr {
                            true => Query {
                                anchor,
                                rel: r,
                                side,
                            },
                            false => Query {
                                anchor,
                                rel: r - nr as u32,
                                side: Side::Head,
                            },
                        };
                        train_answers.get(query)
                    } else {
                        &[]
                    };
                    w.cands[0] = answer;
                    for c in w.cands[1..].iter_mut() {
                        *c = draw_negative(&mut rng, ne, known);
                    }
                    for (s, &e) in w.scores.iter_mut().zip(&w.cands) {
                        *s = sim.score(&w.q, model.entity(e));
                    }
                    loss += loss::negative_sampling(
                        config.loss,
                        config.margin,
                        config.adv_temperature,
                        &w.scores,
                        &mut w.grads,
                    );
                    w.dq.fill(0.0);
                    for k in 0..w.cands.len() {
                        let g = w.grads[k] * scale;
                        if g != 0.0 {
                            let e = w.cands[k];
                            sim.backward(
                                &w.q,
                                model.entity(e),
                                w.scores[k],
                                g,
                                &mut w.dq,
                                w.ent.row(e),
                            );
                        }
                    }
                    let mut da = std::mem::take(&mut w.q); // reuse as scratch
                    da.fill(0.0);
                    let dr = w.rel.row(r);
                    kind.compose_backward(side, a, rv, &w.dq, &mut da, dr);
                    for (x, g) in w.ent.row(anchor).iter_mut().zip(&da) {
                        *x += g;
                    }
                    w.q = da;
                    loss += regularize_example(
                        config,
                        model,
                        &[anchor, answer],
                        r,
                        &mut w.ent,
                        &mut w.rel,
                        scale,
                    );
                }
                loss
            })
        })
        .collect();
    apply(state, workers);
    losses.iter().sum::<f32>() * scale
}

/// A uniform entity out of `n`, redrawn (up to 16 times) while it is in `known` (sorted), so
/// that a query with nearly every entity as an answer still gets its negatives.
fn draw_negative(rng: &mut Rng, n: usize, known: &[u32]) -> u32 {
    let mut e = rng.below(n) as u32;
    for _ in 0..16 {
        if known.binary_search(&e).is_err() {
            break;
        }
        e = rng.below(n) as u32;
    }
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negatives_avoid_known_answers_and_cover_the_rest_uniformly() {
        let mut rng = Rng::new(3);
        let known = [0, 2, 3, 7];
        let mut counts = [0usize; 10];
        for _ in 0..60_000 {
            counts[draw_negative(&mut rng, 10, &known) as usize] += 1;
        }
        for (e, &c) in counts.iter().enumerate() {
            if known.contains(&(e as u32)) {
                assert_eq!(c, 0, "entity {e}");
            } else {
                assert!((c as f64 - 10_000.0).abs() < 500.0, "entity {e}: {c}");
            }
        }
        // Every entity known: the draw gives up after 16 tries instead of looping.
        let all: Vec<u32> = (0..10).collect();
        assert!(draw_negative(&mut rng, 10, &all) < 10);
    }
}
