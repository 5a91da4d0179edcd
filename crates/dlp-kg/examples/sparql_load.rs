//! A SPARQL endpoint under load (used by `benches/kg_serve_load.sh`): `requests` cheap queries
//! from `connections` kept-alive HTTP/1.1 connections, while `slow` expensive queries run
//! alongside on connections of their own. Prints one JSON line: throughput, p50/p99/max latency
//! of the cheap queries, the status codes seen, transport errors, and each slow query's status
//! and seconds.
//!
//! ```text
//! cargo run --release -p dlp-kg --example sparql_load -- URL REQUESTS CONNECTIONS SLOW CHEAP_QUERY SLOW_QUERY
//! ```
//! The cheap query may hold `{i}`, replaced by the request's number, so that requests differ.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A kept-alive connection to `host:port`.
struct Conn {
    reader: BufReader<TcpStream>,
    host: String,
}

impl Conn {
    fn open(host: &str) -> std::io::Result<Self> {
        let s = TcpStream::connect(host)?;
        s.set_nodelay(true)?;
        s.set_read_timeout(Some(Duration::from_secs(600)))?;
        Ok(Self {
            reader: BufReader::new(s),
            host: host.to_string(),
        })
    }

    /// GET `path`; the status code, with the body read and dropped.
    fn get(&mut self, path: &str) -> std::io::Result<u16> {
        let req = format!(
            "GET {path} HTTP/1.1\r\nHost: {}\r\nAccept: application/sparql-results+json\r\n\r\n",
            self.host
        );
        self.reader.get_mut().write_all(req.as_bytes())?;
        let mut line = String::new();
        self.reader.read_line(&mut line)?;
        let status: u16 = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| std::io::Error::other(format!("bad status line {line:?}")))?;
        let (mut length, mut chunked) = (0usize, false);
        loop {
            line.clear();
            self.reader.read_line(&mut line)?;
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            let lower = l.to_ascii_lowercase();
            if let Some(v) = lower.strip_prefix("content-length:") {
                length = v.trim().parse().unwrap_or(0);
            }
            if lower.starts_with("transfer-encoding:") && lower.contains("chunked") {
                chunked = true;
            }
        }
        if chunked {
            loop {
                line.clear();
                self.reader.read_line(&mut line)?;
                let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or("0"), 16)
                    .map_err(|e| std::io::Error::other(format!("chunk size: {e}")))?;
                let mut skip = vec![0u8; size + 2];
                self.reader.read_exact(&mut skip)?;
                if size == 0 {
                    break;
                }
            }
        } else {
            let mut body = vec![0u8; length];
            self.reader.read_exact(&mut body)?;
        }
        Ok(status)
    }
}

fn encode(q: &str) -> String {
    q.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn main() {
    let a: Vec<String> = std::env::args().skip(1).collect();
    if a.len() != 6 {
        eprintln!("usage: sparql_load URL REQUESTS CONNECTIONS SLOW CHEAP_QUERY SLOW_QUERY");
        std::process::exit(2);
    }
    let url = a[0].trim_start_matches("http://");
    let (host, path) = url.split_once('/').unwrap_or((url, "sparql"));
    let (host, path) = (host.to_string(), format!("/{path}"));
    let (requests, connections, slow): (usize, usize, usize) = (
        a[1].parse().expect("REQUESTS"),
        a[2].parse().expect("CONNECTIONS"),
        a[3].parse().expect("SLOW"),
    );
    let (cheap, expensive) = (a[4].clone(), a[5].clone());

    let slow_results = Arc::new(Mutex::new(Vec::new()));
    let slow_threads: Vec<_> = (0..slow)
        .map(|_| {
            let (host, path, q, out) = (
                host.clone(),
                path.clone(),
                expensive.clone(),
                slow_results.clone(),
            );
            std::thread::spawn(move || {
                let t = Instant::now();
                let status = Conn::open(&host)
                    .and_then(|mut c| c.get(&format!("{path}?query={}", encode(&q))))
                    .map_or(0, |s| s);
                out.lock()
                    .unwrap()
                    .push((status, t.elapsed().as_secs_f64()));
            })
        })
        .collect();
    // Let the slow queries start first.
    std::thread::sleep(Duration::from_millis(200));

    let next = Arc::new(AtomicUsize::new(0));
    let statuses = Arc::new(Mutex::new(BTreeMap::<u16, usize>::new()));
    let latencies = Arc::new(Mutex::new(Vec::with_capacity(requests)));
    let errors = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let workers: Vec<_> = (0..connections)
        .map(|_| {
            let (host, path, cheap) = (host.clone(), path.clone(), cheap.clone());
            let (next, statuses, latencies, errors) = (
                next.clone(),
                statuses.clone(),
                latencies.clone(),
                errors.clone(),
            );
            std::thread::spawn(move || {
                let mut conn = None;
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= requests {
                        break;
                    }
                    let q = cheap.replace("{i}", &(i % 1000).to_string());
                    let t = Instant::now();
                    if conn.is_none() {
                        conn = Conn::open(&host).ok();
                    }
                    let result = match conn.as_mut() {
                        Some(c) => c.get(&format!("{path}?query={}", encode(&q))),
                        None => Err(std::io::Error::other("cannot connect")),
                    };
                    match result {
                        Ok(s) => {
                            latencies.lock().unwrap().push(t.elapsed().as_secs_f64());
                            *statuses.lock().unwrap().entry(s).or_default() += 1;
                        }
                        Err(_) => {
                            errors.fetch_add(1, Ordering::Relaxed);
                            conn = None;
                        }
                    }
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    let seconds = start.elapsed().as_secs_f64();
    for t in slow_threads {
        t.join().unwrap();
    }
    let mut l = latencies.lock().unwrap().clone();
    l.sort_by(f64::total_cmp);
    let q = |p: f64| {
        l.get(((l.len() as f64 - 1.0) * p) as usize)
            .copied()
            .unwrap_or(f64::NAN)
    };
    let statuses: BTreeMap<String, usize> = statuses
        .lock()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.to_string(), *v))
        .collect();
    let slow: Vec<String> = slow_results
        .lock()
        .unwrap()
        .iter()
        .map(|(s, t)| format!("{{\"status\": {s}, \"seconds\": {t:.2}}}"))
        .collect();
    println!(
        "{{\"requests\": {requests}, \"connections\": {connections}, \"seconds\": {seconds:.3}, \"throughput\": {:.1}, \"p50_ms\": {:.3}, \"p99_ms\": {:.3}, \"max_ms\": {:.3}, \"statuses\": {}, \"transport_errors\": {}, \"slow\": [{}]}}",
        requests as f64 / seconds,
        q(0.5) * 1e3,
        q(0.99) * 1e3,
        q(1.0) * 1e3,
        serde_json::to_string(&statuses).unwrap(),
        errors.load(Ordering::Relaxed),
        slow.join(", ")
    );
}
