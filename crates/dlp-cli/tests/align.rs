//! `dlp kg align` and `dlp kg merge` end to end on a small pair: two copies of a ring with chords.

use std::path::Path;

mod common;
use common::{dlp, dlp_json};

fn write_pair(dir: &Path, n: usize) {
    std::fs::create_dir_all(dir).unwrap();
    let w = |name: &str, lines: Vec<String>| {
        std::fs::write(dir.join(name), lines.join("\n") + "\n").unwrap()
    };
    // Graph 2 numbers its entities backwards, so ids say nothing about the links.
    let other = |i: usize| n + (n - 1 - i);
    w(
        "ent_ids_1",
        (0..n)
            .map(|i| format!("{i}\thttp://a.example/{i}"))
            .collect(),
    );
    w(
        "ent_ids_2",
        (0..n)
            .map(|i| format!("{}\thttp://b.example/x{i}", other(i)))
            .collect(),
    );
    let mut t1 = Vec::new();
    let mut t2 = Vec::new();
    for i in 0..n {
        for (r, j) in [(0, (i + 1) % n), (1, (i * 7 + 3) % n)] {
            t1.push(format!("{i}\t{r}\t{j}"));
            t2.push(format!("{}\t{}\t{}", other(i), r + 2, other(j)));
        }
    }
    w(
        "rel_ids_1",
        vec![
            "0\thttp://a.example/p/next".into(),
            "1\thttp://a.example/p/chord".into(),
        ],
    );
    w(
        "rel_ids_2",
        vec![
            "2\thttp://b.example/p/next".into(),
            "3\thttp://b.example/p/chord".into(),
        ],
    );
    w("triples_1", t1);
    w("triples_2", t2);
    let links: Vec<String> = (0..n).map(|i| format!("{i}\t{}", other(i))).collect();
    w("sup_ent_ids", links.iter().step_by(3).cloned().collect());
    w(
        "test_ent_ids",
        links
            .iter()
            .enumerate()
            .filter(|(i, _)| i % 3 != 0)
            .map(|(_, l)| l.clone())
            .collect(),
    );
}

#[test]
fn align_reports_metrics_writes_links_and_merge_uses_them() {
    let dir = tempfile::tempdir().unwrap();
    let pair = dir.path().join("pair");
    write_pair(&pair, 60);
    let links = dir.path().join("links.tsv");
    let s = dlp_json(&[
        "kg",
        "align",
        "--pair",
        pair.to_str().unwrap(),
        "--links",
        links.to_str().unwrap(),
        "--json",
    ]);
    for key in ["hits_at_1", "hits_at_10", "mrr", "seconds"] {
        assert!(s[key].is_number(), "{key} in {s}");
    }
    assert!(s["hits_at_1"].as_f64().unwrap() > 0.9, "{s}");
    let text = std::fs::read_to_string(&links).unwrap();
    assert!(
        text.lines().filter(|l| l.ends_with("\tseed")).count() == 20,
        "{text}"
    );
    let store = dir.path().join("store");
    let m = dlp_json(&[
        "kg",
        "merge",
        "--pair",
        pair.to_str().unwrap(),
        "--store",
        store.to_str().unwrap(),
        "--links",
        links.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(m["triples_in"], serde_json::json!([120, 120]));
    assert_eq!(m["facts_written"], 240);
    // All 60 entities of graph 1 merged into their partners: 120 -> 60, and with the right
    // links and relations matched by name the two graphs state the same 120 facts.
    assert_eq!(m["relations_matched"], 2, "{m}");
    assert_eq!(m["entities_after"], 60, "{m}");
    assert_eq!(m["distinct_facts"], 120, "{m}");
}

#[test]
fn a_malformed_pair_exits_non_zero_naming_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    write_pair(dir.path(), 12);
    std::fs::write(dir.path().join("triples_1"), "0\t0\t1\n0\t0\t40\n").unwrap();
    let out = dlp(&["kg", "align", "--pair", dir.path().to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("triples_1:2") && err.contains("40"), "{err}");
}
