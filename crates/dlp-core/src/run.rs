//! Run directories: what `--out DIR` holds.
//!
//! ```text
//! DIR/run.json        what made the run (command, dataset, settings hash): see [`claim`]
//! DIR/config.toml     the run's configuration, written first
//! DIR/metrics.jsonl   one JSON object a line, appended as the run goes ({"step": .., "loss": ..})
//! DIR/summary.json    the final summary, also printed on stdout with --json
//! DIR/checkpoints/    see [`crate::checkpoint`]
//! DIR/*.png           plots and sample grids
//! ```
//! Every whole-file write is atomic (see [`crate::atomic`]).

use crate::atomic;
use crate::error::{Error, Result};
use serde::Serialize;
use serde_json::Value;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The dlpapers version, recorded in every summary.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Reads a TOML configuration file; an error is one line naming the file, line and field.
pub fn read_toml<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    toml::from_str(&text).map_err(|e| Error::toml(path, &text, &e))
}

/// An open run directory.
pub struct RunDir {
    dir: PathBuf,
    metrics: File,
}

impl RunDir {
    /// Creates (or reopens) `dir`, writes `config.toml` and opens `metrics.jsonl` for appending.
    pub fn create(dir: impl AsRef<Path>, config: &impl Serialize) -> Result<Self> {
        let dir = dir.as_ref().to_path_buf();
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        let toml = toml::to_string_pretty(config)
            .map_err(|e| Error::Usage(format!("config cannot be written as TOML: {e}")))?;
        atomic::write(dir.join("config.toml"), toml.as_bytes())?;
        let path = dir.join("metrics.jsonl");
        let metrics = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| Error::io(&path, e))?;
        Ok(Self { dir, metrics })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A path inside the directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Appends one metrics record (one line of JSON).
    pub fn log(&mut self, record: &Value) -> Result<()> {
        let path = self.dir.join("metrics.jsonl");
        writeln!(self.metrics, "{record}")
            .and_then(|()| self.metrics.flush())
            .map_err(|e| Error::io(path, e))
    }

    /// Writes `summary.json` (with `dlp_version` and `run_dir` added) and returns it.
    pub fn write_summary(&self, summary: impl Serialize) -> Result<Value> {
        let mut summary = serde_json::to_value(summary).expect("summaries serialise to JSON");
        if let Value::Object(map) = &mut summary {
            map.insert("dlp_version".into(), Value::from(VERSION));
            map.insert(
                "run_dir".into(),
                Value::from(self.dir.display().to_string()),
            );
        }
        let text = serde_json::to_string_pretty(&summary).expect("JSON values serialise");
        atomic::write(self.dir.join("summary.json"), text.as_bytes())?;
        Ok(summary)
    }
}

/// What made a run directory, kept in its `run.json`: the command, the dataset, and a hash of the
/// settings its checkpoints depend on. `--resume` continues only a run of the same identity.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct Identity {
    pub command: String,
    pub dataset: String,
    /// The first 12 hex digits of the SHA-256 of the settings as JSON.
    pub settings: String,
}

impl Identity {
    pub fn new(command: &str, dataset: &str, settings: &impl Serialize) -> Self {
        let json = serde_json::to_string(settings).unwrap_or_default();
        let hash = crate::data::fetch::sha256_reader(json.as_bytes()).unwrap_or_default();
        Self {
            command: command.into(),
            dataset: dataset.into(),
            settings: hash.chars().take(12).collect(),
        }
    }

    fn describe(&self) -> String {
        format!(
            "`{}` on {} (settings {})",
            self.command, self.dataset, self.settings
        )
    }
}

/// The identity recorded in `dir/run.json`, if the directory has one.
pub fn identity(dir: &Path) -> Result<Option<Identity>> {
    let record = dir.join("run.json");
    match std::fs::read(&record) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| Error::format(&record, None, e.to_string())),
        Err(_) => Ok(None),
    }
}

/// The files and folders that show a run was started in a directory; `--force` removes them.
const RUN_FILES: [&str; 5] = [
    "config.toml",
    "metrics.jsonl",
    "summary.json",
    "checkpoint.safetensors",
    "checkpoints",
];

/// Claims `dir` for a run of `id`, before anything is written there. A fresh run needs a
/// directory that holds no run (or `force`, which removes the old run's config, metrics,
/// summary and checkpoints); `resume` needs the run there to have the same identity. Records
/// `id` in `run.json`.
pub fn claim(dir: &Path, id: &Identity, resume: bool, force: bool) -> Result<()> {
    let record = dir.join("run.json");
    let recorded = identity(dir)?;
    let holds_run = RUN_FILES.iter().any(|f| dir.join(f).exists());
    let described = recorded.as_ref().map(Identity::describe);
    if resume {
        if let Some(r) = recorded.as_ref().filter(|&r| r != id) {
            return Err(Error::Usage(format!(
                "{}: --resume: the run there is {}, this one is {}; give another --out",
                dir.display(),
                r.describe(),
                id.describe()
            )));
        }
    } else if holds_run && !force {
        return Err(Error::Usage(format!(
            "{} already holds a run{}; --resume continues it, --force replaces it",
            dir.display(),
            described.map(|d| format!(" ({d})")).unwrap_or_default()
        )));
    } else if holds_run {
        for f in RUN_FILES {
            let path = dir.join(f);
            let gone = if path.is_dir() {
                std::fs::remove_dir_all(&path)
            } else {
                std::fs::remove_file(&path)
            };
            if let Err(e) = gone
                && path.exists()
            {
                return Err(Error::io(&path, e));
            }
        }
    }
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let text = serde_json::to_string_pretty(id).unwrap_or_default();
    atomic::write(&record, text.as_bytes())
}

/// Undoes [`claim`] for a run that stopped before it wrote anything: when `dir` holds only
/// `run.json`, removes it and the then empty `dir`. A run that wrote any file keeps everything.
pub fn release(dir: &Path) {
    let only_record = std::fs::read_dir(dir).is_ok_and(|entries| {
        entries
            .filter_map(|e| e.ok())
            .all(|e| e.file_name() == "run.json")
    });
    if only_record {
        let _ = std::fs::remove_file(dir.join("run.json"));
        let _ = std::fs::remove_dir(dir);
    }
}

/// Reads the records of a `metrics.jsonl`; a bad line is an error naming its line number.
pub fn read_metrics(path: &Path) -> Result<Vec<Value>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l).map_err(|e| Error::format(path, Some(i + 1), e.to_string()))
        })
        .collect()
}

/// A fresh default run directory, `runs/<what>-<unix seconds>` (then `-2`, `-3`, ... when that
/// is taken), created here: creating a directory is atomic, so two runs started in the same second
/// never share one.
pub fn default_out(what: &str) -> PathBuf {
    // Never a nested path, whatever a caller puts in `what`.
    let what = what.replace(['/', '\\'], "_");
    fresh_dir(Path::new("runs"), &what)
}

/// The first `<parent>/<what>-<unix seconds>[-n]` that this call creates.
pub fn fresh_dir(parent: &Path, what: &str) -> PathBuf {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    let _ = std::fs::create_dir_all(parent);
    let mut n = 1;
    loop {
        let name = match n {
            1 => format!("{what}-{secs}"),
            _ => format!("{what}-{secs}-{n}"),
        };
        let path = parent.join(name);
        match std::fs::create_dir(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => n += 1,
            // Created, or an error that the run's own create will name.
            _ => return path,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn runs_started_together_get_their_own_directories() {
        let tmp = tempfile::tempdir().unwrap();
        let dirs: Vec<PathBuf> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|_| s.spawn(|| fresh_dir(tmp.path(), "kg-embed-umls")))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let unique: std::collections::HashSet<_> = dirs.iter().collect();
        assert_eq!(unique.len(), 8, "{dirs:?}");
        assert!(dirs.iter().all(|d| d.is_dir()));
    }

    #[test]
    fn writes_config_metrics_and_summary() {
        let tmp = tempfile::tempdir().unwrap();
        #[derive(Serialize)]
        struct Cfg {
            lr: f64,
            steps: u32,
        }
        let mut run = RunDir::create(tmp.path().join("r"), &Cfg { lr: 0.1, steps: 3 }).unwrap();
        run.log(&json!({"step": 1, "loss": 2.5})).unwrap();
        run.log(&json!({"step": 2, "loss": 1.5})).unwrap();
        let s = run.write_summary(json!({"loss": 1.5})).unwrap();
        assert_eq!(s["dlp_version"], VERSION);
        let cfg = std::fs::read_to_string(run.path("config.toml")).unwrap();
        assert!(cfg.contains("lr = 0.1"), "{cfg}");
        let m = read_metrics(&run.path("metrics.jsonl")).unwrap();
        assert_eq!(m.len(), 2);
        assert_eq!(m[1]["loss"], 1.5);
        let back: Value =
            serde_json::from_str(&std::fs::read_to_string(run.path("summary.json")).unwrap())
                .unwrap();
        assert_eq!(back["loss"], 1.5);
    }

    #[test]
    fn bad_metrics_line_is_reported_with_its_number() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("metrics.jsonl");
        std::fs::write(&p, "{\"a\":1}\n{oops\n").unwrap();
        let err = read_metrics(&p).unwrap_err().to_string();
        assert!(err.contains("metrics.jsonl:2"), "{err}");
    }
}
