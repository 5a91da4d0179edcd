//! A remote SPARQL 1.1 endpoint (Virtuoso, Fuseki, GraphDB, `dlp kg serve --allow-writes`) as
//! the store: `--store http://HOST:PORT/sparql`. [`RemoteGraph`] is the entry type.
//!
//! - Queries go to the endpoint (SPARQL 1.1 Protocol, form POST) and come back as SPARQL JSON
//!   results or Turtle, printed exactly as a local store's are.
//! - Writes are validated locally first (the same parsers, checks and strict mode as a local
//!   store, in an in-memory store) and then sent as `INSERT DATA` batches into the same source
//!   graphs; a source is retracted with `DROP SILENT GRAPH`.
//! - Whole-graph commands (`stats`, `check`, `export`) read the `urn:dlp:source:` graphs into
//!   memory, page by page in subject order (see [`RemoteGraph::fetch`]), so endpoints that cap
//!   result sizes or sorting still give every quad; other graphs on the endpoint (Virtuoso's
//!   system graphs) are left out.

use super::{KnowledgeGraph, SOURCE_NS, query::OutputFormat, source_graph, store_err};
use dlp_core::error::{Error, Result};
use oxigraph::io::{RdfFormat, RdfParser};
use oxigraph::model::{GraphName, NamedNode, Quad, Term};
use oxigraph::sparql::results::{QueryResultsFormat, QueryResultsParser};
use oxigraph::sparql::{QueryEvaluationError, QueryResults, QueryTripleIter};
use std::collections::BTreeMap;
use std::io::Write;

/// Rows per page when reading.
const BATCH: usize = 5_000;

/// Quads per `INSERT DATA` request: Virtuoso 7's SPARQL compiler runs out of memory near 5,000
/// triples in one request ("SP030 … memory exhausted").
const INSERT_BATCH: usize = 1_000;

/// A SPARQL 1.1 endpoint used as the store.
pub struct RemoteGraph {
    endpoint: String,
    agent: ureq::Agent,
}

/// Whether a `--store` value names a remote endpoint rather than a directory.
pub fn is_remote(store: &str) -> bool {
    store.starts_with("http://") || store.starts_with("https://")
}

impl RemoteGraph {
    /// An endpoint URL (`http://HOST:PORT/sparql`).
    pub fn new(endpoint: &str) -> Self {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(std::time::Duration::from_secs(600)))
            .build()
            .into();
        RemoteGraph {
            endpoint: endpoint.to_string(),
            agent,
        }
    }

    fn err(&self, msg: impl std::fmt::Display) -> Error {
        Error::Http {
            url: self.endpoint.clone(),
            msg: msg.to_string(),
        }
    }

    /// POSTs a form field and returns (content type, body); a non-2xx status is an error
    /// carrying the endpoint's message.
    fn post(&self, field: &str, text: &str, accept: &str) -> Result<(String, Vec<u8>)> {
        let mut r = self
            .agent
            .post(&self.endpoint)
            .header("Accept", accept)
            .send_form([(field, text)])
            .map_err(|e| self.err(e))?;
        let status = r.status().as_u16();
        let ct = r
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        let body = r
            .body_mut()
            .with_config()
            .limit(u64::MAX)
            .read_to_vec()
            .map_err(|e| self.err(e))?;
        if !(200..300).contains(&status) {
            let msg = String::from_utf8_lossy(&body);
            return Err(self.err(format!("HTTP {status}: {}", msg.trim())));
        }
        Ok((ct, body))
    }

    /// Runs a query on the endpoint.
    pub fn results(&self, sparql: &str) -> Result<QueryResults<'static>> {
        let accept = "application/sparql-results+json, text/turtle;q=0.9";
        let (ct, body) = self.post("query", sparql, accept)?;
        if ct.contains("turtle") || ct.contains("n-triples") || ct.contains("text/plain") {
            let triples = RdfParser::from_format(RdfFormat::Turtle)
                .for_reader(std::io::Cursor::new(body))
                .map(|q| {
                    q.map(Into::into)
                        .map_err(|e| QueryEvaluationError::Unexpected(Box::new(e)))
                });
            return Ok(QueryResults::Graph(QueryTripleIter::new(triples)));
        }
        let parsed = QueryResultsParser::from_format(QueryResultsFormat::Json)
            .for_reader(std::io::Cursor::new(body))
            .map_err(|e| self.err(format!("unreadable results: {e}")))?;
        Ok(parsed.into())
    }

    /// Runs `sparql` and prints the results as `dlp kg query` does for a local store.
    pub fn query(&self, sparql: &str, format: OutputFormat, out: &mut impl Write) -> Result<()> {
        super::query::write_results(self.results(sparql)?, format, out)
    }

    /// Runs a SPARQL update.
    pub fn update(&self, update: &str) -> Result<()> {
        self.post("update", update, "*/*").map(|_| ())
    }

    /// Sends quads (in named graphs) with `INSERT DATA`, as they come: at most [`INSERT_BATCH`]
    /// per request and per graph held at a time; returns how many. A quad in the default graph is an
    /// error (batches already sent stay).
    pub fn push(&self, quads: impl IntoIterator<Item = Result<Quad>>) -> Result<usize> {
        let mut pending: BTreeMap<String, Vec<Quad>> = BTreeMap::new();
        let mut sent = 0;
        for q in quads {
            let q = q?;
            let GraphName::NamedNode(g) = &q.graph_name else {
                return Err(self.err("only quads in named graphs are sent"));
            };
            let graph = g.as_str().to_string();
            let batch = pending.entry(graph.clone()).or_default();
            batch.push(q);
            if batch.len() == INSERT_BATCH {
                let full = std::mem::take(batch);
                self.insert(&graph, &full)?;
            }
            sent += 1;
        }
        for (graph, rest) in pending.into_iter().filter(|(_, r)| !r.is_empty()) {
            self.insert(&graph, &rest)?;
        }
        Ok(sent)
    }

    /// One `INSERT DATA` of `quads` into `graph`.
    fn insert(&self, graph: &str, quads: &[Quad]) -> Result<()> {
        let mut u = format!("INSERT DATA {{ GRAPH <{graph}> {{\n");
        for q in quads {
            u += &format!("{} {} {} .\n", q.subject, q.predicate, q.object);
        }
        u += "} }";
        self.update(&u)
    }

    /// An in-memory copy of the endpoint's `urn:dlp:source:` graphs. Each graph is read in
    /// pages of [`BATCH`] facts ordered by subject, each page starting at the last subject of
    /// the one before (read again; the copy keeps one of each quad), never by `OFFSET` past
    /// the first page: Virtuoso refuses to sort more than 10,000 rows for `OFFSET` + `LIMIT`.
    /// Only a subject with more than [`BATCH`] facts, or blank-node subjects, fall back to
    /// `OFFSET` pages.
    pub fn fetch(&self) -> Result<KnowledgeGraph> {
        let kg = KnowledgeGraph::in_memory()?;
        for g in self.source_graphs()? {
            // The subject the next page starts at, and whether it is read again (`>=`).
            let mut from: Option<(String, &str)> = None;
            loop {
                // An IRI holds no `"` or `\`, so it stands in a string literal as it is.
                let after = from
                    .as_ref()
                    .map_or(String::new(), |(s, op)| format!(" && STR(?s) {op} \"{s}\""));
                let filter = format!("FILTER(isIRI(?s){after})");
                match self.rows(&filter, "STR(?s)", 0, &g, &kg)? {
                    Page::Full(first, last) if first == last => {
                        // One subject fills the page: read it whole, then go past it.
                        self.offset_pages(&format!("FILTER(?s = <{last}>)"), &g, &kg)?;
                        from = Some((last, ">"));
                    }
                    Page::Full(_, last) => from = Some((last, ">=")),
                    Page::Short => break,
                }
            }
            self.offset_pages("FILTER(isBlank(?s))", &g, &kg)?;
        }
        Ok(kg)
    }

    /// The `urn:dlp:source:` graphs on the endpoint.
    fn source_graphs(&self) -> Result<Vec<String>> {
        let q = format!(
            "SELECT DISTINCT ?g WHERE {{ GRAPH ?g {{ ?s ?p ?o }} FILTER(STRSTARTS(STR(?g), \"{SOURCE_NS}\")) }}"
        );
        let QueryResults::Solutions(rows) = self.results(&q)? else {
            return Err(self.err("a SELECT did not return solutions"));
        };
        let mut graphs = Vec::new();
        for row in rows {
            match row.map_err(|e| self.err(e))?.get("g") {
                Some(Term::NamedNode(g)) => graphs.push(g.as_str().to_string()),
                _ => return Err(self.err("a graph row lacks its IRI")),
            }
        }
        Ok(graphs)
    }

    /// Reads the facts of `graph` that pass `filter`, `OFFSET` page by page, into `kg`.
    fn offset_pages(&self, filter: &str, graph: &str, kg: &KnowledgeGraph) -> Result<()> {
        let mut offset = 0;
        while let Page::Full(..) = self.rows(filter, "?s ?p ?o", offset, graph, kg)? {
            offset += BATCH;
        }
        Ok(())
    }

    /// One page of at most [`BATCH`] facts of `graph` that pass `filter`, ordered by `order`
    /// from `offset`, inserted into `kg`.
    fn rows(
        &self,
        filter: &str,
        order: &str,
        offset: usize,
        graph: &str,
        kg: &KnowledgeGraph,
    ) -> Result<Page> {
        let q = format!(
            "SELECT ?s ?p ?o WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} {filter} }} \
             ORDER BY {order} LIMIT {BATCH} OFFSET {offset}"
        );
        let QueryResults::Solutions(rows) = self.results(&q)? else {
            return Err(self.err("a SELECT did not return solutions"));
        };
        let g = NamedNode::new(graph).map_err(|e| self.err(e))?;
        let (mut n, mut first, mut last) = (0, String::new(), String::new());
        for row in rows {
            let row = row.map_err(|e| self.err(e))?;
            let get = |v: &str| row.get(v).cloned();
            let (Some(s), Some(Term::NamedNode(p)), Some(o)) = (get("s"), get("p"), get("o"))
            else {
                return Err(self.err("a quad row lacks a term"));
            };
            let s: oxigraph::model::NamedOrBlankNode = match s {
                Term::NamedNode(n) => {
                    last = n.as_str().to_string();
                    n.into()
                }
                Term::BlankNode(b) => b.into(),
                _ => return Err(self.err("a literal in subject position")),
            };
            if n == 0 {
                first = last.clone();
            }
            kg.store()
                .insert(&Quad::new(s, p, o, g.clone()))
                .map_err(|e| store_err("insert", e))?;
            n += 1;
        }
        Ok(if n == BATCH {
            Page::Full(first, last)
        } else {
            Page::Short
        })
    }

    /// Removes every fact of `source`; returns how many there were.
    pub fn retract(&self, source: &str) -> Result<usize> {
        let g: NamedNode = source_graph(source)?;
        let q = format!(
            "SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{}> {{ ?s ?p ?o }} }}",
            g.as_str()
        );
        let n = match self.results(&q)? {
            QueryResults::Solutions(mut rows) => match rows.next() {
                Some(Ok(row)) => match row.get("n") {
                    Some(Term::Literal(l)) => l.value().parse().unwrap_or(0),
                    _ => 0,
                },
                _ => 0,
            },
            _ => 0,
        };
        self.update(&format!("DROP SILENT GRAPH <{}>", g.as_str()))?;
        Ok(n)
    }
}

/// What a page of [`RemoteGraph::rows`] held: all [`BATCH`] rows (with its first and last IRI
/// subjects), or fewer (the last page).
enum Page {
    Full(String, String),
    Short,
}
