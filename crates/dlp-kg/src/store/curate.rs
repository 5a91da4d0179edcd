//! Facts written by experts: single facts and batch curation files, validated before anything
//! enters the store, each batch in the graph of its curator (`curator:NAME`).
//!
//! A fact is a subject, a predicate, an object and the object's kind: `iri`, `string`, a
//! language tag (`@en`) or a datatype (`xsd:integer`, or a full IRI). Without a kind, an object
//! that is an absolute IRI (`scheme:…`, no spaces) is an IRI and anything else a string. Terms may
//! use the prefixes `rdf:`, `rdfs:`, `owl:`, `xsd:` and `skos:`.
//!
//! CSV, with a header:
//!
//! ```text
//! subject,predicate,object,kind
//! urn:x:ada,rdf:type,urn:x:Person,
//! urn:x:ada,rdfs:label,Ada Lovelace,@en
//! urn:x:ada,urn:x:age,36,xsd:integer
//! ```
//!
//! TOML: `[[fact]]` tables with the keys `subject`, `predicate`, `object` and `kind`.
//! An error names the file, the line (CSV) or fact (TOML) and the field; a file with any bad
//! fact adds nothing.

use dlp_core::error::{Error, Result};
use oxigraph::model::{Literal, NamedNode, Term, Triple};
use serde::Deserialize;
use std::path::Path;

/// One fact as written by a curator.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fact {
    pub subject: String,
    pub predicate: String,
    pub object: String,
    #[serde(default)]
    pub kind: String,
}

const PREFIXES: [(&str, &str); 5] = [
    ("rdf:", "http://www.w3.org/1999/02/22-rdf-syntax-ns#"),
    ("rdfs:", "http://www.w3.org/2000/01/rdf-schema#"),
    ("owl:", "http://www.w3.org/2002/07/owl#"),
    ("xsd:", "http://www.w3.org/2001/XMLSchema#"),
    ("skos:", "http://www.w3.org/2004/02/skos/core#"),
];

fn expand(name: &str) -> String {
    for (p, ns) in PREFIXES {
        if let Some(local) = name.strip_prefix(p) {
            return format!("{ns}{local}");
        }
    }
    name.to_string()
}

fn iri(field: &str, value: &str) -> std::result::Result<NamedNode, String> {
    NamedNode::new(expand(value.trim()))
        .map_err(|e| format!("field `{field}`: `{value}` is not an IRI ({e})"))
}

fn looks_like_iri(s: &str) -> bool {
    let s = s.trim();
    s.split_once(':').is_some_and(|(scheme, _)| {
        !scheme.is_empty()
            && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
    }) && !s.contains(char::is_whitespace)
}

impl Fact {
    /// The RDF triple, or what is wrong with which field.
    pub fn triple(&self) -> std::result::Result<Triple, String> {
        let s = iri("subject", &self.subject)?;
        let p = iri("predicate", &self.predicate)?;
        let kind = self.kind.trim();
        let o: Term = match kind {
            "iri" => iri("object", &self.object)?.into(),
            "" if looks_like_iri(&self.object) => iri("object", &self.object)?.into(),
            "" | "string" => Literal::new_simple_literal(&self.object).into(),
            k if k.starts_with('@') => Literal::new_language_tagged_literal(&self.object, &k[1..])
                .map_err(|e| format!("field `kind`: `{k}` is not a language tag ({e})"))?
                .into(),
            k => {
                let dt = iri("kind", k)?;
                let l = Literal::new_typed_literal(&self.object, dt);
                super::literal::check_literal(&l).map_err(|e| format!("field `object`: {e}"))?;
                l.into()
            }
        };
        Ok(Triple::new(s, p, o))
    }
}

/// Reads a curation file (`.csv` or `.toml`) into triples; any bad fact is an error naming the
/// file, the line or fact, and the field.
pub fn read_curation(path: &Path) -> Result<Vec<Triple>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    match path.extension().and_then(|e| e.to_str()) {
        Some("csv") => {
            let mut reader = csv::ReaderBuilder::new()
                .trim(csv::Trim::All)
                .from_reader(text.as_bytes());
            let headers = reader
                .headers()
                .map_err(|e| Error::format(path, Some(1), e.to_string()))?
                .clone();
            let mut out = Vec::new();
            for rec in reader.records() {
                let rec = rec.map_err(|e| {
                    let line = e.position().map(|p| p.line() as usize);
                    Error::format(path, line, e.to_string())
                })?;
                let line = rec.position().map(|p| p.line() as usize);
                let fact: Fact = rec
                    .deserialize(Some(&headers))
                    .map_err(|e| Error::format(path, line, e.to_string()))?;
                out.push(fact.triple().map_err(|m| Error::format(path, line, m))?);
            }
            Ok(out)
        }
        Some("toml") => {
            #[derive(Deserialize)]
            #[serde(deny_unknown_fields)]
            struct File {
                fact: Vec<Fact>,
            }
            let file: File = toml::from_str(&text).map_err(|e| Error::toml(path, &text, &e))?;
            file.fact
                .iter()
                .enumerate()
                .map(|(i, f)| {
                    f.triple()
                        .map_err(|m| Error::format(path, None, format!("fact {}: {m}", i + 1)))
                })
                .collect()
        }
        _ => Err(Error::format(
            path,
            None,
            "expected a .csv or .toml curation file",
        )),
    }
}

impl super::KnowledgeGraph {
    /// Adds curated `triples` to the graph of `curator:NAME`. Strict: only if none breaks the
    /// schema (nothing is added otherwise, and the violations come back).
    pub fn add(
        &self,
        triples: &[Triple],
        curator: &str,
        strict: bool,
    ) -> Result<std::result::Result<usize, Vec<super::schema::Violation>>> {
        let graph = super::source_graph(&format!("curator:{curator}"))?;
        let quads: Vec<oxigraph::model::Quad> = triples
            .iter()
            .map(|t| t.clone().in_graph(graph.clone()))
            .collect();
        if strict {
            return self.insert_strict(&quads);
        }
        self.store
            .extend(quads)
            .map_err(|e| super::store_err("insert", e))?;
        Ok(Ok(triples.len()))
    }
}
