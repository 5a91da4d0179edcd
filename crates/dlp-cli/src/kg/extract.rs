//! `dlp kg extract|review`: candidate facts from text into a review graph, accepted into the main
//! graph by review; `extract --eval` measures the extractor on Re-DocRED.

use crate::{Common, emit};
use dlp_core::Error;
use dlp_kg::extract::redocred;
use dlp_kg::store::review::Decision;
use serde_json::json;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct ExtractArgs {
    /// Store whose instances (labels, aliases) the text is linked to; candidates go to `review:RUN`.
    #[arg(long, required_unless_present = "eval")]
    store: Option<PathBuf>,
    /// Name of the extraction run (its review graph is `review:RUN`).
    #[arg(long, default_value = "text")]
    run: String,
    /// Evaluate on a Re-DocRED/DocRED JSON file (plain or .gz) instead: precision, recall, F1.
    #[arg(long, conflicts_with = "store")]
    eval: Option<PathBuf>,
    /// With --eval: K-fold cross-validation over the file's documents (by document, `--seed`):
    /// each fold's official scores, Ign F1 against the other folds' facts, and their mean and
    /// standard deviation.
    #[arg(long, requires = "eval", value_name = "K")]
    folds: Option<usize>,
    /// Text files: .txt (one document) or .tsv (`title<TAB>text` per line).
    files: Vec<PathBuf>,
}

pub fn extract(a: &ExtractArgs, common: &Common) -> dlp_core::Result<()> {
    if let (Some(path), Some(k)) = (&a.eval, a.folds) {
        let cv = redocred::cross_validate(path, k, common.seed)?;
        let mut text = format!(
            "{} documents, {k} folds (seed {}): F1 {:.3} ± {:.3}, Ign F1 {:.3} ± {:.3}, precision {:.3}, recall {:.3}",
            cv.documents,
            cv.seed,
            cv.f1.mean,
            cv.f1.std,
            cv.ign_f1.mean,
            cv.ign_f1.std,
            cv.precision.mean,
            cv.recall.mean
        );
        for (i, f) in cv.folds.iter().enumerate() {
            text += &format!(
                "
fold {i}: precision {:.3}, recall {:.3}, F1 {:.3}, Ign F1 {:.3}",
                f.precision, f.recall, f.f1, f.ign_f1
            );
        }
        emit(common, &cv, &text);
        return Ok(());
    }
    if let Some(path) = &a.eval {
        let t = std::time::Instant::now();
        let e = redocred::evaluate(path)?;
        let mut summary = serde_json::to_value(&e).expect("serialises");
        summary["seconds"] = json!(t.elapsed().as_secs_f64());
        let mut text = format!(
            "{} documents: precision {:.3} over the {} relations covered (recall there {:.3}); recall {:.3}, F1 {:.3} and Ign F1 {:.3} over all gold triples",
            e.documents,
            e.covered.precision,
            e.per_relation.len(),
            e.covered.recall,
            e.all.recall,
            e.all.f1,
            e.official.ign_f1
        );
        for (r, m) in &e.per_relation {
            text += &format!(
                "\n{r:>6}: precision {:.3} ({}/{}), recall {:.3} of {}",
                m.precision, m.correct, m.predicted, m.recall, m.gold
            );
        }
        emit(common, &summary, &text);
        return Ok(());
    }
    let store = a
        .store
        .as_ref()
        .expect("clap requires --store without --eval");
    if a.files.is_empty() {
        return Err(Error::Usage(
            "dlp kg extract: give text files (.txt, or .tsv of title<TAB>text)".into(),
        ));
    }
    let mut docs = Vec::new();
    for path in &a.files {
        let bytes = dlp_core::data::read_maybe_gz(path)?;
        let body =
            String::from_utf8(bytes).map_err(|_| Error::format(path, None, "not valid UTF-8"))?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name.trim_end_matches(".gz").ends_with(".tsv") {
            for (i, line) in body
                .lines()
                .enumerate()
                .filter(|(_, l)| !l.trim().is_empty())
            {
                let (title, text) = line
                    .split_once('\t')
                    .ok_or_else(|| Error::format(path, Some(i + 1), "expected title<TAB>text"))?;
                docs.push((title.to_string(), text.to_string()));
            }
        } else {
            docs.push((name, body));
        }
    }
    let kg = super::common::open(store, false)?;
    let t = std::time::Instant::now();
    let counts = kg.extract(&a.run, &docs)?;
    let total: usize = counts.iter().map(|c| c.1).sum();
    let summary = json!({"run": a.run, "documents": docs.len(), "candidates": total, "per_predicate": counts,
        "review_graph": format!("review:{}", a.run), "seconds": t.elapsed().as_secs_f64()});
    let mut text = format!(
        "{total} candidates from {} documents into review:{} (accept them with `dlp kg review`)",
        docs.len(),
        a.run
    );
    for (p, n) in &counts {
        text += &format!("\n{n:>6}  {p}");
    }
    emit(common, &summary, &text);
    Ok(())
}

#[derive(clap::Args)]
pub struct ReviewArgs {
    /// Store directory (RocksDB) holding the review graph `review:RUN`.
    #[arg(long)]
    store: PathBuf,
    /// The extraction run.
    #[arg(long, default_value = "text")]
    run: String,
    /// Candidate ids to accept into `extraction:RUN`.
    #[arg(long, value_delimiter = ',')]
    accept: Vec<usize>,
    /// Candidate ids to reject.
    #[arg(long, value_delimiter = ',')]
    reject: Vec<usize>,
    /// Accept every candidate with at least this confidence.
    #[arg(long)]
    accept_above: Option<f32>,
    /// Reject every candidate below this confidence.
    #[arg(long)]
    reject_below: Option<f32>,
}

pub fn review(a: &ReviewArgs, common: &Common) -> dlp_core::Result<()> {
    let kg = super::common::open(&a.store, false)?;
    let decision = Decision {
        accept: a.accept.clone(),
        reject: a.reject.clone(),
        accept_above: a.accept_above,
        reject_below: a.reject_below,
    };
    let (accepted, rejected) = kg.review(&a.run, &decision)?;
    let pending = kg.pending(&a.run)?;
    let mut text = format!(
        "accepted {accepted} into extraction:{}, rejected {rejected}; {} waiting",
        a.run,
        pending.len()
    );
    for p in &pending {
        text += &format!(
            "\n{:>5}  {:.2}  <{}> <{}> <{}>  [{}: {}]",
            p.id, p.confidence, p.subject, p.predicate, p.object, p.document, p.evidence
        );
    }
    let summary =
        json!({"run": a.run, "accepted": accepted, "rejected": rejected, "pending": pending});
    emit(common, &summary, &text);
    Ok(())
}
