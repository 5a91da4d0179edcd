//! What the `dlp kg` command files share: a link-prediction dataset by name or folder, and a
//! local store.

use crate::Common;
use dlp_core::Error;
use dlp_core::data::triples::LinkPrediction;
use dlp_core::data::{data_dir, registry};
use dlp_kg::store::KnowledgeGraph;
use dlp_kg::store::remote::is_remote;
use std::path::Path;

/// Loads a dataset by registry name or folder path.
pub fn load_dataset(name: &str, common: &Common) -> dlp_core::Result<(String, LinkPrediction)> {
    let path = Path::new(name);
    if path.is_dir() {
        return Ok((name.to_string(), LinkPrediction::load(path)?));
    }
    let spec = registry::find(name)
        .filter(|d| d.kind == registry::Kind::LinkPrediction)
        .ok_or_else(|| {
            Error::Usage(format!(
                "--dataset: `{name}` is neither a link-prediction dataset (nations, umls, kinships, wn18rr, fb15k-237) nor a folder"
            ))
        })?;
    let root = data_dir(common.data_dir.as_deref());
    Ok((
        spec.name.to_string(),
        LinkPrediction::load(&root.join(spec.name))?,
    ))
}

/// Opens a local store; `create` only for the commands that write (import, add, merge).
pub(crate) fn open(store: &std::path::Path, create: bool) -> dlp_core::Result<KnowledgeGraph> {
    if is_remote(&store.to_string_lossy()) {
        return Err(Error::Usage(format!(
            "--store {}: this command needs a local store (import, export, query, stats, add, check and retract also take an endpoint)",
            store.display()
        )));
    }
    if create {
        KnowledgeGraph::create(store)
    } else {
        KnowledgeGraph::open(store)
    }
}
