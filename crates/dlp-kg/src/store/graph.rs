//! One interface over the two places a graph can live: a local store ([`KnowledgeGraph`]) and a
//! SPARQL 1.1 endpoint ([`RemoteGraph`]). [`Graph`] is what `--store` opens.
//!
//! - Reads that need the whole graph (`stats`, `check`, `export`) get a [`KnowledgeGraph`]: the
//!   store itself, or an in-memory copy of the endpoint's source graphs ([`Graph::readable`]).
//! - Writes run on a [`KnowledgeGraph`] too ([`Graph::write`]): the store itself, or an in-memory
//!   scratch graph whose new quads are then pushed to the endpoint. The scratch graph starts as
//!   a copy of the endpoint's when the write must see what is there (strict schema checks), so
//!   the push is the difference `after \ before`.
//!
//! ```no_run
//! use dlp_kg::store::graph::Graph;
//! let g = Graph::open("http://localhost:7878/sparql", false)?;
//! let stats = g.readable()?.stats()?;
//! # Ok::<(), dlp_core::Error>(())
//! ```

use super::KnowledgeGraph;
use super::query::OutputFormat;
use super::remote::{RemoteGraph, is_remote};
use dlp_core::error::Result;
use std::collections::HashSet;
use std::io::Write;
use std::path::Path;

/// A local store or a remote endpoint.
pub enum Graph {
    Local(KnowledgeGraph),
    Remote(RemoteGraph),
}

impl Graph {
    /// Opens `location`: an `http(s)://` endpoint URL, or a store directory, created when absent
    /// only if `create` (import, add, merge).
    pub fn open(location: impl AsRef<Path>, create: bool) -> Result<Graph> {
        let path = location.as_ref();
        let s = path.to_string_lossy();
        Ok(if is_remote(&s) {
            Graph::Remote(RemoteGraph::new(&s))
        } else if create {
            Graph::Local(KnowledgeGraph::create(path)?)
        } else {
            Graph::Local(KnowledgeGraph::open(path)?)
        })
    }

    /// The graph whole-graph commands read: the store, or an in-memory copy of the endpoint's
    /// source graphs.
    pub fn readable(&self) -> Result<KnowledgeGraph> {
        match self {
            Graph::Local(kg) => Ok(kg.clone()),
            Graph::Remote(r) => r.fetch(),
        }
    }

    /// Runs `f` on the store; for an endpoint, on an in-memory graph (a copy of the endpoint's
    /// when `needs_current`), whose new quads are then pushed to the endpoint.
    pub fn write<T>(
        &self,
        needs_current: bool,
        f: impl FnOnce(&KnowledgeGraph) -> Result<T>,
    ) -> Result<T> {
        match self {
            Graph::Local(kg) => f(kg),
            Graph::Remote(r) => {
                let (scratch, before) = if needs_current {
                    let current = r.fetch()?;
                    let quads: HashSet<_> = current.all_quads()?.into_iter().collect();
                    (current, quads)
                } else {
                    (KnowledgeGraph::in_memory()?, HashSet::new())
                };
                let out = f(&scratch)?;
                // Streamed from the scratch store, batch by batch.
                let new = scratch
                    .quads()
                    .filter(|q| q.as_ref().map_or(true, |q| !before.contains(q)));
                r.push(new)?;
                Ok(out)
            }
        }
    }

    /// Runs a SPARQL query and writes its results in `format`.
    pub fn query(&self, query: &str, format: OutputFormat, out: &mut impl Write) -> Result<()> {
        match self {
            Graph::Local(kg) => kg.query(query, format, out),
            Graph::Remote(r) => r.query(query, format, out),
        }
    }

    /// Removes every fact of one source; returns how many there were.
    pub fn retract(&self, source: &str) -> Result<usize> {
        match self {
            Graph::Local(kg) => kg.retract(source),
            Graph::Remote(r) => r.retract(source),
        }
    }

    /// Quads in the store (`None` for an endpoint: not counted).
    pub fn len(&self) -> Result<Option<usize>> {
        match self {
            Graph::Local(kg) => kg.len().map(Some),
            Graph::Remote(_) => Ok(None),
        }
    }
}
