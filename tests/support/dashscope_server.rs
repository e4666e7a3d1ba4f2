//! A stand-in for Alibaba Cloud Model Studio (DashScope) on loopback: the asynchronous
//! video-synthesis task API as Alibaba publishes it (create a task, query it, list tasks,
//! cancel it), result files behind signed-looking links with HTTP Range support, and switches
//! ([`Faults`]) that make it fail the ways the real service and the network can.
//!
//! Invariants: it checks requests the way DashScope does (key, async header, model, size,
//! duration, seed) and answers with DashScope's shapes and codes; a prompt over a model's limit
//! is cut silently, as DashScope does, and the cut is recorded so that tests can prove nobody
//! relied on it; every request is recorded (time, method, path, query, headers, status) before
//! it is answered, so even a request whose answer never leaves is counted.
//!
//! Self-contained: it depends only on axum, tokio, futures-util, serde_json and uuid, runs its
//! own runtime on its own thread, and stops when dropped.

#![allow(dead_code)] // each test file uses the parts it needs
#![allow(clippy::unwrap_used)] // a test server: a poisoned lock is a failed test

use std::collections::{HashMap, HashSet, VecDeque};
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::connect_info::Connected;
use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::serve::{IncomingStream, Listener};
use serde_json::{Value, json};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Where tasks are created.
pub const CREATE_PATH: &str = "/api/v1/services/aigc/video-generation/video-synthesis";
/// Where tasks are listed (and, with an id, queried).
pub const TASKS_PATH: &str = "/api/v1/tasks";
/// The signature put into result links: a secret of the storage service that previs must never
/// write anywhere.
pub const LINK_SIGNATURE: &str = "oss-sig-Zq9xV2mW7kT4";

const SIZES_480: &[&str] = &["832*480", "480*832", "624*624"];
const SIZES_720: &[&str] = &["1280*720", "720*1280", "960*960", "1088*832", "832*1088"];
const SIZES_1080: &[&str] = &[
    "1920*1080",
    "1080*1920",
    "1440*1440",
    "1632*1248",
    "1248*1632",
];

/// Clip lengths a model renders.
#[derive(Debug, Clone, Copy)]
enum Lengths {
    /// Always this long; DashScope takes no `duration` for it.
    Fixed(u64),
    Range(u64, u64),
    OneOf(&'static [u64]),
}

/// One text-to-video model as the protocol brief's matrix describes it.
#[derive(Debug)]
struct Model {
    names: &'static [&'static str],
    tiers: &'static [(u32, &'static [&'static str])],
    lengths: Lengths,
    prompt_max: usize,
    /// wan2.6 reports `usage.duration`; older models `usage.video_duration`.
    new_usage: bool,
}

static MODELS: &[Model] = &[
    Model {
        names: &["wan2.6-t2v"],
        tiers: &[(720, SIZES_720), (1080, SIZES_1080)],
        lengths: Lengths::Range(2, 15),
        prompt_max: 1500,
        new_usage: true,
    },
    Model {
        names: &["wan2.6-t2v-us"],
        tiers: &[(720, SIZES_720), (1080, SIZES_1080)],
        lengths: Lengths::OneOf(&[5, 10]),
        prompt_max: 1500,
        new_usage: true,
    },
    Model {
        names: &["wan2.5-t2v-preview"],
        tiers: &[(480, SIZES_480), (720, SIZES_720), (1080, SIZES_1080)],
        lengths: Lengths::OneOf(&[5, 10]),
        prompt_max: 1500,
        new_usage: false,
    },
    Model {
        names: &["wan2.2-t2v-plus"],
        tiers: &[(480, SIZES_480), (1080, SIZES_1080)],
        lengths: Lengths::Fixed(5),
        prompt_max: 800,
        new_usage: false,
    },
    Model {
        names: &["wanx2.1-t2v-turbo", "wan2.1-t2v-turbo"],
        tiers: &[(480, SIZES_480), (720, SIZES_720)],
        lengths: Lengths::Fixed(5),
        prompt_max: 800,
        new_usage: false,
    },
    Model {
        names: &["wanx2.1-t2v-plus", "wan2.1-t2v-plus"],
        tiers: &[(720, SIZES_720)],
        lengths: Lengths::Fixed(5),
        prompt_max: 800,
        new_usage: false,
    },
];

const NEGATIVE_MAX: usize = 500;
const MAX_SEED: u64 = 2_147_483_647;

/// How a download is cut short.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CutKind {
    /// The connection is reset (RST) after the bytes.
    Reset,
    /// The body stops after the bytes, short of its announced length, and the connection closes.
    Truncate,
}

/// A download cut after `at` bytes of the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cut {
    pub at: usize,
    pub kind: CutKind,
}

/// Ways to misbehave. Counters are used up one request at a time; flags hold until cleared.
#[derive(Debug, Clone)]
pub struct Faults {
    /// Status queries a new task answers PENDING before it runs.
    pub pending_polls: u32,
    /// Status queries it then answers RUNNING before it ends.
    pub running_polls: u32,
    /// Tasks stay RUNNING while this is set.
    pub hold: bool,
    /// The next creations answer 429 `Throttling.RateQuota` with `Retry-After: retry_after_s`.
    pub throttle: u32,
    pub retry_after_s: u64,
    /// The next creations answer 500 `InternalError` (nothing is created).
    pub server_errors: u32,
    /// The next status queries answer 503 `ServiceUnavailable`.
    pub query_errors: u32,
    /// The next status queries answer 200 with a body that is not JSON.
    pub query_garbage: u32,
    /// The next creations create the task and answer 200 with a body that is not JSON.
    pub create_garbage: u32,
    /// The next creations create the task, then reset the connection without answering.
    pub drop_after_create: u32,
    /// Creations create the task and answer only after this long.
    pub create_delay: Option<Duration>,
    /// Creations create the task and never answer.
    pub create_hang: bool,
    /// A prompt containing this is refused at creation (400 `DataInspectionFailed`).
    pub moderate_input: Option<String>,
    /// Tasks end FAILED with this code and message instead of succeeding.
    pub fail_tasks: Option<(String, String)>,
    /// Every task id is unknown (expired): queries answer UNKNOWN.
    pub forget: bool,
    /// Result links answer this status with OSS's error XML (403: expired, 404: deleted).
    pub expired: Option<u16>,
    /// The next downloads are cut short.
    pub cuts: VecDeque<Cut>,
    /// Downloads send this many bytes, then wait this long, and so on.
    pub trickle: Option<(usize, Duration)>,
    /// Error messages repeat the key of the request they answer (a careless server): a bad
    /// key's refusal, throttling, server errors.
    pub echo_key: bool,
}

impl Default for Faults {
    fn default() -> Self {
        Self {
            pending_polls: 1,
            running_polls: 1,
            hold: false,
            throttle: 0,
            retry_after_s: 1,
            server_errors: 0,
            query_errors: 0,
            query_garbage: 0,
            create_garbage: 0,
            drop_after_create: 0,
            create_delay: None,
            create_hang: false,
            moderate_input: None,
            fail_tasks: None,
            forget: false,
            expired: None,
            cuts: VecDeque::new(),
            trickle: None,
            echo_key: false,
        }
    }
}

/// One request as it arrived.
#[derive(Debug, Clone)]
pub struct Seen {
    pub at: Instant,
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    /// Names in lower case.
    pub headers: Vec<(String, String)>,
    /// The body, when it is JSON.
    pub body: Option<Value>,
    /// The status answered; `None` while (or if never) answered.
    pub status: Option<u16>,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn is_create(&self) -> bool {
        self.method == "POST" && self.path == CREATE_PATH
    }

    /// A status query of one task (not the list).
    pub fn is_query(&self) -> bool {
        self.method == "GET" && self.path.starts_with(&format!("{TASKS_PATH}/"))
    }

    pub fn is_file(&self) -> bool {
        self.method == "GET" && self.path.starts_with("/files/")
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Status {
    Pending,
    Running,
    Succeeded,
    Failed(String, String),
    Canceled,
}

impl Status {
    fn name(&self) -> &'static str {
        match self {
            Self::Pending => "PENDING",
            Self::Running => "RUNNING",
            Self::Succeeded => "SUCCEEDED",
            Self::Failed(..) => "FAILED",
            Self::Canceled => "CANCELED",
        }
    }
}

/// A task as created.
#[derive(Debug, Clone)]
pub struct Task {
    pub id: String,
    pub model: String,
    pub size: String,
    pub seconds: u64,
    /// The prompt as kept (after DashScope's silent cut).
    pub prompt: String,
    /// Characters of the prompt as sent.
    pub prompt_chars: usize,
    /// Whether the prompt or negative prompt was longer than the model takes.
    pub truncated: bool,
    pub negative: Option<String>,
    pub seed: Option<u64>,
    /// The whole request body.
    pub body: Value,
    /// Statuses answered to queries, in order.
    pub answered: Vec<&'static str>,
    status: Status,
    queries: u32,
    submit_time: String,
    new_usage: bool,
    sr: u32,
    outcome: Option<(String, String)>,
}

impl Task {
    /// `PENDING`, `RUNNING`, `SUCCEEDED`, `FAILED` or `CANCELED`.
    pub fn status(&self) -> &'static str {
        self.status.name()
    }
}

struct Shared {
    key: String,
    base: String,
    video: Vec<u8>,
    state: Mutex<Inner>,
    /// Connections to reset instead of answering.
    kills: Mutex<HashSet<SocketAddr>>,
}

#[derive(Default)]
struct Inner {
    faults: Faults,
    seen: Vec<Seen>,
    tasks: HashMap<String, Task>,
    order: Vec<String>,
}

impl Shared {
    fn kill(&self, peer: SocketAddr) {
        self.kills.lock().unwrap().insert(peer);
    }
}

/// A running stand-in. Dropping it stops it.
pub struct DashScopeDouble {
    base: String,
    shared: Arc<Shared>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl DashScopeDouble {
    /// Starts on 127.0.0.1 at a free port. `key` is the only API key it accepts; `video` is
    /// the MP4 every finished task links to.
    pub fn start(key: &str, video: Vec<u8>) -> Self {
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        std_listener.set_nonblocking(true).unwrap();
        let addr = std_listener.local_addr().unwrap();
        let base = format!("http://{addr}");
        let shared = Arc::new(Shared {
            key: key.to_string(),
            base: base.clone(),
            video,
            state: Mutex::new(Inner::default()),
            kills: Mutex::new(HashSet::new()),
        });
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let app = router(shared.clone());
        let kills = shared.clone();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = Killable {
                    inner: tokio::net::TcpListener::from_std(std_listener).unwrap(),
                    shared: kills,
                };
                let serve =
                    axum::serve(listener, app.into_make_service_with_connect_info::<Peer>());
                tokio::select! {
                    r = serve => r.unwrap(),
                    _ = stopped => {}
                }
            });
            // Handlers told never to answer are dropped here.
            rt.shutdown_background();
        });
        Self {
            base,
            shared,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:PORT`: what `base_url` should say.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// Changes the faults.
    pub fn faults(&self, f: impl FnOnce(&mut Faults)) {
        f(&mut self.shared.state.lock().unwrap().faults);
    }

    /// Every request so far, in order of arrival.
    pub fn requests(&self) -> Vec<Seen> {
        self.shared.state.lock().unwrap().seen.clone()
    }

    /// Tasks created so far, in order.
    pub fn tasks(&self) -> Vec<Task> {
        let inner = self.shared.state.lock().unwrap();
        inner
            .order
            .iter()
            .filter_map(|id| inner.tasks.get(id).cloned())
            .collect()
    }

    /// Tasks created so far (what an account would be billed for).
    pub fn creations(&self) -> usize {
        self.shared.state.lock().unwrap().order.len()
    }

    /// Create requests so far, whatever their answer.
    pub fn create_requests(&self) -> usize {
        self.requests().iter().filter(|s| s.is_create()).count()
    }

    /// Status queries of task `id` so far.
    pub fn queries_of(&self, id: &str) -> usize {
        let path = format!("{TASKS_PATH}/{id}");
        self.requests()
            .iter()
            .filter(|s| s.method == "GET" && s.path == path)
            .count()
    }

    pub fn file_requests(&self) -> Vec<Seen> {
        self.requests().into_iter().filter(Seen::is_file).collect()
    }

    /// The MP4 every finished task links to.
    pub fn video(&self) -> &[u8] {
        &self.shared.video
    }

    /// Most requests matching `which` that arrived within any one second.
    pub fn max_per_second(&self, which: impl Fn(&Seen) -> bool) -> usize {
        let mut at: Vec<Instant> = self
            .requests()
            .iter()
            .filter(|s| which(s))
            .map(|s| s.at)
            .collect();
        at.sort();
        let mut best = 0;
        let mut first = 0;
        for last in 0..at.len() {
            while at[last].duration_since(at[first]) >= Duration::from_secs(1) {
                first += 1;
            }
            best = best.max(last - first + 1);
        }
        best
    }

    /// Most task creations (any answer) within one second.
    pub fn max_creates_per_second(&self) -> usize {
        self.max_per_second(Seen::is_create)
    }

    /// Most status queries within one second.
    pub fn max_queries_per_second(&self) -> usize {
        self.max_per_second(Seen::is_query)
    }

    /// Waits up to `limit` for `cond`; whether it came true.
    pub fn wait_for(&self, limit: Duration, cond: impl Fn(&Self) -> bool) -> bool {
        let end = Instant::now() + limit;
        while Instant::now() < end {
            if cond(self) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        cond(self)
    }
}

impl Drop for DashScopeDouble {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Connections that can be reset from a handler.

/// The peer of a connection, for handlers that reset it.
#[derive(Debug, Clone, Copy)]
pub struct Peer(SocketAddr);

struct Killable {
    inner: tokio::net::TcpListener,
    shared: Arc<Shared>,
}

impl Listener for Killable {
    type Io = KillableStream;
    type Addr = Peer;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.inner.accept().await {
                Ok((stream, peer)) => {
                    let _ = stream.set_nodelay(true);
                    return (
                        KillableStream {
                            inner: stream,
                            peer,
                            shared: self.shared.clone(),
                        },
                        Peer(peer),
                    );
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(5)).await,
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.inner.local_addr().map(Peer)
    }
}

impl Connected<IncomingStream<'_, Killable>> for Peer {
    fn connect_info(stream: IncomingStream<'_, Killable>) -> Self {
        *stream.remote_addr()
    }
}

/// A TCP stream that fails every operation once its peer is marked killed, and resets (RST)
/// when it is then dropped.
struct KillableStream {
    inner: tokio::net::TcpStream,
    peer: SocketAddr,
    shared: Arc<Shared>,
}

impl KillableStream {
    fn killed(&self) -> bool {
        self.shared.kills.lock().unwrap().contains(&self.peer)
    }
}

fn reset() -> io::Error {
    io::Error::new(io::ErrorKind::ConnectionReset, "reset by the test server")
}

impl Drop for KillableStream {
    fn drop(&mut self) {
        if self.shared.kills.lock().unwrap().remove(&self.peer) {
            let _ = self.inner.set_zero_linger();
        }
    }
}

impl AsyncRead for KillableStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.killed() {
            return Poll::Ready(Err(reset()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for KillableStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.killed() {
            return Poll::Ready(Err(reset()));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.killed() {
            return Poll::Ready(Err(reset()));
        }
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.killed() {
            return Poll::Ready(Err(reset()));
        }
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

// ---------------------------------------------------------------------------------------------
// The API.

fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route(CREATE_PATH, post(create))
        .route(TASKS_PATH, get(list))
        .route(&format!("{TASKS_PATH}/{{id}}"), get(query))
        .route(&format!("{TASKS_PATH}/{{id}}/cancel"), post(cancel))
        .route("/files/{name}", get(file))
        .fallback(|| async {
            error(
                StatusCode::NOT_FOUND,
                "InvalidURL",
                "The requested URL does not exist.",
            )
        })
        .layer(axum::middleware::from_fn_with_state(shared.clone(), record))
        .with_state(shared)
}

/// Records the request before it is handled, and its status once answered.
async fn record(State(sh): State<Arc<Shared>>, req: Request, next: Next) -> Response {
    let at = Instant::now();
    let (parts, body) = req.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 1 << 20).await else {
        return error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "BadRequest.TooLarge",
            "The request body is too large.",
        );
    };
    let req = Request::from_parts(parts, Body::from(bytes.clone()));
    let seen = Seen {
        at,
        method: req.method().to_string(),
        path: req.uri().path().to_string(),
        query: req.uri().query().map(str::to_string),
        headers: req
            .headers()
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_ascii_lowercase(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body: serde_json::from_slice(&bytes).ok(),
        status: None,
    };
    let index = {
        let mut inner = sh.state.lock().unwrap();
        inner.seen.push(seen);
        inner.seen.len() - 1
    };
    let resp = next.run(req).await;
    sh.state.lock().unwrap().seen[index].status = Some(resp.status().as_u16());
    resp
}

fn request_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// DashScope's error body: `{code, message, request_id}`.
fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        axum::Json(json!({ "code": code, "message": message, "request_id": request_id() })),
    )
        .into_response()
}

/// `None` when the request carries the account's key; otherwise the 401 to answer.
fn unauthorized(sh: &Shared, headers: &HeaderMap) -> Option<Response> {
    let echo = sh.state.lock().unwrap().faults.echo_key;
    let given = headers
        .get(header::AUTHORIZATION)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    match given {
        None => Some(error(
            StatusCode::UNAUTHORIZED,
            "InvalidApiKey",
            "No API-key provided.",
        )),
        Some(v) if v == format!("Bearer {}", sh.key) => None,
        Some(v) => {
            let message = if echo {
                format!(
                    "Invalid API-key provided: {}",
                    v.trim_start_matches("Bearer ")
                )
            } else {
                "Invalid API-key provided.".to_string()
            };
            Some(error(StatusCode::UNAUTHORIZED, "InvalidApiKey", &message))
        }
    }
}

fn invalid(message: &str) -> Response {
    error(StatusCode::BAD_REQUEST, "InvalidParameter", message)
}

/// `YYYY-MM-DD HH:mm:ss.SSS` in Beijing time, as DashScope writes timestamps.
fn timestamp() -> String {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let secs = d.as_secs() + 8 * 3600;
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}.{:03}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        d.subsec_millis()
    )
}

fn find_model(name: &str) -> Option<&'static Model> {
    MODELS.iter().find(|m| m.names.contains(&name))
}

/// What a create request asks for, once checked.
struct Asked {
    model: &'static Model,
    size: String,
    sr: u32,
    seconds: u64,
    prompt: String,
    prompt_chars: usize,
    truncated: bool,
    negative: Option<String>,
    seed: Option<u64>,
}

/// A refusal of a create request: the status and DashScope's code and message.
struct Refusal {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl Refusal {
    fn new(status: StatusCode, code: &'static str, message: &str) -> Self {
        Self {
            status,
            code,
            message: message.to_string(),
        }
    }

    fn answer(&self) -> Response {
        error(self.status, self.code, &self.message)
    }
}

fn bad(message: &str) -> Refusal {
    Refusal::new(StatusCode::BAD_REQUEST, "InvalidParameter", message)
}

/// Checks a create body as DashScope does; the refusal to answer otherwise.
fn check_body(body: &Value) -> Result<Asked, Refusal> {
    if !body.is_object() {
        return Err(bad("The request body must be a JSON object."));
    }
    let name = match body.get("model").and_then(Value::as_str) {
        Some(m) if !m.trim().is_empty() => m,
        _ => {
            return Err(Refusal::new(
                StatusCode::BAD_REQUEST,
                "BadRequest.EmptyModel",
                "Required parameter \"model\" missing from request.",
            ));
        }
    };
    let model = find_model(name)
        .ok_or_else(|| Refusal::new(StatusCode::NOT_FOUND, "Model.NotExist", "Model not exist."))?;
    let Some(input) = body.get("input").filter(|v| v.is_object()) else {
        return Err(Refusal::new(
            StatusCode::BAD_REQUEST,
            "BadRequest.EmptyInput",
            "Required input parameter missing from request.",
        ));
    };
    let prompt = match input.get("prompt").and_then(Value::as_str) {
        Some(p) if !p.trim().is_empty() => p,
        _ => return Err(bad("Field required: input.prompt")),
    };
    let empty = json!({});
    let params = body.get("parameters").unwrap_or(&empty);
    if !params.is_object() {
        return Err(bad("parameters must be an object"));
    }
    let size = match params.get("size") {
        None => model.tiers.last().unwrap().1[0].to_string(),
        Some(Value::String(s)) => s.clone(),
        Some(_) => {
            return Err(bad("parameters.size must be a string like \"1280*720\""));
        }
    };
    let sr = model
        .tiers
        .iter()
        .find(|(_, sizes)| sizes.contains(&size.as_str()))
        .map(|(sr, _)| *sr)
        .ok_or_else(|| {
            let allowed: Vec<&str> = model
                .tiers
                .iter()
                .flat_map(|(_, s)| s.iter().copied())
                .collect();
            bad(&format!(
                "The size is not match the allowed size list: {}",
                allowed.join(", ")
            ))
        })?;
    let seconds = match (model.lengths, params.get("duration")) {
        (Lengths::Fixed(d), None) => d,
        (Lengths::Fixed(d), Some(v)) if v.as_u64() == Some(d) => d,
        (Lengths::Fixed(d), Some(_)) => {
            return Err(bad(&format!("duration of {name} is fixed at {d} s")));
        }
        (Lengths::Range(..) | Lengths::OneOf(_), None) => 5,
        (lengths, Some(v)) => {
            let Some(d) = v.as_u64() else {
                return Err(bad("parameters.duration must be an integer"));
            };
            let ok = match lengths {
                Lengths::Range(lo, hi) => (lo..=hi).contains(&d),
                Lengths::OneOf(set) => set.contains(&d),
                Lengths::Fixed(f) => d == f,
            };
            if !ok {
                return Err(bad(&format!("duration {d} is not supported by {name}")));
            }
            d
        }
    };
    let seed = match params.get("seed") {
        None => None,
        Some(v) => match v.as_u64() {
            Some(s) if s <= MAX_SEED => Some(s),
            _ => {
                return Err(bad("parameters.seed must be an integer in [0, 2147483647]"));
            }
        },
    };
    for flag in ["prompt_extend", "watermark"] {
        if params.get(flag).is_some_and(|v| !v.is_boolean()) {
            return Err(bad(&format!("parameters.{flag} must be a boolean")));
        }
    }
    // DashScope cuts what is too long, silently.
    let prompt_chars = prompt.chars().count();
    let mut truncated = prompt_chars > model.prompt_max;
    let kept: String = prompt.chars().take(model.prompt_max).collect();
    let negative = input
        .get("negative_prompt")
        .and_then(Value::as_str)
        .map(|n| {
            truncated |= n.chars().count() > NEGATIVE_MAX;
            n.chars().take(NEGATIVE_MAX).collect()
        });
    Ok(Asked {
        model,
        size,
        sr,
        seconds,
        prompt: kept,
        prompt_chars,
        truncated,
        negative,
        seed,
    })
}

/// What a create request does after its checks, by the faults of the moment.
enum AfterCreate {
    Answer,
    Garbage,
    Drop,
    Delay(Duration),
    Hang,
}

async fn create(
    State(sh): State<Arc<Shared>>,
    ConnectInfo(Peer(peer)): ConnectInfo<Peer>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(r) = unauthorized(&sh, &headers) {
        return r;
    }
    if headers
        .get("x-dashscope-async")
        .is_none_or(|v| v.as_bytes() != b"enable")
    {
        return error(
            StatusCode::FORBIDDEN,
            "AccessDenied",
            "current user api does not support synchronous calls",
        );
    }
    let json_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !json_type {
        return invalid("Content-Type must be application/json");
    }
    {
        let mut inner = sh.state.lock().unwrap();
        let f = &mut inner.faults;
        let echo = if f.echo_key {
            format!(" (request signed with {})", sh.key)
        } else {
            String::new()
        };
        if f.throttle > 0 {
            f.throttle -= 1;
            let after = f.retry_after_s.to_string();
            let mut r = error(
                StatusCode::TOO_MANY_REQUESTS,
                "Throttling.RateQuota",
                &format!("Requests rate limit exceeded, please try again later.{echo}"),
            );
            r.headers_mut()
                .insert(header::RETRY_AFTER, after.parse().unwrap());
            return r;
        }
        if f.server_errors > 0 {
            f.server_errors -= 1;
            return error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalError",
                &format!(
                    "An internal error has occured, please try again later or contact service support.{echo}"
                ),
            );
        }
    }
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return invalid("The request body is not valid JSON.");
    };
    let asked = match check_body(&body) {
        Ok(a) => a,
        Err(r) => return r.answer(),
    };
    let (id, after) = {
        let mut inner = sh.state.lock().unwrap();
        let f = &mut inner.faults;
        if f.moderate_input
            .as_ref()
            .is_some_and(|w| asked.prompt.contains(w.as_str()))
        {
            return error(
                StatusCode::BAD_REQUEST,
                "DataInspectionFailed",
                "Input data may contain inappropriate content.",
            );
        }
        let after = if f.create_hang {
            AfterCreate::Hang
        } else if f.drop_after_create > 0 {
            f.drop_after_create -= 1;
            AfterCreate::Drop
        } else if f.create_garbage > 0 {
            f.create_garbage -= 1;
            AfterCreate::Garbage
        } else if let Some(d) = f.create_delay {
            AfterCreate::Delay(d)
        } else {
            AfterCreate::Answer
        };
        let outcome = f.fail_tasks.clone();
        let id = uuid::Uuid::new_v4().to_string();
        let task = Task {
            id: id.clone(),
            model: body["model"].as_str().unwrap_or_default().to_string(),
            size: asked.size,
            seconds: asked.seconds,
            prompt: asked.prompt,
            prompt_chars: asked.prompt_chars,
            truncated: asked.truncated,
            negative: asked.negative,
            seed: asked.seed,
            body: body.clone(),
            answered: Vec::new(),
            status: Status::Pending,
            queries: 0,
            submit_time: timestamp(),
            new_usage: asked.model.new_usage,
            sr: asked.sr,
            outcome,
        };
        inner.tasks.insert(id.clone(), task);
        inner.order.push(id.clone());
        (id, after)
    };
    let answer = || {
        axum::Json(json!({
            "output": { "task_status": "PENDING", "task_id": id },
            "request_id": request_id(),
        }))
        .into_response()
    };
    match after {
        AfterCreate::Answer => answer(),
        AfterCreate::Garbage => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            "<html><body>upstream gateway</body></html>",
        )
            .into_response(),
        AfterCreate::Drop => {
            sh.kill(peer);
            answer()
        }
        AfterCreate::Delay(d) => {
            tokio::time::sleep(d).await;
            answer()
        }
        AfterCreate::Hang => {
            std::future::pending::<()>().await;
            answer()
        }
    }
}

/// Moves a task along by one query; what to answer.
fn advance(task: &mut Task, f: &Faults) -> Value {
    task.queries += 1;
    let n = task.queries;
    let live = matches!(task.status, Status::Pending | Status::Running);
    if live {
        task.status = if n <= f.pending_polls {
            Status::Pending
        } else if f.hold || n <= f.pending_polls + f.running_polls {
            Status::Running
        } else {
            match &task.outcome {
                Some((code, message)) => Status::Failed(code.clone(), message.clone()),
                None => Status::Succeeded,
            }
        };
    }
    task.answered.push(task.status.name());
    let mut output = json!({
        "task_id": task.id,
        "task_status": task.status.name(),
        "submit_time": task.submit_time,
    });
    if task.status != Status::Pending {
        output["scheduled_time"] = task.submit_time.clone().into();
    }
    let mut usage = None;
    match &task.status {
        Status::Succeeded => {
            output["end_time"] = timestamp().into();
            output["orig_prompt"] = task.prompt.clone().into();
            if task.body["parameters"]["prompt_extend"].as_bool() != Some(false) {
                output["actual_prompt"] = format!("{} Cinematic lighting.", task.prompt).into();
            }
            output["video_url"] = format!(
                "{{base}}/files/{}.mp4?Expires=4102444800&OSSAccessKeyId=LTAI5tStandIn&Signature={LINK_SIGNATURE}",
                task.id
            )
            .into();
            usage = Some(if task.new_usage {
                json!({
                    "duration": task.seconds as f64,
                    "size": task.size,
                    "input_video_duration": 0,
                    "output_video_duration": task.seconds,
                    "video_count": 1,
                    "SR": task.sr,
                })
            } else {
                json!({
                    "video_duration": task.seconds,
                    "video_ratio": task.size,
                    "video_count": 1,
                    "SR": task.sr,
                })
            });
        }
        Status::Failed(code, message) => {
            output["end_time"] = timestamp().into();
            output["code"] = code.clone().into();
            output["message"] = message.clone().into();
        }
        _ => {}
    }
    let mut v = json!({ "request_id": request_id(), "output": output });
    if let Some(u) = usage {
        v["usage"] = u;
    }
    v
}

async fn query(
    State(sh): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Some(r) = unauthorized(&sh, &headers) {
        return r;
    }
    let mut inner = sh.state.lock().unwrap();
    let Inner { faults, tasks, .. } = &mut *inner;
    if faults.query_errors > 0 {
        faults.query_errors -= 1;
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "ServiceUnavailable",
            "The service is temporarily unavailable.",
        );
    }
    if faults.query_garbage > 0 {
        faults.query_garbage -= 1;
        return (StatusCode::OK, "{\"output\": {\"task_status\": ").into_response();
    }
    let task = tasks.get_mut(&id).filter(|_| !faults.forget);
    let Some(task) = task else {
        return axum::Json(json!({
            "request_id": request_id(),
            "output": { "task_id": id, "task_status": "UNKNOWN" },
        }))
        .into_response();
    };
    let mut v = advance(task, faults);
    if let Some(url) = v["output"]["video_url"].as_str() {
        v["output"]["video_url"] = url.replace("{base}", &sh.base).into();
    }
    axum::Json(v).into_response()
}

async fn list(State(sh): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    if let Some(r) = unauthorized(&sh, &headers) {
        return r;
    }
    let inner = sh.state.lock().unwrap();
    let data: Vec<Value> = inner
        .order
        .iter()
        .rev()
        .filter_map(|id| inner.tasks.get(id))
        .map(|t| {
            json!({
                "task_id": t.id,
                "task_status": t.status.name(),
                "model_name": t.model,
                "gmt_create": t.submit_time,
            })
        })
        .collect();
    axum::Json(json!({
        "request_id": request_id(),
        "data": data,
        "total": inner.order.len(),
        "total_page": 1,
        "page_no": 1,
        "page_size": 10,
    }))
    .into_response()
}

async fn cancel(
    State(sh): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Some(r) = unauthorized(&sh, &headers) {
        return r;
    }
    let mut inner = sh.state.lock().unwrap();
    match inner.tasks.get_mut(&id) {
        Some(t) if t.status == Status::Pending => {
            t.status = Status::Canceled;
            axum::Json(json!({ "request_id": request_id() })).into_response()
        }
        Some(_) => error(
            StatusCode::BAD_REQUEST,
            "UnsupportedOperation",
            "Failed to cancel the task, please confirm if the task is in PENDING status.",
        ),
        None => error(
            StatusCode::BAD_REQUEST,
            "InvalidParameter",
            "The task does not exist.",
        ),
    }
}

/// OSS's error document.
fn oss_error(status: u16, code: &str, message: &str) -> Response {
    let xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error>\n  <Code>{code}</Code>\n  <Message>{message}</Message>\n  <RequestId>{}</RequestId>\n  <HostId>dashscope-result-sh.oss-cn-shanghai.aliyuncs.com</HostId>\n</Error>\n",
        request_id().replace('-', "").to_uppercase()
    );
    (
        StatusCode::from_u16(status).unwrap(),
        [(header::CONTENT_TYPE, "application/xml")],
        xml,
    )
        .into_response()
}

/// `bytes=START-` or `bytes=START-END`; `None` for anything else (served whole).
fn range(headers: &HeaderMap, len: usize) -> Option<Result<(usize, usize), ()>> {
    let v = headers.get(header::RANGE)?.to_str().ok()?;
    let spec = v.strip_prefix("bytes=")?;
    if spec.contains(',') {
        return None;
    }
    let (a, b) = spec.split_once('-')?;
    let start: usize = a.trim().parse().ok()?;
    let end = match b.trim() {
        "" => len.saturating_sub(1),
        e => e.parse::<usize>().ok()?.min(len.saturating_sub(1)),
    };
    if start >= len || start > end {
        return Some(Err(()));
    }
    Some(Ok((start, end)))
}

async fn file(
    State(sh): State<Arc<Shared>>,
    ConnectInfo(Peer(peer)): ConnectInfo<Peer>,
    Path(name): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let query = uri.query().unwrap_or_default().to_string();
    let signed = ["Expires=", "OSSAccessKeyId=", "Signature="]
        .iter()
        .all(|k| query.contains(k));
    let (cut, trickle) = {
        let mut inner = sh.state.lock().unwrap();
        let id = name.trim_end_matches(".mp4");
        let done = inner
            .tasks
            .get(id)
            .is_some_and(|t| t.status == Status::Succeeded);
        if !signed {
            return oss_error(
                403,
                "AccessDenied",
                "The bucket you access does not belong to you.",
            );
        }
        if !done {
            return oss_error(404, "NoSuchKey", "The specified key does not exist.");
        }
        match inner.faults.expired {
            Some(403) => return oss_error(403, "AccessDenied", "Request has expired."),
            Some(s) => {
                return oss_error(s, "NoSuchKey", "The specified key does not exist.");
            }
            None => {}
        }
        (inner.faults.cuts.pop_front(), inner.faults.trickle)
    };
    let len = sh.video.len();
    let (status, start, end) = match range(&headers, len) {
        None => (StatusCode::OK, 0, len - 1),
        Some(Ok((s, e))) => (StatusCode::PARTIAL_CONTENT, s, e),
        Some(Err(())) => {
            return (
                StatusCode::RANGE_NOT_SATISFIABLE,
                [(header::CONTENT_RANGE, format!("bytes */{len}"))],
            )
                .into_response();
        }
    };
    let body = Bytes::copy_from_slice(&sh.video[start..=end]);
    let mut builder = Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "video/mp4")
        .header(header::ACCEPT_RANGES, "bytes")
        .header(header::ETAG, "\"5B3C1E0A9D7F\"")
        .header(header::CONTENT_LENGTH, body.len());
    if status == StatusCode::PARTIAL_CONTENT {
        builder = builder.header(header::CONTENT_RANGE, format!("bytes {start}-{end}/{len}"));
    }
    let chunk = trickle.map_or(body.len().max(1), |(n, _)| n.max(1));
    let pause = trickle.map(|(_, d)| d);
    let limit = cut.map_or(body.len(), |c| c.at.min(body.len()));
    // Chunks up to the cut (or the end), then what the cut does.
    let state = (body, 0usize, cut, sh.clone(), peer, false);
    let stream = futures_util::stream::unfold(
        state,
        move |(body, sent, cut, sh, peer, first)| async move {
            if sent < limit {
                if first {
                    if let Some(p) = pause {
                        tokio::time::sleep(p).await;
                    }
                }
                let n = chunk.min(limit - sent);
                let part = body.slice(sent..sent + n);
                return Some((Ok(part), (body, sent + n, cut, sh, peer, true)));
            }
            match cut {
                Some(Cut {
                    kind: CutKind::Reset,
                    ..
                }) => {
                    // Let the bytes reach the client before the reset.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    sh.kill(peer);
                    Some((Err(reset()), (body, sent, None, sh, peer, true)))
                }
                _ => None,
            }
        },
    );
    builder.body(Body::from_stream(stream)).unwrap()
}
