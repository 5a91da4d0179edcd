//! `dlp kg extract` and `dlp kg review` end to end: text into the review graph, review into the
//! main graph, the Re-DocRED scorer's summary, and a bad input file named with its line.

mod common;
use common::dlp;

#[test]
fn extract_review_and_eval() {
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n).to_str().unwrap().to_string();
    std::fs::write(
        p("facts.nt"),
        "<http://x/ada> <http://www.w3.org/2000/01/rdf-schema#label> \"Ada Lovelace\" .\n\
         <http://x/ada> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <http://x/Person> .\n\
         <http://x/london> <http://www.w3.org/2000/01/rdf-schema#label> \"London\" .\n",
    )
    .unwrap();
    std::fs::write(
        p("docs.tsv"),
        "d1\tAda Lovelace was born in London.\nd2\tLondon is a city.\n",
    )
    .unwrap();
    assert!(
        dlp(&["kg", "import", "--store", &p("s"), &p("facts.nt")])
            .status
            .success()
    );
    let out = dlp(&[
        "kg",
        "extract",
        "--store",
        &p("s"),
        "--run",
        "r",
        &p("docs.tsv"),
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (s["documents"].as_u64(), s["candidates"].as_u64()),
        (Some(2), Some(2)),
        "{s}"
    );
    let out = dlp(&[
        "kg",
        "review",
        "--store",
        &p("s"),
        "--run",
        "r",
        "--accept",
        "0",
        "--reject",
        "1",
        "--json",
    ]);
    let s: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (s["accepted"].as_u64(), s["rejected"].as_u64()),
        (Some(1), Some(1)),
        "{s}"
    );
    let out = dlp(&["kg", "stats", "--store", &p("s"), "--json"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("extraction:r"));

    std::fs::write(p("bad.tsv"), "d1\tfine text\nno tab here\n").unwrap();
    let out = dlp(&["kg", "extract", "--store", &p("s"), &p("bad.tsv")]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        err.contains("bad.tsv:2") && err.contains("title<TAB>text"),
        "{err}"
    );

    let doc = r#"[{"title": "A", "sents": [["Ada", "was", "born", "in", "London", "."]],
        "vertexSet": [[{"name": "Ada", "type": "PER"}], [{"name": "London", "type": "LOC"}]],
        "labels": [{"h": 0, "t": 1, "r": "P19"}]}]"#;
    std::fs::write(p("dev.json"), doc).unwrap();
    let out = dlp(&["kg", "extract", "--eval", &p("dev.json"), "--json"]);
    let s: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (
            s["precision"].as_f64(),
            s["recall"].as_f64(),
            s["f1"].as_f64()
        ),
        (Some(1.0), Some(1.0), Some(1.0)),
        "{s}"
    );
}
