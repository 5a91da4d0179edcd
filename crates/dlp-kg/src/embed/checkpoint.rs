//! The resumable training checkpoint, in the layout every trainer uses
//! ([`dlp_core::checkpoint`]): `checkpoints/epoch-N/training.safetensors` with the model, the
//! optimiser's per-row state, the best validated model, and in its metadata the epoch, RNG state
//! and early-stopping counters; `state.json` beside it with the file's SHA-256, checked on load;
//! `latest` naming the newest. A crash mid-write keeps the previous checkpoint.

use super::Kge;
use super::config::EmbedConfig;
use super::optim::RowOptimizer;
use dlp_core::checkpoint::{CheckpointState, Unit};
use dlp_core::error::{Error, Result};
use dlp_core::rng::{Rng, RngState};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The training state that a checkpoint saves.
pub(super) struct State {
    pub model: Kge,
    pub opt_ent: RowOptimizer,
    pub opt_rel: RowOptimizer,
    pub rng: Rng,
    pub epoch: usize,
    pub best: Option<(f64, Kge)>,
    pub bad_evals: usize,
    pub train_seconds: f64,
}

/// The checkpoint file's name inside its folder.
const FILE: &str = "training.safetensors";

pub(super) fn save(run_dir: &Path, s: &State) -> Result<()> {
    let m = &s.model;
    let (ew, rw) = (m.entity_width(), m.relation_width());
    let (ne, nrr) = (m.num_entities, m.relations.len() / rw);
    let mut tensors = vec![
        ("entities".to_string(), vec![ne, ew], m.entities.clone()),
        ("relations".to_string(), vec![nrr, rw], m.relations.clone()),
        ("opt_ent_s1".to_string(), vec![ne, ew], s.opt_ent.s1.clone()),
        (
            "opt_rel_s1".to_string(),
            vec![nrr, rw],
            s.opt_rel.s1.clone(),
        ),
    ];
    if !s.opt_ent.s2.is_empty() {
        tensors.push(("opt_ent_s2".into(), vec![ne, ew], s.opt_ent.s2.clone()));
        tensors.push(("opt_rel_s2".into(), vec![nrr, rw], s.opt_rel.s2.clone()));
    }
    if let Some((_, b)) = &s.best {
        tensors.push(("best_entities".into(), vec![ne, ew], b.entities.clone()));
        tensors.push(("best_relations".into(), vec![nrr, rw], b.relations.clone()));
    }
    let meta: HashMap<String, String> = [
        ("model", m.kind.name().to_string()),
        ("dim", m.dim.to_string()),
        ("num_entities", ne.to_string()),
        ("num_relations", m.num_relations.to_string()),
        ("reciprocal", m.reciprocal.to_string()),
        ("epoch", s.epoch.to_string()),
        ("step", s.opt_ent.step.to_string()),
        (
            "rng",
            serde_json::to_string(&s.rng.state()).expect("RNG state serialises"),
        ),
        (
            "best_mrr",
            s.best
                .as_ref()
                .map_or("none".into(), |(v, _)| v.to_string()),
        ),
        ("bad_evals", s.bad_evals.to_string()),
        ("train_seconds", s.train_seconds.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let bytes = dlp_core::checkpoint::f32_safetensors_checked(&tensors, meta)?;
    let state = CheckpointState {
        step: s.epoch as u64,
        unit: Unit::Epoch,
        rng: s.rng.state(),
        extra: serde_json::json!({}),
        model_sha256: String::new(),
        optimizer_sha256: None,
        files: Default::default(),
    };
    dlp_core::checkpoint::save_files(run_dir, &[(FILE, &bytes)], &state, 2).map(|_| ())
}

/// The newest checkpoint of the run in `run_dir`, checked; `None` when it has none. Also the
/// file it came from, for messages.
pub(super) fn load(run_dir: &Path, config: &EmbedConfig) -> Result<Option<(State, PathBuf)>> {
    let Some(dir) = dlp_core::checkpoint::latest(run_dir)? else {
        return Ok(None);
    };
    dlp_core::checkpoint::verify_files(&dir)?;
    let path = dir.join(FILE);
    read(&path, config).map(|s| Some((s, path)))
}

fn read(path: &Path, config: &EmbedConfig) -> Result<State> {
    let (bytes, meta) = super::read_safetensors(path)?;
    dlp_core::checkpoint::verify_safetensors(path, &bytes, &meta)?;
    let bad = |msg: String| Error::format(path, None, msg);
    let field = |k: &str| super::meta_field(path, &meta, k);
    let model = Kge::load(path)?;
    if model.kind != config.kind()?
        || model.dim != config.dim
        || model.reciprocal != config.reciprocal
    {
        return Err(bad(format!(
            "checkpoint holds {} dim {} reciprocal {}, but the config asks for {} dim {} reciprocal {}",
            model.kind.name(),
            model.dim,
            model.reciprocal,
            config.model,
            config.dim,
            config.reciprocal
        )));
    }
    let st = safetensors::SafeTensors::deserialize(&bytes).map_err(|e| bad(e.to_string()))?;
    let read = |name: &str| -> Option<Vec<f32>> {
        st.tensor(name).ok().map(|t| {
            t.data()
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect()
        })
    };
    let num = |k: &str| -> Result<f64> {
        field(k)?
            .parse()
            .map_err(|_| bad(format!("`{k}` is not a number")))
    };
    let step = num("step")? as u64;
    let opt = |prefix: &str, len: usize| -> Result<RowOptimizer> {
        let mut o = RowOptimizer::new(config.optimizer, config.lr, len);
        o.s1 = read(&format!("{prefix}_s1")).ok_or_else(|| bad(format!("no {prefix}_s1")))?;
        if !o.s2.is_empty() {
            o.s2 = read(&format!("{prefix}_s2")).ok_or_else(|| {
                bad(format!(
                    "no {prefix}_s2: the checkpoint was not written by Adam"
                ))
            })?;
        }
        o.step = step;
        Ok(o)
    };
    let opt_ent = opt("opt_ent", model.entities.len())?;
    let opt_rel = opt("opt_rel", model.relations.len())?;
    let rng_state: RngState =
        serde_json::from_str(&field("rng")?).map_err(|e| bad(format!("rng: {e}")))?;
    let best = match (
        field("best_mrr")?.as_str(),
        read("best_entities"),
        read("best_relations"),
    ) {
        ("none", _, _) => None,
        (v, Some(entities), Some(relations)) => {
            let mrr = v
                .parse()
                .map_err(|_| bad("`best_mrr` is not a number".into()))?;
            Some((
                mrr,
                Kge {
                    entities,
                    relations,
                    ..model.clone()
                },
            ))
        }
        _ => return Err(bad("best model tensors missing".into())),
    };
    Ok(State {
        opt_ent,
        opt_rel,
        rng: Rng::from_state(rng_state),
        epoch: num("epoch")? as usize,
        best,
        bad_evals: num("bad_evals")? as usize,
        train_seconds: num("train_seconds")?,
        model,
    })
}
