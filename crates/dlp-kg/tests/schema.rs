//! Schema checks: every kind of violation is named with its triple, rule and source; a clean
//! graph has none; strict insertion refuses a bad batch whole and accepts a good one.

use dlp_kg::store::KnowledgeGraph;
use dlp_kg::store::schema::Rule;
use oxigraph::io::{RdfFormat, RdfParser};
use oxigraph::model::Quad;

const SCHEMA: &str = r#"
@prefix owl: <http://www.w3.org/2002/07/owl#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix : <urn:x:> .
:Agent a owl:Class .
:Person a owl:Class ; rdfs:subClassOf :Agent .
:City a owl:Class .
:bornIn a owl:ObjectProperty , owl:FunctionalProperty ; rdfs:domain :Person ; rdfs:range :City .
:knows a owl:ObjectProperty ; rdfs:domain :Agent ; rdfs:range :Agent .
:age a owl:DatatypeProperty ; rdfs:domain :Person ; rdfs:range xsd:integer .
"#;

const DATA: &str = r#"
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix : <urn:x:> .
:ada a :Person ; rdfs:label "Ada"@en ; :age 36 ; :bornIn :london ; :knows :charles .
:charles a :Person .
:london a :City ; rdfs:label "London"@en .
"#;

fn quads(turtle: &str, graph: &str) -> Vec<Quad> {
    let g = oxigraph::model::NamedNode::new(format!("urn:dlp:source:{graph}")).unwrap();
    RdfParser::from_format(RdfFormat::Turtle)
        .with_default_graph(g)
        .for_slice(turtle.as_bytes())
        .map(|q| q.unwrap())
        .collect()
}

fn store(parts: &[(&str, &str)]) -> KnowledgeGraph {
    let kg = KnowledgeGraph::in_memory().unwrap();
    for (text, graph) in parts {
        kg.store().extend(quads(text, graph)).unwrap();
    }
    kg
}

#[test]
fn a_graph_that_keeps_its_schema_has_no_violations() {
    let kg = store(&[(SCHEMA, "curator:schema"), (DATA, "curator:ada")]);
    let v = kg.check().unwrap();
    assert!(v.is_empty(), "{v:#?}");
}

#[test]
fn every_kind_of_violation_is_named_with_its_triple_rule_and_source() {
    let bad = r#"
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix : <urn:x:> .
:london :knows :ada .
:ada :bornIn :charles .
:ada :age "thirty-six" .
:ada :bornIn :paris .
:paris a :City .
:ada :likes :london .
:ada a :Robot .
"#;
    let kg = store(&[
        (SCHEMA, "curator:schema"),
        (DATA, "curator:ada"),
        (bad, "import:bad.ttl"),
    ]);
    let mut found: Vec<(Rule, String)> = kg
        .check()
        .unwrap()
        .into_iter()
        .map(|v| {
            let ada_born_in_london = v.triple.contains("london") && v.rule == Rule::Functional;
            let source = if ada_born_in_london {
                "curator:ada"
            } else {
                "import:bad.ttl"
            };
            assert_eq!(v.source, source, "{v:?}");
            (v.rule, v.triple)
        })
        .collect();
    found.sort();
    let t = |s: &str, p: &str, o: &str| format!("<urn:x:{s}> <urn:x:{p}> {o} .");
    let mut expected = vec![
        (Rule::Domain, t("london", "knows", "<urn:x:ada>")),
        (Rule::Range, t("ada", "bornIn", "<urn:x:charles>")),
        (Rule::Datatype, t("ada", "age", "\"thirty-six\"")),
        (
            Rule::UndeclaredProperty,
            t("ada", "likes", "<urn:x:london>"),
        ),
        (
            Rule::UndeclaredClass,
            "<urn:x:ada> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <urn:x:Robot> ."
                .to_string(),
        ),
    ];
    // bornIn is functional: ada now has three places of birth, and each of the three is named.
    let born: Vec<&(Rule, String)> = found
        .iter()
        .filter(|(r, _)| *r == Rule::Functional)
        .collect();
    assert_eq!(born.len(), 3, "{found:#?}");
    found.retain(|(r, _)| *r != Rule::Functional);
    expected.sort();
    assert_eq!(found, expected);
}

#[test]
fn strict_insertion_refuses_a_bad_batch_whole_and_accepts_a_good_one() {
    let kg = store(&[(SCHEMA, "curator:schema"), (DATA, "curator:ada")]);
    let before = kg.len().unwrap();
    let bad = quads(
        "<urn:x:charles> <urn:x:age> 45 .\n<urn:x:ada> <urn:x:bornIn> <urn:x:paris> .\n",
        "curator:b",
    );
    let v = kg.insert_strict(&bad).unwrap().unwrap_err();
    assert_eq!(v.len(), 2, "{v:#?}"); // paris is no City (range), and a second birthplace
    assert!(v.iter().any(|v| v.rule == Rule::Functional));
    assert!(v.iter().any(|v| v.rule == Rule::Range));
    assert_eq!(kg.len().unwrap(), before, "nothing inserted");
    let good = quads(
        "<urn:x:charles> <urn:x:age> 45 .\n<urn:x:paris> a <urn:x:City> .\n<urn:x:charles> <urn:x:bornIn> <urn:x:paris> .\n",
        "curator:b",
    );
    assert_eq!(kg.insert_strict(&good).unwrap().unwrap(), 3);
    assert_eq!(kg.len().unwrap(), before + 3);
    assert!(kg.check().unwrap().is_empty());
}
