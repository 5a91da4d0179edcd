//! The RDF store: import, export, round trips, malformed input with line numbers, strict and
//! lenient modes, queries in every output format, counts, sources and completions.

use dlp_kg::store::KnowledgeGraph;
use dlp_kg::store::import::ImportOptions;
use dlp_kg::store::query::OutputFormat;
use oxigraph::model::NamedNode;
use std::collections::HashSet;
use std::path::Path;

const GOOD: &str = r#"<http://ex.org/alice> <http://ex.org/knows> <http://ex.org/bob> .
<http://ex.org/alice> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <http://ex.org/Person> .
<http://ex.org/bob> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <http://ex.org/Person> .
<http://ex.org/alice> <http://ex.org/age> "42"^^<http://www.w3.org/2001/XMLSchema#integer> .
<http://ex.org/alice> <http://www.w3.org/2000/01/rdf-schema#label> "Alice"@en .
<http://ex.org/alice> <http://www.w3.org/2000/01/rdf-schema#label> "Alicia"@es .
_:b1 <http://ex.org/knows> <http://ex.org/alice> .
"#;

mod common;
use common::triples;

fn imported(path: &Path) -> KnowledgeGraph {
    let kg = KnowledgeGraph::in_memory().unwrap();
    kg.import(path, &ImportOptions::default()).unwrap();
    kg
}

#[test]
fn opening_a_store_removes_what_a_killed_bulk_load_left() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("kg");
    let src = dir.path().join("data.nt");
    std::fs::write(&src, GOOD).unwrap();
    KnowledgeGraph::create(&store)
        .unwrap()
        .import(&src, &ImportOptions::default())
        .unwrap();
    let orphan = store.join("bulk-123456789.sst");
    std::fs::write(&orphan, vec![0u8; 4096]).unwrap();
    let kg = KnowledgeGraph::open(&store).unwrap();
    assert!(!orphan.exists());
    assert_eq!(kg.len().unwrap(), 7);
}

#[test]
fn import_export_import_keeps_the_triples_in_ntriples_and_turtle() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("data.nt");
    std::fs::write(&src, GOOD).unwrap();
    let kg = imported(&src);
    assert_eq!(kg.len().unwrap(), 7);
    for ext in ["nt", "ttl", "nq", "trig"] {
        let out = dir.path().join(format!("out.{ext}"));
        assert_eq!(kg.export(&out).unwrap(), 7);
        let back = imported(&out);
        assert_eq!(triples(&back), triples(&kg), "round trip through .{ext}");
    }
}

#[test]
fn link_prediction_files_round_trip_through_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("lp");
    std::fs::create_dir(&data).unwrap();
    let split =
        |n: &str, lines: &[&str]| std::fs::write(data.join(n), lines.join("\n") + "\n").unwrap();
    split(
        "train.txt",
        &[
            "/m/a\t/film/genre\t/m/b",
            "a b\tr%x\t<c>",
            "/m/b\t/film/genre\t/m/c",
        ],
    );
    split("valid.txt", &["/m/c\t/film/genre\t/m/a"]);
    split("test.txt", &["/m/a\t/film/genre\t/m/c"]);
    let kg = KnowledgeGraph::in_memory().unwrap();
    for s in ["train.txt", "valid.txt", "test.txt"] {
        kg.import(&data.join(s), &ImportOptions::default()).unwrap();
    }
    let out = dir.path().join("out");
    assert_eq!(kg.export_link_prediction(&out).unwrap(), [3, 1, 1]);
    for s in ["train.txt", "valid.txt", "test.txt"] {
        let read = |p: &Path| -> HashSet<String> {
            std::fs::read_to_string(p)
                .unwrap()
                .lines()
                .map(String::from)
                .collect()
        };
        assert_eq!(read(&out.join(s)), read(&data.join(s)), "{s}");
    }
    let sources: Vec<String> = kg.sources().unwrap().into_iter().map(|(s, _)| s).collect();
    assert_eq!(
        sources,
        ["import:test.txt", "import:train.txt", "import:valid.txt"]
    );
    assert_eq!(kg.retract("import:train.txt").unwrap(), 3);
    assert_eq!(kg.len().unwrap(), 2);
}

#[test]
fn malformed_lines_are_named_strict_imports_nothing_lenient_skips_exactly_them() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.nt");
    let mut bytes = Vec::new();
    bytes.extend_from_slice(GOOD.as_bytes()); // lines 1-7
    bytes.extend_from_slice(b"<http://ex.org/a b> <http://ex.org/p> <http://ex.org/c> .\n"); // 8: bad IRI
    bytes.extend_from_slice(b"<http://ex.org/a> <http://ex.org/p> \"open .\n"); // 9: unterminated literal
    bytes.extend_from_slice(b"<http://ex.org/a> <http://ex.org/p> \"\xff\xfe\" .\n"); // 10: invalid UTF-8
    bytes.extend_from_slice(b"<http://ex.org/a> <http://ex.org/age> \"abc\"^^<http://www.w3.org/2001/XMLSchema#integer> .\n"); // 11
    bytes.extend_from_slice(b"<http://ex.org/a> <http://ex.org/born> \"2001-13-01\"^^<http://www.w3.org/2001/XMLSchema#date> .\n"); // 12
    bytes.extend_from_slice(b"<http://ex.org/a> <http://ex.org/p> <http://ex.org/ok> .\n"); // 13
    std::fs::write(&path, &bytes).unwrap();

    let kg = KnowledgeGraph::in_memory().unwrap();
    let err = kg
        .import(&path, &ImportOptions::default())
        .unwrap_err()
        .to_string();
    assert!(err.starts_with(&format!("{}:8:", path.display())), "{err}");
    assert_eq!(
        kg.len().unwrap(),
        0,
        "strict mode imports nothing from a bad file"
    );

    let r = kg
        .import(
            &path,
            &ImportOptions {
                lenient: true,
                ..Default::default()
            },
        )
        .unwrap();
    let lines: Vec<usize> = r.skipped.iter().map(|(l, _)| *l).collect();
    assert_eq!(lines, [8, 9, 10, 11, 12]);
    assert!(
        r.skipped[2].1.contains("UTF-8") && r.skipped[3].1.contains("xsd:integer"),
        "{:?}",
        r.skipped
    );
    assert_eq!(r.quads, 8);
    assert_eq!(kg.len().unwrap(), 8);
}

#[test]
fn queries_print_tables_sparql_json_and_csv() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("people.nt");
    std::fs::write(&src, GOOD).unwrap();
    let kg = imported(&src);
    let run = |q: &str, f: OutputFormat| {
        let mut out = Vec::new();
        kg.query(q, f, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    };
    let select = "SELECT ?l WHERE { GRAPH ?g { <http://ex.org/alice> <http://www.w3.org/2000/01/rdf-schema#label> ?l } } ORDER BY ?l";
    assert_eq!(run(select, OutputFormat::Csv), "l\r\nAlice\r\nAlicia\r\n");
    let json: serde_json::Value = serde_json::from_str(&run(select, OutputFormat::Json)).unwrap();
    assert_eq!(json["results"]["bindings"][1]["l"]["xml:lang"], "es");
    assert_eq!(
        run(select, OutputFormat::Table),
        "?l\n\"Alice\"@en\n\"Alicia\"@es\n(2 rows)\n"
    );
    let ask = "ASK { GRAPH ?g { ?x <http://ex.org/knows> <http://ex.org/bob> } }";
    assert_eq!(run(ask, OutputFormat::Table), "true\n");
    let construct = "CONSTRUCT { ?b <http://ex.org/knownBy> ?a } WHERE { GRAPH ?g { ?a <http://ex.org/knows> ?b FILTER(isIRI(?a)) } }";
    assert_eq!(
        run(construct, OutputFormat::Table),
        "<http://ex.org/bob> <http://ex.org/knownBy> <http://ex.org/alice> .\n"
    );
    let mut sink = Vec::new();
    let err = kg
        .query("SELEC ?x", OutputFormat::Table, &mut sink)
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("query:"), "{err}");
}

#[test]
fn stats_count_instances_concepts_relations_values_per_source() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("people.nt");
    std::fs::write(&src, GOOD).unwrap();
    let kg = imported(&src);
    let s = kg.stats().unwrap();
    // alice, bob (IRIs, not classes or properties); the blank node is not an IRI.
    assert_eq!(
        (s.instances, s.concepts, s.relations, s.values),
        (2, 1, 1, 2)
    );
    assert_eq!(s.sources, [("import:people.nt".to_string(), 7)]);
}

#[test]
fn completions_go_to_their_own_graph_with_scores() {
    let kg = KnowledgeGraph::in_memory().unwrap();
    kg.insert_nt("<urn:dlp:e:a> <urn:dlp:r:r> <urn:dlp:e:b> .", "curator:me")
        .unwrap();
    let n = |s: &str| NamedNode::new(s).unwrap();
    let facts = vec![(
        n("urn:dlp:e:a"),
        n("urn:dlp:r:r"),
        n("urn:dlp:e:c"),
        0.75f32,
    )];
    assert_eq!(kg.add_completions("run1", "complex", &facts).unwrap(), 1);
    assert_eq!(
        kg.add_completions("run1", "complex", &facts).unwrap(),
        1,
        "a rerun replaces its facts"
    );
    let mut out = Vec::new();
    let q = "SELECT ?s WHERE { GRAPH <urn:dlp:source:completion:run1> { ?st <urn:dlp:score> ?s } }";
    kg.query(q, OutputFormat::Csv, &mut out).unwrap();
    assert_eq!(String::from_utf8(out).unwrap(), "s\r\n0.75\r\n");
    let sources = kg.sources().unwrap();
    assert_eq!(
        sources[1],
        ("curator:me".to_string(), 1),
        "asserted facts untouched"
    );
    assert_eq!(sources[0].0, "completion:run1");
}
