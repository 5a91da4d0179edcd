//! The SPARQL endpoint over HTTP: protocol forms and result formats, the read-only default, the
//! timeout that cancels a query while the server keeps serving, the result limit, concurrent
//! queries, and the HTML instance page.

use dlp_kg::store::KnowledgeGraph;
use dlp_kg::store::serve::{Endpoint, ServeOptions};
use std::time::Duration;

struct Reply {
    status: u16,
    body: String,
    max_rows: Option<String>,
    retry_after: Option<String>,
    cors: Option<String>,
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into()
}

fn reply(r: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Reply {
    let mut r = r.expect("HTTP exchange");
    let header = |name: &str| {
        r.headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
    };
    Reply {
        status: r.status().as_u16(),
        max_rows: header("X-SPARQL-MaxRows"),
        retry_after: header("Retry-After"),
        cors: header("Access-Control-Allow-Origin"),
        body: r.body_mut().read_to_string().unwrap(),
    }
}

fn get(base: &str, query: &str, accept: &str) -> Reply {
    reply(
        agent()
            .get(format!("{base}/sparql"))
            .query("query", query)
            .header("Accept", accept)
            .call(),
    )
}

fn post(base: &str, content_type: &str, body: &str) -> Reply {
    reply(
        agent()
            .post(format!("{base}/sparql"))
            .header("Content-Type", content_type)
            .send(body),
    )
}

/// A store with 300 facts `e_i next e_{i+1}` in one source, typed instances, and a label.
fn start(opts: ServeOptions) -> (String, KnowledgeGraph) {
    let kg = KnowledgeGraph::in_memory().unwrap();
    let mut nt = String::new();
    for i in 0..300 {
        nt += &format!("<http://x/e{i}> <http://x/next> <http://x/e{}> .\n", i + 1);
    }
    nt += "<http://x/e0> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <http://x/Start> .\n";
    nt += "<http://x/e0> <http://www.w3.org/2000/01/rdf-schema#label> \"zero\"@en .\n";
    kg.insert_nt(&nt, "curator:ann").unwrap();
    let endpoint = Endpoint::bind(
        kg.clone(),
        ServeOptions {
            bind: "127.0.0.1:0".into(),
            ..opts
        },
    )
    .unwrap();
    let base = format!("http://{}", endpoint.addr());
    std::thread::spawn(move || endpoint.run());
    (base, kg)
}

const COUNT: &str = "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s <http://x/next> ?o } }";

#[test]
fn protocol_forms_and_formats() {
    let (base, _) = start(ServeOptions::default());
    let r = get(&base, COUNT, "application/sparql-results+json");
    assert_eq!(r.status, 200, "{}", r.body);
    let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(v["results"]["bindings"][0]["n"]["value"], "300");
    let r = post(
        &base,
        "application/x-www-form-urlencoded",
        &format!(
            "query={}",
            "ASK%20%7B%20GRAPH%20%3Fg%20%7B%20%3Chttp%3A%2F%2Fx%2Fe0%3E%20%3Fp%20%3Fo%20%7D%20%7D"
        ),
    );
    assert_eq!(
        (r.status, r.body.contains("true")),
        (200, true),
        "{}",
        r.body
    );
    let r = post(
        &base,
        "application/sparql-query",
        "SELECT ?o WHERE { GRAPH ?g { <http://x/e0> <http://x/next> ?o } }",
    );
    assert_eq!(r.status, 200);
    assert!(r.body.contains("http://x/e1"), "{}", r.body);
    let r = get(
        &base,
        "SELECT ?o WHERE { GRAPH ?g { <http://x/e0> <http://x/next> ?o } }",
        "text/csv",
    );
    assert_eq!(r.body.replace("\r\n", "\n"), "o\nhttp://x/e1\n");
    let r = get(
        &base,
        "SELECT ?o WHERE { GRAPH ?g { <http://x/e0> <http://x/next> ?o } }",
        "application/sparql-results+xml",
    );
    assert!(r.body.contains("<uri>http://x/e1</uri>"), "{}", r.body);
    let r = get(
        &base,
        "CONSTRUCT { ?s <http://x/n> ?o } WHERE { GRAPH ?g { ?s <http://x/next> ?o } FILTER(?s = <http://x/e5>) }",
        "application/n-triples",
    );
    assert_eq!(r.body.trim(), "<http://x/e5> <http://x/n> <http://x/e6> .");
    let r = get(&base, "SELECT WHERE {", "application/json");
    assert_eq!(r.status, 400, "{}", r.body);
}

#[test]
fn writes_need_the_option() {
    let (base, kg) = start(ServeOptions::default());
    let before = kg.len().unwrap();
    let r = post(
        &base,
        "application/sparql-update",
        "INSERT DATA { <http://x/a> <http://x/b> <http://x/c> }",
    );
    assert_eq!(r.status, 403, "{}", r.body);
    let r = post(
        &base,
        "application/x-www-form-urlencoded",
        "update=CLEAR%20ALL",
    );
    assert_eq!(r.status, 403);
    assert_eq!(kg.len().unwrap(), before);
    let (base, kg) = start(ServeOptions {
        allow_writes: true,
        ..ServeOptions::default()
    });
    let r = post(
        &base,
        "application/sparql-update",
        "INSERT DATA { <http://x/a> <http://x/b> <http://x/c> }",
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(kg.len().unwrap(), before + 1);
}

#[test]
fn a_slow_query_is_cancelled_and_the_server_keeps_serving() {
    let (base, _) = start(ServeOptions {
        timeout: Duration::from_millis(300),
        ..ServeOptions::default()
    });
    // 300^3 = 27 million joined rows: far beyond 300 ms.
    let slow = "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?a <http://x/next> ?b . ?c <http://x/next> ?d . ?e <http://x/next> ?f } }";
    let t = std::time::Instant::now();
    let r = get(&base, slow, "application/json");
    assert_eq!(r.status, 503, "{}", r.body);
    assert!(r.body.contains("timeout"), "{}", r.body);
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    assert_eq!(get(&base, COUNT, "application/json").status, 200);
}

/// 27 million joined rows to sort: far beyond any timeout here.
const SLOW_SORT: &str = "SELECT ?a WHERE { GRAPH ?g { ?a <http://x/next> ?b . ?c <http://x/next> ?d . ?e <http://x/next> ?f } } ORDER BY DESC(?a) LIMIT 1";

#[test]
fn a_sorting_query_ends_at_its_timeout() {
    let (base, _) = start(ServeOptions {
        timeout: Duration::from_millis(500),
        ..ServeOptions::default()
    });
    let t = std::time::Instant::now();
    let r = get(&base, SLOW_SORT, "application/json");
    assert_eq!(r.status, 503, "{}", r.body);
    // The timeout plus 10%, and some room for a loaded machine's HTTP round trip.
    assert!(
        t.elapsed() < Duration::from_millis(800),
        "{:?}",
        t.elapsed()
    );
}

#[test]
fn a_cancelled_sort_stops_evaluating_and_frees_its_slot_within_the_timeout_plus_10_percent() {
    // One evaluation slot: a cheap query gets it only once the cancelled sort has stopped.
    let (base, _) = start(ServeOptions {
        timeout: Duration::from_millis(500),
        max_running: 1,
        ..ServeOptions::default()
    });
    let t = std::time::Instant::now();
    assert_eq!(get(&base, SLOW_SORT, "text/csv").status, 503);
    std::thread::sleep(Duration::from_millis(550).saturating_sub(t.elapsed()));
    let asked = std::time::Instant::now();
    let r = get(&base, COUNT, "text/csv");
    assert_eq!(r.status, 200, "the slot was still held: {}", r.body);
    eprintln!("cheap query answered in {:?}", asked.elapsed());
    assert!(
        asked.elapsed() < Duration::from_millis(100),
        "{:?}",
        asked.elapsed()
    );
}

#[test]
fn a_cheap_query_is_answered_while_slow_ones_run_and_a_full_endpoint_says_when_to_retry() {
    let (base, _) = start(ServeOptions {
        timeout: Duration::from_secs(3),
        max_running: 6,
        ..ServeOptions::default()
    });
    let slow: Vec<_> = (0..5)
        .map(|_| {
            let base = base.clone();
            std::thread::spawn(move || get(&base, SLOW_SORT, "text/csv").status)
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let t = std::time::Instant::now();
    let r = get(
        &base,
        "ASK { GRAPH ?g { <http://x/e0> ?p ?o } }",
        "text/csv",
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(t.elapsed() < Duration::from_secs(1), "{:?}", t.elapsed());
    // Five slow queries and one more fill the six slots: the next query is refused at once.
    let sixth = {
        let base = base.clone();
        std::thread::spawn(move || get(&base, SLOW_SORT, "text/csv").status)
    };
    std::thread::sleep(Duration::from_millis(300));
    let t = std::time::Instant::now();
    let r = get(&base, COUNT, "text/csv");
    assert_eq!(r.status, 503, "{}", r.body);
    assert_eq!(r.retry_after.as_deref(), Some("1"));
    assert!(t.elapsed() < Duration::from_secs(1), "{:?}", t.elapsed());
    for s in slow.into_iter().chain([sixth]) {
        assert_eq!(s.join().unwrap(), 503);
    }
}

#[test]
fn oversized_bodies_urls_and_headers_are_refused() {
    let (base, _) = start(ServeOptions {
        max_body: 1000,
        max_url: 2000,
        max_headers: 3000,
        ..ServeOptions::default()
    });
    let padded = format!("{COUNT} #{}", "x".repeat(1000));
    assert_eq!(post(&base, "application/sparql-query", &padded).status, 413);
    assert_eq!(post(&base, "application/sparql-query", COUNT).status, 200);
    assert_eq!(get(&base, &padded, "text/csv").status, 200);
    let long = format!("{COUNT} #{}", "x".repeat(3000));
    assert_eq!(get(&base, &long, "text/csv").status, 414);
    let r = reply(
        agent()
            .get(format!("{base}/sparql"))
            .query("query", COUNT)
            .header("X-Padding", "y".repeat(4000))
            .call(),
    );
    assert_eq!(r.status, 431, "{}", r.body);
}

#[test]
fn kept_alive_connections_answer_without_delayed_ack_stalls_and_cors_is_opt_in() {
    let (base, _) = start(ServeOptions::default());
    let agent = agent();
    let ask = "ASK { GRAPH ?g { <http://x/e0> ?p ?o } }";
    let once = || {
        reply(
            agent
                .get(format!("{base}/sparql"))
                .query("query", ask)
                .call(),
        )
    };
    assert_eq!(once().cors, None);
    // With Nagle's algorithm each answer waits for the client's delayed ACK: 40 ms apiece.
    let t = std::time::Instant::now();
    for _ in 0..50 {
        assert_eq!(once().status, 200);
    }
    assert!(
        t.elapsed() < Duration::from_millis(1000),
        "{:?}",
        t.elapsed()
    );
    let (open, _) = start(ServeOptions {
        cors: true,
        ..ServeOptions::default()
    });
    assert_eq!(get(&open, ask, "text/csv").cors.as_deref(), Some("*"));
}

#[test]
fn results_are_capped_at_the_limit_and_concurrent_queries_all_answer() {
    let (base, _) = start(ServeOptions {
        limit: 50,
        ..ServeOptions::default()
    });
    let r = get(
        &base,
        "SELECT ?s WHERE { GRAPH ?g { ?s <http://x/next> ?o } }",
        "text/csv",
    );
    assert_eq!(r.body.trim().lines().count(), 51, "header + 50 rows");
    assert_eq!(r.max_rows.as_deref(), Some("50"));
    assert_eq!(get(&base, COUNT, "text/csv").max_rows, None);
    let threads: Vec<_> = (0..8)
        .map(|i| {
            let base = base.clone();
            std::thread::spawn(move || {
                (0..10).all(|j| {
                    let q = format!(
                        "SELECT ?o WHERE {{ GRAPH ?g {{ <http://x/e{}> <http://x/next> ?o }} }}",
                        i * 10 + j
                    );
                    let r = get(&base, &q, "text/csv");
                    r.status == 200 && r.body.contains(&format!("http://x/e{}", i * 10 + j + 1))
                })
            })
        })
        .collect();
    assert!(threads.into_iter().all(|t| t.join().unwrap()));
}

#[test]
fn the_page_shows_an_instance_with_its_sources() {
    let (base, _) = start(ServeOptions::default());
    let r = reply(
        agent()
            .get(format!("{base}/"))
            .query("iri", "http://x/e0")
            .call(),
    );
    assert_eq!(r.status, 200);
    for want in ["http://x/Start", "http://x/e1", "zero", "curator:ann"] {
        assert!(r.body.contains(want), "{want} missing from the page");
    }
    let r = reply(
        agent()
            .get(format!("{base}/"))
            .query("iri", "http://x/e0> <bad")
            .call(),
    );
    assert!(r.body.contains("not an IRI"));
}

/// A burst of kept-alive connections, each held open for a while: every request is answered at
/// once. (With tiny_http, a connection arriving in the burst could wait for its first answer
/// until another client hung up: seconds here.)
#[test]
fn a_burst_of_kept_alive_connections_is_served_at_once() {
    use std::io::{BufRead, BufReader, Read, Write};
    let (base, _kg) = start(ServeOptions::default());
    let host = base.trim_start_matches("http://").to_string();
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(24));
    let clients: Vec<_> = (0..24)
        .map(|_| {
            let (host, barrier) = (host.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                let stream = std::net::TcpStream::connect(&host).unwrap();
                let mut w = stream.try_clone().unwrap();
                let mut r = BufReader::new(stream);
                let mut worst = 0f64;
                for _ in 0..15 {
                    let t = std::time::Instant::now();
                    let req =
                        format!("GET /sparql?query=ASK%7B%7D HTTP/1.1\r\nHost: {host}\r\n\r\n");
                    w.write_all(req.as_bytes()).unwrap();
                    let (mut line, mut length) = (String::new(), 0usize);
                    r.read_line(&mut line).unwrap();
                    assert!(line.contains(" 200 "), "{line}");
                    loop {
                        line.clear();
                        r.read_line(&mut line).unwrap();
                        if line.trim().is_empty() {
                            break;
                        }
                        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                            length = v.trim().parse().unwrap();
                        }
                    }
                    let mut body = vec![0; length];
                    r.read_exact(&mut body).unwrap();
                    worst = worst.max(t.elapsed().as_secs_f64());
                    std::thread::sleep(std::time::Duration::from_millis(100));
                }
                worst
            })
        })
        .collect();
    let worst = clients
        .into_iter()
        .map(|c| c.join().unwrap())
        .fold(0f64, f64::max);
    assert!(worst < 0.5, "a request waited {worst:.2} s for its answer");
}

/// More clients of cheap queries than evaluation slots: each waits briefly for a slot and is
/// answered (a query was refused with 503 whenever every slot was taken at that instant).
#[test]
fn more_cheap_clients_than_evaluation_slots_are_all_answered() {
    let (base, _) = start(ServeOptions {
        max_running: 2,
        ..ServeOptions::default()
    });
    let clients: Vec<_> = (0..16)
        .map(|_| {
            let base = base.clone();
            std::thread::spawn(move || {
                (0..30)
                    .map(|_| get(&base, COUNT, "text/csv").status)
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    for c in clients {
        let statuses = c.join().unwrap();
        assert!(statuses.iter().all(|&s| s == 200), "{statuses:?}");
    }
}

/// A chunked body whose chunk size is near 2^64 is refused with 413, not an overflow.
#[test]
fn a_chunk_size_past_the_limit_is_refused() {
    use std::io::{Read, Write};
    let (base, _kg) = start(ServeOptions::default());
    let mut c = std::net::TcpStream::connect(base.trim_start_matches("http://")).unwrap();
    let req = "POST /sparql HTTP/1.1\r\nHost: x\r\nContent-Type: application/sparql-query\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nASK \r\nfffffffffffffffe\r\n";
    c.write_all(req.as_bytes()).unwrap();
    let mut reply = String::new();
    c.read_to_string(&mut reply).unwrap();
    assert!(reply.starts_with("HTTP/1.1 413"), "{reply}");
}
