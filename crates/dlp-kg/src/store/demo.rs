//! The store part of the KG `dlp demo` stage: a small graph created by a curator (a schema of
//! people and cities, then facts), checked against its schema, a bad fact refused in strict
//! mode, a SPARQL query over the result, and facts extracted from a short text, reviewed and
//! queried with their source.

use super::KnowledgeGraph;
use super::curate::Fact;
use super::query::OutputFormat;
use dlp_core::error::{Error, Result};

const FACTS: &[[&str; 4]] = &[
    ["urn:demo:Person", "rdf:type", "owl:Class", ""],
    ["urn:demo:City", "rdf:type", "owl:Class", ""],
    ["urn:demo:bornIn", "rdf:type", "owl:ObjectProperty", ""],
    ["urn:demo:bornIn", "rdf:type", "owl:FunctionalProperty", ""],
    ["urn:demo:bornIn", "rdfs:domain", "urn:demo:Person", ""],
    ["urn:demo:bornIn", "rdfs:range", "urn:demo:City", ""],
    ["urn:demo:born", "rdf:type", "owl:DatatypeProperty", ""],
    ["urn:demo:born", "rdfs:range", "xsd:date", ""],
    ["urn:demo:london", "rdf:type", "urn:demo:City", ""],
    ["urn:demo:london", "rdfs:label", "London", "@en"],
    ["urn:demo:ulm", "rdf:type", "urn:demo:City", ""],
    ["urn:demo:ulm", "rdfs:label", "Ulm", "@de"],
    ["urn:demo:ada", "rdf:type", "urn:demo:Person", ""],
    ["urn:demo:ada", "rdfs:label", "Ada Lovelace", "@en"],
    ["urn:demo:ada", "urn:demo:bornIn", "urn:demo:london", ""],
    ["urn:demo:ada", "urn:demo:born", "1815-12-10", "xsd:date"],
    ["urn:demo:albert", "rdf:type", "urn:demo:Person", ""],
    ["urn:demo:albert", "rdfs:label", "Albert Einstein", "@en"],
    ["urn:demo:albert", "urn:demo:bornIn", "urn:demo:ulm", ""],
    ["urn:demo:albert", "urn:demo:born", "1879-03-14", "xsd:date"],
    ["urn:demo:marie", "rdf:type", "urn:demo:Person", ""],
    ["urn:demo:marie", "rdfs:label", "Marie Curie", "@en"],
    ["urn:demo:warsaw", "rdf:type", "urn:demo:City", ""],
    ["urn:demo:warsaw", "rdfs:label", "Warsaw", "@en"],
];

/// Text the demo extracts from: two facts the curator did not write, and one already known.
const TEXT: &str = "Marie Curie was born in Warsaw. She is a physicist who worked in Paris. \
                    Albert Einstein was born in Ulm and is remembered as a physicist.";

const FROM_TEXT: &str = "SELECT ?person ?relation ?object ?source WHERE { GRAPH ?g { ?person ?relation ?object } \
  FILTER(STRSTARTS(STR(?g), 'urn:dlp:source:extraction:')) BIND(STRAFTER(STR(?g), 'urn:dlp:source:') AS ?source) } ORDER BY ?person";

const QUERY: &str = "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT ?person ?city WHERE { GRAPH ?g {
  ?p <urn:demo:bornIn> ?c . ?p rdfs:label ?person . ?c rdfs:label ?city } } ORDER BY ?person";

/// What the store stage did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct StoreDemo {
    /// The paragraph facts were extracted from.
    pub text: &'static str,
    pub candidates_from_text: usize,
    pub accepted_from_text: usize,
    /// The accepted facts with their source, as a table.
    pub facts_from_text: String,
    pub curated_facts: usize,
    pub violations: usize,
    /// The facts strict mode refused, with the rule each breaks.
    pub refused: Vec<String>,
    pub query: &'static str,
    /// The query's answer, as a table.
    pub answer: String,
}

/// Builds the graph in memory; returns what happened.
pub fn run() -> Result<StoreDemo> {
    let kg = KnowledgeGraph::in_memory()?;
    let triples = FACTS
        .iter()
        .map(|[s, p, o, k]| {
            let fact = Fact {
                subject: s.to_string(),
                predicate: p.to_string(),
                object: o.to_string(),
                kind: k.to_string(),
            };
            fact.triple().map_err(Error::Usage)
        })
        .collect::<Result<Vec<_>>>()?;
    let added = kg
        .add(&triples, "demo", true)?
        .map_err(|v| Error::Usage(format!("demo facts break the schema: {v:?}")))?;
    // A second birthplace for Ada breaks bornIn's functionality: refused in strict mode.
    let bad = Fact {
        subject: "urn:demo:ada".into(),
        predicate: "urn:demo:bornIn".into(),
        object: "urn:demo:ulm".into(),
        kind: String::new(),
    }
    .triple()
    .map_err(Error::Usage)?;
    let refused = match kg.add(&[bad], "demo", true)? {
        Ok(_) => Vec::new(),
        Err(v) => v
            .into_iter()
            .map(|v| format!("{:?}: {}", v.rule, v.triple))
            .collect(),
    };
    let mut table = Vec::new();
    kg.query(QUERY, OutputFormat::Table, &mut table)?;
    let violations = kg.check()?.len();
    // From text: candidates wait in review:demo; those with confidence ≥ 0.7 are accepted.
    let candidates: usize = kg
        .extract("demo", &[("demo.txt".into(), TEXT.into())])?
        .iter()
        .map(|c| c.1)
        .sum();
    let decision = super::review::Decision {
        accept_above: Some(0.7),
        ..Default::default()
    };
    let (accepted, _) = kg.review("demo", &decision)?;
    let mut from_text = Vec::new();
    kg.query(FROM_TEXT, OutputFormat::Table, &mut from_text)?;
    Ok(StoreDemo {
        text: TEXT,
        candidates_from_text: candidates,
        accepted_from_text: accepted,
        facts_from_text: String::from_utf8_lossy(&from_text).into_owned(),
        curated_facts: added,
        violations,
        refused,
        query: QUERY,
        answer: String::from_utf8_lossy(&table).into_owned(),
    })
}
