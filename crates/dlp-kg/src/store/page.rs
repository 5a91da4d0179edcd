//! The endpoint's HTML page: a query form with results as a table, and an instance lookup that
//! lists the instance's labels, concepts, relations (both directions, with the other end's label
//! and, for a predicted fact, its score) and values, each with its source.

use super::SOURCE_NS;

const RDF: &str = "http://www.w3.org/1999/02/22-rdf-syntax-ns#";
const LABEL: &str = "http://www.w3.org/2000/01/rdf-schema#label";

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Shortens a source graph IRI to the `kind:name` that `dlp kg stats` lists.
fn source(s: &str) -> String {
    let s = s.trim_start_matches('<').trim_end_matches('>');
    s.strip_prefix(SOURCE_NS).unwrap_or(s).to_string()
}

/// A literal's value without its quotes, datatype or language (`"0.93"^^<…#float>` shows as
/// 0.93, `"Paris"@fr` as Paris); other terms as they are.
fn plain(v: &str) -> &str {
    match v.strip_prefix('"').and_then(|r| r.rsplit_once('"')) {
        Some((value, _)) => value,
        None => v,
    }
}

fn table(head: &[String], rows: &[Vec<String>], link_iris: bool) -> String {
    let cell = |v: &str| {
        let v = plain(v);
        let inner = v.trim_start_matches('<').trim_end_matches('>');
        if link_iris && v.starts_with('<') {
            let href: String = inner
                .bytes()
                .map(|b| match b {
                    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                        (b as char).to_string()
                    }
                    _ => format!("%{b:02X}"),
                })
                .collect();
            format!("<td><a href=\"/?iri={href}\">{}</a></td>", esc(v))
        } else {
            format!("<td>{}</td>", esc(v))
        }
    };
    let mut h = String::from("<table><tr>");
    for c in head {
        h += &format!("<th>{}</th>", esc(c));
    }
    h += "</tr>";
    for r in rows {
        h += "<tr>";
        for v in r {
            h += &cell(v);
        }
        h += "</tr>";
    }
    h + "</table>"
}

/// The rows of a SELECT query's answer: the variable names and each row's values as text.
pub(super) type Table = (Vec<String>, Vec<Vec<String>>);

/// The page for `params` (`iri` and/or `query`), with `run` answering its SELECT queries.
pub(super) fn render(
    run: &dyn Fn(&str) -> std::result::Result<Table, String>,
    params: &[(String, String)],
) -> String {
    let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let query = get("query")
        .unwrap_or_else(|| "SELECT ?s ?p ?o WHERE { GRAPH ?g { ?s ?p ?o } } LIMIT 20".into());
    let mut body = String::new();
    if let Some(iri) = get("iri") {
        body += &format!("<h2>{}</h2>", esc(&iri));
        if iri.contains(['<', '>', '"', ' ']) {
            body += "<p class=err>not an IRI</p>";
        } else {
            let labels = format!("SELECT ?label WHERE {{ <{iri}> <{LABEL}> ?label }} LIMIT 5");
            if let Ok((_, rows)) = run(&labels) {
                let names: Vec<String> = rows.iter().flatten().map(|l| esc(plain(l))).collect();
                if !names.is_empty() {
                    body += &format!("<p>{}</p>", names.join(" · "));
                }
            }
            let sections = [
                (
                    "Concepts",
                    format!(
                        "SELECT ?concept ?source WHERE {{ GRAPH ?source {{ <{iri}> a ?concept }} }}"
                    ),
                ),
                (
                    "Relations",
                    format!(
                        "SELECT ?relation ?object (SAMPLE(?l) AS ?label) (SAMPLE(?sc) AS ?score) ?source WHERE {{ \
                         GRAPH ?source {{ <{iri}> ?relation ?object FILTER(!isLiteral(?object) && ?relation != <{RDF}type>) }} \
                         OPTIONAL {{ ?object <{LABEL}> ?l }} \
                         OPTIONAL {{ GRAPH ?source {{ ?st <{RDF}subject> <{iri}> ; <{RDF}predicate> ?relation ; <{RDF}object> ?object ; <urn:dlp:score> ?sc }} }} \
                         }} GROUP BY ?relation ?object ?source"
                    ),
                ),
                (
                    "Values",
                    format!(
                        "SELECT ?property ?value ?source WHERE {{ GRAPH ?source {{ <{iri}> ?property ?value FILTER(isLiteral(?value)) }} }}"
                    ),
                ),
                (
                    "Referenced by",
                    format!(
                        "SELECT ?subject (SAMPLE(?l) AS ?label) ?relation (SAMPLE(?sc) AS ?score) ?source WHERE {{ \
                         GRAPH ?source {{ ?subject ?relation <{iri}> FILTER(?relation NOT IN (<{RDF}subject>, <{RDF}object>)) }} \
                         OPTIONAL {{ ?subject <{LABEL}> ?l }} \
                         OPTIONAL {{ GRAPH ?source {{ ?st <{RDF}subject> ?subject ; <{RDF}predicate> ?relation ; <{RDF}object> <{iri}> ; <urn:dlp:score> ?sc }} }} \
                         }} GROUP BY ?subject ?relation ?source"
                    ),
                ),
            ];
            for (title, q) in sections {
                body += &format!("<h3>{title}</h3>");
                match run(&q) {
                    Ok((head, mut rows)) => {
                        for r in &mut rows {
                            if let Some(last) = r.last_mut() {
                                *last = source(last);
                            }
                        }
                        body += &if rows.is_empty() {
                            "<p>none</p>".into()
                        } else {
                            table(&head, &rows, true)
                        };
                    }
                    Err(e) => body += &format!("<p class=err>{}</p>", esc(&e)),
                }
            }
        }
    } else if get("query").is_some() {
        match run(&query) {
            Ok((head, rows)) => {
                body += &format!("<p>{} rows</p>{}", rows.len(), table(&head, &rows, true))
            }
            Err(e) => body += &format!("<p class=err>{}</p>", esc(&e)),
        }
    }
    format!(
        "<!doctype html><html><head><meta charset=utf-8><title>dlp kg</title><style>\
         body{{font-family:sans-serif;margin:2em}}td,th{{border:1px solid #ccc;padding:2px 6px;text-align:left}}\
         table{{border-collapse:collapse}}textarea{{width:100%}}.err{{color:#b00}}</style></head><body>\
         <h1>dlp kg</h1><form action=/ method=get>Look up an instance: <input name=iri size=60> <button>Look up</button></form>\
         <form action=/ method=get><textarea name=query rows=5>{}</textarea><br><button>Run query</button> \
         (the SPARQL 1.1 Protocol endpoint is <code>/sparql</code>; the default graph is the union of \
         the source graphs, <code>GRAPH ?g</code> gives each fact's source)</form>{body}</body></html>",
        esc(&query)
    )
}

#[cfg(test)]
mod tests {
    use super::render;

    /// The instance page shows the instance's label, and per relation the object's label and a
    /// predicted fact's score, with literals as plain values.
    #[test]
    fn the_instance_page_shows_labels_and_scores() {
        let run = |q: &str| -> Result<super::Table, String> {
            Ok(if q.starts_with("SELECT ?label") {
                (vec!["label".into()], vec![vec!["\"Person 3\"@en".into()]])
            } else if q.contains("AS ?score) ?source") && q.contains("?object") {
                let head = ["relation", "object", "label", "score", "source"];
                let row = [
                    "<urn:dlp:r:born_in>",
                    "<urn:dlp:e:c1>",
                    "\"City 1\"@en",
                    "\"0.93\"^^<http://www.w3.org/2001/XMLSchema#float>",
                    "<urn:dlp:source:completion:r>",
                ];
                (
                    head.map(String::from).to_vec(),
                    vec![row.map(String::from).to_vec()],
                )
            } else {
                (vec!["x".into()], Vec::new())
            })
        };
        let html = render(&run, &[("iri".into(), "urn:dlp:e:p3".into())]);
        for want in [
            "<p>Person 3</p>",
            "<td>City 1</td>",
            "<td>0.93</td>",
            "<td>completion:r</td>",
        ] {
            assert!(html.contains(want), "lacks {want}:\n{html}");
        }
    }
}
