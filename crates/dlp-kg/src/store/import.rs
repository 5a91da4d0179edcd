//! Import into a [`KnowledgeGraph`]: N-Triples, N-Quads, Turtle, TriG, RDF/XML and
//! link-prediction TSV (head, relation, tail), plain or `.gz`, the format from the extension.
//!
//! Line formats (N-Triples, N-Quads, TSV) are parsed line by line on every core, so each error
//! names its line; every literal with an XSD numeric, boolean or date type is checked against its
//! datatype. Strict mode (the default) imports nothing from a file with any error; lenient mode
//! skips exactly the bad lines and reports each. Valid quads go to Oxigraph's bulk loader, into the
//! named graph of the file (`urn:dlp:source:import:<file name>`) unless the file names its graphs.

use super::{ENTITY_NS, KnowledgeGraph, RELATION_NS, encode, source_graph, store_err};
use dlp_core::data::read_maybe_gz;
use dlp_core::error::{Error, Result};
use dlp_core::progress::Progress;
use oxigraph::io::{RdfFormat, RdfParser};
use oxigraph::model::{BlankNode, GraphName, NamedNode, NamedOrBlankNode, Quad, Term};
use rayon::prelude::*;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// What a file holds, from its extension.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FileFormat {
    Rdf(RdfFormat),
    /// `head<TAB>relation<TAB>tail` lines.
    LinkPrediction,
    /// A Wikidata JSON dump, one entity per line.
    WikidataJson,
}

/// The format of `path` from its extension (`.gz` stripped).
pub fn format_of(path: &Path) -> Result<FileFormat> {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let name = name.strip_suffix(".gz").unwrap_or(&name);
    let ext = name.rsplit('.').next().unwrap_or_default();
    Ok(match ext {
        "nt" => FileFormat::Rdf(RdfFormat::NTriples),
        "nq" => FileFormat::Rdf(RdfFormat::NQuads),
        "ttl" => FileFormat::Rdf(RdfFormat::Turtle),
        "trig" => FileFormat::Rdf(RdfFormat::TriG),
        "rdf" | "owl" | "xml" => FileFormat::Rdf(RdfFormat::RdfXml),
        "tsv" | "txt" => FileFormat::LinkPrediction,
        "json" => FileFormat::WikidataJson,
        _ => {
            return Err(Error::Usage(format!(
                "{}: unknown extension (expected .nt, .nq, .ttl, .trig, .rdf, .owl, .xml, .tsv, .txt or .json (Wikidata), optionally .gz)",
                path.display()
            )));
        }
    })
}

/// How to import.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// Skip bad lines (reporting each) instead of refusing the file.
    pub lenient: bool,
    /// Bulk-loader threads (0: rayon's count).
    pub threads: usize,
}

/// What an import did.
#[derive(Debug, Clone, Serialize)]
pub struct ImportReport {
    pub file: PathBuf,
    pub graph: String,
    pub quads: usize,
    /// (1-based line, or 0 when the parser gives none; message) of each skipped line.
    pub skipped: Vec<(usize, String)>,
    pub seconds: f64,
    pub quads_per_second: f64,
}

impl KnowledgeGraph {
    /// Imports one file; see the module doc.
    pub fn import(&self, path: &Path, opts: &ImportOptions) -> Result<ImportReport> {
        let start = Instant::now();
        let format = format_of(path)?;
        let bytes = read_maybe_gz(path)?;
        let file = path.file_name().and_then(|n| n.to_str()).unwrap_or("input");
        let graph = source_graph(&format!(
            "import:{}",
            file.strip_suffix(".gz").unwrap_or(file)
        ))?;
        let nonce = format!(
            "{:x}",
            start.elapsed().as_nanos() ^ std::process::id() as u128 ^ self.len()? as u128
        );
        let parsed: Vec<(usize, std::result::Result<Vec<Quad>, String>)> = match format {
            FileFormat::Rdf(f @ (RdfFormat::NTriples | RdfFormat::NQuads)) => {
                by_lines(&bytes, |line| {
                    let parser = RdfParser::from_format(f).with_default_graph(graph.clone());
                    let quads: std::result::Result<Vec<Quad>, String> = parser
                        .for_slice(line)
                        .map(|q| q.map_err(|e| e.to_string()))
                        .collect();
                    quads.map(|qs| {
                        qs.into_iter()
                            .map(|q| scope_blank_nodes(q, &nonce))
                            .collect()
                    })
                })
            }
            FileFormat::LinkPrediction => {
                by_lines(&bytes, |line| tsv_quad(line, &graph).map(|q| vec![q]))
            }
            FileFormat::WikidataJson => {
                by_lines(&bytes, |line| super::wikidata::entity_quads(line, &graph))
            }
            FileFormat::Rdf(f) => {
                let parser = RdfParser::from_format(f)
                    .with_default_graph(graph.clone())
                    .rename_blank_nodes();
                parser
                    .for_slice(&bytes)
                    .map(|r| match r {
                        Ok(q) => (0, Ok(vec![q])),
                        Err(e) => (
                            e.location().map_or(0, |l| l.start.line as usize + 1),
                            Err(e.to_string()),
                        ),
                    })
                    .collect()
            }
        };
        let mut quads = Vec::with_capacity(parsed.len());
        let mut skipped = Vec::new();
        for (line, r) in parsed {
            let checked = r.and_then(|qs| {
                for q in &qs {
                    if let Term::Literal(l) = &q.object {
                        super::literal::check_literal(l)?;
                    }
                }
                Ok(qs)
            });
            match checked {
                Ok(qs) => quads.extend(qs),
                Err(msg) if opts.lenient => skipped.push((line, msg)),
                Err(msg) => {
                    return Err(Error::format(
                        path,
                        (line > 0).then_some(line),
                        format!("{msg} (nothing imported; --lenient skips bad lines)"),
                    ));
                }
            }
        }
        let n = quads.len();
        let progress = Progress::new(&format!("import {file}"), n as u64);
        let threads = if opts.threads > 0 {
            opts.threads
        } else {
            rayon::current_num_threads()
        };
        // Batches of 50,000: each is sorted and written by the loader's threads while the
        // next is handed over (measured faster than one batch or 100,000).
        let mut loader = self.store.bulk_loader().with_num_threads(threads);
        let mut rest = quads.into_iter();
        loop {
            let batch: Vec<Quad> = rest.by_ref().take(50_000).collect();
            if batch.is_empty() {
                break;
            }
            progress.inc(batch.len() as u64);
            loader
                .load_quads(batch)
                .map_err(|e| store_err("bulk load", e))?;
        }
        loader
            .commit()
            .map_err(|e| store_err("bulk load commit", e))?;
        progress.finish();
        let seconds = start.elapsed().as_secs_f64();
        Ok(ImportReport {
            file: path.to_path_buf(),
            graph: graph.as_str().to_string(),
            quads: n,
            skipped,
            seconds,
            quads_per_second: n as f64 / seconds.max(1e-9),
        })
    }
}

/// Runs `parse` on every non-blank, non-comment line in parallel; results in line order.
fn by_lines(
    bytes: &[u8],
    parse: impl Fn(&str) -> std::result::Result<Vec<Quad>, String> + Sync,
) -> Vec<(usize, std::result::Result<Vec<Quad>, String>)> {
    let lines: Vec<&[u8]> = bytes.split(|&b| b == b'\n').collect();
    lines
        .par_iter()
        .enumerate()
        .with_min_len(4096)
        .filter_map(|(i, raw)| {
            let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
            let text = match std::str::from_utf8(raw) {
                Ok(t) => t,
                Err(_) => return Some((i + 1, Err("not valid UTF-8".to_string()))),
            };
            let t = text.trim();
            if t.is_empty() || t.starts_with('#') {
                return None;
            }
            Some((i + 1, parse(t)))
        })
        .collect()
}

/// One link-prediction line as a quad in `graph`.
fn tsv_quad(line: &str, graph: &NamedNode) -> std::result::Result<Quad, String> {
    let f: Vec<&str> = line.split('\t').collect();
    if f.len() != 3 || f.iter().any(|x| x.is_empty()) {
        return Err(format!(
            "expected head<TAB>relation<TAB>tail, found {} field(s)",
            f.len()
        ));
    }
    let iri = |ns: &str, name: &str| {
        NamedNode::new(format!("{ns}{}", encode(name))).map_err(|e| e.to_string())
    };
    Ok(Quad::new(
        iri(ENTITY_NS, f[0])?,
        iri(RELATION_NS, f[1])?,
        iri(ENTITY_NS, f[2])?,
        graph.clone(),
    ))
}

/// Gives blank nodes a per-import suffix so that `_:b` of two files stay two nodes.
fn scope_blank_nodes(q: Quad, nonce: &str) -> Quad {
    let scope = |b: &BlankNode| BlankNode::new_unchecked(format!("{}x{nonce}", b.as_str()));
    let subject = match q.subject {
        NamedOrBlankNode::BlankNode(b) => NamedOrBlankNode::BlankNode(scope(&b)),
        s => s,
    };
    let object = match q.object {
        Term::BlankNode(b) => Term::BlankNode(scope(&b)),
        o => o,
    };
    let graph_name = match q.graph_name {
        GraphName::BlankNode(b) => GraphName::BlankNode(scope(&b)),
        g => g,
    };
    Quad {
        subject,
        predicate: q.predicate,
        object,
        graph_name,
    }
}
