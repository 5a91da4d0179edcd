//! One error type for every dlpapers library. Each variant names the file, line, field or tensor
//! at fault, so that the CLI can print a single clear line and exit with code 1 (2 for usage).

use std::path::{Path, PathBuf};

/// Errors of dlpapers. `Display` is the one line a user sees.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An operating-system error on a file or directory.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A file whose content is not of the expected form; `line` is 1-based when known.
    #[error("{}{}: {msg}", path.display(), line.map(|l| format!(":{l}")).unwrap_or_default())]
    Format {
        path: PathBuf,
        line: Option<usize>,
        msg: String,
    },
    /// A file whose SHA-256 differs from the registry's.
    #[error("{}: SHA-256 mismatch: expected {expected}, found {found}", path.display())]
    Checksum {
        path: PathBuf,
        expected: String,
        found: String,
    },
    /// A tensor whose shape differs from what the model expects.
    #[error("{}: tensor `{tensor}` has shape {found:?} in the file but the model expects {expected:?}", path.display())]
    Shape {
        path: PathBuf,
        tensor: String,
        expected: Vec<usize>,
        found: Vec<usize>,
    },
    /// A bad command-line value or option (exit code 2).
    #[error("{0}")]
    Usage(String),
    /// A setting (a config field, or the option of the same name) with a value the library
    /// refuses (exit code 2). It names the field; the CLI shows it as its flag.
    #[error("{field}: {msg}")]
    Setting { field: &'static str, msg: String },
    /// A knowledge-graph store that failed to open, read or write (exit code 1: not a usage
    /// error).
    #[error("{0}")]
    Store(String),
    /// A download that failed.
    #[error("{url}: {msg}")]
    Http { url: String, msg: String },
    /// Training produced a non-finite value; the last good state is kept.
    #[error("{0}")]
    NonFinite(String),
}

/// Result with [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// Wraps an I/O error with the path it happened on.
    pub fn io(path: impl AsRef<Path>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.as_ref().to_path_buf(),
            source,
        }
    }

    /// A format error at `path` (and `line`, 1-based, when known).
    pub fn format(path: impl AsRef<Path>, line: Option<usize>, msg: impl Into<String>) -> Self {
        Error::Format {
            path: path.as_ref().to_path_buf(),
            line,
            msg: msg.into(),
        }
    }

    /// A TOML error in `path` (whose contents are `text`) as one line naming the line and the
    /// key: `f.toml:1: field `dim`: invalid value: integer `-1`, expected usize`.
    pub fn toml(path: impl AsRef<Path>, text: &str, e: &toml::de::Error) -> Self {
        let start = e.span().map(|s| s.start.min(text.len()));
        let line = start.map(|s| text[..s].matches('\n').count() + 1);
        let key = start
            .and_then(|s| text[..s].rsplit('\n').next())
            .and_then(|l| l.split_once('='))
            .map(|(k, _)| k.trim().trim_matches('"'))
            .filter(|k| !k.is_empty() && !k.starts_with('['));
        let msg = e.message().trim().replace('\n', " ");
        let msg = match key {
            Some(k) if !msg.contains(&format!("`{k}`")) => format!("field `{k}`: {msg}"),
            _ => msg,
        };
        Error::format(path, line, msg)
    }

    /// A refused value of the setting `field`.
    pub fn setting(field: &'static str, msg: impl Into<String>) -> Self {
        Error::Setting {
            field,
            msg: msg.into(),
        }
    }

    /// The process exit code for this error: 2 for usage errors, 1 otherwise.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Usage(_) | Error::Setting { .. } => 2,
            _ => 1,
        }
    }
}
