//! A ComfyUI server on loopback for tests and benchmarks. It speaks as the recorded exchanges of
//! a real ComfyUI 0.3.64 do (the same routes, JSON shapes, status codes and WebSocket message
//! sequence, bodies written with Python's `json.dumps` separators and `\u` escapes of four hex digits, though
//! with keys in alphabetical order), runs prompts one at a time on a simulated GPU, and has
//! fault knobs that a test can flip at any moment.
//!
//! Self-contained (axum, tokio, serde_json, futures-util, uuid): include it with
//! `#[path = "support/comfy_server.rs"] mod comfy_server;`. It runs on its own thread and tokio
//! runtime, so synchronous tests (driving the binary) and async tests (driving the library) use
//! it alike; it stops when dropped.
//!
//! What it keeps of real ComfyUI behaviour:
//! - `POST /prompt` keeps a client-chosen `prompt_id`, validates the graph against its
//!   `/object_info` (400 shapes of a single-output workflow, 200 with non-empty `node_errors`
//!   when some outputs are valid), malformed JSON → 500 text/plain; a duplicate `prompt_id` is
//!   queued again (as ComfyUI does), which is why tests count submissions per id;
//! - WebSocket messages of a prompt go only to the socket of its `client_id`; `status` goes to
//!   every socket; sampler nodes report `progress` {value, max} per step;
//! - `/history/{id}` is `{}` until the prompt ends; SaveVideo lists its MP4 under `images`;
//! - `/view` serves the video with Range support (206, 416);
//! - an interrupt is honoured at the next step or node boundary.

#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::future::IntoFuture as _;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use axum::routing::{get, post};
use futures_util::{SinkExt as _, StreamExt as _};
use serde::Serialize as _;
use serde_json::{Map, Value, json};
use tokio::sync::{Notify, mpsc};

/// The routes a fault can be injected into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Route {
    /// `POST /prompt`.
    PostPrompt,
    /// `GET /prompt` (queue_remaining).
    QueueInfo,
    /// `GET /queue`.
    GetQueue,
    /// `POST /queue` (delete, clear).
    PostQueue,
    /// `POST /interrupt`.
    Interrupt,
    /// `GET /history/{id}`.
    History,
    /// `GET /history`.
    HistoryAll,
    /// `GET /view`.
    View,
    /// `GET /system_stats`.
    SystemStats,
    /// `GET /object_info` and `/object_info/{class}`.
    ObjectInfo,
    /// `GET /models` and `/models/{folder}`.
    Models,
    /// The WebSocket upgrade at `/ws`.
    Ws,
}

/// What a faulty answer does. `Status` and `Busy` refuse the request (nothing happens on the
/// server); the others let the server do the work and spoil only the answer, so a client that
/// gives up and asks again finds the work done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Answers with this status and a text/plain body, as aiohttp does for 5xx.
    Status(u16),
    /// HTTP 429 with `Retry-After: retry_after_s`.
    Busy { retry_after_s: u64 },
    /// Answers after this long.
    Delay(Duration),
    /// Answers 200, `application/json`, with a body that is not JSON.
    Garbage,
    /// Announces the whole body, sends `after` bytes of it, then resets the connection.
    Cut { after: usize },
    /// Announces the whole body (Content-Length), sends `after` bytes of it, then ends.
    Truncate { after: usize },
}

/// How the next prompt that runs ends, instead of succeeding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunFault {
    /// `execution_error` at the first sampler (or the SaveVideo node), like a CUDA OOM.
    Error {
        exception_type: String,
        message: String,
    },
    /// `execution_interrupted` at the same node, as if someone pressed Cancel in ComfyUI.
    Interrupt,
}

/// How the server starts.
#[derive(Debug, Clone)]
pub struct Options {
    /// The MP4 every SaveVideo node "writes".
    pub video: Vec<u8>,
    /// Wall time of one sampler step, and of every other node.
    pub step_time: Duration,
    /// GPU time reported by the history timestamps (end = start + this); `None`: wall time.
    pub gpu_ms: Option<u64>,
    /// Model folder → installed files (listed by loaders' `/object_info` and `/models/{folder}`).
    pub models: BTreeMap<String, Vec<String>>,
    pub gpu_name: String,
    pub vram_total: u64,
    pub vram_free: u64,
}

/// The Wan2.2 T2V-A14B files of the Comfy-Org repackaged release.
pub const WAN_MODELS: &[(&str, &str)] = &[
    (
        "diffusion_models",
        "wan2.2_t2v_high_noise_14B_fp8_scaled.safetensors",
    ),
    (
        "diffusion_models",
        "wan2.2_t2v_low_noise_14B_fp8_scaled.safetensors",
    ),
    ("text_encoders", "umt5_xxl_fp8_e4m3fn_scaled.safetensors"),
    ("vae", "wan_2.1_vae.safetensors"),
    (
        "loras",
        "wan2.2_t2v_lightx2v_4steps_lora_v1.1_high_noise.safetensors",
    ),
    (
        "loras",
        "wan2.2_t2v_lightx2v_4steps_lora_v1.1_low_noise.safetensors",
    ),
];

impl Options {
    /// A render box with the Wan2.2 models and one 24 GB GPU, 2 ms per step.
    pub fn new(video: Vec<u8>) -> Self {
        let mut models: BTreeMap<String, Vec<String>> = [
            "checkpoints",
            "diffusion_models",
            "loras",
            "text_encoders",
            "vae",
        ]
        .iter()
        .map(|f| ((*f).to_string(), Vec::new()))
        .collect();
        for (folder, file) in WAN_MODELS {
            models
                .entry((*folder).to_string())
                .or_default()
                .push((*file).to_string());
        }
        Self {
            video,
            step_time: Duration::from_millis(2),
            gpu_ms: None,
            models,
            gpu_name: "cuda:0 NVIDIA GeForce RTX 4090 : cudaMallocAsync".into(),
            vram_total: 25_386_352_640,
            vram_free: 24_130_617_344,
        }
    }

    /// The same box without `file` installed.
    pub fn without_model(mut self, file: &str) -> Self {
        for files in self.models.values_mut() {
            files.retain(|f| f != file);
        }
        self
    }
}

/// A prompt in the queue.
#[derive(Debug, Clone)]
struct Item {
    number: u64,
    id: String,
    graph: Value,
    extra: Value,
    outputs: Vec<String>,
    client: Option<String>,
}

struct St {
    opts: Options,
    number: u64,
    pending: Vec<Item>,
    running: Option<Item>,
    history: Vec<(String, Value)>,
    /// (subfolder, filename) of every file written.
    files: HashSet<(String, String)>,
    sockets: HashMap<String, (u64, mpsc::UnboundedSender<String>)>,
    next_socket: u64,
    faults: HashMap<Route, VecDeque<Fault>>,
    run_faults: VecDeque<RunFault>,
    hold_queue: bool,
    hold_running: bool,
    interrupt: bool,
    /// Bumped by a restart: work of an older epoch is abandoned silently.
    epoch: u64,
    ws_down: bool,
    // Bookkeeping for tests; survives restarts.
    requests: HashMap<Route, usize>,
    posts: HashMap<String, usize>,
    accepted: HashMap<String, usize>,
    graphs: HashMap<String, Value>,
    graphs_client: HashMap<String, Option<String>>,
    deletes: Vec<String>,
    interrupts: Vec<Option<String>>,
    ranges: Vec<Option<u64>>,
    ws_connects: usize,
    sent: Vec<(String, String)>,
}

struct Shared {
    st: Mutex<St>,
    /// Wakes the GPU: new work, an interrupt, a release, a restart.
    wake: Notify,
}

/// A running fake ComfyUI; stops when dropped.
pub struct ComfyServer {
    url: String,
    shared: Arc<Shared>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for ComfyServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl ComfyServer {
    pub fn start(opts: Options) -> Self {
        let shared = Arc::new(Shared {
            st: Mutex::new(St {
                opts,
                number: 0,
                pending: Vec::new(),
                running: None,
                history: Vec::new(),
                files: HashSet::new(),
                sockets: HashMap::new(),
                next_socket: 0,
                faults: HashMap::new(),
                run_faults: VecDeque::new(),
                hold_queue: false,
                hold_running: false,
                interrupt: false,
                epoch: 0,
                ws_down: false,
                requests: HashMap::new(),
                posts: HashMap::new(),
                accepted: HashMap::new(),
                graphs: HashMap::new(),
                graphs_client: HashMap::new(),
                deletes: Vec::new(),
                interrupts: Vec::new(),
                ranges: Vec::new(),
                ws_connects: 0,
                sent: Vec::new(),
            }),
            wake: Notify::new(),
        });
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let sh = shared.clone();
        let thread = std::thread::Builder::new()
            .name("comfy-server".into())
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("fake ComfyUI runtime");
                rt.block_on(async move {
                    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                        .await
                        .expect("bind 127.0.0.1:0");
                    addr_tx
                        .send(listener.local_addr().expect("local address"))
                        .expect("report the address");
                    tokio::spawn(gpu(sh.clone()));
                    let app = Router::new()
                        .merge(routes())
                        .nest("/api", routes())
                        .with_state(sh);
                    tokio::select! {
                        r = axum::serve(listener, app).into_future() => r.expect("serve"),
                        _ = stop_rx => {}
                    }
                });
            })
            .expect("spawn the fake ComfyUI thread");
        let addr = addr_rx.recv().expect("fake ComfyUI address");
        Self {
            url: format!("http://{addr}"),
            shared,
            stop: Some(stop_tx),
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> &str {
        &self.url
    }

    fn st(&self) -> MutexGuard<'_, St> {
        self.shared.lock()
    }

    // ---- knobs ----

    /// The next `times` requests of `route` get `fault`.
    pub fn inject(&self, route: Route, fault: Fault, times: usize) {
        let mut s = self.st();
        let q = s.faults.entry(route).or_default();
        q.extend(std::iter::repeat_n(fault, times));
    }

    /// How the next prompt that runs ends.
    pub fn fail_next_run(&self, fault: RunFault) {
        self.st().run_faults.push_back(fault);
    }

    /// While held, the GPU starts no prompt (they stay pending).
    pub fn hold_queue(&self, hold: bool) {
        self.st().hold_queue = hold;
        self.shared.wake.notify_one();
    }

    /// While held, the running prompt stops at its next step or node boundary (still running).
    pub fn hold_running(&self, hold: bool) {
        self.st().hold_running = hold;
        self.shared.wake.notify_one();
    }

    /// Wall time of one step from now on.
    pub fn set_step_time(&self, d: Duration) {
        self.st().opts.step_time = d;
    }

    /// Down: every socket is dropped mid-stream and new ones are refused (HTTP 503); up: they
    /// are accepted again.
    pub fn ws_down(&self, down: bool) {
        let mut s = self.st();
        s.ws_down = down;
        if down {
            s.sockets.clear();
        }
    }

    /// A restart of the server process: queue, history, the running prompt and every socket are
    /// gone (files on disk stay, and so does the bookkeeping tests read).
    pub fn restart(&self) {
        let mut s = self.st();
        s.epoch += 1;
        s.pending.clear();
        s.running = None;
        s.history.clear();
        s.number = 0;
        s.sockets.clear();
        s.interrupt = false;
        drop(s);
        self.shared.wake.notify_one();
    }

    /// Interrupts whatever runs (the Cancel button of ComfyUI's own UI).
    pub fn interrupt_running(&self) {
        let mut s = self.st();
        if s.running.is_some() {
            s.interrupt = true;
        }
        drop(s);
        self.shared.wake.notify_one();
    }

    /// Queues a prompt as another user would (no client id); returns its id.
    pub fn enqueue(&self, graph: Value) -> String {
        let id = uuid::Uuid::new_v4().to_string();
        let outputs = match validate(graph.as_object().expect("a graph"), &self.st().opts) {
            Ok((outputs, _)) => outputs,
            Err(_) => panic!("enqueue: the graph does not validate"),
        };
        let mut s = self.st();
        let number = s.number;
        s.number += 1;
        s.pending.push(Item {
            number,
            id: id.clone(),
            graph,
            extra: json!({}),
            outputs,
            client: None,
        });
        s.broadcast_status();
        drop(s);
        self.shared.wake.notify_one();
        id
    }

    // ---- what happened ----

    /// Requests `route` received (faulty ones included).
    pub fn requests(&self, route: Route) -> usize {
        self.st().requests.get(&route).copied().unwrap_or(0)
    }

    /// `POST /prompt` requests that named `prompt_id` and reached the handler (not those a
    /// `Status` or `Busy` fault refused; invalid ones included).
    pub fn posts(&self, prompt_id: &str) -> usize {
        self.st().posts.get(prompt_id).copied().unwrap_or(0)
    }

    /// Times `prompt_id` was put in the queue.
    pub fn accepted(&self, prompt_id: &str) -> usize {
        self.st().accepted.get(prompt_id).copied().unwrap_or(0)
    }

    /// Every prompt id ever queued, and how often.
    pub fn accepted_all(&self) -> BTreeMap<String, usize> {
        self.st()
            .accepted
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect()
    }

    /// The graph last submitted under `prompt_id`.
    pub fn graph(&self, prompt_id: &str) -> Option<Value> {
        self.st().graphs.get(prompt_id).cloned()
    }

    pub fn running(&self) -> Option<String> {
        self.st().running.as_ref().map(|i| i.id.clone())
    }

    pub fn pending(&self) -> Vec<String> {
        self.st().pending.iter().map(|i| i.id.clone()).collect()
    }

    /// `status_str` of a finished prompt.
    pub fn status_of(&self, prompt_id: &str) -> Option<String> {
        self.st()
            .history
            .iter()
            .find(|(id, _)| id == prompt_id)
            .and_then(|(_, e)| e.pointer("/status/status_str"))
            .and_then(Value::as_str)
            .map(str::to_string)
    }

    /// Ids named by `POST /queue {"delete": …}`.
    pub fn deletes(&self) -> Vec<String> {
        self.st().deletes.clone()
    }

    /// `POST /interrupt` requests: the prompt id they named, if any.
    pub fn interrupts(&self) -> Vec<Option<String>> {
        self.st().interrupts.clone()
    }

    /// `GET /view` requests: the first byte of their Range, if any.
    pub fn ranges(&self) -> Vec<Option<u64>> {
        self.st().ranges.clone()
    }

    /// WebSocket connections accepted.
    pub fn ws_connects(&self) -> usize {
        self.st().ws_connects
    }

    /// The clientId a prompt was submitted with.
    pub fn client_of(&self, prompt_id: &str) -> Option<String> {
        self.st().graphs_client.get(prompt_id).cloned().flatten()
    }

    /// Whether a socket with this clientId is open.
    pub fn ws_open(&self, client_id: &str) -> bool {
        self.st().sockets.contains_key(client_id)
    }

    /// Every WebSocket text message sent, with the clientId it went to, in order.
    pub fn sent(&self) -> Vec<(String, String)> {
        self.st().sent.clone()
    }

    /// Waits (blocking the thread, up to 30 s) until `cond` holds; panics naming `what`.
    pub fn wait(&self, what: &str, cond: impl Fn(&Self) -> bool) {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while !cond(self) {
            assert!(
                std::time::Instant::now() < deadline,
                "fake ComfyUI: timed out waiting for {what}"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// [`Self::wait`] for async tests.
    pub async fn wait_async(&self, what: &str, cond: impl Fn(&Self) -> bool) {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while !cond(self) {
            assert!(
                std::time::Instant::now() < deadline,
                "fake ComfyUI: timed out waiting for {what}"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, St> {
        self.st
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Counts a request of `route` and takes its next fault.
    fn begin(&self, route: Route) -> Option<Fault> {
        let mut s = self.lock();
        *s.requests.entry(route).or_default() += 1;
        s.faults.get_mut(&route).and_then(VecDeque::pop_front)
    }
}

impl St {
    fn queue_remaining(&self) -> usize {
        self.pending.len() + usize::from(self.running.is_some())
    }

    fn send(&mut self, client: &str, text: String) {
        if let Some((_, tx)) = self.sockets.get(client) {
            if tx.send(text.clone()).is_ok() {
                self.sent.push((client.to_string(), text));
            }
        }
    }

    fn send_to(&mut self, client: Option<&str>, kind: &str, data: Value) {
        if let Some(c) = client {
            let text = py_string(&json!({ "type": kind, "data": data }));
            self.send(c, text);
        }
    }

    fn broadcast_status(&mut self) {
        let text = py_string(&json!({
            "type": "status",
            "data": { "status": { "exec_info": { "queue_remaining": self.queue_remaining() } } }
        }));
        let clients: Vec<String> = self.sockets.keys().cloned().collect();
        for c in clients {
            self.send(&c, text.clone());
        }
    }

    fn queue_entry(item: &Item) -> Value {
        json!([item.number, item.id, item.graph, item.extra, item.outputs])
    }

    /// `<prefix>_<NNNNN>_.mp4`, the counter one above the highest existing for the prefix.
    fn save_video(&mut self, prefix: &str) -> (String, String) {
        let (subfolder, base) = match prefix.rsplit_once('/') {
            Some((d, b)) => (d.to_string(), b.to_string()),
            None => (String::new(), prefix.to_string()),
        };
        let highest = self
            .files
            .iter()
            .filter(|(d, _)| *d == subfolder)
            .filter_map(|(_, f)| {
                f.strip_prefix(&format!("{base}_"))?
                    .strip_suffix("_.mp4")?
                    .parse::<u32>()
                    .ok()
            })
            .max()
            .unwrap_or(0);
        let filename = format!("{base}_{:05}_.mp4", highest + 1);
        self.files.insert((subfolder.clone(), filename.clone()));
        (subfolder, filename)
    }
}

// ---- answers ----

struct Reply {
    status: StatusCode,
    content_type: Option<&'static str>,
    headers: Vec<(header::HeaderName, String)>,
    body: Vec<u8>,
}

const JSON: &str = "application/json; charset=utf-8";
const TEXT: &str = "text/plain; charset=utf-8";

impl Reply {
    fn json(v: &Value) -> Self {
        Self::json_status(StatusCode::OK, v)
    }

    fn json_status(status: StatusCode, v: &Value) -> Self {
        Self {
            status,
            content_type: Some(JSON),
            headers: Vec::new(),
            body: py_json(v),
        }
    }

    fn empty(status: StatusCode) -> Self {
        Self {
            status,
            content_type: None,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// What aiohttp answers when a handler raises.
    fn server_error() -> Self {
        Self::status_text(500)
    }

    fn status_text(code: u16) -> Self {
        let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = if code == 500 {
            "500 Internal Server Error\n\nServer got itself in trouble".to_string()
        } else {
            format!(
                "{} {}",
                status.as_u16(),
                status.canonical_reason().unwrap_or("Error")
            )
        };
        Self {
            status,
            content_type: Some(TEXT),
            headers: Vec::new(),
            body: body.into_bytes(),
        }
    }

    fn head(&self, len: usize) -> axum::http::response::Builder {
        let mut b = Response::builder()
            .status(self.status)
            .header(header::CONTENT_LENGTH, len)
            .header(header::SERVER, "Python/3.11 aiohttp/3.14.5");
        if let Some(ct) = self.content_type {
            b = b.header(header::CONTENT_TYPE, ct);
        }
        for (k, v) in &self.headers {
            b = b.header(k, v);
        }
        b
    }

    fn into_response(self) -> Response {
        let len = self.body.len();
        self.head(len)
            .body(Body::from(self.body))
            .expect("a response")
    }

    /// The whole length announced and `after` bytes sent; then, once those bytes had time to
    /// leave, the connection is reset (`reset`) or the body just ends.
    fn partial(self, after: usize, reset: bool) -> Response {
        let len = self.body.len();
        let part = Bytes::from(self.body[..after.min(len)].to_vec());
        let chunks = futures_util::stream::unfold(0u8, move |step| {
            let part = part.clone();
            async move {
                match step {
                    0 => Some((Ok(part), 1)),
                    1 => {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        if reset {
                            Some((
                                Err(std::io::Error::other("connection reset by the fake")),
                                2,
                            ))
                        } else {
                            None
                        }
                    }
                    _ => None,
                }
            }
        });
        self.head(len)
            .body(Body::from_stream(chunks))
            .expect("a response")
    }
}

/// Runs `work` under `route`'s next fault.
async fn respond(sh: &Arc<Shared>, route: Route, work: impl FnOnce(&Shared) -> Reply) -> Response {
    let fault = sh.begin(route);
    match &fault {
        Some(Fault::Status(code)) => return Reply::status_text(*code).into_response(),
        Some(Fault::Busy { retry_after_s }) => {
            let mut r = Reply::status_text(429);
            r.headers
                .push((header::RETRY_AFTER, retry_after_s.to_string()));
            return r.into_response();
        }
        _ => {}
    }
    let reply = work(sh.as_ref());
    match fault {
        Some(Fault::Delay(d)) => {
            tokio::time::sleep(d).await;
            reply.into_response()
        }
        Some(Fault::Garbage) => {
            let mut r = Reply::json(&Value::Null);
            r.body = b"{\"prompt_id\": \"\xff<html>502 Bad Gateway".to_vec();
            r.into_response()
        }
        Some(Fault::Cut { after }) => reply.partial(after, true),
        Some(Fault::Truncate { after }) => reply.partial(after, false),
        _ => reply.into_response(),
    }
}

type Sh = State<Arc<Shared>>;

fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/prompt", get(queue_info).post(post_prompt))
        .route("/queue", get(get_queue).post(post_queue))
        .route("/interrupt", post(interrupt))
        .route("/history", get(history_all))
        .route("/history/{id}", get(history_one))
        .route("/view", get(view))
        .route("/system_stats", get(system_stats))
        .route("/features", get(features))
        .route("/object_info", get(object_info_all))
        .route("/object_info/{class}", get(object_info_one))
        .route("/models", get(models))
        .route("/models/{folder}", get(models_in))
        .route("/ws", get(ws))
}

async fn post_prompt(State(sh): Sh, body: Bytes) -> Response {
    respond(&sh, Route::PostPrompt, |sh| submit(sh, &body)).await
}

fn submit(sh: &Shared, body: &[u8]) -> Reply {
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return Reply::server_error();
    };
    let Some(prompt) = v.get("prompt") else {
        return Reply::json_status(
            StatusCode::BAD_REQUEST,
            &json!({
                "error": {"type": "no_prompt", "message": "No prompt provided",
                          "details": "No prompt provided", "extra_info": {}},
                "node_errors": {}
            }),
        );
    };
    let Some(graph) = prompt.as_object() else {
        return Reply::server_error();
    };
    let id = v
        .get("prompt_id")
        .and_then(Value::as_str)
        .map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_string);
    let mut s = sh.lock();
    *s.posts.entry(id.clone()).or_default() += 1;
    let (outputs, node_errors) = match validate(graph, &s.opts) {
        Ok(ok) => ok,
        Err(reply) => return reply,
    };
    let client = v
        .get("client_id")
        .and_then(Value::as_str)
        .map(str::to_string);
    let mut extra = v
        .get("extra_data")
        .filter(|e| e.is_object())
        .cloned()
        .unwrap_or_else(|| json!({}));
    if let Some(c) = &client {
        extra["client_id"] = json!(c);
    }
    let number = s.number;
    s.number += 1;
    s.graphs_client.insert(id.clone(), client.clone());
    s.pending.push(Item {
        number,
        id: id.clone(),
        graph: prompt.clone(),
        extra,
        outputs,
        client,
    });
    *s.accepted.entry(id.clone()).or_default() += 1;
    s.graphs.insert(id.clone(), prompt.clone());
    s.broadcast_status();
    drop(s);
    sh.wake.notify_one();
    Reply::json(&json!({ "prompt_id": id, "number": number, "node_errors": node_errors }))
}

async fn queue_info(State(sh): Sh) -> Response {
    respond(&sh, Route::QueueInfo, |sh| {
        let n = sh.lock().queue_remaining();
        Reply::json(&json!({ "exec_info": { "queue_remaining": n } }))
    })
    .await
}

async fn get_queue(State(sh): Sh) -> Response {
    respond(&sh, Route::GetQueue, |sh| {
        let s = sh.lock();
        let running: Vec<Value> = s.running.iter().map(St::queue_entry).collect();
        let mut pending: Vec<&Item> = s.pending.iter().collect();
        pending.sort_by_key(|i| i.number);
        let pending: Vec<Value> = pending.into_iter().map(St::queue_entry).collect();
        Reply::json(&json!({ "queue_running": running, "queue_pending": pending }))
    })
    .await
}

async fn post_queue(State(sh): Sh, body: Bytes) -> Response {
    respond(&sh, Route::PostQueue, |sh| {
        let Ok(v) = serde_json::from_slice::<Value>(&body) else {
            return Reply::server_error();
        };
        let mut s = sh.lock();
        if v.get("clear").and_then(Value::as_bool) == Some(true) {
            s.pending.clear();
        }
        if let Some(ids) = v.get("delete").and_then(Value::as_array) {
            for id in ids.iter().filter_map(Value::as_str) {
                s.deletes.push(id.to_string());
                s.pending.retain(|i| i.id != id);
            }
        }
        s.broadcast_status();
        Reply::empty(StatusCode::OK)
    })
    .await
}

async fn interrupt(State(sh): Sh, body: Bytes) -> Response {
    respond(&sh, Route::Interrupt, |sh| {
        let named = serde_json::from_slice::<Value>(&body).ok().and_then(|v| {
            v.get("prompt_id")
                .and_then(Value::as_str)
                .map(str::to_string)
        });
        let mut s = sh.lock();
        s.interrupts.push(named.clone());
        let hit = match (&named, &s.running) {
            (None, Some(_)) => true,
            (Some(id), Some(r)) => *id == r.id,
            _ => false,
        };
        if hit {
            s.interrupt = true;
        }
        drop(s);
        sh.wake.notify_one();
        Reply::empty(StatusCode::OK)
    })
    .await
}

async fn history_one(State(sh): Sh, Path(id): Path<String>) -> Response {
    respond(&sh, Route::History, |sh| {
        let s = sh.lock();
        let mut m = Map::new();
        if let Some((_, e)) = s.history.iter().find(|(h, _)| *h == id) {
            m.insert(id.clone(), e.clone());
        }
        Reply::json(&Value::Object(m))
    })
    .await
}

async fn history_all(State(sh): Sh, Query(q): Query<HashMap<String, String>>) -> Response {
    respond(&sh, Route::HistoryAll, |sh| {
        let s = sh.lock();
        let max = q
            .get("max_items")
            .and_then(|m| m.parse::<usize>().ok())
            .unwrap_or(usize::MAX);
        let skip = s.history.len().saturating_sub(max);
        let m: Map<String, Value> = s
            .history
            .iter()
            .skip(skip)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        Reply::json(&Value::Object(m))
    })
    .await
}

async fn view(
    State(sh): Sh,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    respond(&sh, Route::View, |sh| {
        let range_start = headers
            .get(header::RANGE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("bytes="))
            .and_then(|v| v.split('-').next())
            .and_then(|v| v.trim().parse::<u64>().ok());
        let mut s = sh.lock();
        s.ranges.push(range_start);
        let kind = q.get("type").map_or("output", String::as_str);
        if !["output", "input", "temp"].contains(&kind) {
            return Reply::empty(StatusCode::BAD_REQUEST);
        }
        let Some(filename) = q.get("filename") else {
            return Reply::empty(StatusCode::NOT_FOUND);
        };
        let subfolder = q.get("subfolder").cloned().unwrap_or_default();
        if filename.starts_with('/') || filename.contains("..") || subfolder.contains("..") {
            return Reply::empty(StatusCode::BAD_REQUEST);
        }
        if kind != "output" || !s.files.contains(&(subfolder, filename.clone())) {
            return Reply::empty(StatusCode::NOT_FOUND);
        }
        let data = &s.opts.video;
        let total = data.len() as u64;
        let mut r = Reply {
            status: StatusCode::OK,
            content_type: Some("video/mp4"),
            headers: vec![
                (
                    header::CONTENT_DISPOSITION,
                    format!("filename=\"{filename}\""),
                ),
                (header::ACCEPT_RANGES, "bytes".into()),
            ],
            body: Vec::new(),
        };
        match range_start {
            Some(start) if start >= total => {
                let mut r = Reply::empty(StatusCode::RANGE_NOT_SATISFIABLE);
                r.headers
                    .push((header::CONTENT_RANGE, format!("bytes */{total}")));
                r
            }
            Some(start) => {
                r.status = StatusCode::PARTIAL_CONTENT;
                r.headers.push((
                    header::CONTENT_RANGE,
                    format!("bytes {start}-{}/{total}", total - 1),
                ));
                r.body = data[usize::try_from(start).unwrap_or(usize::MAX)..].to_vec();
                r
            }
            None => {
                r.body = data.clone();
                r
            }
        }
    })
    .await
}

async fn system_stats(State(sh): Sh) -> Response {
    respond(&sh, Route::SystemStats, |sh| {
        let s = sh.lock();
        let o = &s.opts;
        Reply::json(&json!({
            "system": {
                "os": "posix", "ram_total": 67_242_196_992u64, "ram_free": 60_129_542_144u64,
                "comfyui_version": "0.3.64", "required_frontend_version": "1.27.10",
                "installed_templates_version": "0.1.95", "required_templates_version": "0.1.95",
                "python_version": "3.11.7 (main, May  9 2026, 07:35:25) [GCC 12.2.0]",
                "pytorch_version": "2.8.0+cu128", "embedded_python": false,
                "argv": ["main.py", "--listen", "0.0.0.0", "--port", "8188"]
            },
            "devices": [{
                "name": o.gpu_name, "type": "cuda", "index": 0,
                "vram_total": o.vram_total, "vram_free": o.vram_free,
                "torch_vram_total": o.vram_total, "torch_vram_free": o.vram_free
            }]
        }))
    })
    .await
}

async fn features(State(sh): Sh) -> Response {
    respond(&sh, Route::SystemStats, |_| {
        Reply::json(&json!({"supports_preview_metadata": true, "max_upload_size": 104_857_600}))
    })
    .await
}

async fn object_info_all(State(sh): Sh) -> Response {
    respond(&sh, Route::ObjectInfo, |sh| {
        let s = sh.lock();
        let m: Map<String, Value> = CLASSES
            .iter()
            .map(|c| (c.name.to_string(), c.info(&s.opts)))
            .collect();
        Reply::json(&Value::Object(m))
    })
    .await
}

async fn object_info_one(State(sh): Sh, Path(class): Path<String>) -> Response {
    respond(&sh, Route::ObjectInfo, |sh| {
        let s = sh.lock();
        let mut m = Map::new();
        if let Some(c) = CLASSES.iter().find(|c| c.name == class) {
            m.insert(class.clone(), c.info(&s.opts));
        }
        Reply::json(&Value::Object(m))
    })
    .await
}

async fn models(State(sh): Sh) -> Response {
    respond(&sh, Route::Models, |sh| {
        let s = sh.lock();
        Reply::json(&json!(s.opts.models.keys().collect::<Vec<_>>()))
    })
    .await
}

async fn models_in(State(sh): Sh, Path(folder): Path<String>) -> Response {
    respond(&sh, Route::Models, |sh| {
        let s = sh.lock();
        match s.opts.models.get(&folder) {
            Some(files) => Reply::json(&json!(files)),
            None => Reply::empty(StatusCode::NOT_FOUND),
        }
    })
    .await
}

async fn ws(
    State(sh): Sh,
    Query(q): Query<HashMap<String, String>>,
    up: WebSocketUpgrade,
) -> Response {
    if let Some(Fault::Status(code)) = sh.begin(Route::Ws) {
        return Reply::status_text(code).into_response();
    }
    if sh.lock().ws_down {
        return Reply::status_text(503).into_response();
    }
    let client = q
        .get("clientId")
        .cloned()
        .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string());
    up.on_upgrade(move |socket| serve_socket(sh, client, socket))
}

async fn serve_socket(sh: Arc<Shared>, client: String, socket: WebSocket) {
    let (tx, mut rx) = mpsc::unbounded_channel::<String>();
    let conn = {
        let mut s = sh.lock();
        if s.ws_down {
            return;
        }
        s.next_socket += 1;
        let conn = s.next_socket;
        s.ws_connects += 1;
        // Reconnecting with the same clientId replaces the old socket.
        s.sockets.insert(client.clone(), (conn, tx));
        let hello = py_string(&json!({
            "type": "status",
            "data": { "status": { "exec_info": { "queue_remaining": s.queue_remaining() } }, "sid": client }
        }));
        s.send(&client, hello);
        conn
    };
    let (mut sink, mut stream) = socket.split();
    loop {
        tokio::select! {
            out = rx.recv() => match out {
                Some(text) => {
                    if sink.send(Message::Text(text.into())).await.is_err() {
                        break;
                    }
                }
                // Dropped by the server (ws_down, restart): the connection goes without a
                // closing handshake.
                None => return,
            },
            inc = stream.next() => match inc {
                Some(Ok(_)) => {}
                _ => break,
            },
        }
    }
    let mut s = sh.lock();
    if s.sockets.get(&client).is_some_and(|(c, _)| *c == conn) {
        s.sockets.remove(&client);
    }
}

// ---- the GPU ----

enum Gate {
    Go,
    Interrupted,
    /// The server restarted: the prompt is forgotten.
    Gone,
}

async fn gpu(sh: Arc<Shared>) {
    loop {
        let (item, epoch) = next_prompt(&sh).await;
        execute(&sh, item, epoch).await;
    }
}

async fn next_prompt(sh: &Shared) -> (Item, u64) {
    loop {
        let notified = sh.wake.notified();
        {
            let mut s = sh.lock();
            if !s.hold_queue && s.running.is_none() && !s.pending.is_empty() {
                let first = s
                    .pending
                    .iter()
                    .enumerate()
                    .min_by_key(|(_, i)| i.number)
                    .map(|(n, _)| n)
                    .unwrap_or(0);
                let item = s.pending.remove(first);
                s.running = Some(item.clone());
                s.interrupt = false;
                return (item, s.epoch);
            }
        }
        notified.await;
    }
}

async fn gate(sh: &Shared, epoch: u64) -> Gate {
    loop {
        let notified = sh.wake.notified();
        {
            let mut s = sh.lock();
            if s.epoch != epoch {
                return Gate::Gone;
            }
            if s.interrupt {
                s.interrupt = false;
                return Gate::Interrupted;
            }
            if !s.hold_running {
                return Gate::Go;
            }
        }
        notified.await;
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

fn class_of(graph: &Value, node: &str) -> String {
    graph
        .pointer(&format!("/{node}/class_type"))
        .and_then(Value::as_str)
        .unwrap_or("?")
        .to_string()
}

fn id_key(id: &str) -> (u64, String) {
    (id.parse().unwrap_or(u64::MAX), id.to_string())
}

/// Nodes in the order ComfyUI runs them: each output (highest id first) after its inputs.
fn exec_order(graph: &Value, outputs: &[String]) -> Vec<String> {
    fn visit(graph: &Value, id: &str, seen: &mut HashSet<String>, out: &mut Vec<String>) {
        if !seen.insert(id.to_string()) {
            return;
        }
        if let Some(inputs) = graph
            .pointer(&format!("/{id}/inputs"))
            .and_then(Value::as_object)
        {
            for v in inputs.values() {
                if let Some(from) = link_of(v) {
                    visit(graph, from, seen, out);
                }
            }
        }
        out.push(id.to_string());
    }
    let mut outs = outputs.to_vec();
    outs.sort_by_key(|o| std::cmp::Reverse(id_key(o)));
    let (mut seen, mut order) = (HashSet::new(), Vec::new());
    for o in &outs {
        visit(graph, o, &mut seen, &mut order);
    }
    order
}

fn link_of(v: &Value) -> Option<&str> {
    match v.as_array().map(Vec::as_slice) {
        Some([Value::String(from), slot]) if slot.is_u64() => Some(from),
        _ => None,
    }
}

/// Steps a sampler node runs (0 for other nodes).
fn sampler_steps(node: &Value) -> u64 {
    let int = |k: &str| {
        node.pointer(&format!("/inputs/{k}"))
            .and_then(Value::as_u64)
    };
    match node.get("class_type").and_then(Value::as_str) {
        Some("KSamplerAdvanced") => {
            let steps = int("steps").unwrap_or(0);
            let start = int("start_at_step").unwrap_or(0);
            let end = int("end_at_step").unwrap_or(steps).min(steps);
            end.saturating_sub(start)
        }
        Some("KSampler") => int("steps").unwrap_or(0),
        _ => 0,
    }
}

fn node_state(pid: &str, node: &str, value: f64, max: f64, state: &str) -> Value {
    json!({
        "value": value, "max": max, "state": state, "node_id": node, "prompt_id": pid,
        "display_node_id": node, "parent_node_id": null, "real_node_id": node
    })
}

/// What a run has done so far, for its messages and its history entry.
struct Run<'a> {
    sh: &'a Shared,
    item: &'a Item,
    epoch: u64,
    states: Map<String, Value>,
    executed: Vec<String>,
    outputs: Map<String, Value>,
    messages: Vec<Value>,
    started: i64,
}

impl Run<'_> {
    fn emit(&self, kind: &str, data: Value) {
        let mut s = self.sh.lock();
        if s.epoch == self.epoch {
            s.send_to(self.item.client.as_deref(), kind, data);
        }
    }

    fn state(&mut self, node: &str, value: f64, max: f64, state: &str) {
        let pid = &self.item.id;
        self.states
            .insert(node.to_string(), node_state(pid, node, value, max, state));
        let data = json!({ "prompt_id": pid, "nodes": self.states });
        self.emit("progress_state", data);
    }

    fn step_time(&self) -> Duration {
        self.sh.lock().opts.step_time
    }

    /// The UI output of an output node (and the file it writes).
    fn output(&self, node: &str) -> Option<Value> {
        let g = &self.item.graph;
        match class_of(g, node).as_str() {
            "SaveVideo" => {
                let prefix = g
                    .pointer(&format!("/{node}/inputs/filename_prefix"))
                    .and_then(Value::as_str)
                    .unwrap_or("video/ComfyUI")
                    .to_string();
                let mut s = self.sh.lock();
                if s.epoch != self.epoch {
                    return None;
                }
                let (subfolder, filename) = s.save_video(&prefix);
                Some(json!({
                    "images": [{ "filename": filename, "subfolder": subfolder, "type": "output" }],
                    "animated": [true]
                }))
            }
            "PreviewAny" => {
                let source = g.pointer(&format!("/{node}/inputs/source"))?;
                let text = match link_of(source) {
                    Some(from) => {
                        let inputs = g.pointer(&format!("/{from}/inputs"))?;
                        inputs
                            .get("value")
                            .or_else(|| inputs.get("text"))
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_string()
                    }
                    None => source.to_string(),
                };
                Some(json!({ "text": [text] }))
            }
            _ => None,
        }
    }

    /// Writes the history entry and ends the run, as ComfyUI's task_done does.
    fn finish(&mut self, status_str: &str) {
        let pid = self.item.id.clone();
        let meta: Map<String, Value> = self
            .outputs
            .keys()
            .map(|n| {
                (
                    n.clone(),
                    json!({"node_id": n, "display_node": n, "parent_node": null, "real_node_id": n}),
                )
            })
            .collect();
        let entry = json!({
            "prompt": St::queue_entry(self.item),
            "outputs": self.outputs,
            "status": {
                "status_str": status_str,
                "completed": status_str == "success",
                "messages": self.messages,
            },
            "meta": meta,
        });
        let mut s = self.sh.lock();
        if s.epoch != self.epoch {
            return;
        }
        s.running = None;
        s.history.retain(|(id, _)| *id != pid);
        s.history.push((pid.clone(), entry));
        s.broadcast_status();
        s.send_to(
            self.item.client.as_deref(),
            "executing",
            json!({ "node": null, "prompt_id": pid }),
        );
        drop(s);
        self.sh.wake.notify_one();
    }

    fn interrupted(&mut self, node: &str) {
        let data = json!({
            "prompt_id": self.item.id, "node_id": node,
            "node_type": class_of(&self.item.graph, node),
            "executed": self.executed, "timestamp": now_ms()
        });
        self.emit("execution_interrupted", data.clone());
        self.messages.push(json!(["execution_interrupted", data]));
        self.finish("error");
    }

    fn failed(&mut self, node: &str, exception_type: &str, message: &str) {
        let g = &self.item.graph;
        let inputs: Map<String, Value> = g
            .pointer(&format!("/{node}/inputs"))
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .map(|(k, v)| {
                        let shown = if link_of(v).is_some() {
                            json!(["<torch.Tensor object at 0x7f49a92111d0>"])
                        } else {
                            json!([v])
                        };
                        (k.clone(), shown)
                    })
                    .collect()
            })
            .unwrap_or_default();
        let data = json!({
            "prompt_id": self.item.id, "node_id": node, "node_type": class_of(g, node),
            "executed": self.executed, "exception_message": message,
            "exception_type": exception_type,
            "traceback": [
                "File \"ComfyUI/execution.py\", line 496, in execute",
                "File \"ComfyUI/execution.py\", line 315, in get_output_data",
                "File \"ComfyUI/comfy/samplers.py\", line 1046, in sample"
            ],
            "current_inputs": inputs, "current_outputs": self.item.outputs,
            "timestamp": now_ms()
        });
        self.emit("execution_error", data.clone());
        self.messages.push(json!(["execution_error", data]));
        self.finish("error");
    }
}

async fn execute(sh: &Shared, item: Item, epoch: u64) {
    let order = exec_order(&item.graph, &item.outputs);
    let run_fault = sh.lock().run_faults.pop_front();
    let fault_node = order
        .iter()
        .find(|n| sampler_steps(&item.graph[n.as_str()]) > 0)
        .or_else(|| {
            order
                .iter()
                .find(|n| class_of(&item.graph, n) == "SaveVideo")
        })
        .or(order.last())
        .cloned()
        .unwrap_or_default();
    let pid = item.id.clone();
    let mut run = Run {
        sh,
        item: &item,
        epoch,
        states: Map::new(),
        executed: Vec::new(),
        outputs: Map::new(),
        messages: Vec::new(),
        started: now_ms(),
    };
    let start = json!({ "prompt_id": pid, "timestamp": run.started });
    run.emit("execution_start", start.clone());
    run.messages.push(json!(["execution_start", start]));
    let cached = json!({ "nodes": [], "prompt_id": pid, "timestamp": now_ms() });
    run.emit("execution_cached", cached.clone());
    run.messages.push(json!(["execution_cached", cached]));
    for node in &order {
        match gate(sh, epoch).await {
            Gate::Go => {}
            Gate::Interrupted => return run.interrupted(node),
            Gate::Gone => return,
        }
        run.state(node, 0.0, 1.0, "running");
        run.emit(
            "executing",
            json!({ "node": node, "display_node": node, "prompt_id": pid }),
        );
        if *node == fault_node {
            match &run_fault {
                Some(RunFault::Error {
                    exception_type,
                    message,
                }) => return run.failed(node, exception_type, message),
                Some(RunFault::Interrupt) => return run.interrupted(node),
                None => {}
            }
        }
        let steps = sampler_steps(&item.graph[node.as_str()]);
        if steps > 0 {
            run.state(node, 0.0, steps as f64, "running");
            for step in 1..=steps {
                tokio::time::sleep(run.step_time()).await;
                match gate(sh, epoch).await {
                    Gate::Go => {}
                    Gate::Interrupted => return run.interrupted(node),
                    Gate::Gone => return,
                }
                run.emit(
                    "progress",
                    json!({ "value": step, "max": steps, "prompt_id": pid, "node": node }),
                );
                run.state(node, step as f64, steps as f64, "running");
            }
        } else {
            tokio::time::sleep(run.step_time()).await;
        }
        if let Some(out) = run.output(node) {
            run.emit(
                "executed",
                json!({ "node": node, "display_node": node, "output": out, "prompt_id": pid }),
            );
            run.outputs.insert(node.clone(), out);
        }
        let (v, m) = if steps > 0 {
            (steps as f64, steps as f64)
        } else {
            (1.0, 1.0)
        };
        run.state(node, v, m, "finished");
        run.executed.push(node.clone());
    }
    let gpu_ms = sh.lock().opts.gpu_ms;
    let end = gpu_ms.map_or_else(now_ms, |ms| {
        run.started + i64::try_from(ms).unwrap_or(i64::MAX)
    });
    let success = json!({ "prompt_id": pid, "timestamp": end });
    run.emit("execution_success", success.clone());
    run.messages.push(json!(["execution_success", success]));
    run.finish("success");
}

// ---- node classes and validation ----

#[derive(Clone, Copy)]
enum Kind {
    Int(i128, i128),
    Float(f64, f64),
    Str,
    Combo(&'static [&'static str]),
    /// A combo of the files in a model folder.
    Files(&'static str),
    /// A link of this type.
    Link(&'static str),
}

struct Class {
    name: &'static str,
    required: &'static [(&'static str, Kind)],
    optional: &'static [(&'static str, Kind)],
    output: &'static [&'static str],
    output_node: bool,
    category: &'static str,
    module: &'static str,
}

const U64_MAX: i128 = u64::MAX as i128;
const MAX_RES: i128 = 16384;
const SAMPLERS: &[&str] = &[
    "euler",
    "euler_ancestral",
    "heun",
    "dpm_2",
    "dpmpp_2m",
    "dpmpp_sde",
    "uni_pc",
    "lcm",
];
const SCHEDULERS: &[&str] = &[
    "simple",
    "normal",
    "karras",
    "exponential",
    "sgm_uniform",
    "beta",
];

const CLASSES: &[Class] = &[
    Class {
        name: "PrimitiveStringMultiline",
        required: &[("value", Kind::Str)],
        optional: &[],
        output: &["STRING"],
        output_node: false,
        category: "utils/primitive",
        module: "comfy_extras.nodes_primitive",
    },
    Class {
        name: "PreviewAny",
        required: &[("source", Kind::Link("*"))],
        optional: &[],
        output: &[],
        output_node: true,
        category: "utils",
        module: "comfy_extras.nodes_preview_any",
    },
    Class {
        name: "EmptyImage",
        required: &[
            ("width", Kind::Int(1, MAX_RES)),
            ("height", Kind::Int(1, MAX_RES)),
            ("batch_size", Kind::Int(1, 4096)),
            ("color", Kind::Int(0, 0xFF_FFFF)),
        ],
        optional: &[],
        output: &["IMAGE"],
        output_node: false,
        category: "image",
        module: "nodes",
    },
    Class {
        name: "ImageAddNoise",
        required: &[
            ("image", Kind::Link("IMAGE")),
            ("seed", Kind::Int(0, U64_MAX)),
            ("strength", Kind::Float(0.0, 1.0)),
        ],
        optional: &[],
        output: &["IMAGE"],
        output_node: false,
        category: "image",
        module: "comfy_extras.nodes_images",
    },
    Class {
        name: "CreateVideo",
        required: &[
            ("images", Kind::Link("IMAGE")),
            ("fps", Kind::Float(1.0, 120.0)),
        ],
        optional: &[("audio", Kind::Link("AUDIO"))],
        output: &["VIDEO"],
        output_node: false,
        category: "image/video",
        module: "comfy_extras.nodes_video",
    },
    Class {
        name: "SaveVideo",
        required: &[
            ("video", Kind::Link("VIDEO")),
            ("filename_prefix", Kind::Str),
            ("format", Kind::Combo(&["auto", "mp4"])),
            ("codec", Kind::Combo(&["auto", "h264"])),
        ],
        optional: &[],
        output: &[],
        output_node: true,
        category: "image/video",
        module: "comfy_extras.nodes_video",
    },
    Class {
        name: "CLIPLoader",
        required: &[
            ("clip_name", Kind::Files("text_encoders")),
            (
                "type",
                Kind::Combo(&[
                    "stable_diffusion",
                    "stable_cascade",
                    "sd3",
                    "stable_audio",
                    "mochi",
                    "ltxv",
                    "pixart",
                    "cosmos",
                    "lumina2",
                    "wan",
                    "hidream",
                    "chroma",
                    "ace",
                    "omnigen2",
                    "qwen_image",
                    "hunyuan_image",
                ]),
            ),
        ],
        optional: &[("device", Kind::Combo(&["default", "cpu"]))],
        output: &["CLIP"],
        output_node: false,
        category: "advanced/loaders",
        module: "nodes",
    },
    Class {
        name: "CLIPTextEncode",
        required: &[("text", Kind::Str), ("clip", Kind::Link("CLIP"))],
        optional: &[],
        output: &["CONDITIONING"],
        output_node: false,
        category: "conditioning",
        module: "nodes",
    },
    Class {
        name: "VAELoader",
        required: &[("vae_name", Kind::Files("vae"))],
        optional: &[],
        output: &["VAE"],
        output_node: false,
        category: "loaders",
        module: "nodes",
    },
    Class {
        name: "UNETLoader",
        required: &[
            ("unet_name", Kind::Files("diffusion_models")),
            (
                "weight_dtype",
                Kind::Combo(&["default", "fp8_e4m3fn", "fp8_e4m3fn_fast", "fp8_e5m2"]),
            ),
        ],
        optional: &[],
        output: &["MODEL"],
        output_node: false,
        category: "advanced/loaders",
        module: "nodes",
    },
    Class {
        name: "LoraLoaderModelOnly",
        required: &[
            ("model", Kind::Link("MODEL")),
            ("lora_name", Kind::Files("loras")),
            ("strength_model", Kind::Float(-100.0, 100.0)),
        ],
        optional: &[],
        output: &["MODEL"],
        output_node: false,
        category: "loaders",
        module: "nodes",
    },
    Class {
        name: "ModelSamplingSD3",
        required: &[
            ("model", Kind::Link("MODEL")),
            ("shift", Kind::Float(0.0, 100.0)),
        ],
        optional: &[],
        output: &["MODEL"],
        output_node: false,
        category: "advanced/model",
        module: "comfy_extras.nodes_model_advanced",
    },
    Class {
        name: "KSamplerAdvanced",
        required: &[
            ("model", Kind::Link("MODEL")),
            ("add_noise", Kind::Combo(&["enable", "disable"])),
            ("noise_seed", Kind::Int(0, U64_MAX)),
            ("steps", Kind::Int(1, 10000)),
            ("cfg", Kind::Float(0.0, 100.0)),
            ("sampler_name", Kind::Combo(SAMPLERS)),
            ("scheduler", Kind::Combo(SCHEDULERS)),
            ("positive", Kind::Link("CONDITIONING")),
            ("negative", Kind::Link("CONDITIONING")),
            ("latent_image", Kind::Link("LATENT")),
            ("start_at_step", Kind::Int(0, 10000)),
            ("end_at_step", Kind::Int(0, 10000)),
            (
                "return_with_leftover_noise",
                Kind::Combo(&["disable", "enable"]),
            ),
        ],
        optional: &[],
        output: &["LATENT"],
        output_node: false,
        category: "sampling",
        module: "nodes",
    },
    Class {
        name: "VAEDecode",
        required: &[
            ("samples", Kind::Link("LATENT")),
            ("vae", Kind::Link("VAE")),
        ],
        optional: &[],
        output: &["IMAGE"],
        output_node: false,
        category: "latent",
        module: "nodes",
    },
    Class {
        name: "EmptyHunyuanLatentVideo",
        required: &[
            ("width", Kind::Int(16, MAX_RES)),
            ("height", Kind::Int(16, MAX_RES)),
            ("length", Kind::Int(1, MAX_RES)),
            ("batch_size", Kind::Int(1, 4096)),
        ],
        optional: &[],
        output: &["LATENT"],
        output_node: false,
        category: "latent/video",
        module: "comfy_extras.nodes_hunyuan",
    },
];

impl Kind {
    fn spec(self, opts: &Options) -> Value {
        match self {
            Kind::Int(min, max) => {
                json!(["INT", {"default": min.max(0), "min": min, "max": max, "step": 1}])
            }
            Kind::Float(min, max) => {
                json!(["FLOAT", {"default": min, "min": min, "max": max, "step": 0.01}])
            }
            Kind::Str => json!(["STRING", {"multiline": true}]),
            Kind::Combo(list) => json!([list, {}]),
            Kind::Files(folder) => {
                json!([opts.models.get(folder).cloned().unwrap_or_default(), {}])
            }
            Kind::Link(t) => json!([t, {}]),
        }
    }

    /// The reason `v` is not acceptable: (type, message, details).
    fn check(self, input: &str, v: &Value, opts: &Options) -> Option<(String, String, Value)> {
        let extra = |received: &Value| json!({"input_name": input, "input_config": self.spec(opts), "received_value": received});
        match self {
            Kind::Int(min, max) => {
                let Some(n) = v
                    .as_i64()
                    .map(i128::from)
                    .or_else(|| v.as_u64().map(i128::from))
                else {
                    return Some((
                        "invalid_input_type".into(),
                        "Failed to convert an input value to a INT value".into(),
                        extra(v),
                    ));
                };
                if n < min {
                    Some((
                        "value_smaller_than_min".into(),
                        format!("Value {n} smaller than min of {min}"),
                        extra(v),
                    ))
                } else if n > max {
                    Some((
                        "value_bigger_than_max".into(),
                        format!("Value {n} bigger than max of {max}"),
                        extra(v),
                    ))
                } else {
                    None
                }
            }
            Kind::Float(min, max) => {
                let Some(n) = v.as_f64() else {
                    return Some((
                        "invalid_input_type".into(),
                        "Failed to convert an input value to a FLOAT value".into(),
                        extra(v),
                    ));
                };
                if n < min {
                    Some((
                        "value_smaller_than_min".into(),
                        format!("Value {n:?} smaller than min of {min:?}"),
                        extra(v),
                    ))
                } else if n > max {
                    Some((
                        "value_bigger_than_max".into(),
                        format!("Value {n:?} bigger than max of {max:?}"),
                        extra(v),
                    ))
                } else {
                    None
                }
            }
            Kind::Str | Kind::Link(_) => None,
            Kind::Combo(list) => {
                let s = v.as_str().unwrap_or_default();
                (!list.contains(&s)).then(|| {
                    (
                        "value_not_in_list".into(),
                        "Value not in list".into(),
                        extra(v),
                    )
                })
            }
            Kind::Files(folder) => {
                let s = v.as_str().unwrap_or_default();
                let files = opts.models.get(folder).cloned().unwrap_or_default();
                (!files.iter().any(|f| f == s)).then(|| {
                    (
                        "value_not_in_list".into(),
                        "Value not in list".into(),
                        extra(v),
                    )
                })
            }
        }
    }
}

impl Class {
    fn info(&self, opts: &Options) -> Value {
        let required: Map<String, Value> = self
            .required
            .iter()
            .map(|(n, k)| ((*n).to_string(), k.spec(opts)))
            .collect();
        let optional: Map<String, Value> = self
            .optional
            .iter()
            .map(|(n, k)| ((*n).to_string(), k.spec(opts)))
            .collect();
        let mut input = json!({ "required": required });
        let mut order =
            json!({ "required": self.required.iter().map(|(n, _)| *n).collect::<Vec<_>>() });
        if !optional.is_empty() {
            input["optional"] = Value::Object(optional);
            order["optional"] = json!(self.optional.iter().map(|(n, _)| *n).collect::<Vec<_>>());
        }
        json!({
            "input": input, "input_order": order,
            "output": self.output, "output_is_list": self.output.iter().map(|_| false).collect::<Vec<_>>(),
            "output_name": self.output, "name": self.name, "display_name": self.name,
            "description": "", "python_module": self.module, "category": self.category,
            "output_node": self.output_node, "deprecated": false, "experimental": false,
            "api_node": false
        })
    }
}

/// ComfyUI's `validate_prompt`: the outputs that will run and the errors of those that will
/// not, or the 400 answer when nothing can run.
fn validate(graph: &Map<String, Value>, opts: &Options) -> Result<(Vec<String>, Value), Reply> {
    let invalid = |t: &str, message: String, details: String| {
        Reply::json_status(
            StatusCode::BAD_REQUEST,
            &json!({
                "error": {"type": t, "message": message, "details": details, "extra_info": {}},
                "node_errors": {}
            }),
        )
    };
    let mut ids: Vec<&String> = graph.keys().collect();
    ids.sort_by_key(|i| id_key(i));
    let mut outputs = Vec::new();
    for id in ids {
        let Some(class) = graph[id].get("class_type").and_then(Value::as_str) else {
            return Err(invalid(
                "invalid_prompt",
                "Cannot execute because a node is missing the class_type property.".into(),
                format!("Node ID '#{id}'"),
            ));
        };
        let Some(c) = CLASSES.iter().find(|c| c.name == class) else {
            return Err(invalid(
                "invalid_prompt",
                format!("Cannot execute because node {class} does not exist."),
                format!("Node ID '#{id}'"),
            ));
        };
        if c.output_node {
            outputs.push(id.clone());
        }
    }
    if outputs.is_empty() {
        return Err(invalid(
            "prompt_no_outputs",
            "Prompt has no outputs".into(),
            String::new(),
        ));
    }
    let mut node_errors = Map::new();
    let mut good = Vec::new();
    for out in &outputs {
        let mut bad = false;
        let mut stack = vec![out.clone()];
        let mut seen = HashSet::new();
        while let Some(id) = stack.pop() {
            if !seen.insert(id.clone()) {
                continue;
            }
            let node = &graph[&id];
            let class = node["class_type"].as_str().unwrap_or_default();
            let Some(c) = CLASSES.iter().find(|c| c.name == class) else {
                continue;
            };
            let inputs = node.get("inputs").and_then(Value::as_object);
            let mut errors = Vec::new();
            for (name, kind) in c.required.iter().chain(c.optional) {
                let is_required = c.required.iter().any(|(n, _)| n == name);
                let Some(v) = inputs.and_then(|i| i.get(*name)) else {
                    if is_required {
                        errors.push(json!({
                            "type": "required_input_missing", "message": "Required input is missing",
                            "details": name, "extra_info": {"input_name": name}
                        }));
                    }
                    continue;
                };
                if let Some(from) = link_of(v) {
                    if graph.contains_key(from) {
                        stack.push(from.to_string());
                    } else {
                        errors.push(json!({
                            "type": "exception_during_inner_validation",
                            "message": "Exception when validating inner node",
                            "details": format!("'{from}'"),
                            "extra_info": {"input_name": name, "input_config": kind.spec(opts),
                                           "exception_message": format!("'{from}'"),
                                           "exception_type": "KeyError", "traceback": [],
                                           "linked_node": [id, 0]}
                        }));
                    }
                    continue;
                }
                if let Some((t, message, extra)) = kind.check(name, v, opts) {
                    let details = match t.as_str() {
                        "value_not_in_list" => format!(
                            "{name}: {v} not in (list of length {})",
                            match kind {
                                Kind::Combo(l) => l.len(),
                                Kind::Files(f) => opts.models.get(*f).map_or(0, Vec::len),
                                _ => 0,
                            }
                        ),
                        _ => (*name).to_string(),
                    };
                    errors.push(json!({"type": t, "message": message, "details": details, "extra_info": extra}));
                }
            }
            if !errors.is_empty() {
                bad = true;
                let entry = node_errors.entry(id.clone()).or_insert_with(
                    || json!({"errors": errors, "dependent_outputs": [], "class_type": class}),
                );
                if let Some(d) = entry["dependent_outputs"].as_array_mut() {
                    if !d.contains(&json!(out)) {
                        d.push(json!(out));
                    }
                }
            }
        }
        if !bad {
            good.push(out.clone());
        }
    }
    if good.is_empty() {
        return Err(Reply::json_status(
            StatusCode::BAD_REQUEST,
            &json!({
                "error": {"type": "prompt_outputs_failed_validation",
                          "message": "Prompt outputs failed validation", "details": "",
                          "extra_info": {}},
                "node_errors": node_errors
            }),
        ));
    }
    Ok((good, Value::Object(node_errors)))
}

// ---- JSON as Python writes it ----

/// `json.dumps` defaults: `", "` and `": "` separators, non-ASCII escaped as `\u` and four hex digits.
struct PyFormatter;

impl serde_json::ser::Formatter for PyFormatter {
    fn begin_array_value<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        if first { Ok(()) } else { w.write_all(b", ") }
    }

    fn begin_object_key<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        if first { Ok(()) } else { w.write_all(b", ") }
    }

    fn begin_object_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        w.write_all(b": ")
    }

    fn write_string_fragment<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        fragment: &str,
    ) -> std::io::Result<()> {
        for c in fragment.chars() {
            if c.is_ascii() {
                w.write_all(&[c as u8])?;
            } else {
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    write!(w, "\\u{u:04x}")?;
                }
            }
        }
        Ok(())
    }
}

fn py_json(v: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(&mut out, PyFormatter);
    v.serialize(&mut ser).expect("JSON of a Value");
    out
}

fn py_string(v: &Value) -> String {
    String::from_utf8(py_json(v)).expect("ASCII JSON")
}
