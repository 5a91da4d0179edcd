//! SPARQL 1.1 queries (SELECT, ASK, CONSTRUCT, DESCRIBE) over a [`KnowledgeGraph`], written as
//! an aligned table, SPARQL JSON results, or SPARQL CSV results (graphs as N-Triples); counts of
//! what the graph holds; and completions written into their own source graph.

use super::{KnowledgeGraph, source_graph, store_err};
use dlp_core::error::{Error, Result};
use oxigraph::io::{RdfFormat, RdfSerializer};
use oxigraph::model::{Literal, NamedNode, Quad, Term};
use oxigraph::sparql::results::{QueryResultsFormat, QueryResultsSerializer};
use oxigraph::sparql::{PreparedSparqlQuery, QueryResults, SparqlEvaluator, SparqlSyntaxError};
use serde::Serialize;
use std::io::Write;

/// How query results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    Table,
    Json,
    Csv,
}

impl OutputFormat {
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "table" => Ok(OutputFormat::Table),
            "json" => Ok(OutputFormat::Json),
            "csv" => Ok(OutputFormat::Csv),
            _ => Err(Error::setting(
                "format",
                format!("`{s}` (expected table, json or csv)"),
            )),
        }
    }
}

/// Counts of the graph's parts.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Stats {
    pub quads: usize,
    /// Distinct IRIs in subject or object position that are not concepts or properties.
    pub instances: usize,
    /// Distinct classes: objects of rdf:type and anything declared a class.
    pub concepts: usize,
    /// Distinct predicates whose objects are IRIs or blank nodes.
    pub relations: usize,
    /// Distinct predicates whose objects are literals.
    pub values: usize,
    /// Quads per source graph.
    pub sources: Vec<(String, usize)>,
}

const STATS_QUERY: &str = r#"
PREFIX rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX owl: <http://www.w3.org/2002/07/owl#>
SELECT
  (COUNT(DISTINCT ?c) AS ?concepts)
  (COUNT(DISTINCT ?rel) AS ?relations)
  (COUNT(DISTINCT ?val) AS ?values)
WHERE {
  { GRAPH ?g { ?x rdf:type ?c } } UNION { GRAPH ?g { ?c rdf:type owl:Class } } UNION { GRAPH ?g { ?c rdf:type rdfs:Class } }
  UNION { GRAPH ?g { ?s ?rel ?o FILTER(!isLiteral(?o) && ?rel != rdf:type) } }
  UNION { GRAPH ?g { ?s ?val ?o FILTER(isLiteral(?o)) } }
}"#;

const INSTANCES_QUERY: &str = r#"
PREFIX rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#>
PREFIX owl: <http://www.w3.org/2002/07/owl#>
SELECT (COUNT(DISTINCT ?i) AS ?instances) WHERE {
  { GRAPH ?g { ?i ?p ?o } FILTER(isIRI(?i)) } UNION { GRAPH ?g { ?s ?p ?i } FILTER(isIRI(?i) && ?p != rdf:type) }
  FILTER NOT EXISTS { GRAPH ?h { ?x rdf:type ?i } }
  FILTER NOT EXISTS { GRAPH ?h { ?i rdf:type owl:Class } }
  FILTER NOT EXISTS { GRAPH ?h { ?i rdf:type rdf:Statement } }
  FILTER NOT EXISTS { GRAPH ?h { ?x ?i ?y } }
}"#;

/// A term as the table shows it: numbers, booleans and plain strings by their value, as a reader
/// expects (`15989`, not `"15989"^^<…#integer>`); IRIs, language-tagged and other typed literals
/// in N-Triples syntax. The JSON, CSV and N-Triples formats keep every term's typed form.
fn cell(term: &Term) -> String {
    if let Term::Literal(l) = term {
        let plain = l.language().is_none()
            && l.datatype()
                .as_str()
                .strip_prefix("http://www.w3.org/2001/XMLSchema#")
                .is_some_and(|t| {
                    matches!(
                        t,
                        "string"
                            | "integer"
                            | "decimal"
                            | "double"
                            | "float"
                            | "boolean"
                            | "long"
                            | "int"
                    )
                });
        if plain {
            return l.value().to_string();
        }
    }
    term.to_string()
}

/// Parses `query` with the default graph as the union of every source graph, as Oxigraph's server
/// (`--union-default-graph`), Virtuoso and Fuseki users expect, so that a plain
/// `SELECT * WHERE { ?s ?p ?o }` sees the data; `GRAPH ?g` still gives each fact's source, and a
/// query with its own `FROM` keeps its dataset.
pub fn parse_union(
    evaluator: SparqlEvaluator,
    query: &str,
) -> std::result::Result<PreparedSparqlQuery, SparqlSyntaxError> {
    let mut prepared = evaluator.parse_query(query)?;
    if prepared.dataset().is_default_dataset() {
        prepared.dataset_mut().set_default_graph_as_union();
    }
    Ok(prepared)
}

impl KnowledgeGraph {
    /// Runs `sparql` and writes the results to `out` in `format`.
    pub fn query(&self, sparql: &str, format: OutputFormat, out: &mut impl Write) -> Result<()> {
        let results = parse_union(SparqlEvaluator::new(), sparql)
            .map_err(|e| Error::Usage(format!("query: {e}")))?
            .on_store(&self.store)
            .execute()
            .map_err(|e| Error::Usage(format!("query: {e}")))?;
        write_results(results, format, out)
    }

    /// The rows of a SELECT query, each term in the order of the query's variables (unbound:
    /// `None`); other query forms give no rows.
    pub fn select(&self, query: &str) -> Result<Vec<Vec<Option<Term>>>> {
        let results = parse_union(SparqlEvaluator::new(), query)
            .map_err(|e| store_err("query", e))?
            .on_store(&self.store)
            .execute()
            .map_err(|e| store_err("query", e))?;
        let QueryResults::Solutions(solutions) = results else {
            return Ok(Vec::new());
        };
        let vars = solutions.variables().to_vec();
        solutions
            .map(|s| {
                let s = s.map_err(|e| store_err("query", e))?;
                Ok(vars.iter().map(|v| s.get(v).cloned()).collect())
            })
            .collect()
    }

    /// Counts instances, concepts, relations and values, and quads per source.
    pub fn stats(&self) -> Result<Stats> {
        // The first row of a counting SELECT, as numbers.
        let count = |q: &str| -> Result<Vec<usize>> {
            let rows = self.select(q)?;
            Ok(rows
                .first()
                .map(|row| {
                    row.iter()
                        .map(|t| match t {
                            Some(Term::Literal(l)) => l.value().parse().unwrap_or(0),
                            _ => 0,
                        })
                        .collect()
                })
                .unwrap_or_default())
        };
        let c = count(STATS_QUERY)?;
        let i = count(INSTANCES_QUERY)?;
        Ok(Stats {
            quads: self.len()?,
            instances: i[0],
            concepts: c[0],
            relations: c[1],
            values: c[2],
            sources: self.sources()?,
        })
    }

    /// Writes predicted facts into the source graph `completion:<run>`, replacing what a previous
    /// call for that run wrote; each fact's score goes into a `urn:dlp:score` statement of an
    /// RDF reification in the same graph. Returns the number of facts written.
    pub fn add_completions(
        &self,
        run: &str,
        model: &str,
        facts: &[(NamedNode, NamedNode, NamedNode, f32)],
    ) -> Result<usize> {
        let source = format!("completion:{run}");
        self.retract(&source)?;
        let graph = source_graph(&source)?;
        let iri = |s: &str| NamedNode::new_unchecked(s);
        let rdf = |s: &str| iri(&format!("http://www.w3.org/1999/02/22-rdf-syntax-ns#{s}"));
        let mut quads = Vec::with_capacity(facts.len() * 7);
        for (i, (h, r, t, score)) in facts.iter().enumerate() {
            quads.push(Quad::new(h.clone(), r.clone(), t.clone(), graph.clone()));
            let st = iri(&format!("{}/fact/{i}", graph.as_str()));
            quads.push(Quad::new(
                st.clone(),
                rdf("type"),
                rdf("Statement"),
                graph.clone(),
            ));
            quads.push(Quad::new(
                st.clone(),
                rdf("subject"),
                h.clone(),
                graph.clone(),
            ));
            quads.push(Quad::new(
                st.clone(),
                rdf("predicate"),
                r.clone(),
                graph.clone(),
            ));
            quads.push(Quad::new(
                st.clone(),
                rdf("object"),
                t.clone(),
                graph.clone(),
            ));
            quads.push(Quad::new(
                st.clone(),
                iri("urn:dlp:score"),
                Literal::from(*score),
                graph.clone(),
            ));
            quads.push(Quad::new(
                st,
                iri("urn:dlp:model"),
                Literal::new_simple_literal(model),
                graph.clone(),
            ));
        }
        let mut loader = self.store.bulk_loader();
        loader
            .load_quads(quads)
            .map_err(|e| store_err("completion", e))?;
        loader.commit().map_err(|e| store_err("completion", e))?;
        Ok(facts.len())
    }
}

/// Writes query results to `out` in `format` (graphs as N-Triples).
pub(crate) fn write_results(
    results: QueryResults<'_>,
    format: OutputFormat,
    out: &mut impl Write,
) -> Result<()> {
    let io = |e: std::io::Error| Error::Usage(format!("writing results: {e}"));
    let qe = |e: oxigraph::sparql::QueryEvaluationError| Error::Usage(format!("query: {e}"));
    match results {
        QueryResults::Boolean(b) => match format {
            OutputFormat::Table => writeln!(out, "{b}").map_err(io),
            f => {
                let ser = QueryResultsSerializer::from_format(results_format(f));
                out.write_all(&ser.serialize_boolean_to_writer(Vec::new(), b).map_err(io)?)
                    .map_err(io)
            }
        },
        QueryResults::Solutions(solutions) => {
            let vars = solutions.variables().to_vec();
            if format == OutputFormat::Table {
                let mut rows = Vec::new();
                for s in solutions {
                    let s = s.map_err(qe)?;
                    rows.push(
                        vars.iter()
                            .map(|v| s.get(v).map_or(String::new(), cell))
                            .collect::<Vec<_>>(),
                    );
                }
                let header: Vec<String> = vars.iter().map(|v| format!("?{}", v.as_str())).collect();
                write_table(out, &header, &rows).map_err(io)
            } else {
                let ser = QueryResultsSerializer::from_format(results_format(format));
                let mut w = ser
                    .serialize_solutions_to_writer(Vec::new(), vars)
                    .map_err(io)?;
                for s in solutions {
                    w.serialize(&s.map_err(qe)?).map_err(io)?;
                }
                out.write_all(&w.finish().map_err(io)?).map_err(io)
            }
        }
        QueryResults::Graph(triples) => {
            let mut w = RdfSerializer::from_format(RdfFormat::NTriples).for_writer(Vec::new());
            for t in triples {
                w.serialize_triple(&t.map_err(qe)?).map_err(io)?;
            }
            out.write_all(&w.finish().map_err(io)?).map_err(io)
        }
    }
}

fn results_format(f: OutputFormat) -> QueryResultsFormat {
    match f {
        OutputFormat::Csv => QueryResultsFormat::Csv,
        _ => QueryResultsFormat::Json,
    }
}

fn write_table(
    out: &mut impl Write,
    header: &[String],
    rows: &[Vec<String>],
) -> std::io::Result<()> {
    let mut width: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (w, c) in width.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: &[String]| -> String {
        cells
            .iter()
            .zip(&width)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    writeln!(out, "{}", line(header))?;
    for r in rows {
        writeln!(out, "{}", line(r))?;
    }
    writeln!(
        out,
        "({} row{})",
        rows.len(),
        if rows.len() == 1 { "" } else { "s" }
    )
}
