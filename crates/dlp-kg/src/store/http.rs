//! The endpoint's HTTP/1.1 server: a thread per connection (at most `max_connections` at once;
//! the next is accepted when one closes), kept-alive connections, `TCP_NODELAY`,
//! `Content-Length` and chunked request bodies, `Expect: 100-continue`, and limits on what a
//! client sends: the request line (414), the header block (431) and the body (413, refused
//! unread, the connection then closed). An idle kept-alive connection is closed after a minute.
//!
//! It replaces tiny_http, whose connection pool could leave a new connection's handler queued
//! behind kept-alive connections when connections arrived in a burst (a worker notified for one
//! task while a second was queued, no thread added for it): that request then waited until
//! another client hung up, the stall a load test saw on a freshly started server.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// A request as the handler sees it: the body is read whole (within the limit).
pub struct Request {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    /// The value of header `name` (case-insensitive), or "".
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map_or("", |(_, v)| v.as_str())
    }
}

/// A response: the server adds `Content-Length` and `Connection`.
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// What a client may send, in bytes.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub url: usize,
    pub headers: usize,
    pub body: usize,
}

type Handler = dyn Fn(&Request) -> Response + Send + Sync;

/// Serves `listener` until the process ends.
pub fn serve(listener: TcpListener, max_connections: usize, limits: Limits, handler: Arc<Handler>) {
    let open = Arc::new((Mutex::new(0usize), Condvar::new()));
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        {
            let (count, freed) = &*open;
            let mut n = count.lock().unwrap_or_else(|e| e.into_inner());
            while *n >= max_connections.max(1) {
                n = freed.wait(n).unwrap_or_else(|e| e.into_inner());
            }
            *n += 1;
        }
        let (mine, handler) = (Arc::clone(&open), Arc::clone(&handler));
        let spawned = std::thread::Builder::new().spawn(move || {
            let _ = connection(stream, limits, &*handler);
            let (count, freed) = &*mine;
            *count.lock().unwrap_or_else(|e| e.into_inner()) -= 1;
            freed.notify_one();
        });
        if spawned.is_err() {
            // No thread for it: the stream was dropped (closed) with the closure.
            let (count, _) = &*open;
            *count.lock().unwrap_or_else(|e| e.into_inner()) -= 1;
        }
    }
}

/// A line of at most `max` bytes without its CR LF: `Ok(None)` at the end of the stream,
/// `Err` of kind `InvalidData` when longer.
fn read_line(r: &mut impl BufRead, max: usize) -> io::Result<Option<Vec<u8>>> {
    let mut line = Vec::new();
    loop {
        let buf = r.fill_buf()?;
        if buf.is_empty() {
            return if line.is_empty() {
                Ok(None)
            } else {
                Err(io::ErrorKind::UnexpectedEof.into())
            };
        }
        let (chunk, done) = match buf.iter().position(|&b| b == b'\n') {
            Some(i) => (&buf[..=i], true),
            None => (buf, false),
        };
        let n = chunk.len();
        line.extend_from_slice(chunk);
        r.consume(n);
        if line.len() > max + 2 {
            return Err(io::ErrorKind::InvalidData.into());
        }
        if done {
            while matches!(line.last(), Some(b'\n' | b'\r')) {
                line.pop();
            }
            return Ok(Some(line));
        }
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        413 => "Content Too Large",
        414 => "URI Too Long",
        415 => "Unsupported Media Type",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "",
    }
}

fn write_response(
    w: &mut impl Write,
    r: &Response,
    keep_alive: bool,
    head: bool,
) -> io::Result<()> {
    let mut out = format!("HTTP/1.1 {} {}\r\n", r.status, reason(r.status));
    for (k, v) in &r.headers {
        out += &format!("{k}: {v}\r\n");
    }
    let connection = if keep_alive { "keep-alive" } else { "close" };
    out += &format!(
        "Content-Length: {}\r\nConnection: {connection}\r\n\r\n",
        r.body.len()
    );
    let mut bytes = out.into_bytes();
    if !head {
        bytes.extend_from_slice(&r.body);
    }
    w.write_all(&bytes)?;
    w.flush()
}

fn refuse(w: &mut impl Write, status: u16, msg: &str) -> io::Result<()> {
    let r = Response {
        status,
        headers: vec![("Content-Type".into(), "text/plain; charset=utf-8".into())],
        body: format!("{msg}\n").into_bytes(),
    };
    write_response(w, &r, false, false)
}

/// Serves the requests of one connection until it closes or asks to.
fn connection(stream: TcpStream, limits: Limits, handler: &Handler) -> io::Result<()> {
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    let mut w = stream.try_clone()?;
    let mut r = BufReader::new(stream);
    loop {
        let line = match read_line(&mut r, limits.url + 32) {
            Ok(Some(l)) if l.is_empty() => continue,
            Ok(Some(l)) => l,
            Ok(None) => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::InvalidData => {
                let msg = format!("the URL is longer than {} bytes", limits.url);
                return refuse(&mut w, 414, &msg);
            }
            Err(e) => return Err(e),
        };
        let line = String::from_utf8_lossy(&line).into_owned();
        let mut parts = line.split(' ');
        let (Some(method), Some(url), Some(version)) = (parts.next(), parts.next(), parts.next())
        else {
            return refuse(&mut w, 400, "not an HTTP request line");
        };
        if url.len() > limits.url {
            let msg = format!("the URL is longer than {} bytes", limits.url);
            return refuse(&mut w, 414, &msg);
        }
        let mut headers = Vec::new();
        let mut size = 0;
        let too_large = |w: &mut TcpStream| {
            let msg = format!("the headers are longer than {} bytes", limits.headers);
            refuse(w, 431, &msg)
        };
        loop {
            let h = match read_line(&mut r, limits.headers.saturating_sub(size)) {
                Ok(Some(h)) => h,
                Ok(None) => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::InvalidData => return too_large(&mut w),
                Err(e) => return Err(e),
            };
            if h.is_empty() {
                break;
            }
            size += h.len() + 2;
            if size > limits.headers {
                return too_large(&mut w);
            }
            let h = String::from_utf8_lossy(&h);
            if let Some((k, v)) = h.split_once(':') {
                headers.push((k.trim().to_string(), v.trim().to_string()));
            }
        }
        let mut request = Request {
            method: method.to_string(),
            url: url.to_string(),
            headers,
            body: Vec::new(),
        };
        let connection = request.header("Connection").to_ascii_lowercase();
        let keep_alive = if version == "HTTP/1.0" {
            connection.contains("keep-alive")
        } else {
            !connection.contains("close")
        };
        let too_big = |w: &mut TcpStream| {
            let msg = format!("the request body is larger than {} bytes", limits.body);
            refuse(w, 413, &msg)
        };
        let chunked = request
            .header("Transfer-Encoding")
            .to_ascii_lowercase()
            .contains("chunked");
        let length: usize = match request.header("Content-Length") {
            "" => 0,
            v => match v.parse() {
                Ok(n) => n,
                Err(_) => return refuse(&mut w, 400, "a bad Content-Length"),
            },
        };
        if length > limits.body {
            return too_big(&mut w);
        }
        if (chunked || length > 0)
            && request
                .header("Expect")
                .eq_ignore_ascii_case("100-continue")
        {
            w.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
        }
        if chunked {
            loop {
                let Some(size_line) = read_line(&mut r, 64)? else {
                    return Ok(());
                };
                let size_text = String::from_utf8_lossy(&size_line);
                let hex = size_text.split(';').next().unwrap_or("").trim();
                let Ok(n) = usize::from_str_radix(hex, 16) else {
                    return refuse(&mut w, 400, "a bad chunk size");
                };
                if n == 0 {
                    while read_line(&mut r, limits.headers)?.is_some_and(|l| !l.is_empty()) {}
                    break;
                }
                if n > limits.body.saturating_sub(request.body.len()) {
                    return too_big(&mut w);
                }
                let start = request.body.len();
                request.body.resize(start + n, 0);
                r.read_exact(&mut request.body[start..])?;
                read_line(&mut r, 2)?;
            }
        } else if length > 0 {
            request.body.resize(length, 0);
            r.read_exact(&mut request.body)?;
        }
        let response = handler(&request);
        write_response(&mut w, &response, keep_alive, request.method == "HEAD")?;
        if !keep_alive {
            return Ok(());
        }
    }
}
