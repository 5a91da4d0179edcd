//! Training a [`Kge`]: negative sampling (uniform, Bernoulli, self-adversarial), 1vsAll or
//! KvsAll, optional reciprocal relations, L2 or N3 regularisation, Adagrad or Adam, early
//! stopping on validation MRR, checkpoints that resume, and a NaN guard that keeps the last
//! good model.
//!
//! Negative sampling runs on all rayon threads: a batch is cut into one slice per thread, each
//! thread fills its own row-sparse gradient, and the gradients are summed in a fixed order, so a
//! run is deterministic for a given seed and thread count. 1vsAll and KvsAll use matrix
//! products for the dot-product models.

use super::Kge;
use super::all_entities::all_step;
use super::checkpoint::State;
pub use super::config::{EmbedConfig, Regularizer, Sampler, Training};
use super::negative::ns_step;
use super::optim::RowOptimizer;
use super::step::Worker;
use crate::eval::{EvalOptions, Metrics, evaluate};
use crate::graph::{Answers, Query, bernoulli_head_probability};
use dlp_core::data::triples::{LinkPrediction, Triple};
use dlp_core::error::{Error, Result};
use dlp_core::progress::Progress;
use dlp_core::rng::Rng;
use dlp_core::run::RunDir;
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
        .map(|_| Worker::new(&state.model, config.negatives))
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
            let loss = match &examples {
                Examples::Triples(triples) => ns_step(
                    config,
                    &mut state,
                    triples,
                    batch,
                    (&head_prob, &train_answers),
                    &batch_rng,
                    &mut workers,
                ),
                queries => {
                    let queries = queries.queries(batch);
                    let w = &mut workers[0];
                    all_step(config, &mut state, &queries, &train_answers, w)
                }
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

/// The training examples: triples for negative sampling (with reciprocal relations each also
/// as (t, r⁻¹, h)), or queries with their answers: 1vsAll one example per answer, KvsAll one
/// per distinct query.
enum Examples {
    Triples(Vec<Triple>),
    Queries(Vec<(Query, u32)>),
    Kvs(Vec<Query>),
}

impl Examples {
    fn new(config: &EmbedConfig, data: &LinkPrediction, answers: &Answers) -> Self {
        let nr = data.relations.len() as u32;
        match config.training {
            Training::NegativeSampling => {
                let mut triples = data.train.clone();
                if config.reciprocal {
                    triples.extend(data.train.iter().map(|&[h, r, t]| [t, r + nr, h]));
                }
                Examples::Triples(triples)
            }
            Training::OneVsAll => Examples::Queries(
                data.train
                    .iter()
                    .flat_map(|&t| Query::of_triple(t))
                    .collect(),
            ),
            Training::KvsAll => Examples::Kvs(answers.queries()),
        }
    }

    /// The queries of `batch` with their answer (1vsAll) or none (KvsAll: every known answer).
    fn queries(&self, batch: &[usize]) -> Vec<(Query, Option<u32>)> {
        match self {
            Examples::Triples(_) => Vec::new(),
            Examples::Queries(q) => batch.iter().map(|&i| (q[i].0, Some(q[i].1))).collect(),
            Examples::Kvs(q) => batch.iter().map(|&i| (q[i], None)).collect(),
        }
    }

    fn len(&self) -> usize {
        match self {
            Examples::Triples(t) => t.len(),
            Examples::Queries(q) => q.len(),
            Examples::Kvs(q) => q.len(),
        }
    }
}
