//! A small, deliberately dumb HTTP/1.1 server for hostile-registry tests.
//!
//! It binds 127.0.0.1 on a random port, reads each request head, asks a
//! handler for a [`Reply`] and writes it out: a fixed body, a chunked body, a
//! body delimited by closing the connection, an endless body, a trickle, a
//! stall after the head, or no answer at all. Every request that parses is
//! recorded so tests can count retries and inspect headers; anything that is
//! not an HTTP/1.x request head (a TLS ClientHello from the client's https
//! probe, say) is counted as garbage and the connection is closed.
//!
//! Nothing here can run away: heads, request bodies, endless bodies and
//! every wait are capped, and dropping the [`FakeServer`] aborts the accept
//! loop together with every connection task.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::Instant;

/// Largest request head accepted.
const MAX_HEAD: usize = 64 << 10;
/// Largest request body accepted.
const MAX_REQUEST_BODY: usize = 1 << 20;
/// An endless body stops after this many bytes whatever the client does.
pub const ENDLESS_SIZE_CAP: u64 = 256 << 20;
/// Nothing (an endless body, a stall, an idle connection) lasts longer.
pub const TIME_CAP: Duration = Duration::from_secs(15);
const BLOCK: usize = 64 << 10;

/// One parsed request.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    /// The request target as sent: path and query.
    pub target: String,
    /// The path without the query.
    pub path: String,
    pub query: Option<String>,
    /// Header names lower-cased, in the order received.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// How many requests with the same method and path came before this one.
    pub nth: usize,
    /// The server's own address, for building absolute URLs.
    pub server: SocketAddr,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// A query parameter, percent- and plus-decoded.
    pub fn query_param(&self, name: &str) -> Option<String> {
        form_param(self.query.as_deref()?, name)
    }
}

/// A parameter of an `application/x-www-form-urlencoded` string.
pub fn form_param(form: &str, name: &str) -> Option<String> {
    reqwest::Url::parse(&format!("x:/?{form}"))
        .ok()?
        .query_pairs()
        .find_map(|(k, v)| (k == name).then(|| v.into_owned()))
}

/// How an endless body is framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// `Transfer-Encoding: chunked`, chunks forever.
    Chunked,
    /// No length: the body would end when the connection closes.
    UntilClose,
    /// A `Content-Length` header with this (usually absurd) value.
    Length(u64),
}

/// What follows the status line and headers.
#[derive(Debug, Clone)]
pub enum Body {
    /// With `Content-Length`; the connection stays open for the next request.
    Fixed(Vec<u8>),
    /// `Transfer-Encoding: chunked`, 64 KiB chunks; the connection stays open.
    Chunked(Vec<u8>),
    /// No length; the connection is closed after the bytes.
    UntilClose(Vec<u8>),
    /// Bytes until the client hangs up, [`ENDLESS_SIZE_CAP`] or [`TIME_CAP`].
    Endless(Framing),
    /// `data` one byte at a time (chunked), one byte per `every`.
    Trickle { data: Vec<u8>, every: Duration },
    /// `prefix` (under a `Content-Length` of `content_length`), then nothing
    /// until the client hangs up or [`TIME_CAP`].
    Stall {
        content_length: u64,
        prefix: Vec<u8>,
    },
    /// Not even a status line: read the request and wait.
    HangBeforeHead,
}

/// A response the handler chooses.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Body,
}

impl Reply {
    pub fn new(status: u16) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: Body::Fixed(Vec::new()),
        }
    }

    /// 200 with a `Content-Type` and a fixed body.
    pub fn ok(content_type: &str, body: impl Into<Vec<u8>>) -> Reply {
        Reply::new(200)
            .header("Content-Type", content_type)
            .body(Body::Fixed(body.into()))
    }

    /// An error in the OCI distribution envelope.
    pub fn oci_error(status: u16, code: &str, message: &str) -> Reply {
        let body = serde_json::json!({"errors": [{"code": code, "message": message}]});
        Reply::new(status)
            .header("Content-Type", "application/json")
            .body(Body::Fixed(body.to_string().into_bytes()))
    }

    pub fn redirect(location: &str) -> Reply {
        Reply::new(302).header("Location", location)
    }

    pub fn header(mut self, name: &str, value: &str) -> Reply {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    pub fn body(mut self, body: Body) -> Reply {
        self.body = body;
        self
    }
}

/// Why an endless body stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// A write failed: the client closed the connection.
    ClientGone,
    SizeCap,
    TimeCap,
}

/// How an endless body ended.
#[derive(Debug, Clone, Copy)]
pub struct EndlessOutcome {
    /// Body bytes written (the kernel may have dropped the tail).
    pub sent: u64,
    pub stop: Stop,
    pub elapsed: Duration,
}

#[derive(Debug, Default)]
struct Shared {
    requests: Mutex<Vec<Request>>,
    garbage: AtomicUsize,
    endless: Mutex<Vec<EndlessOutcome>>,
}

impl Shared {
    fn lock_requests(&self) -> std::sync::MutexGuard<'_, Vec<Request>> {
        self.requests
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn lock_endless(&self) -> std::sync::MutexGuard<'_, Vec<EndlessOutcome>> {
        self.endless
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

type Handler = Arc<dyn Fn(&Request) -> Reply + Send + Sync>;

/// A running fake server; stops when dropped.
#[derive(Debug)]
pub struct FakeServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        // Aborting the accept loop drops its JoinSet, which aborts every
        // connection task with it.
        self.task.abort();
    }
}

impl FakeServer {
    /// Bind 127.0.0.1 on a random port and serve `handler`.
    pub async fn start(
        handler: impl Fn(&Request) -> Reply + Send + Sync + 'static,
    ) -> std::io::Result<FakeServer> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::default());
        let handler: Handler = Arc::new(handler);
        let task = tokio::spawn(accept_loop(listener, Arc::clone(&shared), handler));
        Ok(FakeServer { addr, shared, task })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// `127.0.0.1:PORT`, the registry part of an image reference.
    pub fn host(&self) -> String {
        self.addr.to_string()
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request that parsed, in arrival order.
    pub fn requests(&self) -> Vec<Request> {
        self.shared.lock_requests().clone()
    }

    /// Requests with this method and exact path (query ignored).
    pub fn count(&self, method: &str, path: &str) -> usize {
        self.shared
            .lock_requests()
            .iter()
            .filter(|r| r.method == method && r.path == path)
            .count()
    }

    /// Requests whose path starts with `prefix`.
    pub fn count_prefix(&self, prefix: &str) -> usize {
        self.shared
            .lock_requests()
            .iter()
            .filter(|r| r.path.starts_with(prefix))
            .count()
    }

    /// Connections closed because they did not start with an HTTP/1.x head.
    pub fn garbage(&self) -> usize {
        self.shared.garbage.load(Ordering::SeqCst)
    }

    /// Wait (at most `within`) until `n` endless bodies have stopped, and
    /// return how every finished one ended.
    pub async fn endless_outcomes(&self, n: usize, within: Duration) -> Vec<EndlessOutcome> {
        let deadline = Instant::now() + within;
        loop {
            let done = self.shared.lock_endless().clone();
            if done.len() >= n || Instant::now() >= deadline {
                return done;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>, handler: Handler) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                if let Ok((socket, _)) = accepted {
                    let addr = listener.local_addr().unwrap_or_else(|_| ([127, 0, 0, 1], 0).into());
                    connections.spawn(serve_connection(
                        socket,
                        addr,
                        Arc::clone(&shared),
                        Arc::clone(&handler),
                    ));
                }
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

async fn serve_connection(
    mut socket: TcpStream,
    server: SocketAddr,
    shared: Arc<Shared>,
    handler: Handler,
) {
    let _ = socket.set_nodelay(true);
    let mut buf = Vec::new();
    loop {
        let request = match read_request(&mut socket, &mut buf, server).await {
            Ok(Some(r)) => r,
            Ok(None) => return,
            Err(Garbage) => {
                shared.garbage.fetch_add(1, Ordering::SeqCst);
                return;
            }
        };
        let request = {
            let mut all = shared.lock_requests();
            let nth = all
                .iter()
                .filter(|r| r.method == request.method && r.path == request.path)
                .count();
            let request = Request { nth, ..request };
            all.push(request.clone());
            request
        };
        let reply = handler(&request);
        let head_only = request.method == "HEAD";
        if !write_reply(&mut socket, reply, head_only, &shared).await {
            return;
        }
    }
}

struct Garbage;

/// The next request on the connection; `Ok(None)` when the client closed
/// (or idled past [`TIME_CAP`]) between requests.
async fn read_request(
    socket: &mut TcpStream,
    buf: &mut Vec<u8>,
    server: SocketAddr,
) -> Result<Option<Request>, Garbage> {
    let deadline = Instant::now() + TIME_CAP;
    let head_end = loop {
        // A head starts with a method token; a TLS ClientHello starts 0x16.
        if buf.first().is_some_and(|b| !b.is_ascii_uppercase()) {
            return Err(Garbage);
        }
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        if buf.len() > MAX_HEAD {
            return Err(Garbage);
        }
        match read_some(socket, buf, deadline).await {
            Some(0) | None if buf.is_empty() => return Ok(None),
            Some(0) | None => return Err(Garbage),
            Some(_) => {}
        }
    };
    let head = std::str::from_utf8(&buf[..head_end]).map_err(|_| Garbage)?;
    let mut lines = head.split("\r\n");
    let mut parts = lines.next().ok_or(Garbage)?.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Garbage);
    };
    if method.is_empty()
        || !method.bytes().all(|b| b.is_ascii_uppercase())
        || !target.starts_with('/')
        || !version.starts_with("HTTP/1.")
    {
        return Err(Garbage);
    }
    let mut headers = Vec::new();
    for line in lines {
        let (name, value) = line.split_once(':').ok_or(Garbage)?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
    }
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p.to_owned(), Some(q.to_owned())),
        None => (target.to_owned(), None),
    };
    let mut request = Request {
        method: method.to_owned(),
        target: target.to_owned(),
        path,
        query,
        headers,
        body: Vec::new(),
        nth: 0,
        server,
    };
    if request.header("transfer-encoding").is_some() {
        return Err(Garbage); // not needed by the client under test
    }
    let body_len = match request.header("content-length") {
        Some(v) => v.parse::<usize>().map_err(|_| Garbage)?,
        None => 0,
    };
    if body_len > MAX_REQUEST_BODY {
        return Err(Garbage);
    }
    let body_start = head_end + 4;
    while buf.len() < body_start + body_len {
        match read_some(socket, buf, deadline).await {
            Some(0) | None => return Err(Garbage),
            Some(_) => {}
        }
    }
    request.body = buf[body_start..body_start + body_len].to_vec();
    buf.drain(..body_start + body_len);
    Ok(Some(request))
}

/// Read what is available into `buf`; `None` on error or past `deadline`.
async fn read_some(socket: &mut TcpStream, buf: &mut Vec<u8>, deadline: Instant) -> Option<usize> {
    let mut chunk = [0u8; 4096];
    match tokio::time::timeout_at(deadline, socket.read(&mut chunk)).await {
        Ok(Ok(n)) => {
            buf.extend_from_slice(&chunk[..n]);
            Some(n)
        }
        _ => None,
    }
}

/// Write within the time cap; false when the client is gone or too slow.
async fn write(socket: &mut TcpStream, bytes: &[u8], deadline: Instant) -> bool {
    matches!(
        tokio::time::timeout_at(deadline, socket.write_all(bytes)).await,
        Ok(Ok(()))
    )
}

/// Wait until the client closes the connection or [`TIME_CAP`] passes.
async fn wait_for_hangup(socket: &mut TcpStream) {
    let deadline = Instant::now() + TIME_CAP;
    let mut sink = [0u8; 1024];
    loop {
        match tokio::time::timeout_at(deadline, socket.read(&mut sink)).await {
            Ok(Ok(n)) if n > 0 => continue,
            _ => return,
        }
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        301 => "Moved Permanently",
        302 => "Found",
        307 => "Temporary Redirect",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Whatever",
    }
}

/// Write a reply; true when the connection may serve another request.
async fn write_reply(
    socket: &mut TcpStream,
    reply: Reply,
    head_only: bool,
    shared: &Shared,
) -> bool {
    let deadline = Instant::now() + TIME_CAP;
    let mut head = format!("HTTP/1.1 {} {}\r\n", reply.status, reason(reply.status));
    for (name, value) in &reply.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    let mut keep_alive = !reply
        .headers
        .iter()
        .any(|(n, v)| n.eq_ignore_ascii_case("connection") && v.eq_ignore_ascii_case("close"));
    match reply.body {
        Body::Fixed(bytes) => {
            head.push_str(&format!("Content-Length: {}\r\n\r\n", bytes.len()));
            if !write(socket, head.as_bytes(), deadline).await {
                return false;
            }
            if !head_only && !write(socket, &bytes, deadline).await {
                return false;
            }
        }
        Body::Chunked(bytes) => {
            head.push_str("Transfer-Encoding: chunked\r\n\r\n");
            if !write(socket, head.as_bytes(), deadline).await {
                return false;
            }
            for chunk in bytes.chunks(BLOCK) {
                if !write(socket, &chunk_frame(chunk), deadline).await {
                    return false;
                }
            }
            if !write(socket, b"0\r\n\r\n", deadline).await {
                return false;
            }
        }
        Body::UntilClose(bytes) => {
            head.push_str("Connection: close\r\n\r\n");
            let _ = write(socket, head.as_bytes(), deadline).await
                && write(socket, &bytes, deadline).await;
            let _ = socket.shutdown().await;
            keep_alive = false;
        }
        Body::Endless(framing) => {
            match framing {
                Framing::Chunked => head.push_str("Transfer-Encoding: chunked\r\n\r\n"),
                Framing::UntilClose => head.push_str("Connection: close\r\n\r\n"),
                Framing::Length(n) => head.push_str(&format!("Content-Length: {n}\r\n\r\n")),
            }
            let started = Instant::now();
            let mut sent = 0u64;
            let stop = if !write(socket, head.as_bytes(), deadline).await {
                Stop::ClientGone
            } else {
                let block = vec![b'a'; BLOCK];
                let framed = match framing {
                    Framing::Chunked => chunk_frame(&block),
                    _ => block,
                };
                loop {
                    if sent >= ENDLESS_SIZE_CAP {
                        break Stop::SizeCap;
                    }
                    if Instant::now() >= deadline {
                        break Stop::TimeCap;
                    }
                    if !write(socket, &framed, deadline).await {
                        break if Instant::now() >= deadline {
                            Stop::TimeCap
                        } else {
                            Stop::ClientGone
                        };
                    }
                    sent += BLOCK as u64;
                }
            };
            shared.lock_endless().push(EndlessOutcome {
                sent,
                stop,
                elapsed: started.elapsed(),
            });
            keep_alive = false;
        }
        Body::Trickle { data, every } => {
            head.push_str("Transfer-Encoding: chunked\r\n\r\n");
            if !write(socket, head.as_bytes(), deadline).await {
                return false;
            }
            for byte in data {
                if Instant::now() >= deadline
                    || !write(socket, &chunk_frame(&[byte]), deadline).await
                {
                    return false;
                }
                tokio::time::sleep(every).await;
            }
            if !write(socket, b"0\r\n\r\n", deadline).await {
                return false;
            }
        }
        Body::Stall {
            content_length,
            prefix,
        } => {
            head.push_str(&format!("Content-Length: {content_length}\r\n\r\n"));
            if write(socket, head.as_bytes(), deadline).await
                && write(socket, &prefix, deadline).await
            {
                wait_for_hangup(socket).await;
            }
            keep_alive = false;
        }
        Body::HangBeforeHead => {
            wait_for_hangup(socket).await;
            keep_alive = false;
        }
    }
    keep_alive
}

fn chunk_frame(data: &[u8]) -> Vec<u8> {
    let mut out = format!("{:x}\r\n", data.len()).into_bytes();
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
    out
}
