//! The endpoint's HTML page: a query form with results as a table, and an instance lookup that
//! lists the instance's concepts, relations (both directions) and values, each with its source.

use super::SOURCE_NS;

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

fn table(head: &[String], rows: &[Vec<String>], link_iris: bool) -> String {
    let cell = |v: &str| {
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
                        "SELECT ?relation ?object ?source WHERE {{ GRAPH ?source {{ <{iri}> ?relation ?object FILTER(!isLiteral(?object) && ?relation != <http://www.w3.org/1999/02/22-rdf-syntax-ns#type>) }} }}"
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
                        "SELECT ?subject ?relation ?source WHERE {{ GRAPH ?source {{ ?subject ?relation <{iri}> }} }}"
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
