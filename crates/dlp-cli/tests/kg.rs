//! `dlp kg` end to end: embed and rules on a small generated dataset folder, the store commands.

use std::path::Path;
use std::process::Output;

mod common;
use common::dlp;

fn json(out: &Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("one JSON object on stdout")
}

/// A ring with its inverse relation: (x, next, x+1) and (x+1, prev, x) for 30 entities.
fn write_dataset(dir: &Path, entities: usize) {
    std::fs::create_dir_all(dir).unwrap();
    let mut lines = Vec::new();
    for x in 0..entities {
        let y = (x + 1) % entities;
        lines.push(format!("e{x}\tnext\te{y}"));
        lines.push(format!("e{y}\tprev\te{x}"));
    }
    let test: Vec<String> = lines.iter().step_by(7).cloned().collect();
    let train: Vec<String> = lines
        .iter()
        .filter(|l| !test.contains(l))
        .cloned()
        .collect();
    std::fs::write(dir.join("train.txt"), train.join("\n") + "\n").unwrap();
    std::fs::write(dir.join("valid.txt"), test[..3].join("\n") + "\n").unwrap();
    std::fs::write(dir.join("test.txt"), test.join("\n") + "\n").unwrap();
}

/// `kg embed train` on `data` into `run` for `epochs` epochs of dimension `dim`; the summary.
fn embed(data: &Path, run: &Path, epochs: &str, dim: &str) -> serde_json::Value {
    let (d, r) = (data.to_str().unwrap(), run.to_str().unwrap());
    let args = ["kg", "embed", "train", "--dataset", d, "--out", r];
    json(&dlp(&[
        &args[..],
        &["--epochs", epochs, "--dim", dim, "--json"],
    ]
    .concat()))
}

#[test]
fn embed_train_then_eval_reports_the_same_filtered_metrics() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("ring");
    write_dataset(&data, 30);
    let run = tmp.path().join("run");
    let (d, r) = (data.to_str().unwrap(), run.to_str().unwrap());
    let s = embed(&data, &run, "40", "16");
    for key in [
        "mrr",
        "hits_at_1",
        "hits_at_3",
        "hits_at_10",
        "seconds",
        "triples_per_second",
    ] {
        assert!(s[key].is_number(), "summary lacks {key}: {s}");
    }
    assert!(s["mrr"].as_f64().unwrap() > 0.5, "{s}");
    let per: f64 = ["next", "prev"]
        .iter()
        .map(|r| s["per_relation"][r]["count"].as_f64().unwrap())
        .sum();
    assert_eq!(
        per,
        s["count"].as_f64().unwrap(),
        "per-relation counts add up: {s}"
    );
    assert!(run.join("model.safetensors").is_file() && run.join("config.toml").is_file());
    let e = json(&dlp(&[
        "kg",
        "embed",
        "eval",
        "--run",
        r,
        "--dataset",
        d,
        "--json",
    ]));
    assert_eq!(e["mrr"], s["mrr"]);
    let o = json(&dlp(&[
        "kg",
        "embed",
        "eval",
        "--run",
        r,
        "--dataset",
        d,
        "--ties",
        "optimistic",
        "--json",
    ]));
    assert!(o["mrr"].as_f64() >= e["mrr"].as_f64());

    // The same model on another graph is refused with both sizes named.
    let other = tmp.path().join("other");
    write_dataset(&other, 20);
    let out = dlp(&[
        "kg",
        "embed",
        "eval",
        "--run",
        r,
        "--dataset",
        other.to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("the model has 30 entities"),
        "{err}"
    );
}

#[test]
fn rules_mine_then_eval_predicts_inverse_links() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("ring");
    write_dataset(&data, 30);
    let run = tmp.path().join("rules");
    let d = data.to_str().unwrap();
    let m = json(&dlp(&[
        "kg",
        "rules",
        "mine",
        "--dataset",
        d,
        "--out",
        run.to_str().unwrap(),
        "--json",
    ]));
    assert!(m["rules"].as_u64().unwrap() >= 2, "{m}");
    let rules = run.join("rules.tsv");
    let e = json(&dlp(&[
        "kg",
        "rules",
        "eval",
        "--dataset",
        d,
        "--rules",
        rules.to_str().unwrap(),
        "--json",
    ]));
    // Every test fact's inverse is in train, so next(X,Y) ⇐ prev(Y,X) ranks it first.
    assert_eq!(e["mrr"].as_f64(), Some(1.0), "{e}");
}

#[test]
fn malformed_datasets_and_bad_flags_give_clear_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("bad");
    write_dataset(&data, 10);
    let mut train = std::fs::read_to_string(data.join("train.txt")).unwrap();
    train = train.replacen("e2\tnext\te3\n", "e2\tnext\n", 1);
    std::fs::write(data.join("train.txt"), train).unwrap();
    let d = data.to_str().unwrap();
    let out = dlp(&["kg", "embed", "train", "--dataset", d]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("train.txt:"), "names the file and line: {err}");

    let out = dlp(&["kg", "embed", "train", "--dataset", d, "--model", "transh"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("model `transh`"), "{err}");
    let out = dlp(&["kg", "embed", "train", "--dataset", "no-such-set"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn store_import_query_stats_complete_and_a_bad_file() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("ring");
    write_dataset(&data, 30);
    let store = tmp.path().join("store");
    let s = store.to_str().unwrap();
    let train = data.join("train.txt");
    let i = json(&dlp(&[
        "kg",
        "import",
        "--store",
        s,
        train.to_str().unwrap(),
        "--json",
    ]));
    let n = i["quads"].as_u64().unwrap();
    assert_eq!(
        n as usize,
        std::fs::read_to_string(&train).unwrap().lines().count()
    );
    let out = dlp(&[
        "kg",
        "query",
        "--store",
        s,
        "--format",
        "csv",
        "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }",
    ]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("n\r\n{n}\r\n")
    );
    let st = json(&dlp(&["kg", "stats", "--store", s, "--json"]));
    assert_eq!(st["relations"], 2);

    // A bad file is refused with its line and nothing imported; --lenient skips that line.
    let bad = tmp.path().join("bad.nt");
    std::fs::write(&bad, "<urn:a> <urn:p> <urn:b> .\n<urn:a> <urn:p> \"x .\n").unwrap();
    let out = dlp(&["kg", "import", "--store", s, bad.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("bad.nt:2:"), "{err}");
    let l = json(&dlp(&[
        "kg",
        "import",
        "--store",
        s,
        "--lenient",
        bad.to_str().unwrap(),
        "--json",
    ]));
    assert_eq!(
        (l["quads"].as_u64(), l["skipped"].as_u64()),
        (Some(1), Some(1))
    );

    // Rules complete the graph into their own source: with the held-out facts unknown (a copy
    // of the dataset whose valid and test splits repeat a training fact), the inverse rule
    // predicts each of them with confidence 1.
    let known = tmp.path().join("train-only");
    std::fs::create_dir(&known).unwrap();
    let first = std::fs::read_to_string(&train)
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .to_string()
        + "\n";
    std::fs::copy(&train, known.join("train.txt")).unwrap();
    std::fs::write(known.join("valid.txt"), &first).unwrap();
    std::fs::write(known.join("test.txt"), &first).unwrap();
    let k = known.to_str().unwrap();
    let rules_dir = tmp.path().join("rules");
    json(&dlp(&[
        "kg",
        "rules",
        "mine",
        "--dataset",
        k,
        "--out",
        rules_dir.to_str().unwrap(),
        "--json",
    ]));
    let rules = rules_dir.join("rules.tsv");
    let c = json(&dlp(&[
        "kg",
        "complete",
        "--store",
        s,
        "--dataset",
        k,
        "--rules",
        rules.to_str().unwrap(),
        "--min-score",
        "0.5",
        "--json",
    ]));
    let held_out = std::fs::read_to_string(data.join("test.txt"))
        .unwrap()
        .lines()
        .count();
    assert_eq!(c["facts"].as_u64(), Some(held_out as u64), "{c}");
    let st = json(&dlp(&["kg", "stats", "--store", s, "--json"]));
    let sources: Vec<String> = st["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p[0].as_str().unwrap().to_string())
        .collect();
    assert!(
        sources.iter().any(|x| x.starts_with("completion:"))
            && sources.contains(&"import:train.txt".to_string()),
        "{sources:?}"
    );
}

#[test]
fn curators_add_facts_and_check_names_what_breaks_the_schema() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let store = store.to_str().unwrap();
    let schema = dir.path().join("schema.toml");
    std::fs::write(
        &schema,
        r#"
[[fact]]
subject = "urn:x:Person"
predicate = "rdf:type"
object = "owl:Class"
[[fact]]
subject = "urn:x:age"
predicate = "rdf:type"
object = "owl:DatatypeProperty"
[[fact]]
subject = "urn:x:age"
predicate = "rdfs:range"
object = "xsd:integer"
"#,
    )
    .unwrap();
    let data = dir.path().join("people.csv");
    std::fs::write(
        &data,
        "subject,predicate,object,kind\nurn:x:ada,rdf:type,urn:x:Person,\nurn:x:ada,rdfs:label,Ada Lovelace,@en\nurn:x:ada,urn:x:age,36,xsd:integer\n",
    )
    .unwrap();
    let added = json(&dlp(&[
        "kg",
        "add",
        "--store",
        store,
        "--curator",
        "ann",
        "--strict",
        "--file",
        schema.to_str().unwrap(),
        "--file",
        data.to_str().unwrap(),
        "--json",
    ]));
    assert_eq!(added["added"], 6);
    assert_eq!(added["source"], "curator:ann");
    assert!(dlp(&["kg", "check", "--store", store]).status.success());

    // A value of the wrong datatype: refused whole in strict mode, named by check otherwise.
    let bad = ["urn:x:bob", "urn:x:age", "old"];
    let strict = dlp(&[
        &["kg", "add", "--store", store, "--curator", "bo", "--strict"][..],
        &bad,
    ]
    .concat());
    assert_eq!(strict.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&strict.stderr).contains("Datatype"));
    assert!(
        json(&dlp(&[
            &["kg", "add", "--store", store, "--curator", "bo", "--json"][..],
            &bad
        ]
        .concat()))["added"]
            == 1
    );
    let check = dlp(&["kg", "check", "--store", store]);
    assert_eq!(check.status.code(), Some(1));
    let listed = String::from_utf8_lossy(&check.stdout);
    assert!(
        listed.contains("Datatype\tcurator:bo\t<urn:x:bob> <urn:x:age> \"old\" ."),
        "{listed}"
    );

    // A bad curation file names its line and field, and adds nothing.
    let broken = dir.path().join("broken.csv");
    std::fs::write(&broken, "subject,predicate,object,kind\nurn:x:c,urn:x:age,7,xsd:integer\nurn:x:c,urn:x:age,seven,xsd:integer\n").unwrap();
    let out = dlp(&[
        "kg",
        "add",
        "--store",
        store,
        "--curator",
        "cy",
        "--file",
        broken.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("broken.csv") && err.contains("3") && err.contains("field `object`"),
        "{err}"
    );
    let stats = json(&dlp(&["kg", "stats", "--store", store, "--json"]));
    assert!(!stats.to_string().contains("curator:cy"), "{stats}");
}

/// Every default that `kg embed train --help` states is the library's own, so the help cannot
/// drift from what a run does.
#[test]
fn embed_train_help_states_the_library_defaults() {
    let out = dlp(&["kg", "embed", "train", "--help"]);
    let help = String::from_utf8_lossy(&out.stdout).into_owned();
    let defaults = serde_json::to_value(dlp_kg::embed::train::EmbedConfig::default()).unwrap();
    let (mut flag, mut checked) = (None::<String>, 0);
    for line in help.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("--") {
            flag = rest.split_whitespace().next().map(|f| f.replace('-', "_"));
            continue;
        }
        let (Some(f), Some(i)) = (&flag, line.find("(default ")) else {
            continue;
        };
        let stated = line[i + 9..].split([';', ')']).next().unwrap();
        let want = &defaults[f.as_str()];
        let same = match (want, stated.parse::<f64>()) {
            (serde_json::Value::Number(n), Ok(v)) => (n.as_f64().unwrap() - v).abs() < 1e-6,
            (serde_json::Value::String(s), _) => s == stated,
            (serde_json::Value::Bool(b), _) => stated.parse::<bool>() == Ok(*b),
            _ => false,
        };
        assert!(same, "--{f}: help says {stated}, the library {want}");
        checked += 1;
    }
    assert!(checked >= 15, "only {checked} defaults found in:\n{help}");
}

#[test]
fn predict_ranks_every_answer_of_one_query_filtered_or_not() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("ring");
    write_dataset(&data, 30);
    let run = tmp.path().join("run");
    let (d, r) = (data.to_str().unwrap(), run.to_str().unwrap());
    embed(&data, &run, "40", "16");
    let predict = |anchor: &str, entity: &str, more: &[&str]| {
        let base = [
            "kg",
            "predict",
            "--run",
            r,
            "--dataset",
            d,
            "--relation",
            "next",
        ];
        let args = [
            &base[..],
            &[anchor, entity, "--top-k", "30", "--json"],
            more,
        ]
        .concat();
        json(&dlp(&args))
    };
    let all = predict("--head", "e3", &[]);
    let answers = all["answers"].as_array().unwrap();
    assert_eq!(answers.len(), 30, "every entity is ranked: {all}");
    let scores: Vec<f64> = answers
        .iter()
        .map(|a| a["score"].as_f64().unwrap())
        .collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "best first: {all}");
    let e4 = answers.iter().position(|a| a["entity"] == "e4").unwrap();
    assert!(e4 < 3, "the true tail ranks near the top: {all}");
    assert_eq!(answers[e4]["rank"].as_u64(), Some(e4 as u64 + 1));
    assert!(["train", "test"].contains(&answers[e4]["known"].as_str().unwrap()));
    let known = answers.iter().filter(|a| !a["known"].is_null()).count();
    assert_eq!(known, 1, "(e3, next, ?) has one known answer: {all}");

    let filtered = predict("--head", "e3", &["--filtered"]);
    let rest = filtered["answers"].as_array().unwrap();
    assert_eq!(rest.len(), 29, "{filtered}");
    assert!(
        rest.iter()
            .all(|a| a["known"].is_null() && a["entity"] != "e4")
    );

    let heads = predict("--tail", "e4", &[]);
    assert_eq!(heads["tail"], "e4");
    assert!(
        heads["answers"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["entity"] == "e3")
    );

    let out = dlp(&[
        "kg",
        "predict",
        "--run",
        r,
        "--dataset",
        d,
        "--head",
        "x9",
        "--relation",
        "next",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--head: `x9`"));
}

/// `kg complete` proposes for a relation with a declared domain and range only heads and tails
/// of those classes.
#[test]
fn complete_respects_the_declared_domain_and_range() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("people");
    std::fs::create_dir_all(&data).unwrap();
    let mut lines = Vec::new();
    for i in 0..10 {
        lines.push(format!("p{i}\tborn_in\tc{}", i % 5));
        lines.push(format!("p{i}\tknows\tp{}", (i + 1) % 10));
    }
    for c in 0..5 {
        lines.push(format!("c{c}\tin\tland"));
    }
    for split in ["train", "valid", "test"] {
        std::fs::write(data.join(format!("{split}.txt")), lines.join("\n")).unwrap();
    }
    let (d, run) = (data.to_str().unwrap(), tmp.path().join("run"));
    let r = run.to_str().unwrap();
    embed(&data, &run, "5", "8");
    let store = tmp.path().join("store");
    let s = store.to_str().unwrap();
    json(&dlp(&[
        "kg",
        "import",
        "--store",
        s,
        data.join("train.txt").to_str().unwrap(),
        "--json",
    ]));
    let mut schema = vec![
        "urn:dlp:r:born_in,http://www.w3.org/2000/01/rdf-schema#domain,urn:x:Person,iri"
            .to_string(),
        "urn:dlp:r:born_in,http://www.w3.org/2000/01/rdf-schema#range,urn:x:City,iri".into(),
    ];
    let a = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type";
    schema.extend((0..10).map(|i| format!("urn:dlp:e:p{i},{a},urn:x:Person,iri")));
    schema.extend((0..5).map(|c| format!("urn:dlp:e:c{c},{a},urn:x:City,iri")));
    let csv = tmp.path().join("schema.csv");
    std::fs::write(
        &csv,
        format!("subject,predicate,object,kind\n{}\n", schema.join("\n")),
    )
    .unwrap();
    json(&dlp(&[
        "kg",
        "add",
        "--store",
        s,
        "--curator",
        "ann",
        "--file",
        csv.to_str().unwrap(),
        "--json",
    ]));

    let complete = ["kg", "complete", "--store", s, "--dataset", d, "--run", r];
    let c = json(&dlp(&[
        &complete[..],
        &["--relation", "born_in", "--top-k", "10", "--json"],
    ]
    .concat()));
    assert_eq!(c["schema_relations"], 1, "{c}");
    // Each person has 4 cities left to propose (the 5th is known): 40 facts, none of another class.
    assert_eq!(c["facts"], 40, "{c}");
    let count = |filter: &str| {
        let q = format!(
            "SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH ?g {{ ?s <urn:dlp:r:born_in> ?o }} \
             FILTER(STRSTARTS(STR(?g), \"urn:dlp:source:completion\")) {filter} }}"
        );
        let out = dlp(&["kg", "query", "--store", s, "--format", "csv", &q]);
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .nth(1)
            .unwrap()
            .trim()
            .to_string()
    };
    assert_eq!(count(""), "40");
    assert_eq!(count("FILTER NOT EXISTS { ?o a <urn:x:City> }"), "0");
    assert_eq!(count("FILTER NOT EXISTS { ?s a <urn:x:Person> }"), "0");
}
