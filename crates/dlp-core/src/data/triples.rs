//! Link-prediction datasets: `{train,valid,test}.txt[.gz]`, one `head<TAB>relation<TAB>tail`
//! triple a line (CRLF tolerated, blank lines skipped), read into integer ids with entity and
//! relation vocabularies.
//!
//! Ids are given in order of first appearance over train, then valid, then test, so entities
//! that occur only in valid or test (WN18RR has some) still get ids and are ranked like the
//! rest.
//!
//! ```no_run
//! let kg = dlp_core::data::triples::LinkPrediction::load("data/fb15k-237".as_ref())?;
//! println!("{} entities, {} train triples", kg.entities.len(), kg.train.len());
//! # Ok::<(), dlp_core::Error>(())
//! ```

use super::{find_file, read_maybe_gz};
use crate::error::{Error, Result};
use std::collections::HashMap;
use std::path::Path;

/// A triple of ids: (head entity, relation, tail entity).
pub type Triple = [u32; 3];

/// A bijection between names and dense ids.
#[derive(Debug, Clone, Default)]
pub struct Vocab {
    names: Vec<String>,
    index: HashMap<String, u32>,
}

impl Vocab {
    /// The id of `name`, adding it if new.
    pub fn intern(&mut self, name: &str) -> u32 {
        if let Some(&id) = self.index.get(name) {
            return id;
        }
        let id = self.names.len() as u32;
        self.names.push(name.to_string());
        self.index.insert(name.to_string(), id);
        id
    }
    /// The id of `name`, if known.
    pub fn id(&self, name: &str) -> Option<u32> {
        self.index.get(name).copied()
    }
    /// The name of `id`.
    pub fn name(&self, id: u32) -> &str {
        &self.names[id as usize]
    }
    /// Number of names.
    pub fn len(&self) -> usize {
        self.names.len()
    }
    /// Whether the vocabulary is empty.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}

/// The three splits of a link-prediction dataset with shared vocabularies.
#[derive(Debug, Clone, Default)]
pub struct LinkPrediction {
    pub train: Vec<Triple>,
    pub valid: Vec<Triple>,
    pub test: Vec<Triple>,
    pub entities: Vocab,
    pub relations: Vocab,
}

impl LinkPrediction {
    /// Loads `train`, `valid` and `test` (`.txt` or `.txt.gz`) from `dir`.
    pub fn load(dir: &Path) -> Result<Self> {
        let mut kg = LinkPrediction::default();
        for split in ["train", "valid", "test"] {
            let name = format!("{split}.txt");
            let path = find_file(dir, &name).ok_or_else(|| {
                Error::format(dir, None, format!("missing {name} (or {name}.gz)"))
            })?;
            let bytes = read_maybe_gz(&path)?;
            let triples = kg.parse(&bytes, &path)?;
            match split {
                "train" => kg.train = triples,
                "valid" => kg.valid = triples,
                _ => kg.test = triples,
            }
        }
        Ok(kg)
    }

    /// Writes the splits to `dir` as `{split}.txt.gz` (atomically), in their order, so that
    /// [`LinkPrediction::load`] of `dir` gives back the same triples with the same ids.
    pub fn save(&self, dir: &Path) -> Result<()> {
        use std::io::Write;
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        for (split, triples) in [
            ("train", &self.train),
            ("valid", &self.valid),
            ("test", &self.test),
        ] {
            let path = dir.join(format!("{split}.txt.gz"));
            crate::atomic::write_with(&path, |f| {
                let mut gz = flate2::write::GzEncoder::new(
                    std::io::BufWriter::new(f),
                    flate2::Compression::fast(),
                );
                for &[h, r, t] in triples.iter() {
                    let (h, r, t) = (
                        self.entities.name(h),
                        self.relations.name(r),
                        self.entities.name(t),
                    );
                    writeln!(gz, "{h}\t{r}\t{t}")?;
                }
                gz.finish()?.flush()
            })?;
        }
        Ok(())
    }

    /// Parses TSV triples into ids, extending the vocabularies; `path` names the file in errors.
    pub fn parse(&mut self, bytes: &[u8], path: &Path) -> Result<Vec<Triple>> {
        let text = std::str::from_utf8(bytes).map_err(|e| {
            let line = bytes[..e.valid_up_to()]
                .iter()
                .filter(|&&b| b == b'\n')
                .count()
                + 1;
            Error::format(path, Some(line), "not valid UTF-8")
        })?;
        let mut out = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.strip_suffix('\r').unwrap_or(raw);
            if line.trim().is_empty() {
                continue;
            }
            let fields: Vec<&str> = line.split('\t').collect();
            if fields.len() != 3 || fields.iter().any(|f| f.is_empty()) {
                return Err(Error::format(
                    path,
                    Some(i + 1),
                    format!(
                        "expected head<TAB>relation<TAB>tail, found {} field(s)",
                        fields.len()
                    ),
                ));
            }
            let h = self.entities.intern(fields[0]);
            let r = self.relations.intern(fields[1]);
            let t = self.entities.intern(fields[2]);
            out.push([h, r, t]);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_crlf_and_blank_lines_with_shared_vocab() {
        let mut kg = LinkPrediction::default();
        let p = Path::new("train.txt");
        let t = kg.parse(b"a\tr\tb\r\nb\tr\tc\r\n\r\n", p).unwrap();
        assert_eq!(t, vec![[0, 0, 1], [1, 0, 2]]);
        let v = kg.parse(b"c\ts\ta\n", Path::new("valid.txt")).unwrap();
        assert_eq!(v, vec![[2, 1, 0]]);
        assert_eq!(kg.entities.name(2), "c");
        assert_eq!(kg.relations.id("s"), Some(1));
    }

    #[test]
    fn bad_line_names_file_and_line() {
        let mut kg = LinkPrediction::default();
        let err = kg
            .parse(b"a\tr\tb\nonly two\tfields\n", Path::new("test.txt"))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "test.txt:2: expected head<TAB>relation<TAB>tail, found 2 field(s)"
        );
    }
}
