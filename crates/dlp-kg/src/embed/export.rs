//! A trained embedding model as a PyTorch `state_dict` (see [`dlp_core::export`]): two
//! `torch.nn.Embedding` tables, `entities.weight` `[entities, width]` and `relations.weight`
//! `[relations (×2 with reciprocal relations), width]`, in the layout of [`super::score`]
//! (a complex vector as its d real parts, then its d imaginary parts; RotatE's relation as its
//! d phases). The card names the scoring function (`dlp_model` "kge") with the dimension and
//! whether relations are reciprocal; `benches/reference/pytorch_export.py` scores with them.

use super::Kge;
use dlp_core::Result;
use dlp_core::export::{Export, StateDict};
use std::path::Path;

/// The model in `run/model.safetensors` (an `embed train` run).
pub fn pytorch(run: &Path) -> Result<Export> {
    let m = Kge::load(&run.join("model.safetensors"))?;
    let rows = m.relations.len() / m.relation_width();
    let state_dict = StateDict {
        tensors: vec![
            (
                "entities.weight".into(),
                vec![m.num_entities, m.entity_width()],
                m.entities.clone(),
            ),
            (
                "relations.weight".into(),
                vec![rows, m.relation_width()],
                m.relations.clone(),
            ),
        ],
        batch_norms: vec![],
    };
    let card = serde_json::json!({"model": m.kind, "dim": m.dim, "reciprocal": m.reciprocal,
        "num_entities": m.num_entities, "num_relations": m.num_relations});
    Export::new(state_dict, "kge", &card, run)
}
