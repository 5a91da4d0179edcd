//! Evaluation on Re-DocRED (Tan et al. 2022; DocRED's JSON schema): each document's entities
//! become the known instances (every mention string an alias, the first mention's type the
//! kind), the extractor reads the document's text, and its (head, relation, tail) entity triples
//! are compared with the gold labels: precision over the relations the extractor produced at all
//! (the relations it covers), recall over those and over all gold triples, and each relation's
//! numbers; and the official scores (precision, recall, F1, Ign F1: [`docred::score`]), on one
//! file or by k-fold cross-validation over its documents ([`cross_validate`]).

use super::docred::{self, Document, Prediction, Scores};
use super::{Extractor, Instance, Kind, Object};
use dlp_core::error::Result;
use serde::Serialize;
use std::collections::{BTreeMap, HashSet};
use std::path::Path;

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
    /// The official scores (no training documents: Ign F1 counts every correct prediction).
    #[serde(flatten)]
    pub official: Scores,
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

/// The pattern extractor's relations between the entities of `doc` (each entity's mention
/// strings its aliases, its first mention's type its kind), in the official submission format.
pub fn predict(doc: &Document) -> Vec<Prediction> {
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
    let text: Vec<String> = doc.sents.iter().map(|s| s.join(" ")).collect();
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for c in Extractor::new(instances).extract(&text.join(" ")) {
        let Object::Instance(t) = c.object else {
            continue;
        };
        if c.relation.starts_with('P') && seen.insert((c.subject, c.relation, t)) {
            out.push(Prediction {
                title: doc.title.clone(),
                h_idx: c.subject,
                t_idx: t,
                r: c.relation.to_string(),
            });
        }
    }
    out
}

/// Evaluates the pattern extractor on a Re-DocRED (or DocRED) JSON file, plain or .gz.
pub fn evaluate(path: &Path) -> Result<Evaluation> {
    let docs = docred::read(path)?;
    let mut gold_by_rel: BTreeMap<String, usize> = BTreeMap::new();
    let mut pred_by_rel: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut all_predictions = Vec::new();
    for doc in &docs {
        let mut gold = HashSet::new();
        for l in &doc.labels {
            if gold.insert((l.h, l.r.as_str(), l.t)) {
                *gold_by_rel.entry(l.r.clone()).or_default() += 1;
            }
        }
        for p in predict(doc) {
            let e = pred_by_rel.entry(p.r.clone()).or_default();
            e.0 += 1;
            e.1 += usize::from(gold.contains(&(p.h_idx, p.r.as_str(), p.t_idx)));
            all_predictions.push(p);
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
    let official = docred::score(&docs, &HashSet::new(), &all_predictions);
    Ok(Evaluation {
        documents: docs.len(),
        covered: Prf::new(predicted, correct, gold_covered),
        all: Prf::new(predicted, correct, gold_by_rel.values().sum()),
        per_relation,
        official,
    })
}

/// Mean and standard deviation over folds.
#[derive(Debug, Clone, Serialize)]
pub struct MeanStd {
    pub mean: f64,
    pub std: f64,
}

impl MeanStd {
    fn of(x: impl Iterator<Item = f64> + Clone) -> Self {
        let n = x.clone().count().max(1) as f64;
        let mean = x.clone().sum::<f64>() / n;
        let var = x.map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
        MeanStd {
            mean,
            std: var.sqrt(),
        }
    }
}

/// What [`cross_validate`] reports: each fold's official scores (Ign F1 against the facts of
/// the other folds, its training documents) and their mean and standard deviation.
#[derive(Debug, Clone, Serialize)]
pub struct CrossValidation {
    pub documents: usize,
    pub folds: Vec<Scores>,
    pub seed: u64,
    pub precision: MeanStd,
    pub recall: MeanStd,
    pub f1: MeanStd,
    pub ign_f1: MeanStd,
}

/// The pattern extractor's official scores by `k`-fold cross-validation over the documents of
/// `path` ([`docred::folds`] with `seed`): the folds a learned extractor is compared on.
pub fn cross_validate(path: &Path, k: usize, seed: u64) -> Result<CrossValidation> {
    let docs = docred::read(path)?;
    if k < 2 || k > docs.len() {
        return Err(dlp_core::Error::setting(
            "folds",
            format!(
                "{k} for {} documents: expected 2 to {}",
                docs.len(),
                docs.len()
            ),
        ));
    }
    let folds = docred::folds(docs.len(), k, seed);
    let scores: Vec<Scores> = folds
        .iter()
        .map(|test| {
            let held: HashSet<usize> = test.iter().copied().collect();
            let (test_docs, train_docs): (Vec<Document>, Vec<Document>) = docs
                .iter()
                .enumerate()
                .map(|(i, d)| (held.contains(&i), d.clone()))
                .fold((Vec::new(), Vec::new()), |(mut te, mut tr), (h, d)| {
                    if h {
                        te.push(d)
                    } else {
                        tr.push(d)
                    }
                    (te, tr)
                });
            let predictions: Vec<Prediction> = test_docs.iter().flat_map(predict).collect();
            docred::score(&test_docs, &docred::train_facts(&train_docs), &predictions)
        })
        .collect();
    let of = |f: fn(&Scores) -> f64| MeanStd::of(scores.iter().map(f));
    Ok(CrossValidation {
        documents: docs.len(),
        seed,
        precision: of(|s| s.precision),
        recall: of(|s| s.recall),
        f1: of(|s| s.f1),
        ign_f1: of(|s| s.ign_f1),
        folds: scores,
    })
}
