//! Entity-alignment pairs in the GCN-Align layout that DBP15K is published in: two graphs in one
//! id space and the gold links between them.
//!
//! | file | line |
//! | --- | --- |
//! | `ent_ids_1`, `ent_ids_2` | `id<TAB>entity IRI` |
//! | `triples_1`, `triples_2` | `head id<TAB>relation id<TAB>tail id` |
//! | `rel_ids_1`, `rel_ids_2` (optional) | `id<TAB>relation IRI` |
//! | `sup_ent_ids` + `test_ent_ids`, or `ref_ent_ids` | `graph-1 id<TAB>graph-2 id` |
//!
//! Every file may be gzip-compressed (`NAME.gz`). With only `ref_ent_ids` the links are split 30%
//! seeds / 70% test by a seeded shuffle, as the papers do. Entities get dense indices: graph 1's
//! in file order first, then graph 2's. A missing file, a malformed line, a triple or link that
//! names an id outside its own graph, and an entity linked twice are errors naming file and line.
//!
//! ```no_run
//! let pair = dlp_core::data::pair::AlignmentPair::load("data/dbp15k/zh_en".as_ref(), 0)?;
//! println!("{} seeds, {} test links", pair.train.len(), pair.test.len());
//! # Ok::<(), dlp_core::Error>(())
//! ```

use super::{find_file, read_maybe_gz};
use crate::error::{Error, Result};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Two graphs in one dense id space and their links.
#[derive(Debug, Clone, Default)]
pub struct AlignmentPair {
    /// Entity IRIs by dense index: graph 1's `0..n1`, then graph 2's.
    pub entities: Vec<String>,
    /// Number of graph-1 entities.
    pub n1: usize,
    /// Relation IRIs by dense index (`urn:dlp:r:<ID>` where no `rel_ids_k` file names them).
    pub relations: Vec<String>,
    /// Triples (head, relation, tail) in dense indices, graph 1's then graph 2's.
    pub triples: Vec<[u32; 3]>,
    /// Number of graph-1 triples (the first `t1` of `triples`).
    pub t1: usize,
    /// Seed links (graph-1 index, graph-2 index).
    pub train: Vec<(u32, u32)>,
    /// Links to find.
    pub test: Vec<(u32, u32)>,
}

struct Lines {
    path: PathBuf,
    text: String,
}

fn read(dir: &Path, name: &str) -> Result<Option<Lines>> {
    let Some(path) = find_file(dir, name) else {
        return Ok(None);
    };
    let text = String::from_utf8(read_maybe_gz(&path)?).map_err(|e| {
        let line = e.as_bytes()[..e.utf8_error().valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        Error::format(&path, Some(line + 1), "not valid UTF-8")
    })?;
    Ok(Some(Lines { path, text }))
}

fn required(dir: &Path, name: &str) -> Result<Lines> {
    read(dir, name)?.ok_or_else(|| {
        Error::format(
            dir.join(name),
            None,
            "missing (an alignment pair needs ent_ids_1, ent_ids_2, triples_1, triples_2 and \
             sup_ent_ids + test_ent_ids or ref_ent_ids, plain or .gz)",
        )
    })
}

impl Lines {
    /// Non-blank lines split on TAB into exactly `n` fields, with 1-based line numbers.
    fn rows(&self, n: usize) -> Result<Vec<(usize, Vec<&str>)>> {
        let mut out = Vec::new();
        for (i, raw) in self.text.lines().enumerate() {
            let line = raw.strip_suffix('\r').unwrap_or(raw);
            if line.trim().is_empty() {
                continue;
            }
            let fields: Vec<&str> = line.split('\t').collect();
            if fields.len() != n || fields.iter().any(|f| f.is_empty()) {
                return Err(self.err(i + 1, format!("expected {n} TAB-separated fields")));
            }
            out.push((i + 1, fields));
        }
        Ok(out)
    }
    fn err(&self, line: usize, msg: impl Into<String>) -> Error {
        Error::format(&self.path, Some(line), msg)
    }
    fn id(&self, line: usize, field: &str) -> Result<u64> {
        field
            .parse()
            .map_err(|_| self.err(line, format!("`{field}` is not an integer id")))
    }
}

impl AlignmentPair {
    /// Loads a pair folder; `seed` fixes the 30/70 split when only `ref_ent_ids` is given.
    pub fn load(dir: &Path, seed: u64) -> Result<Self> {
        if !dir.is_dir() {
            return Err(Error::format(dir, None, "no such directory"));
        }
        let mut pair = AlignmentPair::default();
        // Raw id -> (dense index, graph) for entities; raw id -> dense index for relations.
        let mut ents: HashMap<u64, (u32, u8)> = HashMap::new();
        for k in [1u8, 2] {
            let file = required(dir, &format!("ent_ids_{k}"))?;
            for (line, f) in file.rows(2)? {
                let id = file.id(line, f[0])?;
                if ents.contains_key(&id) {
                    return Err(file.err(line, format!("entity id {id} is defined twice")));
                }
                ents.insert(id, (pair.entities.len() as u32, k));
                pair.entities.push(f[1].to_string());
            }
            if k == 1 {
                pair.n1 = pair.entities.len();
            }
        }
        let mut rels: HashMap<u64, u32> = HashMap::new();
        let mut rel_names: HashMap<u64, String> = HashMap::new();
        for k in [1, 2] {
            if let Some(file) = read(dir, &format!("rel_ids_{k}"))? {
                for (line, f) in file.rows(2)? {
                    rel_names.insert(file.id(line, f[0])?, f[1].to_string());
                }
            }
        }
        for k in [1u8, 2] {
            let file = required(dir, &format!("triples_{k}"))?;
            for (line, f) in file.rows(3)? {
                let ent = |field: &str| -> Result<u32> {
                    let id = file.id(line, field)?;
                    match ents.get(&id) {
                        Some(&(i, g)) if g == k => Ok(i),
                        Some(_) => {
                            Err(file.err(line, format!("entity {id} belongs to the other graph")))
                        }
                        None => Err(file.err(line, format!("entity {id} is not in ent_ids_{k}"))),
                    }
                };
                let (h, t) = (ent(f[0])?, ent(f[2])?);
                let raw = file.id(line, f[1])?;
                let r = *rels.entry(raw).or_insert_with(|| {
                    let name = rel_names
                        .remove(&raw)
                        .unwrap_or_else(|| format!("urn:dlp:r:{raw}"));
                    pair.relations.push(name);
                    (pair.relations.len() - 1) as u32
                });
                pair.triples.push([h, r, t]);
            }
            if k == 1 {
                pair.t1 = pair.triples.len();
            }
        }
        let mut linked: HashMap<u32, (PathBuf, usize)> = HashMap::new();
        let mut links = |file: &Lines| -> Result<Vec<(u32, u32)>> {
            let mut out = Vec::new();
            for (line, f) in file.rows(2)? {
                let mut end = |field: &str, k: u8| -> Result<u32> {
                    let id = file.id(line, field)?;
                    let i = match ents.get(&id) {
                        Some(&(i, g)) if g == k => i,
                        _ => {
                            return Err(file.err(
                                line,
                                format!("link names entity {id}, which is not in ent_ids_{k}"),
                            ));
                        }
                    };
                    if let Some((p, l)) = linked.insert(i, (file.path.clone(), line)) {
                        return Err(file.err(
                            line,
                            format!("entity {id} is already linked at {}:{l}", p.display()),
                        ));
                    }
                    Ok(i)
                };
                out.push((end(f[0], 1)?, end(f[1], 2)?));
            }
            Ok(out)
        };
        match (read(dir, "sup_ent_ids")?, read(dir, "test_ent_ids")?) {
            (Some(sup), Some(test)) => {
                pair.train = links(&sup)?;
                pair.test = links(&test)?;
            }
            (None, None) => {
                let mut all = links(&required(dir, "ref_ent_ids")?)?;
                crate::rng::Rng::new(seed).shuffle(&mut all);
                pair.test = all.split_off(all.len() * 3 / 10);
                pair.train = all;
            }
            (Some(_), None) | (None, Some(_)) => {
                return Err(Error::format(
                    dir,
                    None,
                    "sup_ent_ids and test_ent_ids come together (or give ref_ent_ids alone)",
                ));
            }
        }
        Ok(pair)
    }

    /// Number of entities in both graphs.
    pub fn len(&self) -> usize {
        self.entities.len()
    }

    /// Whether the pair has no entities.
    pub fn is_empty(&self) -> bool {
        self.entities.is_empty()
    }
}
