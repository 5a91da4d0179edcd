//! `dlp kg serve` end to end: a store built by `dlp kg import`, answered for curl and for a real
//! SPARQL client (SPARQLWrapper, installed by this test from PyPI).

use std::process::Command;

mod common;
use common::{dlp, serve};

#[test]
fn curl_and_sparqlwrapper_get_answers() {
    let dir = tempfile::tempdir().unwrap();
    let nt = dir.path().join("facts.nt");
    std::fs::write(&nt, "<http://x/a> <http://x/p> <http://x/b> .\n<http://x/a> <http://www.w3.org/2000/01/rdf-schema#label> \"A\"@en .\n").unwrap();
    let store = dir.path().join("store");
    let out = dlp(&[
        "kg",
        "import",
        "--store",
        store.to_str().unwrap(),
        nt.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (_server, url) = serve(&store, &[]);

    match Command::new("curl")
        .args(["-s", "-H", "Accept: text/csv", "--data-urlencode"])
        .arg("query=SELECT ?o WHERE { GRAPH ?g { <http://x/a> <http://x/p> ?o } }")
        .arg(&url)
        .output()
    {
        Ok(o) => assert_eq!(
            String::from_utf8_lossy(&o.stdout).replace("\r\n", "\n"),
            "o\nhttp://x/b\n"
        ),
        Err(e) => println!("skipping the curl check: curl did not run ({e})"),
    }

    let deps = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("sparqlwrapper");
    if !deps.join("SPARQLWrapper").is_dir() {
        let pip = Command::new("python3")
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--target",
            ])
            .arg(&deps)
            .arg("sparqlwrapper==2.0.0")
            .output();
        if !matches!(&pip, Ok(o) if o.status.success()) {
            println!("skipping the SPARQLWrapper check: pip could not install it ({pip:?})");
            return;
        }
    }
    let script = r#"
import sys
from SPARQLWrapper import SPARQLWrapper, JSON, XML
s = SPARQLWrapper(sys.argv[1])
s.setReturnFormat(JSON)
s.setQuery("SELECT ?o WHERE { GRAPH ?g { <http://x/a> <http://x/p> ?o } }")
print(s.query().convert()["results"]["bindings"][0]["o"]["value"])
s.setQuery("ASK { GRAPH ?g { <http://x/a> ?p 'A'@en } }")
print(s.query().convert()["boolean"])
s.setReturnFormat(XML)
s.setQuery("CONSTRUCT { ?s ?p ?o } WHERE { GRAPH ?g { ?s ?p ?o } }")
print(len(s.query().convert()))
"#;
    let out = Command::new("python3")
        .env("PYTHONPATH", &deps)
        .args(["-c", script, &url])
        .output()
        .expect("run python3");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "http://x/b\nTrue\n2\n"
    );
}
