//! The store commands against a remote SPARQL 1.1 endpoint (`--store http://…/sparql`):
//! `dlp kg serve --allow-writes` always, and Virtuoso when `.ci/run` started one
//! (`DLP_TEST_SPARQL`). Import, query, stats, export, add, check and retract must give what they
//! give on a local store.

mod common;
use common::{dlp, dlp_json, serve};

fn ok(out: &std::process::Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The same session of commands on `endpoint`, with names unique to this run.
fn exercise(endpoint: &str) {
    let dir = tempfile::tempdir().unwrap();
    let tag = format!(
        "{}{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    let file = dir.path().join(format!("facts{tag}.nt"));
    // 18,001 facts: an endpoint receives them in 19 `INSERT DATA` batches (Virtuoso refuses
    // one of 5,000) and gives them back in pages.
    let mut nt = String::new();
    for i in 0..12_000 {
        nt += &format!(
            "<http://x{tag}/e{i}> <http://x{tag}/next> <http://x{tag}/e{}> .\n",
            i + 1
        );
    }
    nt += &format!("<http://x{tag}/e0> <http://www.w3.org/2000/01/rdf-schema#label> \"zero\" .\n");
    // A subject with more facts than a page of reading holds.
    for i in 0..6_000 {
        nt += &format!("<http://x{tag}/hub> <http://x{tag}/has> <http://x{tag}/e{i}> .\n");
    }
    std::fs::write(&file, &nt).unwrap();
    let source = format!("import:facts{tag}.nt");
    ok(&dlp(&[
        "kg",
        "import",
        "--store",
        endpoint,
        file.to_str().unwrap(),
    ]));

    let csv = |query: &str| {
        let args = ["kg", "query", "--store", endpoint, "--format", "csv", query];
        ok(&dlp(&args)).replace("\r\n", "\n")
    };
    let q =
        format!("SELECT ?o WHERE {{ GRAPH ?g {{ <http://x{tag}/e3> <http://x{tag}/next> ?o }} }}");
    assert_eq!(csv(&q), format!("o\nhttp://x{tag}/e4\n"));

    let stats = dlp_json(&["kg", "stats", "--store", endpoint, "--json"]);
    let sources = stats["sources"].as_array().unwrap();
    assert!(
        sources
            .iter()
            .any(|s| s[0] == source.as_str() && s[1] == 18_001),
        "{stats}"
    );

    // Export, then compare this run's triples with the input.
    let out = dir.path().join("out.nt");
    ok(&dlp(&[
        "kg",
        "export",
        "--store",
        endpoint,
        out.to_str().unwrap(),
    ]));
    let mine = |text: &str| -> std::collections::BTreeSet<String> {
        text.lines()
            .filter(|l| l.contains(&format!("x{tag}/")))
            .map(str::to_string)
            .collect()
    };
    assert_eq!(mine(&std::fs::read_to_string(&out).unwrap()), mine(&nt));

    let curator = format!("c{tag}");
    ok(&dlp(&[
        "kg",
        "add",
        "--store",
        endpoint,
        "--curator",
        &curator,
        &format!("http://x{tag}/e0"),
        "http://www.w3.org/2000/01/rdf-schema#comment",
        "first",
    ]));
    let check = dlp(&[
        "kg", "check", "--store", endpoint, "--json", "--limit", "100000",
    ]);
    let report: serde_json::Value = serde_json::from_slice(&check.stdout).unwrap();
    let about_mine = report["list"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v.to_string().contains(&format!("x{tag}/")))
        .count();
    assert_eq!(
        about_mine, 18_000,
        "each `next` and `has` fact uses an undeclared property (labels and comments are RDFS): {report}"
    );

    let removed = dlp_json(&["kg", "retract", "--store", endpoint, &source, "--json"]);
    assert_eq!(removed["removed"], 18_001);
    ok(&dlp(&[
        "kg",
        "retract",
        "--store",
        endpoint,
        &format!("curator:{curator}"),
    ]));
    let q = format!(
        "SELECT ?s WHERE {{ GRAPH ?g {{ ?s ?p ?o }} FILTER(STRSTARTS(STR(?s), \"http://x{tag}/\")) }}"
    );
    assert_eq!(csv(&q).trim(), "s", "nothing of this run is left");
    // Commands that need a local store say so.
    let out = dlp(&["kg", "serve", "--store", endpoint]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("needs a local store"));
}

#[test]
fn the_store_commands_work_against_dlp_kg_serve() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, url) = serve(&dir.path().join("store"), &["--allow-writes"]);
    exercise(&url);
}

#[test]
fn the_store_commands_work_against_virtuoso() {
    match std::env::var("DLP_TEST_SPARQL") {
        Ok(url) if !url.is_empty() => exercise(&url),
        _ => println!(
            "skipping: DLP_TEST_SPARQL is not set (.ci/run sets it when it could start Virtuoso)"
        ),
    }
}
