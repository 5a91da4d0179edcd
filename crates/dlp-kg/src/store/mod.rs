//! The knowledge graph in an RDF store (Oxigraph: RocksDB on disk, or in memory), so that every
//! SPARQL tool can read it. [`KnowledgeGraph`] is the entry type.
//!
//! Every fact lives in the named graph of its source, `urn:dlp:source:<kind>:<name>` (an import
//! file, a completion run), so a source can be listed and retracted as a whole; completions never
//! enter the graphs of asserted facts. Link-prediction names become IRIs in `urn:dlp:e:` (entities)
//! and `urn:dlp:r:` (relations), percent-encoding what an IRI cannot hold.
//!
//! ```
//! use dlp_kg::store::KnowledgeGraph;
//! let kg = KnowledgeGraph::in_memory()?;
//! kg.insert_nt("<urn:dlp:e:a> <urn:dlp:r:likes> <urn:dlp:e:b> .", "curator:demo")?;
//! assert_eq!(kg.len()?, 1);
//! # Ok::<(), dlp_core::Error>(())
//! ```

pub mod complete;
pub mod curate;
pub mod demo;
pub mod export;
pub mod graph;
pub mod http;
pub mod import;
pub mod literal;
mod page;
pub mod query;
pub mod remote;
pub mod review;
pub mod schema;
pub mod serve;
pub mod wikidata;

use dlp_core::error::{Error, Result};
use oxigraph::io::{RdfFormat, RdfParser};
use oxigraph::model::{GraphNameRef, NamedNode, NamedOrBlankNode};
use oxigraph::store::Store;
use std::path::Path;

/// Namespace of entities imported from link-prediction files.
pub const ENTITY_NS: &str = "urn:dlp:e:";
/// Namespace of relations imported from link-prediction files.
pub const RELATION_NS: &str = "urn:dlp:r:";
/// Prefix of source graphs.
pub const SOURCE_NS: &str = "urn:dlp:source:";

/// A knowledge graph in an Oxigraph store.
#[derive(Clone)]
pub struct KnowledgeGraph {
    store: Store,
}

/// Wraps a store error with where it happened.
pub(crate) fn store_err(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Store(format!("{what}: {e}"))
}

/// Removes the `bulk-*.sst` files of a bulk load that was killed before RocksDB ingested them
/// (ingestion moves each file to a name of RocksDB's own). Called once the store is open, which
/// holds its lock: no other process can be loading into it.
fn remove_orphan_ssts(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let name = name.to_string_lossy();
        if name.starts_with("bulk-") && name.ends_with(".sst") {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

impl KnowledgeGraph {
    /// Opens the on-disk store in `dir`, which must already be one (RocksDB's `CURRENT` file);
    /// commands that only read use this, so a mistyped path is refused instead of created.
    pub fn open(dir: &Path) -> Result<Self> {
        if !dir.join("CURRENT").is_file() {
            let what = if dir.is_file() {
                "is a file, not a store"
            } else if dir.exists() {
                "is not a store (no RocksDB CURRENT file)"
            } else {
                "does not exist"
            };
            return Err(Error::format(
                dir,
                None,
                format!("{what}; `dlp kg import`, `add` or `merge` create one"),
            ));
        }
        Self::create(dir)
    }

    /// Opens the on-disk store in `dir`, creating it (and its parent folders) when absent, and
    /// removes what a killed bulk load left in it.
    pub fn create(dir: &Path) -> Result<Self> {
        let store = Store::open(dir).map_err(|e| {
            let e = e.to_string();
            if e.contains("LOCK") || e.contains("lock") {
                Error::format(
                    dir,
                    None,
                    "the store is in use by another process (a running `dlp kg serve`?)",
                )
            } else {
                Error::format(dir, None, format!("cannot open the store: {e}"))
            }
        })?;
        remove_orphan_ssts(dir);
        Ok(KnowledgeGraph { store })
    }

    /// A store in memory (tests, scratch work).
    pub fn in_memory() -> Result<Self> {
        Ok(KnowledgeGraph {
            store: Store::new().map_err(|e| store_err("in-memory store", e))?,
        })
    }

    /// The Oxigraph store, for anything the typed API does not cover.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Number of quads.
    pub fn len(&self) -> Result<usize> {
        self.store.len().map_err(|e| store_err("count", e))
    }

    /// Whether the store is empty.
    pub fn is_empty(&self) -> Result<bool> {
        Ok(self.len()? == 0)
    }

    /// Inserts N-Triples text into the graph of `source` (`kind:name`).
    pub fn insert_nt(&self, text: &str, source: &str) -> Result<usize> {
        let graph = source_graph(source)?;
        let parser = RdfParser::from_format(RdfFormat::NTriples).with_default_graph(graph);
        let mut n = 0;
        for quad in parser.for_slice(text) {
            let quad = quad.map_err(|e| Error::Usage(format!("{source}: {e}")))?;
            self.store
                .insert(&quad)
                .map_err(|e| store_err("insert", e))?;
            n += 1;
        }
        Ok(n)
    }

    /// The source graphs with their numbers of quads.
    pub fn sources(&self) -> Result<Vec<(String, usize)>> {
        let mut out = Vec::new();
        for g in self.store.named_graphs() {
            let g = g.map_err(|e| store_err("list graphs", e))?;
            let n = self
                .store
                .quads_for_pattern(None, None, None, Some(g.as_ref().into()))
                .count();
            let name = match &g {
                NamedOrBlankNode::NamedNode(n) => n
                    .as_str()
                    .strip_prefix(SOURCE_NS)
                    .unwrap_or(n.as_str())
                    .to_string(),
                NamedOrBlankNode::BlankNode(b) => b.to_string(),
            };
            out.push((name, n));
        }
        out.sort();
        Ok(out)
    }

    /// Removes every fact of `source` (`kind:name`); returns how many there were.
    pub fn retract(&self, source: &str) -> Result<usize> {
        let graph = source_graph(source)?;
        let n = self
            .store
            .quads_for_pattern(
                None,
                None,
                None,
                Some(GraphNameRef::NamedNode(graph.as_ref())),
            )
            .count();
        self.store
            .remove_named_graph(graph.as_ref())
            .map_err(|e| store_err("retract", e))?;
        Ok(n)
    }
}

/// The graph IRI of source `kind:name`.
pub fn source_graph(source: &str) -> Result<NamedNode> {
    NamedNode::new(format!("{SOURCE_NS}{}", encode(source)))
        .map_err(|e| Error::Usage(format!("source `{source}`: {e}")))
}

/// Percent-encodes the characters an IRI cannot hold (and `%`).
pub fn encode(name: &str) -> String {
    let mut s = String::with_capacity(name.len());
    for c in name.chars() {
        if c.is_control() || c.is_whitespace() || "<>\"{}|\\^`%".contains(c) {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                s.push_str(&format!("%{b:02X}"));
            }
        } else {
            s.push(c);
        }
    }
    s
}

/// Inverse of [`encode`].
pub fn decode(iri_part: &str) -> String {
    let bytes = iri_part.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(hi), Some(lo)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push((hi * 16 + lo) as u8);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
