//! Wikidata JSON dumps: entities map onto instances, concepts, relations and values with labels
//! and aliases; deprecated and value-less claims are skipped; a bad line is named, and lenient
//! mode skips exactly it.

use dlp_kg::store::KnowledgeGraph;
use dlp_kg::store::import::ImportOptions;

const DUMP: &str = r#"[
{"type":"item","id":"Q42","labels":{"en":{"language":"en","value":"Douglas Adams"},"fr":{"language":"fr","value":"Douglas Adams"}},"aliases":{"en":[{"language":"en","value":"DNA"}]},"claims":{"P31":[{"mainsnak":{"snaktype":"value","property":"P31","datavalue":{"value":{"entity-type":"item","id":"Q5"},"type":"wikibase-entityid"}},"rank":"normal"}],"P106":[{"mainsnak":{"snaktype":"value","property":"P106","datavalue":{"value":{"entity-type":"item","id":"Q36180"},"type":"wikibase-entityid"}},"rank":"normal"},{"mainsnak":{"snaktype":"value","property":"P106","datavalue":{"value":{"entity-type":"item","id":"Q1"},"type":"wikibase-entityid"}},"rank":"deprecated"}],"P569":[{"mainsnak":{"snaktype":"value","property":"P569","datavalue":{"value":{"time":"+1952-03-11T00:00:00Z","precision":11},"type":"time"}},"rank":"normal"}],"P1082":[{"mainsnak":{"snaktype":"somevalue","property":"P1082"},"rank":"normal"}]}},
{"type":"item","id":"Q5","labels":{"en":{"language":"en","value":"human"}},"claims":{"P279":[{"mainsnak":{"snaktype":"value","property":"P279","datavalue":{"value":{"entity-type":"item","id":"Q215627"},"type":"wikibase-entityid"}},"rank":"normal"}]}},
{"type":"item","id":"Q36180","labels":{"en":{"language":"en","value":"writer"}},"claims":{}},
{"type":"property","id":"P569","datatype":"time","labels":{"en":{"language":"en","value":"date of birth"}},"claims":{}}
]
"#;

mod common;
use common::triples;

#[test]
fn a_wikidata_dump_becomes_instances_concepts_relations_and_values() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dump.json");
    std::fs::write(&path, DUMP).unwrap();
    let kg = KnowledgeGraph::in_memory().unwrap();
    kg.import(&path, &ImportOptions::default()).unwrap();
    let t = triples(&kg);
    let wd = |id: &str| format!("<http://www.wikidata.org/entity/{id}>");
    let wdt = |id: &str| format!("<http://www.wikidata.org/prop/direct/{id}>");
    let rdf_type = "<http://www.w3.org/1999/02/22-rdf-syntax-ns#type>";
    let owl = |c: &str| format!("<http://www.w3.org/2002/07/owl#{c}>");
    for expected in [
        format!("{} {rdf_type} {}", wd("Q42"), wd("Q5")),
        format!("{} {rdf_type} {}", wd("Q5"), owl("Class")),
        format!(
            "{} <http://www.w3.org/2000/01/rdf-schema#subClassOf> {}",
            wd("Q5"),
            wd("Q215627")
        ),
        format!("{} {} {}", wd("Q42"), wdt("P106"), wd("Q36180")),
        format!("{} {rdf_type} {}", wdt("P106"), owl("ObjectProperty")),
        format!(
            "{} {} \"1952-03-11T00:00:00Z\"^^<http://www.w3.org/2001/XMLSchema#dateTime>",
            wd("Q42"),
            wdt("P569")
        ),
        format!("{} {rdf_type} {}", wdt("P569"), owl("DatatypeProperty")),
        format!(
            "{} <http://www.w3.org/2000/01/rdf-schema#label> \"Douglas Adams\"@fr",
            wd("Q42")
        ),
        format!(
            "{} <http://www.w3.org/2004/02/skos/core#altLabel> \"DNA\"@en",
            wd("Q42")
        ),
        format!(
            "{} <http://www.w3.org/2000/01/rdf-schema#label> \"date of birth\"@en",
            wdt("P569")
        ),
    ] {
        assert!(t.contains(&expected), "missing {expected}\n{t:#?}");
    }
    // The deprecated occupation and the "some value" population are not facts.
    assert!(
        !t.iter()
            .any(|x| x.contains(&wd("Q1")) || x.contains(&wdt("P1082"))),
        "{t:#?}"
    );
    // The dump keeps the schema it declares.
    assert!(kg.check().unwrap().is_empty(), "{:#?}", kg.check().unwrap());
}

#[test]
fn a_bad_dump_line_is_named_and_lenient_mode_skips_exactly_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.json");
    let mut lines: Vec<&str> = DUMP.lines().collect();
    lines.insert(3, r#"{"type":"item","labels":{}},"#);
    std::fs::write(&path, lines.join("\n")).unwrap();
    let kg = KnowledgeGraph::in_memory().unwrap();
    let err = kg
        .import(&path, &ImportOptions::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("bad.json:4") && err.contains("id"), "{err}");
    assert!(kg.is_empty().unwrap());
    let lenient = ImportOptions {
        lenient: true,
        ..ImportOptions::default()
    };
    let r = kg.import(&path, &lenient).unwrap();
    assert_eq!(r.skipped.len(), 1);
    assert_eq!(r.skipped[0].0, 4);
}
