//! What the store tests share.

use dlp_kg::store::KnowledgeGraph;
use oxigraph::model::Triple;
use std::collections::HashSet;

/// The store's triples in N-Triples form, whatever their graph.
pub fn triples(kg: &KnowledgeGraph) -> HashSet<String> {
    kg.store()
        .iter()
        .map(|q| {
            let q = q.unwrap();
            let t = Triple::new(q.subject, q.predicate, q.object);
            // Blank node labels differ between stores; compare them by position only.
            if t.subject.is_blank_node() {
                format!("_ {} {}", t.predicate, t.object)
            } else {
                t.to_string()
            }
        })
        .collect()
}
