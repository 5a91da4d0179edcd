//! Extraction from text: the patterns and their evidence, the Re-DocRED scorer on a document
//! with known answers, and the review graph that keeps candidates out of the asserted facts.

use dlp_kg::extract::{Extractor, Instance, Kind, Object, redocred};
use dlp_kg::store::KnowledgeGraph;
use dlp_kg::store::review::Decision;

fn people() -> Extractor {
    Extractor::new(vec![
        Instance::new("ada", &["Ada Lovelace", "Lovelace"], Some(Kind::Person)),
        Instance::new("london", &["London"], Some(Kind::Location)),
        Instance::new("england", &["England"], Some(Kind::Location)),
        Instance::new("d1", &["10 December 1815"], Some(Kind::Time)),
        Instance::new("d2", &["27 November 1852"], Some(Kind::Time)),
        Instance::new("english", &["English"], Some(Kind::Location)),
        Instance::new("film", &["The Engine"], Some(Kind::Misc)),
        Instance::new("bob", &["Bob Smith"], Some(Kind::Person)),
        Instance::new("cy", &["Cy Jones"], Some(Kind::Person)),
    ])
}

fn has(c: &[dlp_kg::extract::Candidate], s: usize, r: &str, o: usize) -> bool {
    c.iter()
        .any(|c| c.subject == s && c.relation == r && c.object == Object::Instance(o))
}

#[test]
fn patterns_find_their_facts_with_evidence() {
    let text = "Ada Lovelace ( 10 December 1815 – 27 November 1852 ) was an English mathematician. \
                She was born in London , England. The Engine is a film starring Bob Smith , Cy Jones and Ada Lovelace.";
    let c = people().extract(text);
    assert!(has(&c, 0, "P569", 3) && has(&c, 0, "P570", 4), "{c:#?}");
    assert!(has(&c, 0, "P27", 5), "nationality from `was an English`");
    assert!(has(&c, 0, "P19", 1), "the pronoun resolves to the topic");
    assert!(
        has(&c, 1, "P131", 2) && has(&c, 1, "P17", 2),
        "London , England"
    );
    assert!(
        has(&c, 6, "P161", 7) && has(&c, 6, "P161", 8) && has(&c, 6, "P161", 0),
        "the whole cast list"
    );
    assert!(c.iter().any(|c| c.subject == 0
        && c.relation == "is-a"
        && c.object == Object::Concept("mathematician".into())));
    // No fact the text does not state: Ada is not born in England by these patterns, and a
    // person is not a cast member of herself.
    assert!(!has(&c, 0, "P19", 2) && !has(&c, 0, "P161", 0));
    // Evidence spans are character offsets into the text.
    let chars: Vec<char> = text.chars().collect();
    let born = c.iter().find(|c| c.relation == "P19").unwrap();
    let span: String = chars[born.start..born.end].iter().collect();
    assert!(span.contains("London") && born.sentence == 1, "{span}");
}

#[test]
fn hearst_lists() {
    let ex = Extractor::new(vec![
        Instance::new("p", &["Paris"], None),
        Instance::new("r", &["Rome"], None),
    ]);
    let c = ex.extract("They visited cities such as Paris. Rome and other capitals were far.");
    let isa = |s: usize, n: &str| {
        c.iter().any(|c| {
            c.subject == s && c.relation == "is-a" && c.object == Object::Concept(n.into())
        })
    };
    assert!(isa(0, "city"), "{c:#?}");
    assert!(isa(1, "capital"), "{c:#?}");
}

#[test]
fn redocred_scores_match_a_hand_count() {
    // One document, three gold triples; the extractor finds date of birth (right), place of
    // birth (right) and a wrong country for London; it misses Ada's citizenship.
    let doc = serde_json::json!([{
        "title": "Ada",
        "sents": [["Ada", "(", "born", "1815", ")", "was", "born", "in", "London", ",", "France", "."]],
        "vertexSet": [
            [{"name": "Ada", "type": "PER", "sent_id": 0, "pos": [0, 1]}],
            [{"name": "1815", "type": "TIME", "sent_id": 0, "pos": [3, 4]}],
            [{"name": "London", "type": "LOC", "sent_id": 0, "pos": [8, 9]}],
            [{"name": "France", "type": "LOC", "sent_id": 0, "pos": [10, 11]}]
        ],
        "labels": [{"h": 0, "t": 1, "r": "P569"}, {"h": 0, "t": 2, "r": "P19"}, {"h": 0, "t": 3, "r": "P27"}]
    }]);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dev.json");
    std::fs::write(&path, doc.to_string()).unwrap();
    let e = redocred::evaluate(&path).unwrap();
    // Predicted: P569 ✓, P19 ✓, P131(London, France) ✗, P17(London, France) ✗.
    assert_eq!((e.covered.predicted, e.covered.correct), (4, 2), "{e:#?}");
    assert_eq!(
        e.covered.gold, 2,
        "gold triples of the covered relations P569, P19, P131, P17"
    );
    assert_eq!(e.all.gold, 3);
    assert!((e.covered.precision - 0.5).abs() < 1e-12 && (e.all.recall - 2.0 / 3.0).abs() < 1e-12);
    assert!((e.all.f1 - 2.0 * 0.5 * (2.0 / 3.0) / (0.5 + 2.0 / 3.0)).abs() < 1e-12);
    std::fs::write(&path, "[{\"title\": 1}]").unwrap();
    let err = redocred::evaluate(&path).unwrap_err().to_string();
    assert!(
        err.contains("dev.json:1") && err.contains("DocRED"),
        "{err}"
    );
}

#[test]
fn candidates_wait_for_review_before_they_are_facts() {
    let kg = KnowledgeGraph::in_memory().unwrap();
    kg.insert_nt(
        "<http://x/ada> <http://www.w3.org/2000/01/rdf-schema#label> \"Ada Lovelace\"@en .\n\
         <http://x/ada> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <http://x/Person> .\n\
         <http://x/london> <http://www.w3.org/2004/02/skos/core#prefLabel> \"London\" .\n\
         <http://x/london> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <http://x/City> .\n",
        "curator:ann",
    )
    .unwrap();
    let counts = kg
        .extract(
            "t",
            &[("doc1".into(), "Ada Lovelace was born in London.".into())],
        )
        .unwrap();
    assert_eq!(
        counts,
        vec![("http://www.wikidata.org/prop/direct/P19".to_string(), 1)]
    );
    let asserted = |kg: &KnowledgeGraph| {
        let mut out = Vec::new();
        kg.query(
            "ASK { GRAPH ?g { <http://x/ada> <http://www.wikidata.org/prop/direct/P19> <http://x/london> } }",
            dlp_kg::store::query::OutputFormat::Table,
            &mut out,
        )
        .unwrap();
        String::from_utf8(out).unwrap().trim() == "true"
    };
    assert!(!asserted(&kg), "a candidate is only reified until accepted");
    let pending = kg.pending("t").unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(
        (pending[0].document.as_str(), pending[0].evidence.as_str()),
        ("doc1", "Ada Lovelace was born in London")
    );
    assert!(
        kg.review(
            "t",
            &Decision {
                accept: vec![7],
                ..Decision::default()
            }
        )
        .is_err(),
        "unknown id"
    );
    assert_eq!(
        kg.review(
            "t",
            &Decision {
                accept: vec![0],
                ..Decision::default()
            }
        )
        .unwrap(),
        (1, 0)
    );
    assert!(asserted(&kg));
    assert!(kg.pending("t").unwrap().is_empty());
    assert!(
        kg.sources()
            .unwrap()
            .iter()
            .any(|(s, n)| s == "extraction:t" && *n == 1)
    );
}
