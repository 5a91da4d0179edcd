//! Evaluation on Re-DocRED (Tan et al. 2022; DocRED's JSON schema): each document's entities
//! become the known instances (every mention string an alias, the first mention's type the
//! kind), the extractor reads the document's text, and its (head, relation, tail) entity triples
//! are compared with the gold labels: precision over the relations the extractor produced at all
//! (the relations it covers), recall over those and over all gold triples, and each relation's
//! numbers.

use super::{Extractor, Instance, Kind, Object};
use dlp_core::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};
use std::path::Path;

#[derive(Deserialize)]
struct Doc {
    title: String,
    sents: Vec<Vec<String>>,
    #[serde(rename = "vertexSet")]
    vertex_set: Vec<Vec<Mention>>,
    #[serde(default)]
    labels: Vec<Label>,
}

#[derive(Deserialize)]
struct Mention {
    name: String,
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Deserialize)]
struct Label {
    h: usize,
    t: usize,
    r: String,
}

/// Precision, recall and F1 with their counts.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Prf {
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    pub predicted: usize,
    pub correct: usize,
    pub gold: usize,
}

impl Prf {
    fn new(predicted: usize, correct: usize, gold: usize) -> Self {
        let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
        let (p, r) = (ratio(correct, predicted), ratio(correct, gold));
        let f1 = if p + r > 0.0 {
            2.0 * p * r / (p + r)
        } else {
            0.0
        };
        Prf {
            precision: p,
            recall: r,
            f1,
            predicted,
            correct,
            gold,
        }
    }
}

/// The evaluation's summary.
#[derive(Debug, Clone, Serialize)]
pub struct Evaluation {
    pub documents: usize,
    /// Over the covered relations: precision, recall against their gold triples, F1.
    pub covered: Prf,
    /// Recall and F1 against every gold triple.
    pub all: Prf,
    pub per_relation: BTreeMap<String, Prf>,
}

fn kind(t: &str) -> Option<Kind> {
    Some(match t {
        "PER" => Kind::Person,
        "LOC" => Kind::Location,
        "ORG" => Kind::Organization,
        "TIME" => Kind::Time,
        "NUM" => Kind::Number,
        "MISC" => Kind::Misc,
        _ => return None,
    })
}

/// Evaluates the pattern extractor on a Re-DocRED (or DocRED) JSON file, plain or .gz.
pub fn evaluate(path: &Path) -> Result<Evaluation> {
    let bytes = dlp_core::data::read_maybe_gz(path)?;
    let docs: Vec<Doc> = serde_json::from_slice(&bytes).map_err(|e| {
        Error::format(
            path,
            Some(e.line()),
            format!("not a DocRED JSON list of documents: {e}"),
        )
    })?;
    let mut gold_by_rel: BTreeMap<String, usize> = BTreeMap::new();
    let mut pred_by_rel: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for (d, doc) in docs.iter().enumerate() {
        let n = doc.vertex_set.len();
        let instances: Vec<Instance> = doc
            .vertex_set
            .iter()
            .enumerate()
            .map(|(i, ms)| {
                let mut aliases: Vec<String> = ms.iter().map(|m| m.name.clone()).collect();
                aliases.sort();
                aliases.dedup();
                Instance {
                    name: i.to_string(),
                    aliases,
                    kind: ms.first().and_then(|m| kind(&m.kind)),
                }
            })
            .collect();
        let mut gold = HashSet::new();
        for l in &doc.labels {
            if l.h >= n || l.t >= n {
                return Err(Error::format(
                    path,
                    None,
                    format!(
                        "document {d} (`{}`): a label names entity {} of {n}",
                        doc.title,
                        l.h.max(l.t)
                    ),
                ));
            }
            if gold.insert((l.h, l.r.as_str(), l.t)) {
                *gold_by_rel.entry(l.r.clone()).or_default() += 1;
            }
        }
        let text: Vec<String> = doc.sents.iter().map(|s| s.join(" ")).collect();
        let mut seen = HashSet::new();
        for c in Extractor::new(instances).extract(&text.join(" ")) {
            let Object::Instance(t) = c.object else {
                continue;
            };
            if !c.relation.starts_with('P') || !seen.insert((c.subject, c.relation, t)) {
                continue;
            }
            let e = pred_by_rel.entry(c.relation.to_string()).or_default();
            e.0 += 1;
            e.1 += usize::from(gold.contains(&(c.subject, c.relation, t)));
        }
    }
    let per_relation: BTreeMap<String, Prf> = pred_by_rel
        .iter()
        .map(|(r, &(p, c))| {
            (
                r.clone(),
                Prf::new(p, c, gold_by_rel.get(r).copied().unwrap_or(0)),
            )
        })
        .collect();
    let predicted = per_relation.values().map(|m| m.predicted).sum();
    let correct = per_relation.values().map(|m| m.correct).sum();
    let gold_covered = per_relation.values().map(|m| m.gold).sum();
    Ok(Evaluation {
        documents: docs.len(),
        covered: Prf::new(predicted, correct, gold_covered),
        all: Prf::new(predicted, correct, gold_by_rel.values().sum()),
        per_relation,
    })
}
