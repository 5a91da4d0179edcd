//! Training a [`Kge`]: negative sampling (uniform, Bernoulli, self-adversarial), 1vsAll or
//! KvsAll, optional reciprocal relations, L2 or N3 regularisation, Adagrad or Adam, early
//! stopping on validation MRR, checkpoints that resume, and a NaN guard that keeps the last
//! good model.
//!
//! Negative sampling runs on all rayon threads: a batch is cut into one slice per thread, each
//! thread fills its own row-sparse gradient, and the gradients are summed in a fixed order, so a
//! run is deterministic for a given seed and thread count. 1vsAll and KvsAll use matrix
//! products for the dot-product models.

use super::checkpoint::State;
pub use super::config::{EmbedConfig, Regularizer, Sampler, Training};
use super::loss;
use super::optim::{RowGrad, RowOptimizer};
use super::{Kge, ModelKind, Similarity, score_all};
use crate::eval::{EvalOptions, Metrics, evaluate};
use crate::graph::{Answers, Query, Side, bernoulli_head_probability};
use crate::linalg::{matmul_ab, matmul_atb, with_simd};
use dlp_core::data::triples::{LinkPrediction, Triple};
use dlp_core::error::{Error, Result};
use dlp_core::progress::Progress;
use dlp_core::rng::Rng;
use dlp_core::run::RunDir;
use rayon::prelude::*;
use serde_json::json;
use std::time::Instant;

/// What a finished run reports.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub model: Kge,
    pub test: Metrics,
    pub best_valid_mrr: Option<f64>,
    pub epochs_run: usize,
    pub train_seconds: f64,
    pub seconds: f64,
    pub triples_per_second: f64,
}

/// Per-thread buffers for negative sampling.
struct Worker {
    ent: RowGrad,
    rel: RowGrad,
    q: Vec<f32>,
    dq: Vec<f32>,
    scores: Vec<f32>,
    grads: Vec<f32>,
    cands: Vec<u32>,
}

/// Trains on `data.train`, validates on `data.valid`, and reports filtered metrics on
/// `data.test` for the best validated model. With `run`, metrics go to `metrics.jsonl`, the
/// best model to `model.safetensors`, and a checkpoint after every validation to
/// `checkpoints/epoch-N/` (see [`super::checkpoint`]); `resume` continues from the newest.
pub fn train(
    config: &EmbedConfig,
    data: &LinkPrediction,
    mut run: Option<&mut RunDir>,
    resume: bool,
) -> Result<Outcome> {
    config.validate()?;
    let started = Instant::now();
    let kind = config.kind()?;
    let (ne, nr) = (data.entities.len(), data.relations.len());
    config.check_memory(ne, nr)?;
    let resumed = match run.as_deref().filter(|_| resume) {
        Some(r) => super::checkpoint::load(r.dir(), config)?,
        None => None,
    };
    let mut state = match resumed {
        Some((state, path)) => {
            let m = &state.model;
            if (m.num_entities, m.num_relations) != (ne, nr)
                || m.kind != kind
                || m.dim != config.dim
            {
                return Err(Error::format(
                    &path,
                    None,
                    format!(
                        "was made for {} entities and {} relations ({:?}, dim {}), but the dataset has {ne} and {nr} ({kind:?}, dim {}): resume a run of the same dataset and model, or give another --out",
                        m.num_entities, m.num_relations, m.kind, m.dim, config.dim
                    ),
                ));
            }
            state
        }
        None => {
            let model = Kge::new(kind, config.dim, ne, nr, config.reciprocal, config.seed);
            let opt_ent = RowOptimizer::new(config.optimizer, config.lr, model.entities.len());
            let opt_rel = RowOptimizer::new(config.optimizer, config.lr, model.relations.len());
            let rng = Rng::new(config.seed).fork(1);
            State {
                model,
                opt_ent,
                opt_rel,
                rng,
                epoch: 0,
                best: None,
                bad_evals: 0,
                train_seconds: 0.0,
            }
        }
    };
    let filter = Answers::new([&data.train[..], &data.valid[..], &data.test[..]]);
    let train_answers = Answers::new([&data.train[..]]);
    let valid: Vec<Triple> = if config.valid_limit > 0 && data.valid.len() > config.valid_limit {
        let mut r = Rng::new(config.seed).fork(2);
        let idx = r.permutation(data.valid.len());
        idx[..config.valid_limit]
            .iter()
            .map(|&i| data.valid[i])
            .collect()
    } else {
        data.valid.clone()
    };
    let examples = Examples::new(config, data, &train_answers);
    let head_prob = match config.sampler {
        Sampler::Bernoulli => bernoulli_head_probability(&data.train, nr),
        Sampler::Uniform => vec![0.5; nr],
    };
    let threads = rayon::current_num_threads().max(1);
    let mut workers: Vec<Worker> = (0..threads)
        .map(|_| new_worker(&state.model, config.negatives))
        .collect();
    let batches_per_epoch = examples.len().div_ceil(config.batch_size);
    let progress = Progress::new("kg embed", (config.epochs * batches_per_epoch) as u64);
    progress.inc((state.epoch * batches_per_epoch) as u64);
    let mut epochs_run = state.epoch;
    while state.epoch < config.epochs {
        let epoch_start = Instant::now();
        let lr = config.lr_at(state.epoch);
        state.opt_ent.lr = lr;
        state.opt_rel.lr = lr;
        let order = state.rng.permutation(examples.len());
        let mut loss_sum = 0.0f64;
        for (b, batch) in order.chunks(config.batch_size).enumerate() {
            let batch_rng = state.rng.fork((state.epoch * batches_per_epoch + b) as u64);
            let loss = match config.training {
                Training::NegativeSampling => ns_step(
                    config,
                    &mut state,
                    &examples,
                    batch,
                    (&head_prob, &train_answers),
                    &batch_rng,
                    &mut workers,
                ),
                _ => all_step(
                    config,
                    &mut state,
                    &examples,
                    batch,
                    &train_answers,
                    &mut workers[0],
                ),
            };
            if !loss.is_finite() {
                return Err(Error::NonFinite(format!(
                    "kg embed: loss became {loss} in epoch {} batch {b}; the last good model is the best validated one (model.safetensors)",
                    state.epoch + 1
                )));
            }
            loss_sum += loss as f64;
            progress.inc(1);
        }
        state.train_seconds += epoch_start.elapsed().as_secs_f64();
        state.epoch += 1;
        epochs_run = state.epoch;
        let mean_loss = loss_sum / batches_per_epoch as f64;
        progress.set_message(format!("epoch {} loss {mean_loss:.4}", state.epoch));
        let mut record =
            json!({"epoch": state.epoch, "loss": mean_loss, "train_seconds": state.train_seconds});
        let validate = config.eval_every > 0
            && (state.epoch % config.eval_every == 0 || state.epoch == config.epochs);
        let mut stop = false;
        if validate {
            let m = evaluate(&state.model, &valid, &filter, &EvalOptions::default());
            record["valid_mrr"] = json!(m.mrr);
            record["valid_hits_at_10"] = json!(m.hits_at_10);
            if state.best.as_ref().is_none_or(|(b, _)| m.mrr > *b) {
                state.best = Some((m.mrr, state.model.clone()));
                state.bad_evals = 0;
                if let Some(run) = run.as_deref() {
                    state.model.save(&run.path("model.safetensors"))?;
                }
            } else {
                state.bad_evals += 1;
                stop = state.bad_evals >= config.patience.max(1);
            }
            if let Some(run) = run.as_deref() {
                super::checkpoint::save(run.dir(), &state)?;
            }
        }
        if let Some(run) = run.as_deref_mut() {
            run.log(&record)?;
        }
        if stop {
            break;
        }
    }
    progress.finish();
    let best_valid_mrr = state.best.as_ref().map(|(m, _)| *m);
    let model = match state.best.take() {
        Some((_, m)) => m,
        None => {
            if let Some(run) = run.as_deref() {
                state.model.save(&run.path("model.safetensors"))?;
            }
            state.model
        }
    };
    let test = evaluate(&model, &data.test, &filter, &EvalOptions::default());
    let trained = (epochs_run * data.train.len()) as f64;
    Ok(Outcome {
        model,
        test,
        best_valid_mrr,
        epochs_run,
        triples_per_second: trained / state.train_seconds.max(1e-9),
        train_seconds: state.train_seconds,
        seconds: started.elapsed().as_secs_f64(),
    })
}

fn new_worker(model: &Kge, negatives: usize) -> Worker {
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

/// The training examples: triples (negative sampling; with reciprocal relations each triple
/// also as (t, r⁻¹, h)) or queries with their answers (1vsAll: one example per answer; KvsAll:
/// one per distinct query).
struct Examples {
    triples: Vec<Triple>,
    queries: Vec<(Query, u32)>,
    kvs: Vec<Query>,
    training: Training,
}

impl Examples {
    fn new(config: &EmbedConfig, data: &LinkPrediction, answers: &Answers) -> Self {
        let nr = data.relations.len() as u32;
        let mut ex = Examples {
            triples: Vec::new(),
            queries: Vec::new(),
            kvs: Vec::new(),
            training: config.training,
        };
        match config.training {
            Training::NegativeSampling => {
                ex.triples = data.train.clone();
                if config.reciprocal {
                    ex.triples
                        .extend(data.train.iter().map(|&[h, r, t]| [t, r + nr, h]));
                }
            }
            Training::OneVsAll => {
                for &t in &data.train {
                    ex.queries.extend(Query::of_triple(t));
                }
            }
            Training::KvsAll => ex.kvs = answers.queries(),
        }
        ex
    }

    fn len(&self) -> usize {
        match self.training {
            Training::NegativeSampling => self.triples.len(),
            Training::OneVsAll => self.queries.len(),
            Training::KvsAll => self.kvs.len(),
        }
    }
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
fn regularize_example(
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

/// One negative-sampling batch; returns the mean loss.
fn ns_step(
    config: &EmbedConfig,
    state: &mut State,
    examples: &Examples,
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
                    let [h, r, t] = examples.triples[i];
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

/// Sums the workers' gradients into the first, updates, and re-applies constraints.
fn apply(state: &mut State, workers: &mut [Worker]) {
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

/// One 1vsAll or KvsAll batch; returns the mean loss.
fn all_step(
    config: &EmbedConfig,
    state: &mut State,
    examples: &Examples,
    batch: &[usize],
    train_answers: &Answers,
    w: &mut Worker,
) -> f32 {
    let model = &state.model;
    let kind = model.kind;
    let (ew, ne) = (model.entity_width(), model.num_entities);
    let b = batch.len();
    let scale = 1.0 / b as f32;
    let queries: Vec<(Query, Option<u32>)> = batch
        .iter()
        .map(|&i| match config.training {
            Training::OneVsAll => {
                let (q, a) = examples.queries[i];
                (q, Some(a))
            }
            _ => (examples.kvs[i], None),
        })
        .collect();
    let plain: Vec<Query> = queries.iter().map(|(q, _)| *q).collect();
    let mut composed = vec![0.0; b * ew];
    model.compose_queries(&plain, &mut composed);
    let mut scores = vec![0.0; b * ne];
    let sim = kind.similarity();
    score_all(sim, &composed, &model.entities, ew, ne, &mut scores);
    let mut loss: f32 = scores
        .par_chunks_mut(ne)
        .zip(&queries)
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
