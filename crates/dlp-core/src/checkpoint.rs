//! Checkpoints: a model's weights as safetensors, the optimiser's state, the step and the RNG
//! state, written so that an interrupted write never damages the last good checkpoint.
//!
//! ```text
//! DIR/checkpoints/step-00000120/model.safetensors   weights, f32, keyed by module path
//! DIR/checkpoints/step-00000120/optimizer.bpk       optimiser state (burn's burnpack)
//! DIR/checkpoints/step-00000120/state.json          step, RNG state, SHA-256 of both files, extra
//! DIR/checkpoints/latest                            the name of the newest complete checkpoint
//! ```
//! A trainer that counts epochs names its checkpoints `epoch-00000003` ([`Unit`]). A checkpoint is written into a temporary directory, synced, renamed into place, and only
//! then named in `latest` (itself replaced atomically). [`load_latest`] checks the SHA-256 of
//! each file, and a tensor of the wrong shape is an error naming the tensor and both shapes.
//!
//! The safetensors file is readable from Python (`safetensors.torch.load_file`); parameter ids
//! are kept in its metadata so that the optimiser's per-parameter state reattaches on load.

use crate::atomic;
use crate::data::fetch::sha256_reader;
use crate::error::{Error, Result};
use crate::rng::RngState;
use burn::module::{Module, ModuleMapper, ModuleVisitor, Param, ParamId};
use burn::optim::{ModuleOptimizer, OptimizerRecord};
use burn::tensor::{Bytes, Tensor, TensorData};
use safetensors::{Dtype, SafeTensors, tensor::TensorView};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

/// What `state.json` holds besides the files.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CheckpointState {
    /// How far training got, in [`CheckpointState::unit`]s.
    pub step: u64,
    /// What `step` counts, which also names the checkpoint's folder (`epoch-00000003`).
    #[serde(default)]
    pub unit: Unit,
    pub rng: RngState,
    /// Anything else the trainer needs to resume (epoch, best metric, schedule position).
    #[serde(default)]
    pub extra: serde_json::Value,
    #[serde(default)]
    pub model_sha256: String,
    #[serde(default)]
    pub optimizer_sha256: Option<String>,
    /// SHA-256 of the files a [`save_files`] checkpoint holds, by name.
    #[serde(default)]
    pub files: std::collections::BTreeMap<String, String>,
}

/// What a checkpoint's `step` counts.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Unit {
    /// Optimiser steps (updates).
    #[default]
    Step,
    /// Passes over the training set.
    Epoch,
}

impl Unit {
    fn name(self) -> &'static str {
        match self {
            Unit::Step => "step",
            Unit::Epoch => "epoch",
        }
    }
}

/// Whether `name` is a checkpoint folder's name (`step-…` or `epoch-…`).
fn is_checkpoint(name: &str) -> bool {
    [Unit::Step, Unit::Epoch].iter().any(|u| {
        name.strip_prefix(u.name())
            .is_some_and(|r| r.starts_with('-'))
    })
}

/// A loaded checkpoint: the model with its weights, the optimiser state, the saved state.
pub struct Loaded<M> {
    pub model: M,
    pub optimizer: Option<OptimizerRecord>,
    pub state: CheckpointState,
    pub dir: PathBuf,
}

/// Named f32 tensors as safetensors bytes, with optional string metadata.
pub fn f32_safetensors(
    tensors: &[(String, Vec<usize>, Vec<f32>)],
    metadata: Option<HashMap<String, String>>,
) -> Result<Vec<u8>> {
    let bytes: Vec<Vec<u8>> = tensors
        .iter()
        .map(|(_, _, v)| v.iter().flat_map(|x| x.to_le_bytes()).collect())
        .collect();
    let views = tensors
        .iter()
        .zip(&bytes)
        .map(|((name, shape, _), b)| {
            TensorView::new(Dtype::F32, shape.clone(), b).map(|v| (name.clone(), v))
        })
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| Error::Usage(format!("safetensors: {e}")))?;
    safetensors::tensor::serialize(views, metadata)
        .map_err(|e| Error::Usage(format!("safetensors: {e}")))
}

/// The data section of safetensors bytes: what follows the 8-byte header length and the header.
fn data_section(bytes: &[u8]) -> Option<&[u8]> {
    let n = u64::from_le_bytes(bytes.get(..8)?.try_into().ok()?) as usize;
    bytes.get(8usize.checked_add(n)?..)
}

/// [`f32_safetensors`] with `data_sha256`, the SHA-256 of the tensors' bytes, in the metadata,
/// for [`verify_safetensors`] to check.
pub fn f32_safetensors_checked(
    tensors: &[(String, Vec<usize>, Vec<f32>)],
    metadata: HashMap<String, String>,
) -> Result<Vec<u8>> {
    // The data section does not depend on the header: serialise once to hash it.
    let plain = f32_safetensors(tensors, Some(metadata.clone()))?;
    let data = data_section(&plain).expect("a serialised file has a data section");
    let mut metadata = metadata;
    metadata.insert(
        "data_sha256".into(),
        sha256_reader(data).expect("in-memory read"),
    );
    f32_safetensors(tensors, Some(metadata))
}

/// Checks the `data_sha256` that [`f32_safetensors_checked`] wrote (files without one pass).
pub fn verify_safetensors(
    path: &Path,
    bytes: &[u8],
    metadata: &HashMap<String, String>,
) -> Result<()> {
    let Some(expected) = metadata.get("data_sha256") else {
        return Ok(());
    };
    let data = data_section(bytes)
        .ok_or_else(|| Error::format(path, None, "truncated safetensors file"))?;
    let found = sha256_reader(data).expect("in-memory read");
    if &found != expected {
        return Err(Error::Checksum {
            path: path.to_path_buf(),
            expected: expected.clone(),
            found,
        });
    }
    Ok(())
}

/// Field `key` of a checkpoint's `extra`, or an error naming `dir` and the field.
pub fn extra_field<T: serde::de::DeserializeOwned>(
    extra: &serde_json::Value,
    dir: &Path,
    key: &str,
) -> Result<T> {
    serde_json::from_value(extra.get(key).cloned().unwrap_or_default())
        .map_err(|e| Error::format(dir, None, format!("state.json `{key}`: {e}")))
}

/// Module weights as safetensors bytes (f32), with parameter ids in the metadata. Running
/// statistics (batch norm's) are written with their last update: burn keeps it pending until
/// the state is read again, and `valid()` folds it in (the state is shared with `model`).
pub fn model_to_safetensors<M: Module>(model: &M) -> Result<Vec<u8>> {
    let mut c = Collect::default();
    model.valid().visit(&mut c);
    let mut ids = HashMap::new();
    let mut tensors = Vec::with_capacity(c.tensors.len());
    for (name, id, data) in c.tensors {
        let shape: Vec<usize> = data.shape().to_vec();
        let values = data
            .convert::<f32>()
            .try_into_vec::<f32>()
            .map_err(|e| Error::Usage(format!("tensor `{name}` cannot be saved as f32: {e:?}")))?;
        ids.insert(name.clone(), id.val().to_string());
        tensors.push((name, shape, values));
    }
    let meta = HashMap::from([(
        "dlp_param_ids".to_string(),
        serde_json::to_string(&ids).expect("map serialises"),
    )]);
    f32_safetensors(&tensors, Some(meta))
}

/// Loads safetensors bytes into `model`. `path` names the file in errors: a missing or extra
/// tensor, or one whose shape differs from the model's.
pub fn model_from_safetensors<M: Module>(model: M, bytes: &[u8], path: &Path) -> Result<M> {
    let bad = |msg: String| Error::format(path, None, msg);
    let st = SafeTensors::deserialize(bytes).map_err(|e| bad(format!("not safetensors: {e}")))?;
    let (_, meta) =
        SafeTensors::read_metadata(bytes).map_err(|e| bad(format!("not safetensors: {e}")))?;
    let ids: HashMap<String, String> = meta
        .metadata()
        .as_ref()
        .and_then(|m| m.get("dlp_param_ids"))
        .and_then(|s| serde_json::from_str(s).ok())
        .unwrap_or_default();
    let mut tensors = HashMap::new();
    for name in st.names() {
        let view = st.tensor(name).map_err(|e| bad(e.to_string()))?;
        if view.dtype() != Dtype::F32 {
            return Err(bad(format!(
                "tensor `{name}` is {:?}, expected F32",
                view.dtype()
            )));
        }
        let values: Vec<f32> = view
            .data()
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        let id = ids.get(name).and_then(|s| s.parse::<u64>().ok());
        tensors.insert(name.to_string(), (view.shape().to_vec(), values, id));
    }
    let mut mapper = Load {
        path: path.to_path_buf(),
        stack: Vec::new(),
        tensors,
        error: None,
    };
    let model = model.map(&mut mapper);
    if let Some(e) = mapper.error {
        return Err(e);
    }
    if let Some(extra) = mapper.tensors.keys().min() {
        return Err(bad(format!(
            "tensor `{extra}` is not a parameter of the model"
        )));
    }
    Ok(model)
}

#[derive(Default)]
struct Collect {
    stack: Vec<String>,
    tensors: Vec<(String, ParamId, TensorData)>,
}

impl ModuleVisitor for Collect {
    fn enter_module(&mut self, name: &str, _: &str) {
        self.stack.push(name.to_string());
    }
    fn exit_module(&mut self, _: &str, _: &str) {
        self.stack.pop();
    }
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let data = param.transform_for_save().val().into_data();
        self.tensors.push((self.stack.join("."), param.id, data));
    }
}

type Entry = (Vec<usize>, Vec<f32>, Option<u64>);

struct Load {
    path: PathBuf,
    stack: Vec<String>,
    tensors: HashMap<String, Entry>,
    error: Option<Error>,
}

impl ModuleMapper for Load {
    fn enter_module(&mut self, name: &str, _: &str) {
        self.stack.push(name.to_string());
    }
    fn exit_module(&mut self, _: &str, _: &str) {
        self.stack.pop();
    }
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        if self.error.is_some() {
            return param;
        }
        let name = self.stack.join(".");
        let Some((shape, values, id)) = self.tensors.remove(&name) else {
            self.error = Some(Error::format(
                &self.path,
                None,
                format!("no tensor `{name}` in the file"),
            ));
            return param;
        };
        let expected: Vec<usize> = param.lazy_shape().to_vec();
        if shape != expected {
            self.error = Some(Error::Shape {
                path: self.path.clone(),
                tensor: name,
                expected,
                found: shape,
            });
            return param;
        }
        let device = param.lazy_device();
        let id = id.map(ParamId::from).unwrap_or(param.id);
        let tensor = Tensor::from_data(TensorData::new(values, shape), &device);
        param.transform_for_load(tensor, id)
    }
}

/// Saves a checkpoint under `run_dir/checkpoints/` and points `latest` at it. Returns its
/// directory. Older checkpoints beyond the newest `keep` are removed.
pub fn save<M: Module>(
    run_dir: &Path,
    model: &M,
    optimizer: Option<&ModuleOptimizer>,
    state: &CheckpointState,
    keep: usize,
) -> Result<PathBuf> {
    write_dir(run_dir, state, keep, |tmp, state| {
        let model_bytes = model_to_safetensors(model)?;
        state.model_sha256 = sha256_reader(&model_bytes[..]).expect("in-memory read");
        atomic::write(tmp.join("model.safetensors"), &model_bytes)?;
        if let Some(opt) = optimizer {
            let bytes = opt
                .to_record()
                .into_bytes()
                .map_err(|e| Error::Usage(format!("optimizer state: {e}")))?;
            state.optimizer_sha256 = Some(sha256_reader(&bytes[..]).expect("in-memory read"));
            atomic::write(tmp.join("optimizer.bpk"), &bytes)?;
        }
        Ok(())
    })
}

/// Saves a checkpoint of named files that are not a burn module (the KG embedding trainer's
/// tables and row optimisers) in the same layout as [`save`]: their SHA-256 go to
/// `state.json`'s `files`, which [`verify_files`] checks.
pub fn save_files(
    run_dir: &Path,
    files: &[(&str, &[u8])],
    state: &CheckpointState,
    keep: usize,
) -> Result<PathBuf> {
    write_dir(run_dir, state, keep, |tmp, state| {
        for (name, bytes) in files {
            let sha = sha256_reader(*bytes).expect("in-memory read");
            state.files.insert(name.to_string(), sha);
            atomic::write(tmp.join(name), bytes)?;
        }
        Ok(())
    })
}

/// The state of the checkpoint in `dir`, after checking the SHA-256 of every file that
/// [`save_files`] listed.
pub fn verify_files(dir: &Path) -> Result<CheckpointState> {
    let state_path = dir.join("state.json");
    let text = fs::read(&state_path).map_err(|e| Error::io(&state_path, e))?;
    let state: CheckpointState = serde_json::from_slice(&text)
        .map_err(|e| Error::format(&state_path, Some(e.line()), e.to_string()))?;
    for (name, expected) in &state.files {
        let path = dir.join(name);
        let file = fs::File::open(&path).map_err(|e| Error::io(&path, e))?;
        let found =
            sha256_reader(std::io::BufReader::new(file)).map_err(|e| Error::io(&path, e))?;
        if &found != expected {
            return Err(Error::Checksum {
                path,
                expected: expected.clone(),
                found,
            });
        }
    }
    Ok(state)
}

/// Writes a checkpoint directory: `fill` writes the files into the temporary directory and
/// records them in the state, then `state.json` is written, the directory renamed into place,
/// `latest` pointed at it and older ones pruned.
fn write_dir(
    run_dir: &Path,
    state: &CheckpointState,
    keep: usize,
    fill: impl FnOnce(&Path, &mut CheckpointState) -> Result<()>,
) -> Result<PathBuf> {
    let root = run_dir.join("checkpoints");
    fs::create_dir_all(&root).map_err(|e| Error::io(&root, e))?;
    let name = format!("{}-{:08}", state.unit.name(), state.step);
    let target = root.join(&name);
    let tmp = atomic::temp_path(&target);
    let result = (|| -> Result<()> {
        fs::create_dir_all(&tmp).map_err(|e| Error::io(&tmp, e))?;
        let mut state = state.clone();
        fill(&tmp, &mut state)?;
        let json = serde_json::to_vec_pretty(&state).expect("state serialises");
        atomic::write(tmp.join("state.json"), &json)?;
        if target.exists() {
            fs::remove_dir_all(&target).map_err(|e| Error::io(&target, e))?;
        }
        fs::rename(&tmp, &target).map_err(|e| Error::io(&target, e))?;
        atomic::sync_dir(&target);
        atomic::write(root.join("latest"), name.as_bytes())
    })();
    if result.is_err() {
        let _ = fs::remove_dir_all(&tmp);
    }
    result?;
    prune(&root, keep.max(1));
    Ok(target)
}

/// Removes all but the newest `keep` checkpoints, and temporaries left by a writer that was
/// killed mid-write (one writer per run directory is assumed).
fn prune(root: &Path, keep: usize) {
    let Ok(entries) = fs::read_dir(root) else {
        return;
    };
    let entries: Vec<_> = entries.filter_map(|e| e.ok()).collect();
    for e in &entries {
        let name = e.file_name();
        if name
            .to_str()
            .and_then(|n| n.strip_prefix('.'))
            .is_some_and(is_checkpoint)
        {
            let _ = fs::remove_dir_all(e.path());
        }
    }
    let mut steps: Vec<PathBuf> = entries
        .iter()
        .map(|e| e.path())
        .filter(|p| {
            p.is_dir()
                && p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(is_checkpoint)
        })
        .collect();
    steps.sort();
    let n = steps.len().saturating_sub(keep);
    for old in &steps[..n] {
        let _ = fs::remove_dir_all(old);
    }
}

/// The directory of the newest complete checkpoint of a run, if any: the one `latest` names, or,
/// when the pointer is missing (deleted, or lost with a copy), the newest `step-*` (or `epoch-*`) directory
/// (each is complete once it has its name: [`save`] renames it into place).
pub fn latest(run_dir: &Path) -> Result<Option<PathBuf>> {
    let root = run_dir.join("checkpoints");
    let pointer = root.join("latest");
    match fs::read_to_string(&pointer) {
        Ok(name) => Ok(Some(root.join(name.trim()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let Ok(entries) = fs::read_dir(&root) else {
                return Ok(None);
            };
            Ok(entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    p.is_dir()
                        && p.file_name()
                            .and_then(|n| n.to_str())
                            .is_some_and(is_checkpoint)
                })
                .max())
        }
        Err(e) => Err(Error::io(pointer, e)),
    }
}

/// The names and shapes of the tensors in the newest checkpoint of a run (from the file's
/// header: nothing is loaded), for building a model of the right size before loading it.
pub fn latest_shapes(run_dir: &Path) -> Result<HashMap<String, Vec<usize>>> {
    let dir = latest(run_dir)?.ok_or_else(|| {
        Error::format(run_dir, None, "no checkpoint (train first, with --out DIR)")
    })?;
    let path = dir.join("model.safetensors");
    let bytes = fs::read(&path).map_err(|e| Error::io(&path, e))?;
    let (_, meta) = SafeTensors::read_metadata(&bytes)
        .map_err(|e| Error::format(&path, None, format!("not safetensors: {e}")))?;
    Ok(meta
        .tensors()
        .into_iter()
        .map(|(name, info)| (name, info.shape.clone()))
        .collect())
}

/// Loads a checkpoint directory into `model`, checking every file's SHA-256.
pub fn load<M: Module>(dir: &Path, model: M) -> Result<Loaded<M>> {
    let state_path = dir.join("state.json");
    let text = fs::read(&state_path).map_err(|e| Error::io(&state_path, e))?;
    let state: CheckpointState = serde_json::from_slice(&text)
        .map_err(|e| Error::format(&state_path, Some(e.line()), e.to_string()))?;
    let read_checked = |name: &str, sha: &str| -> Result<Vec<u8>> {
        let path = dir.join(name);
        let bytes = fs::read(&path).map_err(|e| Error::io(&path, e))?;
        let found = sha256_reader(&bytes[..]).expect("in-memory read");
        if found != sha {
            return Err(Error::Checksum {
                path,
                expected: sha.to_string(),
                found,
            });
        }
        Ok(bytes)
    };
    let model_bytes = read_checked("model.safetensors", &state.model_sha256)?;
    let model = model_from_safetensors(model, &model_bytes, &dir.join("model.safetensors"))?;
    let optimizer = match &state.optimizer_sha256 {
        Some(sha) => {
            let bytes = read_checked("optimizer.bpk", sha)?;
            let record = OptimizerRecord::from_bytes(Bytes::from_bytes_vec(bytes))
                .map_err(|e| Error::format(dir.join("optimizer.bpk"), None, e.to_string()))?;
            Some(record)
        }
        None => None,
    };
    Ok(Loaded {
        model,
        optimizer,
        state,
        dir: dir.to_path_buf(),
    })
}

/// Loads the newest complete checkpoint of a run, if there is one.
pub fn load_latest<M: Module>(run_dir: &Path, model: M) -> Result<Option<Loaded<M>>> {
    match latest(run_dir)? {
        Some(dir) => load(&dir, model).map(Some),
        None => Ok(None),
    }
}
