//! Weights for PyTorch: a burn module's parameters as a `state_dict` that
//! `torch.nn.Module.load_state_dict(..., strict=True)` accepts, in a safetensors file.
//!
//! burn and PyTorch agree on convolutions (`[out, in, kh, kw]`) and embeddings (`[n, d]`); the
//! differences, applied by the module type burn reports for each parameter's owner:
//!
//! | burn | PyTorch |
//! | --- | --- |
//! | `Linear.weight` `[in, out]` | `Linear.weight` `[out, in]` (transposed) |
//! | `GroupNorm`/`LayerNorm`/`BatchNorm` `gamma`, `beta` | `weight`, `bias` |
//! | `BatchNorm` (running statistics only) | also `num_batches_tracked` (int64; dlp does not count batches, so 0: PyTorch reads it only with `momentum=None`) |
//! | an enum variant's name in the path (`down.1.Down.weight`) | dropped (`down.1.weight`): PyTorch has no enums |
//!
//! The file's metadata is the model card: what the model is, its configuration, and where it
//! came from, so that the matching PyTorch module can be built from the file alone.
//!
//! ```
//! use burn::nn::LinearConfig;
//! use burn::tensor::Device;
//! let linear = LinearConfig::new(3, 2).init(&Device::flex());
//! let sd = dlp_core::export::state_dict(&linear);
//! assert_eq!(sd.tensors[0].0, "weight");
//! assert_eq!(sd.tensors[0].1, vec![2, 3]); // [out, in], as torch.nn.Linear
//! ```

use crate::error::{Error, Result};
use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::Tensor;
use safetensors::{Dtype, tensor::TensorView};
use std::collections::HashMap;
use std::path::Path;

/// A PyTorch `state_dict`: named f32 tensors in PyTorch's layouts, and the prefixes of the
/// batch norms (which also get `num_batches_tracked`).
#[derive(Debug, Clone, Default)]
pub struct StateDict {
    pub tensors: Vec<(String, Vec<usize>, Vec<f32>)>,
    pub batch_norms: Vec<String>,
}

impl StateDict {
    /// The same entries with `prefix.` before every name (a submodule of a larger model).
    pub fn prefixed(self, prefix: &str) -> Self {
        let p = |n: String| format!("{prefix}.{n}");
        Self {
            tensors: self
                .tensors
                .into_iter()
                .map(|(n, s, v)| (p(n), s, v))
                .collect(),
            batch_norms: self.batch_norms.into_iter().map(p).collect(),
        }
    }

    /// Writes the state dict to `path` as safetensors (atomically), with `card` as its metadata.
    pub fn write(&self, path: &Path, card: HashMap<String, String>) -> Result<()> {
        let bytes: Vec<Vec<u8>> = self
            .tensors
            .iter()
            .map(|(_, _, v)| v.iter().flat_map(|x| x.to_le_bytes()).collect())
            .collect();
        let zero = 0i64.to_le_bytes();
        let bad = |e: safetensors::SafeTensorError| Error::Usage(format!("safetensors: {e}"));
        let mut views = Vec::new();
        for ((name, shape, _), b) in self.tensors.iter().zip(&bytes) {
            views.push((
                name.clone(),
                TensorView::new(Dtype::F32, shape.clone(), b).map_err(bad)?,
            ));
        }
        for prefix in &self.batch_norms {
            let name = format!("{prefix}.num_batches_tracked");
            views.push((
                name,
                TensorView::new(Dtype::I64, vec![], &zero).map_err(bad)?,
            ));
        }
        let out = safetensors::tensor::serialize(views, Some(card)).map_err(bad)?;
        crate::atomic::write(path, &out)
    }
}

/// The parameters of `module` as PyTorch names and layouts (see the module doc).
pub fn state_dict<M: Module>(module: &M) -> StateDict {
    let mut v = Visit::default();
    module.valid().visit(&mut v);
    v.out
}

#[derive(Default)]
struct Visit {
    /// Per level entered: the name in PyTorch's path (None for an enum's variant) and the type
    /// of the module whose field or variant it is (burn's "container type", e.g. "Struct:Linear").
    stack: Vec<(Option<String>, String)>,
    out: StateDict,
}

impl Visit {
    fn path(&self) -> String {
        let names: Vec<&str> = self
            .stack
            .iter()
            .filter_map(|(n, _)| n.as_deref())
            .collect();
        names.join(".")
    }
}

const NORMS: [&str; 3] = ["Struct:GroupNorm", "Struct:LayerNorm", "Struct:BatchNorm"];

impl ModuleVisitor for Visit {
    fn enter_module(&mut self, name: &str, container: &str) {
        if container == "Struct:BatchNorm" {
            let prefix = self.path();
            if self.out.batch_norms.last() != Some(&prefix) {
                self.out.batch_norms.push(prefix);
            }
        }
        let name = (!container.starts_with("Enum:")).then(|| name.to_string());
        self.stack.push((name, container.to_string()));
    }

    fn exit_module(&mut self, _: &str, _: &str) {
        self.stack.pop();
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let mut tensor = param.val();
        let mut path = self.path();
        if let Some((Some(field), owner)) = self.stack.last() {
            let renamed = match field.as_str() {
                "gamma" if NORMS.contains(&owner.as_str()) => Some("weight"),
                "beta" if NORMS.contains(&owner.as_str()) => Some("bias"),
                _ => None,
            };
            if let Some(r) = renamed {
                path = format!("{}{r}", &path[..path.len() - field.len()]);
            }
            if owner == "Struct:Linear" && field == "weight" && D == 2 {
                tensor = tensor.transpose();
            }
        }
        let data = tensor.into_data().convert::<f32>();
        let shape = data.shape().to_vec();
        let values = data.iter::<f32>().collect();
        self.out.tensors.push((path, shape, values));
    }
}

/// A model ready to write: its state dict and its model card (the file's metadata).
#[derive(Debug, Clone, Default)]
pub struct Export {
    pub state_dict: StateDict,
    pub card: HashMap<String, String>,
}

/// What [`Export::write`] wrote.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Written {
    pub path: std::path::PathBuf,
    /// The `dlp_model` of the card: which PyTorch module the weights are for.
    pub model: String,
    pub tensors: usize,
    pub parameters: usize,
    pub dlp_version: &'static str,
}

impl Export {
    /// An export of `model` (the card's `dlp_model`, e.g. "ddpm-unet") with its configuration
    /// (`config`, as JSON) and the run it came from.
    pub fn new(
        state_dict: StateDict,
        model: &str,
        config: &impl serde::Serialize,
        run: &Path,
    ) -> Result<Self> {
        let config = serde_json::to_string(config)
            .map_err(|e| Error::Usage(format!("config cannot be written as JSON: {e}")))?;
        let card = HashMap::from([
            ("format".to_string(), "pt".to_string()),
            ("dlp_model".to_string(), model.to_string()),
            ("dlp_config".to_string(), config),
            ("dlp_run".to_string(), run.display().to_string()),
            ("dlp_version".to_string(), crate::run::VERSION.to_string()),
        ]);
        Ok(Self { state_dict, card })
    }

    /// Writes the file (see [`StateDict::write`]).
    pub fn write(&self, path: &Path) -> Result<Written> {
        self.state_dict.write(path, self.card.clone())?;
        let sd = &self.state_dict;
        Ok(Written {
            path: path.to_path_buf(),
            model: self.card.get("dlp_model").cloned().unwrap_or_default(),
            tensors: sd.tensors.len() + sd.batch_norms.len(),
            parameters: sd.tensors.iter().map(|(_, _, v)| v.len()).sum(),
            dlp_version: crate::run::VERSION,
        })
    }
}
