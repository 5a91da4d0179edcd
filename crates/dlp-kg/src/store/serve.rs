//! A SPARQL 1.1 Protocol endpoint over HTTP, and a small HTML page to look up an instance and run
//! a query. [`Endpoint`] is the entry type.
//!
//! - `GET /sparql?query=…`, `POST /sparql` with a form (`query=…` or `update=…`) or with an
//!   `application/sparql-query` / `application/sparql-update` body.
//! - Results by the `Accept` header: SPARQL JSON (default), XML, CSV or TSV results; graphs as
//!   N-Triples (default), Turtle or RDF/XML.
//! - Every query runs on a thread of its own under a cancellation token that fires after
//!   `timeout`; the client gets 503 at the timeout even where the evaluator cannot stop at once
//!   (an ORDER BY over a million rows sorts what it read first). At most `max_running` queries
//!   evaluate at once, counting cancelled ones still winding down; past that a query waits up to
//!   250 ms for a slot (cheap queries in flight free theirs within that) and then gets 503 with
//!   `Retry-After: 1`, so a cheap query never waits behind expensive ones. At most
//!   `limit` solutions or triples come back; a cut result carries the header `X-SPARQL-MaxRows`.
//! - Limits on what a client sends: a body over `max_body` bytes gets 413 (unread), a URL over
//!   `max_url` 414, headers over `max_headers` 431.
//! - Served by [`super::http`]: a thread per connection, `TCP_NODELAY` on every connection (small
//!   responses on a kept-alive connection otherwise wait for the client's delayed ACK, 40 ms
//!   each); `Access-Control-Allow-Origin: *` only with `cors`.
//! - Updates are refused (403) unless the endpoint was started with `allow_writes`.
//! - `GET /` is the HTML page; `/?iri=…` shows an instance's concepts, relations and values with
//!   the source graph of each; `/?query=…` shows results as a table.
//!
//! ```no_run
//! use dlp_kg::store::{KnowledgeGraph, serve::{Endpoint, ServeOptions}};
//! let kg = KnowledgeGraph::open("runs/kg".as_ref())?;
//! let endpoint = Endpoint::bind(kg, ServeOptions::default())?;
//! println!("SPARQL endpoint at http://{}/sparql", endpoint.addr());
//! endpoint.run(); // serves until the process ends
//! # Ok::<(), dlp_core::Error>(())
//! ```

use super::KnowledgeGraph;
use super::http::{self, Limits, Request, Response};
use super::page::Table;
use dlp_core::error::{Error, Result};
use oxigraph::io::{RdfFormat, RdfSerializer};
use oxigraph::model::Term;
use oxigraph::sparql::results::{QueryResultsFormat, QueryResultsSerializer};
use oxigraph::sparql::{CancellationToken, QueryEvaluationError, QueryResults, SparqlEvaluator};
use std::net::{SocketAddr, TcpListener};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// How the endpoint serves.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Address to listen on; loopback unless told otherwise.
    pub bind: String,
    /// Longest a query may run before it is cancelled.
    pub timeout: Duration,
    /// Most solutions (or triples) one response carries.
    pub limit: usize,
    /// Accept SPARQL updates.
    pub allow_writes: bool,
    /// Connections served at once, each on a thread of its own (a kept-alive connection holds
    /// its thread; the next connection is accepted when one closes).
    pub max_connections: usize,
    /// Queries evaluating at once; more get 503 with `Retry-After`.
    pub max_running: usize,
    /// Largest request body, URL and header block, in bytes (413, 414, 431 past them).
    pub max_body: usize,
    pub max_url: usize,
    pub max_headers: usize,
    /// Send `Access-Control-Allow-Origin: *`, so pages from any site may query the endpoint.
    pub cors: bool,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            bind: "127.0.0.1:7878".into(),
            timeout: Duration::from_secs(10),
            limit: 10_000,
            allow_writes: false,
            max_connections: 1024,
            max_running: 32,
            max_body: 16 << 20,
            max_url: 64 << 10,
            max_headers: 64 << 10,
            cors: false,
        }
    }
}

/// A bound SPARQL endpoint over a [`KnowledgeGraph`].
pub struct Endpoint {
    listener: TcpListener,
    kg: KnowledgeGraph,
    opts: ServeOptions,
    addr: SocketAddr,
    /// Queries evaluating now, cancelled ones that have not stopped yet included.
    running: Slots,
}

/// An HTTP answer: status, content type, body and extra headers.
struct Answer {
    status: u16,
    content_type: &'static str,
    body: Vec<u8>,
    headers: Vec<(&'static str, String)>,
}

impl Answer {
    fn text(status: u16, msg: impl Into<String>) -> Self {
        Answer {
            status,
            content_type: "text/plain; charset=utf-8",
            body: (msg.into() + "\n").into_bytes(),
            headers: Vec::new(),
        }
    }
}

impl Endpoint {
    /// Binds the listening socket (port 0 picks a free one).
    pub fn bind(kg: KnowledgeGraph, opts: ServeOptions) -> Result<Self> {
        let listener = TcpListener::bind(&opts.bind)
            .map_err(|e| Error::setting("bind", format!("{}: {e}", opts.bind)))?;
        let addr = listener
            .local_addr()
            .map_err(|e| Error::setting("bind", format!("{}: {e}", opts.bind)))?;
        Ok(Endpoint {
            listener,
            kg,
            opts,
            addr,
            running: Arc::new((Mutex::new(0), Condvar::new())),
        })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves requests until the process ends (see [`http`]).
    pub fn run(self) {
        let limits = Limits {
            url: self.opts.max_url,
            headers: self.opts.max_headers,
            body: self.opts.max_body,
        };
        let max = self.opts.max_connections;
        let Ok(listener) = self.listener.try_clone() else {
            return;
        };
        let this = Arc::new(self);
        http::serve(
            listener,
            max,
            limits,
            Arc::new(move |r: &Request| this.respond(r)),
        );
    }

    fn respond(&self, request: &Request) -> Response {
        let answer = self.handle(request);
        let mut headers = vec![("Content-Type".to_string(), answer.content_type.to_string())];
        headers.extend(answer.headers.into_iter().map(|(k, v)| (k.to_string(), v)));
        if self.opts.cors {
            headers.push(("Access-Control-Allow-Origin".into(), "*".into()));
        }
        Response {
            status: answer.status,
            headers,
            body: answer.body,
        }
    }

    /// The answer to a request (its URL, headers and body already within the limits).
    fn handle(&self, request: &Request) -> Answer {
        let (path, query_string) = request.url.split_once('?').unwrap_or((&request.url, ""));
        let params = form_decode(query_string);
        let accept = request.header("Accept").to_string();
        let content_type = request.header("Content-Type");
        match (request.method.as_str(), path) {
            ("GET", "/sparql") => match param(&params, "query") {
                Some(q) => self.query(&q, &accept),
                None if param(&params, "update").is_some() => {
                    Answer::text(405, "updates must be POSTed")
                }
                None => Answer::text(400, "missing `query` parameter"),
            },
            ("POST", "/sparql") => {
                let body = request.body.clone();
                let Ok(body) = String::from_utf8(body) else {
                    return Answer::text(400, "the request body is not UTF-8");
                };
                let mime = content_type
                    .split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase();
                match mime.as_str() {
                    "application/sparql-query" => self.query(&body, &accept),
                    "application/sparql-update" => self.update(&body),
                    "application/x-www-form-urlencoded" => {
                        let form = form_decode(&body);
                        match (param(&form, "query"), param(&form, "update")) {
                            (Some(q), _) => self.query(&q, &accept),
                            (None, Some(u)) => self.update(&u),
                            _ => Answer::text(400, "missing `query` or `update` field"),
                        }
                    }
                    other => Answer::text(415, format!("unsupported Content-Type `{other}`")),
                }
            }
            ("GET", "/") => Answer {
                status: 200,
                content_type: "text/html; charset=utf-8",
                body: super::page::render(&|q| self.table(q), &params).into_bytes(),
                headers: Vec::new(),
            },
            _ => Answer::text(404, format!("no such resource: {path}")),
        }
    }

    fn update(&self, update: &str) -> Answer {
        if !self.opts.allow_writes {
            return Answer::text(
                403,
                "this endpoint is read-only (start it with --allow-writes)",
            );
        }
        let parsed = match SparqlEvaluator::new().parse_update(update) {
            Ok(u) => u,
            Err(e) => return Answer::text(400, format!("update: {e}")),
        };
        match parsed.on_store(self.kg.store()).execute() {
            Ok(()) => Answer::text(200, "ok"),
            Err(e) => Answer::text(500, format!("update: {e}")),
        }
    }

    /// Runs a query under the timeout and serialises at most `limit` results.
    fn query(&self, query: &str, accept: &str) -> Answer {
        let (accept, limit) = (accept.to_string(), self.opts.limit);
        match self.evaluate(query, move |results| serialize(results, &accept, limit)) {
            Ok(answer) => answer,
            Err(answer) => answer,
        }
    }

    /// Parses `query` and evaluates it on a thread of its own, handing its results to `f`; gives
    /// up at the timeout (503) whether or not the evaluation has stopped, and refuses (503,
    /// `Retry-After`) when `max_running` evaluations are under way.
    fn evaluate<T: Send + 'static>(
        &self,
        query: &str,
        f: impl FnOnce(QueryResults<'_>) -> std::result::Result<T, QueryEvaluationError>
        + Send
        + 'static,
    ) -> std::result::Result<T, Answer> {
        let token = CancellationToken::new();
        let prepared = super::query::parse_union(
            SparqlEvaluator::new().with_cancellation_token(token.clone()),
            query,
        )
        .map_err(|e| Answer::text(400, format!("query: {e}")))?;
        let Some(slot) = Slot::take(&self.running, self.opts.max_running) else {
            let mut busy = Answer::text(
                503,
                format!(
                    "{} queries are running; try again shortly",
                    self.opts.max_running
                ),
            );
            busy.headers.push(("Retry-After", "1".into()));
            return Err(busy);
        };
        let timeout = self.opts.timeout;
        let cancelled = || {
            Answer::text(
                503,
                format!(
                    "query cancelled after the {} ms timeout",
                    timeout.as_millis()
                ),
            )
        };
        let (send, receive) = mpsc::channel();
        let kg = self.kg.clone();
        std::thread::spawn(move || {
            let _slot = slot;
            let out = prepared.on_store(kg.store()).execute().and_then(f);
            let _ = send.send(out);
        });
        match receive.recv_timeout(timeout) {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(QueryEvaluationError::Cancelled)) => Err(cancelled()),
            Ok(Err(e)) => Err(Answer::text(500, format!("query: {e}"))),
            Err(_) => {
                token.cancel();
                Err(cancelled())
            }
        }
    }
}

/// How long a query waits for an evaluation slot before it is refused with 503: long enough for
/// the cheap queries in flight to finish, short enough to answer a full endpoint at once.
const SLOT_WAIT: Duration = Duration::from_millis(250);

/// Evaluations under way (cancelled ones still stopping included), and a signal when one ends.
type Slots = Arc<(Mutex<usize>, Condvar)>;

/// One of `max` evaluation slots, given back on drop.
struct Slot(Slots);

impl Slot {
    /// A slot, waiting up to [`SLOT_WAIT`] for one to free; `None` when none did.
    fn take(slots: &Slots, max: usize) -> Option<Slot> {
        let (count, freed) = &**slots;
        let mut n = count.lock().unwrap_or_else(|e| e.into_inner());
        let deadline = std::time::Instant::now() + SLOT_WAIT;
        while *n >= max {
            let left = deadline.checked_duration_since(std::time::Instant::now())?;
            n = freed
                .wait_timeout(n, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        *n += 1;
        Some(Slot(Arc::clone(slots)))
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let (count, freed) = &*self.0;
        *count.lock().unwrap_or_else(|e| e.into_inner()) -= 1;
        freed.notify_one();
    }
}

/// Serialises results in the format the `Accept` header asks for.
fn serialize(
    results: QueryResults<'_>,
    accept: &str,
    limit: usize,
) -> std::result::Result<Answer, QueryEvaluationError> {
    let io = |e: std::io::Error| QueryEvaluationError::Unexpected(Box::new(e));
    let has = |s: &str| accept.contains(s);
    let (format, content_type) =
        if has("sparql-results+xml") || (has("application/xml") && !has("json")) {
            (QueryResultsFormat::Xml, "application/sparql-results+xml")
        } else if has("text/csv") {
            (QueryResultsFormat::Csv, "text/csv; charset=utf-8")
        } else if has("text/tab-separated-values") {
            (
                QueryResultsFormat::Tsv,
                "text/tab-separated-values; charset=utf-8",
            )
        } else {
            (QueryResultsFormat::Json, "application/sparql-results+json")
        };
    let mut truncated = false;
    let (body, content_type) = match results {
        QueryResults::Boolean(b) => (
            QueryResultsSerializer::from_format(format)
                .serialize_boolean_to_writer(Vec::new(), b)
                .map_err(io)?,
            content_type,
        ),
        QueryResults::Solutions(solutions) => {
            let vars = solutions.variables().to_vec();
            let mut w = QueryResultsSerializer::from_format(format)
                .serialize_solutions_to_writer(Vec::new(), vars)
                .map_err(io)?;
            for (i, s) in solutions.enumerate() {
                if i == limit {
                    truncated = true;
                    break;
                }
                w.serialize(&s?).map_err(io)?;
            }
            (w.finish().map_err(io)?, content_type)
        }
        QueryResults::Graph(triples) => {
            let (rdf, ct) = if has("text/turtle") {
                (RdfFormat::Turtle, "text/turtle; charset=utf-8")
            } else if has("application/rdf+xml") {
                (RdfFormat::RdfXml, "application/rdf+xml")
            } else {
                (RdfFormat::NTriples, "application/n-triples")
            };
            let mut w = RdfSerializer::from_format(rdf).for_writer(Vec::new());
            for (i, t) in triples.enumerate() {
                if i == limit {
                    truncated = true;
                    break;
                }
                w.serialize_triple(&t?).map_err(io)?;
            }
            (w.finish().map_err(io)?, ct)
        }
    };
    Ok(Answer {
        status: 200,
        content_type,
        body,
        headers: if truncated {
            vec![("X-SPARQL-MaxRows", limit.to_string())]
        } else {
            Vec::new()
        },
    })
}

/// Decodes `application/x-www-form-urlencoded` pairs.
fn form_decode(s: &str) -> Vec<(String, String)> {
    let decode = |v: &str| super::decode(&v.replace('+', " "));
    s.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn param(params: &[(String, String)], name: &str) -> Option<String> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
}

impl Endpoint {
    /// Rows of a query's results as text (variables, then up to `limit` rows; a boolean is one
    /// row; a graph gives subject, predicate, object), or the error message.
    pub(super) fn table(&self, query: &str) -> std::result::Result<Table, String> {
        let limit = self.opts.limit;
        let text = |t: Option<&Term>| t.map(Term::to_string).unwrap_or_default();
        self.evaluate(query, move |results| {
            Ok(match results {
                QueryResults::Boolean(b) => (vec!["result".into()], vec![vec![b.to_string()]]),
                QueryResults::Solutions(solutions) => {
                    let vars = solutions.variables().to_vec();
                    let mut rows = Vec::new();
                    for s in solutions.take(limit) {
                        let s = s?;
                        rows.push(vars.iter().map(|v| text(s.get(v))).collect());
                    }
                    (vars.iter().map(|v| v.as_str().to_string()).collect(), rows)
                }
                QueryResults::Graph(triples) => {
                    let mut rows = Vec::new();
                    for t in triples.take(limit) {
                        let t = t?;
                        rows.push(vec![
                            t.subject.to_string(),
                            t.predicate.to_string(),
                            t.object.to_string(),
                        ]);
                    }
                    (
                        vec!["subject".into(), "predicate".into(), "object".into()],
                        rows,
                    )
                }
            })
        })
        .map_err(|a| String::from_utf8_lossy(&a.body).trim().to_string())
    }
}
