//! `dlp data list|verify|fetch|stats`.

use crate::{Common, emit};
use dlp_core::Error;
use dlp_core::data::fetch::{FileState, Report, fetch, verify};
use dlp_core::data::registry::{self, DATASETS, Dataset};
use dlp_core::data::{data_dir, find_file, stats};
use serde_json::{Value, json};

#[derive(clap::Subcommand)]
pub enum Command {
    /// The datasets of the registry and whether each is present in the data directory.
    #[command(after_help = "Example:\n  dlp data list")]
    List,
    /// Check presence and SHA-256 of every file of a dataset against the registry.
    #[command(after_help = "Example:\n  dlp data verify mnist --data-dir ../shared/data")]
    Verify { name: String },
    /// Download a dataset from its published address (or --mirror), checked and renamed
    /// into place atomically.
    #[command(after_help = "Example:\n  dlp data fetch fashion-mnist --data-dir data")]
    Fetch {
        name: String,
        /// Base URL of a mirror that holds the published files under their published names.
        #[arg(long, value_name = "URL")]
        mirror: Option<String>,
    },
    /// Load a dataset with its reader and print its counts.
    #[command(after_help = "Example:\n  dlp data stats fb15k-237")]
    Stats { name: String },
    /// Audit a dataset for duplication, leakage, imbalance, coverage and label errors; writes
    /// summary.json, report.md, report.html and PNGs into --out (default runs/audit-NAME).
    /// NAME may also be a folder (a link-prediction set with train.txt, valid.txt, test.txt; or
    /// images, with train/ and test/ subfolders or as one split) or a text file (one record a
    /// line; for TSV the last column).
    #[command(
        after_help = "Examples:\n  dlp data audit wn18rr --out runs/audit-wn18rr\n  dlp data audit ~/my-kg        a folder with train.txt, valid.txt, test.txt\n  dlp data audit ~/pictures     a folder of images (train/ and test/, or one split)"
    )]
    Audit { name: String },
}

fn lookup(name: &str) -> dlp_core::Result<&'static Dataset> {
    registry::find(name).ok_or_else(|| {
        Error::Usage(format!(
            "unknown dataset `{name}`; known: {}",
            registry::names().join(", ")
        ))
    })
}

pub fn run(cmd: &Command, common: &Common) -> dlp_core::Result<()> {
    let root = data_dir(common.data_dir.as_deref());
    match cmd {
        Command::List => {
            let rows: Vec<Value> = DATASETS
                .iter()
                .map(|d| {
                    let dir = root.join(d.dir);
                    let present = d.files.iter().all(|f| find_file(&dir, f.name).is_some());
                    json!({"name": d.name, "kind": format!("{:?}", d.kind), "dir": dir,
                           "present": present, "files": d.files.len(), "about": d.about})
                })
                .collect();
            let mut human = format!("data directory: {}\n", root.display());
            for r in &rows {
                human += &format!(
                    "{:<14} {:<15} {:<8} {}\n",
                    r["name"].as_str().unwrap_or_default(),
                    r["kind"].as_str().unwrap_or_default(),
                    if r["present"] == true { "present" } else { "-" },
                    r["about"].as_str().unwrap_or_default()
                );
            }
            emit(
                common,
                &json!({"data_dir": root, "datasets": rows}),
                human.trim_end(),
            );
            Ok(())
        }
        Command::Verify { name } => report(&verify(lookup(name)?, &root)?, common),
        Command::Fetch { name, mirror } => {
            let report_ = fetch(lookup(name)?, &root, mirror.as_deref())?;
            report(&report_, common)
        }
        Command::Audit { name } => {
            let path = std::path::Path::new(name);
            if registry::find(name).is_none() && path.is_file() {
                let out = common
                    .out
                    .clone()
                    .unwrap_or_else(|| std::path::PathBuf::from("runs").join("audit-text"));
                let s = dlp_core::audit::audit_text_file(path, &out)?;
                let human = format!(
                    "{}: {} records, {} exact duplicate copies, {} near-duplicate pairs\nreport: {}",
                    name,
                    s.records,
                    s.within_split_duplicates,
                    s.near_duplicates,
                    out.join("report.md").display()
                );
                emit(common, &s, &human);
                return Ok(());
            }
            let folder = registry::find(name).is_none() && path.is_dir();
            let label = match folder {
                true => path
                    .file_name()
                    .map_or("folder".into(), |n| n.to_string_lossy().into_owned()),
                false => lookup(name)?.name.to_string(),
            };
            let device = crate::setup(common)?;
            let out = common
                .out
                .clone()
                .unwrap_or_else(|| std::path::PathBuf::from("runs").join(format!("audit-{label}")));
            if !common.json {
                eprintln!("auditing {name} into {}", out.display());
            }
            let s = match folder {
                true => dlp_core::audit::audit_folder(path, &out, &device)?,
                false => dlp_core::audit::audit(lookup(name)?, &root, &out, &device)?,
            };
            use dlp_core::audit::Audit;
            let (cross, near, leak, suspects) = match &s {
                Audit::Images(a) => {
                    let suspects = if a.label_errors_reliable {
                        a.suspected_label_errors.to_string()
                    } else {
                        format!(
                            "{} (unreliable: the model's out-of-fold accuracy is {:.1}%)",
                            a.suspected_label_errors,
                            100.0 * a.label_model_accuracy
                        )
                    };
                    let (c, n) = (a.cross_split_duplicates, a.near_duplicates);
                    (c, n, "-".to_string(), suspects)
                }
                Audit::Triples(a) => {
                    let leak = format!("{:.3}", a.inverse_leak_fraction);
                    let (c, n) = (a.cross_split_duplicates, a.near_duplicates);
                    (c, n, leak, "-".to_string())
                }
                Audit::Text(a) => (
                    a.cross_split_duplicates,
                    a.near_duplicates,
                    "-".into(),
                    "-".into(),
                ),
            };
            let human = format!(
                "{name}: cross-split duplicates {cross}, near duplicates {near}, inverse leak fraction {leak}, suspected label errors {suspects}\nreport: {}",
                out.join("report.md").display()
            );
            emit(common, &s, &human);
            Ok(())
        }
        Command::Stats { name } => {
            let s = stats(lookup(name)?, &root)?;
            let human = serde_json::to_string_pretty(&s).expect("JSON serialises");
            emit(common, &s, &human);
            Ok(())
        }
    }
}

/// Prints a verification report; a missing or mismatching file is an error naming it.
fn report(r: &Report, common: &Common) -> dlp_core::Result<()> {
    let files: Vec<Value> = r
        .files
        .iter()
        .map(|f| {
            let (state, expected, found) = match &f.state {
                FileState::Ok => ("ok", None, None),
                FileState::Missing => ("missing", None, None),
                FileState::Mismatch { expected, found } => {
                    ("mismatch", Some(expected.clone()), Some(found.clone()))
                }
            };
            json!({"name": f.name, "path": f.path, "state": state,
                   "expected_sha256": expected, "found_sha256": found})
        })
        .collect();
    let summary = json!({"dataset": r.dataset, "dir": r.dir, "ok": r.ok(), "files": files});
    let mut human = String::new();
    for f in &files {
        human += &format!(
            "{:<9} {}\n",
            f["state"].as_str().unwrap_or_default(),
            f["path"].as_str().map(str::to_string).unwrap_or_else(|| r
                .dir
                .join(f["name"].as_str().unwrap_or_default())
                .display()
                .to_string())
        );
    }
    human += &format!(
        "{}: {}",
        r.dataset,
        if r.ok() {
            "all files verified"
        } else {
            "FAILED"
        }
    );
    emit(common, &summary, &human);
    match r.first_error() {
        Some(e) => Err(e),
        None => Ok(()),
    }
}
