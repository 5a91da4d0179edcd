//! DocRED's JSON format (Yao et al. 2019; Re-DocRED, Tan et al. 2022, keeps it) and its official
//! relation-extraction scores, as `evaluation.py` (DocRED's, used unchanged by ATLOP and
//! Re-DocRED) computes them:
//!
//! - predictions are deduplicated by (title, h_idx, t_idx, r); a prediction is correct when
//!   (title, r, h_idx, t_idx) is a gold label;
//! - precision = correct / predictions, recall = correct / gold labels, F1 their harmonic mean;
//! - Ign F1 leaves out of precision the correct predictions whose fact is "in train": some
//!   mention name of the head, some mention name of the tail and the relation form a fact of a
//!   training document (any mention pair of a labelled entity pair there):
//!   p_ign = (correct − correct_in_train) / (predictions − correct_in_train + 1e-5), and
//!   Ign F1 = 2·p_ign·recall / (p_ign + recall).
//!
//! ```
//! use dlp_kg::extract::docred::{Prediction, score, train_facts};
//! let docs: Vec<dlp_kg::extract::docred::Document> = serde_json::from_str(r#"[{"title": "A",
//!   "sents": [["Ada", "was", "born", "in", "London", "."]],
//!   "vertexSet": [[{"name": "Ada", "type": "PER", "sent_id": 0, "pos": [0, 1]}],
//!                 [{"name": "London", "type": "LOC", "sent_id": 0, "pos": [4, 5]}]],
//!   "labels": [{"h": 0, "t": 1, "r": "P19", "evidence": [0]}]}]"#).unwrap();
//! let hit = Prediction { title: "A".into(), h_idx: 0, t_idx: 1, r: "P19".into() };
//! let s = score(&docs, &train_facts(&[]), &[hit]);
//! assert_eq!((s.precision, s.recall, s.f1), (1.0, 1.0, 1.0));
//! ```

use dlp_core::error::{Error, Result};
use dlp_core::rng::Rng;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::Path;

/// A document: sentences of tokens, entities (each its mentions), relation labels.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Document {
    pub title: String,
    pub sents: Vec<Vec<String>>,
    #[serde(rename = "vertexSet")]
    pub vertex_set: Vec<Vec<Mention>>,
    #[serde(default)]
    pub labels: Vec<Label>,
}

/// One mention of an entity: its text, type (PER, LOC, ORG, TIME, NUM, MISC), sentence and
/// token span `[start, end)` in that sentence.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Mention {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub sent_id: usize,
    #[serde(default)]
    pub pos: [usize; 2],
}

/// A relation between entities `h` and `t` (indices into `vertexSet`), with its evidence
/// sentences.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Label {
    pub h: usize,
    pub t: usize,
    pub r: String,
    #[serde(default)]
    pub evidence: Vec<usize>,
}

/// One predicted relation, as the official submission format has it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Prediction {
    pub title: String,
    pub h_idx: usize,
    pub t_idx: usize,
    pub r: String,
}

/// The official scores, with their counts.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Scores {
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    pub ign_f1: f64,
    /// Distinct predictions, correct ones, gold labels, correct ones whose fact is in train.
    pub predicted: usize,
    pub correct: usize,
    pub gold: usize,
    pub correct_in_train: usize,
}

/// Reads a DocRED JSON list of documents (plain or .gz); labels must name entities that exist.
pub fn read(path: &Path) -> Result<Vec<Document>> {
    let bytes = dlp_core::data::read_maybe_gz(path)?;
    let docs: Vec<Document> = serde_json::from_slice(&bytes).map_err(|e| {
        Error::format(
            path,
            Some(e.line()),
            format!("not a DocRED JSON list of documents: {e}"),
        )
    })?;
    for (d, doc) in docs.iter().enumerate() {
        let n = doc.vertex_set.len();
        if let Some(l) = doc.labels.iter().find(|l| l.h >= n || l.t >= n) {
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
    }
    Ok(docs)
}

/// The (head mention name, tail mention name, relation) facts of `docs`, every mention pair of
/// every labelled entity pair: what Ign F1 counts as seen in training.
pub fn train_facts(docs: &[Document]) -> HashSet<(String, String, String)> {
    let mut facts = HashSet::new();
    for doc in docs {
        for l in &doc.labels {
            for a in &doc.vertex_set[l.h] {
                for b in &doc.vertex_set[l.t] {
                    facts.insert((a.name.clone(), b.name.clone(), l.r.clone()));
                }
            }
        }
    }
    facts
}

/// Scores `predictions` against the labels of `truth`, Ign F1 against `train` facts.
pub fn score(
    truth: &[Document],
    train: &HashSet<(String, String, String)>,
    predictions: &[Prediction],
) -> Scores {
    let by_title: HashMap<&str, &Document> = truth.iter().map(|d| (d.title.as_str(), d)).collect();
    let gold: HashSet<(&str, &str, usize, usize)> = truth
        .iter()
        .flat_map(|d| {
            d.labels
                .iter()
                .map(|l| (d.title.as_str(), l.r.as_str(), l.h, l.t))
        })
        .collect();
    let submitted: BTreeSet<&Prediction> = predictions.iter().collect();
    let (mut correct, mut in_train) = (0, 0);
    for p in &submitted {
        let Some(doc) = by_title.get(p.title.as_str()) else {
            continue;
        };
        if !gold.contains(&(p.title.as_str(), p.r.as_str(), p.h_idx, p.t_idx)) {
            continue;
        }
        correct += 1;
        let (heads, tails) = (&doc.vertex_set[p.h_idx], &doc.vertex_set[p.t_idx]);
        let seen = heads.iter().any(|a| {
            tails
                .iter()
                .any(|b| train.contains(&(a.name.clone(), b.name.clone(), p.r.clone())))
        });
        in_train += usize::from(seen);
    }
    let (n, g) = (submitted.len(), gold.len());
    let ratio = |a: f64, b: f64| if b == 0.0 { 0.0 } else { a / b };
    let harmonic = |p: f64, r: f64| {
        if p + r == 0.0 {
            0.0
        } else {
            2.0 * p * r / (p + r)
        }
    };
    let precision = ratio(correct as f64, n as f64);
    let recall = ratio(correct as f64, g as f64);
    let p_ign = if n == 0 {
        0.0
    } else {
        (correct - in_train) as f64 / ((n - in_train) as f64 + 1e-5)
    };
    Scores {
        precision,
        recall,
        f1: harmonic(precision, recall),
        ign_f1: harmonic(p_ign, recall),
        predicted: n,
        correct,
        gold: g,
        correct_in_train: in_train,
    }
}

/// Splits `n` documents into `k` folds of near-equal size, at random with `seed`; each fold's
/// document indices ascending.
pub fn folds(n: usize, k: usize, seed: u64) -> Vec<Vec<usize>> {
    let order = Rng::new(seed).permutation(n);
    let mut out = vec![Vec::new(); k.max(1)];
    for (i, d) in order.into_iter().enumerate() {
        out[i % k.max(1)].push(d);
    }
    for f in &mut out {
        f.sort_unstable();
    }
    out
}
