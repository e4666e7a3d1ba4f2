//! The `comfyui` backend against a fake ComfyUI on loopback that speaks as a real one does
//! (tests/support/comfy_server.rs): through the real binary where default timings resolve fast,
//! and through `Backend::run` with short timings for the faults that need them. Every fault
//! ends in a defined state, nothing is lost and nothing is queued twice on the server.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

#[path = "support/comfy_server.rs"]
mod comfy_server;
mod common;

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use comfy_server::{ComfyServer, Fault, Options, Route, RunFault};
use common::{Home, ffprobe, fixture, project, require_tool};
use previs::backend::comfyui::{Tuning, from_config_tuned};
use previs::backend::{Backend, BackendMsg, Failure, Finished, RenderJob, Reporter};
use previs::config::{Bindings, ComfyConfig, FrameRule, GpuPrice};
use previs::model::{JobId, JobOut, Level, Recipe, Slate};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// GPU time the fake reports per prompt: 72 s at 2.5 USD an hour is 0.05 USD a take.
const GPU_MS: u64 = 72_000;
const TAKE_COST: f64 = 0.05;

/// A real MP4 (H.264, 854x480, 12 frames at 12 fps), rendered once by the animatic.
fn video() -> Vec<u8> {
    static BYTES: OnceLock<Vec<u8>> = OnceLock::new();
    BYTES
        .get_or_init(|| {
            use previs::backend::animatic::render::{AnimaticSpec, render};
            let dir = tempfile::tempdir().unwrap();
            let out = dir.path().join("served.mp4");
            let spec = AnimaticSpec {
                width: 854,
                height: 480,
                fps: 12,
                frames: 12,
                seed: 7,
                camera: previs::model::CameraMove::Static,
                lighting: "dusk".into(),
                grade: Default::default(),
                prompt: "a red fox running through fresh snow".into(),
                slate: Slate::default(),
            };
            let stop = std::sync::atomic::AtomicBool::new(false);
            render(&spec, &out, &mut |_, _| {}, &stop).unwrap();
            std::fs::read(out).unwrap()
        })
        .clone()
}

fn options() -> Options {
    let mut o = Options::new(video());
    o.gpu_ms = Some(GPU_MS);
    o
}

fn server() -> ComfyServer {
    ComfyServer::start(options())
}

// ---- workflows and bindings ----

/// The bindings of fixtures/comfyui/wan22_t2v_a14b.json.
const WAN_BIND: &[(&str, &str)] = &[
    ("prompt", "99.text"),
    ("negative", "91.text"),
    ("seed", "96.noise_seed"),
    ("width", "104.width"),
    ("height", "104.height"),
    ("frames", "104.length"),
    ("fps", "100.fps"),
    ("prefix", "98.filename_prefix"),
];

/// The bindings of fixtures/comfyui/no_weights_t2v.json (frame_rule exact).
const NO_WEIGHTS_BIND: &[(&str, &str)] = &[
    ("prompt", "1.value"),
    ("seed", "3.seed"),
    ("width", "2.width"),
    ("height", "2.height"),
    ("frames", "2.batch_size"),
    ("fps", "4.fps"),
    ("prefix", "5.filename_prefix"),
];

fn bindings(b: &[(&str, &str)], rule: FrameRule) -> Bindings {
    let get = |k: &str| {
        b.iter()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| (*v).to_string())
    };
    Bindings {
        prompt: get("prompt").unwrap(),
        negative: get("negative"),
        seed: get("seed").unwrap(),
        width: get("width").unwrap(),
        height: get("height").unwrap(),
        frames: get("frames").unwrap(),
        frame_rule: rule,
        fps: get("fps"),
        prefix: get("prefix"),
    }
}

fn wan_config(url: &str) -> ComfyConfig {
    ComfyConfig {
        name: "box".into(),
        url: url.into(),
        workflow: fixture("comfyui/wan22_t2v_a14b.json"),
        bind: bindings(WAN_BIND, FrameRule::FourNPlusOne),
        max_in_flight: Some(2),
        model: None,
        price: Some(GpuPrice {
            gpu_hour: 2.5,
            currency: "USD".into(),
            est_gpu_s: None,
        }),
    }
}

fn light_config(url: &str) -> ComfyConfig {
    ComfyConfig {
        workflow: fixture("comfyui/no_weights_t2v.json"),
        bind: bindings(NO_WEIGHTS_BIND, FrameRule::Exact),
        ..wan_config(url)
    }
}

/// Timings short enough for tests.
fn fast() -> Tuning {
    Tuning {
        request_timeout: Duration::from_secs(5),
        poll_every: Duration::from_millis(40),
        safety_poll: Duration::from_millis(400),
        connect_wait: Duration::from_secs(5),
        max_retry_after: Duration::from_secs(2),
        unreachable_for: Duration::from_secs(20),
    }
}

fn backend(c: &ComfyConfig, t: Tuning) -> Arc<dyn Backend> {
    from_config_tuned(c, t).unwrap()
}

// ---- driving Backend::run ----

fn recipe(seed: u64, wan: bool) -> Recipe {
    let (width, height, fps, frames) = if wan {
        (832, 480, 16, 17)
    } else {
        (320, 240, 12, 12)
    };
    Recipe {
        prompt: format!("a courier in a yellow raincoat sprints between the stalls, take {seed}"),
        negative: String::new(),
        seed,
        backend: "box".into(),
        model: "wan2.2-t2v-a14b".into(),
        width,
        height,
        fps,
        duration_s: 1.0,
        frames,
        style: None,
        variant: Default::default(),
        spec: Default::default(),
        params: Default::default(),
    }
}

fn render_job(dir: &Path, n: u64, wan: bool) -> RenderJob {
    RenderJob {
        job: JobId(n),
        recipe: recipe(1000 + n, wan),
        slate: Slate {
            project: "night-chase".into(),
            take_code: format!("SC001_SH1A_TK{n:02}"),
            shot_code: "1A".into(),
            scene_heading: "EXT. MARKET STREET - NIGHT".into(),
            variant: String::new(),
        },
        submission_key: uuid::Uuid::new_v4().to_string(),
        out: dir.join(format!("{n}.mp4.part")),
        remote_id: None,
    }
}

/// What one `Backend::run` ended with and reported.
struct Outcome {
    result: Result<Finished, Failure>,
    msgs: Vec<BackendMsg>,
}

impl Outcome {
    fn remote_id(&self) -> Option<String> {
        self.msgs.iter().find_map(|m| match m {
            BackendMsg::Out(JobOut::Accepted { remote_id }) => Some(remote_id.clone()),
            _ => None,
        })
    }

    fn progress(&self) -> Vec<u64> {
        self.msgs
            .iter()
            .filter_map(|m| match m {
                BackendMsg::Out(JobOut::Progress { value, max }) => {
                    assert_eq!(*max, 1000);
                    Some(*value)
                }
                _ => None,
            })
            .collect()
    }

    fn notices(&self) -> Vec<(Level, String)> {
        self.msgs
            .iter()
            .filter_map(|m| match m {
                BackendMsg::Notice(l, t) => Some((*l, t.clone())),
                _ => None,
            })
            .collect()
    }

    fn finished(&self) -> &Finished {
        match &self.result {
            Ok(f) => f,
            Err(e) => panic!("the job did not finish: {e:?}\nreported: {:?}", self.msgs),
        }
    }

    fn failure(&self) -> (String, bool) {
        match &self.result {
            Err(Failure::Failed { reason, retryable }) => (reason.clone(), *retryable),
            other => panic!("expected a failure, got {other:?}"),
        }
    }
}

/// Runs a job to its end in a task (so the test can act meanwhile through `cancel`).
fn start(
    b: &Arc<dyn Backend>,
    job: RenderJob,
    cancel: CancellationToken,
) -> tokio::task::JoinHandle<Outcome> {
    let b = b.clone();
    tokio::spawn(async move {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let result = b.run(job.clone(), Reporter::new(job.job, tx), cancel).await;
        let mut msgs = Vec::new();
        while let Ok((_, m)) = rx.try_recv() {
            msgs.push(m);
        }
        Outcome { result, msgs }
    })
}

async fn run(b: &Arc<dyn Backend>, job: RenderJob) -> Outcome {
    start(b, job, CancellationToken::new()).await.unwrap()
}

fn assert_video(path: &Path) {
    assert_eq!(
        std::fs::read(path).unwrap(),
        video(),
        "{} is not the served video",
        path.display()
    );
}

/// Nothing was ever queued twice on the server.
fn assert_no_double_submission(s: &ComfyServer) {
    let twice: Vec<_> = s
        .accepted_all()
        .into_iter()
        .filter(|(_, n)| *n > 1)
        .collect();
    assert!(twice.is_empty(), "queued more than once: {twice:?}");
}

// ---- the fake itself ----

/// The message types of the recorded happy path (01_basic_mp4) for this workflow, in order.
const RECORDED_SEQUENCE: &[&str] = &[
    "status",
    "status",
    "execution_start",
    "execution_cached",
    "progress_state",
    "executing",
    "progress_state",
    "progress_state",
    "executing",
    "executed",
    "progress_state",
    "progress_state",
    "executing",
    "progress_state",
    "progress_state",
    "executing",
    "progress_state",
    "progress_state",
    "executing",
    "progress_state",
    "progress_state",
    "executing",
    "executed",
    "progress_state",
    "execution_success",
    "status",
    "executing",
];

#[tokio::test]
async fn the_fake_speaks_like_the_recorded_server_and_only_to_the_submitting_client() {
    let s = server();
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (
        backend(&light_config(s.url()), fast()),
        backend(&light_config(s.url()), fast()),
    );
    let (ja, jb) = (
        render_job(dir.path(), 1, false),
        render_job(dir.path(), 2, false),
    );
    let (pa, pb) = (ja.submission_key.clone(), jb.submission_key.clone());
    let (ra, rb) = tokio::join!(run(&a, ja.clone()), run(&b, jb.clone()));
    ra.finished();
    rb.finished();
    let (ca, cb) = (s.client_of(&pa).unwrap(), s.client_of(&pb).unwrap());
    assert_ne!(ca, cb, "each backend has its own clientId");
    for (client, text) in s.sent() {
        let v: Value = serde_json::from_str(&text).unwrap();
        if let Some(p) = v.pointer("/data/prompt_id").and_then(Value::as_str) {
            assert_eq!(
                s.client_of(p).as_deref(),
                Some(client.as_str()),
                "{text} went to another client"
            );
        }
        assert!(
            text.is_ascii() && text.contains("\": "),
            "written as Python writes: {text}"
        );
    }
    // A's own socket saw its prompt exactly as the recording shows (statuses of B's prompt
    // may interleave: status is broadcast).
    let seq: Vec<String> = s
        .sent()
        .into_iter()
        .filter(|(c, _)| *c == ca)
        .map(|(_, t)| serde_json::from_str::<Value>(&t).unwrap())
        .filter(|v| v["type"] != "status" || v["data"]["sid"].is_string())
        .map(|v| v["type"].as_str().unwrap().to_string())
        .collect();
    let want: Vec<&str> = RECORDED_SEQUENCE
        .iter()
        .copied()
        .enumerate()
        .filter(|(i, t)| *t != "status" || *i == 0)
        .map(|(_, t)| t)
        .collect();
    assert_eq!(seq, want);
    assert_video(&ja.out);
    assert_video(&jb.out);
}

#[tokio::test]
async fn the_fake_answers_errors_as_the_recorded_server_does() {
    let s = server();
    let http = previs::backend::http::client(Duration::from_secs(5)).unwrap();
    let url = |p: &str| format!("{}{p}", s.url());
    let post = |p: &str, body: &'static str| http.post(url(p)).body(body).send();
    // 21_errors_post_prompt_single_output: malformed JSON → 500 text/plain.
    let r = post("/prompt", "{oops").await.unwrap();
    assert_eq!(r.status(), 500);
    assert_eq!(r.headers()["content-type"], "text/plain; charset=utf-8");
    assert_eq!(
        r.text().await.unwrap(),
        "500 Internal Server Error\n\nServer got itself in trouble"
    );
    let r = post("/prompt", "{\"client_id\": \"x\"}").await.unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(
        r.text().await.unwrap(),
        r#"{"error": {"details": "No prompt provided", "extra_info": {}, "message": "No prompt provided", "type": "no_prompt"}, "node_errors": {}}"#
    );
    let r = post(
        "/api/prompt",
        r#"{"prompt": {"2": {"class_type": "NoSuchNode", "inputs": {}}}}"#,
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 400);
    let v: Value = r.json().await.unwrap();
    assert_eq!(
        v["error"]["message"],
        "Cannot execute because node NoSuchNode does not exist."
    );
    assert_eq!(v["error"]["details"], "Node ID '#2'");
    let r = post("/prompt", r#"{"prompt": {}}"#).await.unwrap();
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["type"], "prompt_no_outputs");
    // Control endpoints: 200 with an empty body, even for unknown ids and odd bodies.
    for (path, body) in [
        ("/queue", r#"{"delete": ["does-not-exist"]}"#),
        ("/interrupt", ""),
        ("/interrupt", "{oops"),
    ] {
        let r = post(path, body).await.unwrap();
        assert_eq!(
            (r.status().as_u16(), r.text().await.unwrap()),
            (200, String::new()),
            "{path} {body}"
        );
    }
    assert_eq!(post("/queue", "{oops").await.unwrap().status(), 500);
    let get = |p: &str| http.get(url(p)).send();
    assert_eq!(
        get("/history/does-not-exist")
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "{}"
    );
    assert_eq!(
        get("/api/queue").await.unwrap().text().await.unwrap(),
        r#"{"queue_pending": [], "queue_running": []}"#
    );
    assert_eq!(
        get("/prompt").await.unwrap().text().await.unwrap(),
        r#"{"exec_info": {"queue_remaining": 0}}"#
    );
    assert_eq!(
        get("/object_info/NoSuchNode")
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "{}"
    );
    let models: Value = get("/models/diffusion_models")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(models.as_array().unwrap().len(), 2);
    for (q, status) in [
        ("/view?filename=nope.mp4&subfolder=video&type=output", 404),
        (
            "/view?filename=ComfyUI_00001_.mp4&subfolder=video&type=bogus",
            400,
        ),
        (
            "/view?filename=..%2F..%2Fmain.py&subfolder=&type=output",
            400,
        ),
        ("/view?type=output", 404),
    ] {
        assert_eq!(get(q).await.unwrap().status().as_u16(), status, "{q}");
    }
}

// ---- the happy path through Backend::run ----

#[tokio::test]
async fn wan22_progress_combines_both_samplers_into_one_fraction() {
    let s = server();
    let dir = tempfile::tempdir().unwrap();
    let b = backend(&wan_config(s.url()), fast());
    let job = render_job(dir.path(), 1, true);
    let pid = job.submission_key.clone();
    let o = run(&b, job.clone()).await;
    let f = o.finished();
    assert!((f.cost.amount - TAKE_COST).abs() < 1e-9, "{:?}", f.cost);
    assert_eq!(f.cost.currency, "USD");
    assert_eq!(o.remote_id().as_deref(), Some(pid.as_str()));
    let p = o.progress();
    assert!(p.windows(2).all(|w| w[0] < w[1]), "never backwards: {p:?}");
    // Ten steps of the high-noise expert make the first half, ten of the low-noise the second.
    for want in [50, 250, 500, 550, 750, 1000] {
        assert!(p.contains(&want), "{want} missing from {p:?}");
    }
    assert!(matches!(
        o.msgs.last(),
        Some(BackendMsg::Out(JobOut::Bytes { done, total: Some(t) })) if done == t
    ));
    assert_video(&job.out);
    // The recipe went where the bindings say.
    let g = s.graph(&pid).unwrap();
    assert_eq!(g["99"]["inputs"]["text"], job.recipe.prompt.as_str());
    assert_eq!(g["96"]["inputs"]["noise_seed"], 1001);
    assert_eq!(
        g["95"]["inputs"]["noise_seed"], 0,
        "the second sampler keeps its seed"
    );
    assert_eq!(
        (
            &g["104"]["inputs"]["width"],
            &g["104"]["inputs"]["height"],
            &g["104"]["inputs"]["length"]
        ),
        (&json!(832), &json!(480), &json!(17))
    );
    assert_eq!(g["100"]["inputs"]["fps"], json!(16));
    assert_eq!(
        g["98"]["inputs"]["filename_prefix"],
        "previs/SC001_SH1A_TK01"
    );
    let default_negative = std::fs::read_to_string(fixture("comfyui/wan22_t2v_a14b.json")).unwrap();
    let default_negative: Value = serde_json::from_str(&default_negative).unwrap();
    assert_eq!(
        g["91"], default_negative["91"],
        "an empty negative keeps Wan's default"
    );
    assert_no_double_submission(&s);
}

// ---- cancel ----

#[tokio::test]
async fn cancel_deletes_a_pending_prompt_from_the_queue() {
    let s = server();
    s.hold_queue(true);
    let dir = tempfile::tempdir().unwrap();
    let b = backend(&light_config(s.url()), fast());
    let job = render_job(dir.path(), 1, false);
    let pid = job.submission_key.clone();
    let cancel = CancellationToken::new();
    let task = start(&b, job, cancel.clone());
    s.wait_async("the prompt to be queued", |s| s.pending() == [pid.clone()])
        .await;
    cancel.cancel();
    let o = task.await.unwrap();
    assert_eq!(o.result, Err(Failure::Canceled));
    assert_eq!(s.deletes(), std::slice::from_ref(&pid));
    assert!(s.interrupts().is_empty(), "{:?}", s.interrupts());
    assert!(s.pending().is_empty());
    // The queue moves on; the deleted prompt never runs.
    s.hold_queue(false);
    run(&b, render_job(dir.path(), 2, false)).await.finished();
    assert_eq!(s.status_of(&pid), None);
}

#[tokio::test]
async fn cancel_interrupts_a_running_prompt_by_its_id() {
    let s = server();
    s.hold_running(true);
    let dir = tempfile::tempdir().unwrap();
    let b = backend(&wan_config(s.url()), fast());
    let job = render_job(dir.path(), 1, true);
    let pid = job.submission_key.clone();
    let cancel = CancellationToken::new();
    let task = start(&b, job, cancel.clone());
    s.wait_async("the prompt to run", |s| {
        s.running().as_deref() == Some(pid.as_str())
    })
    .await;
    cancel.cancel();
    let o = task.await.unwrap();
    assert_eq!(o.result, Err(Failure::Canceled));
    assert_eq!(s.interrupts(), [Some(pid.clone())]);
    assert!(s.deletes().is_empty());
    s.wait_async("the interrupt to land", |s| s.status_of(&pid).is_some())
        .await;
    assert_eq!(s.status_of(&pid).as_deref(), Some("error"));
}

// ---- the fault matrix, through Backend::run ----

#[tokio::test]
async fn answers_that_time_out_are_looked_up_not_posted_again() {
    let s = server();
    s.hold_running(true);
    let dir = tempfile::tempdir().unwrap();
    let t = Tuning {
        request_timeout: Duration::from_secs(1),
        ..fast()
    };
    let b = backend(&light_config(s.url()), t);
    let job = render_job(dir.path(), 1, false);
    let pid = job.submission_key.clone();
    // The server queues the prompt but answers too late.
    s.inject(Route::PostPrompt, Fault::Delay(Duration::from_secs(3)), 1);
    let (reason, retryable) = run(&b, job.clone()).await.failure();
    assert!(retryable, "{reason}");
    assert!(
        reason.contains("POST /prompt") && reason.contains("no answer within 1s"),
        "{reason}"
    );
    // The retry finds it running and follows it (polling: the socket is down); two looks at
    // the queue that time out on the way are waited out.
    s.ws_down(true);
    let base = s.requests(Route::GetQueue);
    let task = start(&b, job.clone(), CancellationToken::new());
    // Requests of one job are sequential: the second has begun once the first was answered.
    s.wait_async("the retry to follow", |s| {
        s.requests(Route::GetQueue) >= base + 2
    })
    .await;
    s.inject(Route::GetQueue, Fault::Delay(Duration::from_secs(3)), 2);
    s.wait_async("two slow polls", |s| {
        s.requests(Route::GetQueue) >= base + 4
    })
    .await;
    s.hold_running(false);
    task.await.unwrap().finished();
    assert_video(&job.out);
    assert_eq!((s.posts(&pid), s.accepted(&pid)), (1, 1));
}

#[tokio::test]
async fn server_errors_while_following_are_waited_out() {
    let s = server();
    s.hold_running(true);
    let dir = tempfile::tempdir().unwrap();
    let b = backend(&light_config(s.url()), fast());
    let job = render_job(dir.path(), 1, false);
    let pid = job.submission_key.clone();
    let task = start(&b, job.clone(), CancellationToken::new());
    s.wait_async("the prompt to run", |s| {
        s.running().as_deref() == Some(pid.as_str())
    })
    .await;
    // The socket goes, and the first looks at the queue and the history fail.
    s.inject(Route::GetQueue, Fault::Status(502), 3);
    s.inject(Route::History, Fault::Status(500), 3);
    s.inject(Route::History, Fault::Garbage, 2);
    s.ws_down(true);
    s.hold_running(false);
    let o = task.await.unwrap();
    o.finished();
    assert_video(&job.out);
    assert!(s.requests(Route::GetQueue) >= 3);
    assert_eq!(s.accepted(&pid), 1);
}

#[tokio::test]
async fn garbage_and_5xx_answers_to_a_submission_fail_the_attempt_as_retryable() {
    let s = server();
    let dir = tempfile::tempdir().unwrap();
    let b = backend(&light_config(s.url()), fast());
    let job = render_job(dir.path(), 1, false);
    let pid = job.submission_key.clone();
    s.inject(Route::PostPrompt, Fault::Status(503), 1);
    let (reason, retryable) = run(&b, job.clone()).await.failure();
    assert!(retryable && reason.contains("HTTP 503"), "{reason}");
    assert_eq!(s.accepted(&pid), 0, "a 503 queued nothing");
    // A proxy mangles the answer of a submission the server did take.
    s.inject(Route::PostPrompt, Fault::Garbage, 1);
    let (reason, retryable) = run(&b, job.clone()).await.failure();
    assert!(retryable && reason.contains("invalid JSON"), "{reason}");
    assert!(
        !reason.contains('\u{fffd}') && !reason.contains('<'),
        "{reason}"
    );
    let o = run(&b, job.clone()).await;
    o.finished();
    assert_video(&job.out);
    assert_eq!((s.posts(&pid), s.accepted(&pid)), (1, 1));
    assert_eq!(s.requests(Route::PostPrompt), 2);
}

#[tokio::test]
async fn http_429_is_waited_out_as_retry_after_asks() {
    let s = server();
    let dir = tempfile::tempdir().unwrap();
    let b = backend(&light_config(s.url()), fast());
    let job = render_job(dir.path(), 1, false);
    let pid = job.submission_key.clone();
    s.inject(Route::PostPrompt, Fault::Busy { retry_after_s: 1 }, 2);
    let o = run(&b, job.clone()).await;
    o.finished();
    let busy: Vec<_> = o
        .notices()
        .into_iter()
        .filter(|(_, t)| t.contains("429"))
        .collect();
    assert_eq!(busy.len(), 2, "{busy:?}");
    assert!(busy[0].1.contains("in 1s"), "{busy:?}");
    assert_eq!(
        (s.posts(&pid), s.accepted(&pid)),
        (1, 1),
        "429s queued nothing"
    );
    assert_eq!(s.requests(Route::PostPrompt), 3);
}

#[tokio::test]
async fn a_download_cut_mid_body_resumes_with_range() {
    let s = server();
    let dir = tempfile::tempdir().unwrap();
    let b = backend(&light_config(s.url()), fast());
    let job = render_job(dir.path(), 1, false);
    let cut = video().len() / 3;
    s.inject(Route::View, Fault::Cut { after: cut }, 1);
    s.inject(Route::View, Fault::Truncate { after: 1000 }, 1);
    let o = run(&b, job.clone()).await;
    o.finished();
    assert_video(&job.out);
    assert_eq!(
        s.ranges(),
        [None, Some(cut as u64), Some(cut as u64 + 1000)],
        "each resume asks for the rest"
    );
    assert_eq!(s.accepted(&job.submission_key), 1);
}

#[tokio::test]
async fn a_dropped_socket_hands_over_to_polling_and_the_job_completes() {
    let s = server();
    s.hold_running(true);
    let dir = tempfile::tempdir().unwrap();
    let b = backend(&wan_config(s.url()), fast());
    let job = render_job(dir.path(), 1, true);
    let pid = job.submission_key.clone();
    let task = start(&b, job.clone(), CancellationToken::new());
    s.wait_async("the prompt to run", |s| {
        s.running().as_deref() == Some(pid.as_str())
    })
    .await;
    let client = s.client_of(&pid).unwrap();
    assert!(s.ws_open(&client));
    s.ws_down(true);
    s.hold_running(false);
    let o = task.await.unwrap();
    let f = o.finished();
    assert!(
        (f.cost.amount - TAKE_COST).abs() < 1e-9,
        "GPU time from the history: {:?}",
        f.cost
    );
    assert_video(&job.out);
    assert_eq!(s.ws_connects(), 1, "no socket since the drop");
    assert_eq!(s.accepted(&pid), 1);
}

#[tokio::test]
async fn a_restart_that_lost_the_prompt_requeues_it_once_then_fails_retryable() {
    let s = server();
    s.hold_running(true);
    let dir = tempfile::tempdir().unwrap();
    let b = backend(&light_config(s.url()), fast());
    let job = render_job(dir.path(), 1, false);
    let pid = job.submission_key.clone();
    let task = start(&b, job.clone(), CancellationToken::new());
    s.wait_async("the prompt to run", |s| {
        s.running().as_deref() == Some(pid.as_str())
    })
    .await;
    s.restart();
    s.wait_async("the prompt to be sent again", |s| s.accepted(&pid) == 2)
        .await;
    s.wait_async("it to run again", |s| {
        s.running().as_deref() == Some(pid.as_str())
    })
    .await;
    s.restart();
    let o = task.await.unwrap();
    let (reason, retryable) = o.failure();
    assert!(retryable, "{reason}");
    assert!(
        reason.contains("lost prompt") && reason.contains("twice"),
        "{reason}"
    );
    let lost: Vec<_> = o
        .notices()
        .into_iter()
        .filter(|(_, t)| t.contains("lost prompt"))
        .collect();
    assert_eq!(lost.len(), 1, "one notice for the one requeue: {lost:?}");
    assert_eq!(lost[0].0, Level::Warn);
    assert_eq!(s.accepted(&pid), 2);
    // The engine's next attempt starts afresh and gets the take.
    s.hold_running(false);
    run(&b, job.clone()).await.finished();
    assert_video(&job.out);
    assert_eq!(s.accepted(&pid), 3);
}

#[tokio::test]
async fn an_execution_error_reaches_the_job_as_one_line() {
    let s = server();
    let dir = tempfile::tempdir().unwrap();
    let b = backend(&wan_config(s.url()), fast());
    let job = render_job(dir.path(), 1, true);
    s.fail_next_run(RunFault::Error {
        exception_type: "torch.OutOfMemoryError".into(),
        message: "Allocation on device 0 would exceed allowed memory. (out of memory)\nCurrently allocated     : 22.61 GiB\n".into(),
    });
    let o = run(&b, job.clone()).await;
    let (reason, retryable) = o.failure();
    assert!(!retryable, "{reason}");
    assert!(
        reason.starts_with(
            "KSamplerAdvanced (node 96) failed: Allocation on device 0 would exceed allowed memory"
        ),
        "{reason}"
    );
    assert!(
        !reason.contains('\n') && !reason.contains("Traceback") && !reason.contains("execution.py"),
        "{reason}"
    );
    assert!(!job.out.exists());
}

#[tokio::test]
async fn a_retried_job_is_not_failed_by_the_history_of_its_earlier_run() {
    let s = server();
    let dir = tempfile::tempdir().unwrap();
    let t = Tuning {
        safety_poll: Duration::from_millis(60),
        ..fast()
    };
    let b = backend(&light_config(s.url()), t);
    let job = render_job(dir.path(), 1, false);
    let pid = job.submission_key.clone();
    s.fail_next_run(RunFault::Error {
        exception_type: "torch.OutOfMemoryError".into(),
        message: "Allocation on device 0 would exceed allowed memory. (out of memory)".into(),
    });
    let (reason, retryable) = run(&b, job.clone()).await.failure();
    assert!(!retryable && reason.contains("out of memory"), "{reason}");
    // `previs retry`: the same job (same prompt id) again, on a render that takes a while;
    // the server keeps the failed entry in its history until the new run ends.
    s.hold_running(true);
    let checks = |s: &ComfyServer| s.requests(Route::History) + s.requests(Route::GetQueue);
    let base = checks(&s);
    let task = start(&b, job.clone(), CancellationToken::new());
    s.wait_async("the prompt to run again", |s| {
        task.is_finished() || s.running().as_deref() == Some(pid.as_str())
    })
    .await;
    s.wait_async("checks while it runs", |s| {
        task.is_finished() || checks(s) >= base + 8
    })
    .await;
    s.hold_running(false);
    let o = task.await.unwrap();
    o.finished();
    assert_video(&job.out);
    assert_eq!((s.posts(&pid), s.accepted(&pid)), (2, 2));
    assert_eq!(s.status_of(&pid).as_deref(), Some("success"));
}

#[tokio::test]
async fn a_retry_after_the_workflow_was_fixed_runs_again_over_a_run_that_left_no_video() {
    let s = server();
    let dir = tempfile::tempdir().unwrap();
    // The video branch lacks fps: the server runs only the prompt echo (200 with node_errors),
    // and previs cannot take that part back (the render box refuses the delete and the
    // interrupt), so it finishes "successfully" without a video.
    let mut g: Value = serde_json::from_str(
        &std::fs::read_to_string(fixture("comfyui/no_weights_t2v.json")).unwrap(),
    )
    .unwrap();
    g["4"]["inputs"].as_object_mut().unwrap().remove("fps");
    let broken = dir.path().join("broken.json");
    std::fs::write(&broken, g.to_string()).unwrap();
    let mut c = light_config(s.url());
    c.workflow = broken;
    c.bind.fps = None;
    let job = render_job(dir.path(), 1, false);
    let pid = job.submission_key.clone();
    s.inject(Route::PostQueue, Fault::Status(500), 1);
    s.inject(Route::Interrupt, Fault::Status(500), 1);
    let (reason, _) = run(&backend(&c, fast()), job.clone()).await.failure();
    assert!(
        reason.contains("fps: Required input is missing"),
        "{reason}"
    );
    s.wait_async("the partial prompt to finish", |s| {
        s.status_of(&pid).is_some()
    })
    .await;
    // The workflow is fixed in config.toml and the job retried (`previs retry`).
    let o = run(&backend(&light_config(s.url()), fast()), job.clone()).await;
    o.finished();
    assert_video(&job.out);
    assert_eq!(s.accepted(&pid), 2);
}

#[tokio::test]
async fn an_interrupt_from_elsewhere_fails_the_job_naming_it() {
    let s = server();
    let dir = tempfile::tempdir().unwrap();
    let b = backend(&light_config(s.url()), fast());
    let job = render_job(dir.path(), 1, false);
    s.fail_next_run(RunFault::Interrupt);
    let (reason, retryable) = run(&b, job).await.failure();
    assert!(!retryable);
    assert_eq!(
        reason,
        "interrupted on the render box at SaveVideo (node 5)"
    );
}

#[tokio::test]
async fn validation_errors_fail_the_job_naming_node_and_input() {
    let s = server();
    let dir = tempfile::tempdir().unwrap();
    // Two outputs: the video's branch lacks fps, the prompt echo is fine → 200 with node_errors.
    let mut g: Value = serde_json::from_str(
        &std::fs::read_to_string(fixture("comfyui/no_weights_t2v.json")).unwrap(),
    )
    .unwrap();
    g["4"]["inputs"].as_object_mut().unwrap().remove("fps");
    let two = dir.path().join("two_outputs.json");
    std::fs::write(&two, g.to_string()).unwrap();
    let mut c = light_config(s.url());
    c.workflow = two;
    c.bind.fps = None;
    let b = backend(&c, fast());
    let job = render_job(dir.path(), 1, false);
    let pid = job.submission_key.clone();
    let (reason, retryable) = run(&b, job).await.failure();
    assert!(!retryable, "{reason}");
    assert_eq!(
        reason,
        "the render box rejected part of the workflow: node 4 (CreateVideo) fps: Required input is missing"
    );
    assert_eq!(s.accepted(&pid), 1);
    assert!(
        s.deletes().contains(&pid) || s.interrupts().contains(&Some(pid.clone())),
        "the part it queued is removed"
    );
    // One output only → a clean 400.
    g.as_object_mut().unwrap().remove("6");
    let one = dir.path().join("one_output.json");
    std::fs::write(&one, g.to_string()).unwrap();
    let mut c1 = c.clone();
    c1.workflow = one;
    let b = backend(&c1, fast());
    let job = render_job(dir.path(), 2, false);
    let (reason, retryable) = run(&b, job.clone()).await.failure();
    assert!(!retryable, "{reason}");
    assert_eq!(
        reason,
        "the render box rejected the workflow: Prompt outputs failed validation: node 4 (CreateVideo) fps: Required input is missing"
    );
    assert_eq!(s.accepted(&job.submission_key), 0);
}

// ---- health ----

#[tokio::test]
async fn health_names_what_could_not_be_checked_and_claims_nothing_about_it() {
    let s = server();
    s.inject(Route::ObjectInfo, Fault::Status(500), 100);
    let h = backend(&wan_config(s.url()), fast()).health().await;
    assert!(h.reachable && !h.ok(), "{h:?}");
    assert_eq!(
        h.missing_models, None,
        "not checked, so not claimed present"
    );
    assert_eq!(h.problems.len(), 1, "one cause, one line: {:?}", h.problems);
    assert!(
        h.problems[0].contains("HTTP 500")
            && h.problems[0].contains("(and 9 more node types)")
            && h.problems[0].contains("not checked"),
        "{:?}",
        h.problems
    );
    // Nobody listening there.
    let c = wan_config("http://127.0.0.1:9");
    let h = backend(&c, fast()).health().await;
    assert!(!h.reachable, "{h:?}");
    assert!(
        h.problems[0].contains("GET /system_stats on http://127.0.0.1:9")
            && h.problems[0].contains("--listen"),
        "{:?}",
        h.problems
    );
}

// ---- through the real binary (default timings) ----

/// A project (three shots, 854x480, 1 s at 12 fps) whose config has a `box` backend on `s`.
fn comfy_home(s: &ComfyServer, workflow: &str, bind: &[(&str, &str)], rule: &str) -> Home {
    let h = project();
    let bind: String = bind.iter().map(|(k, v)| format!("{k} = {v:?}\n")).collect();
    let config = format!(
        "[engine]\nretry_base_ms = 20\nretry_cap_ms = 200\n\n\
         [[backend]]\nname = \"box\"\nkind = \"comfyui\"\nurl = {url:?}\nworkflow = {wf:?}\nmax_in_flight = 2\n\
         [backend.bind]\n{bind}frame_rule = {rule:?}\n\
         [backend.price]\ngpu_hour = 2.5\ncurrency = \"USD\"\n",
        url = s.url(),
        wf = fixture(workflow).display().to_string(),
    );
    h.write("config.toml", &config);
    h
}

fn array(v: &Value) -> &Vec<Value> {
    v.as_array().unwrap()
}

/// Takes listed by `previs takes --json`, each checked to be a playable H.264 file.
fn playable_takes(h: &Home) -> Vec<Value> {
    let takes = h.ok(&["takes", "--json"]).json();
    for t in array(&takes) {
        let path = PathBuf::from(t["path"].as_str().unwrap());
        assert_video(&path);
        if require_tool("ffprobe").is_some() {
            let probe = ffprobe(&path);
            assert_eq!(probe["streams"][0]["codec_name"], "h264", "{probe:#}");
            assert_eq!(probe["streams"][0]["nb_read_frames"], "12", "{probe:#}");
        }
    }
    array(&takes).clone()
}

#[test]
fn takes_render_on_the_render_box_through_the_binary() {
    let s = server();
    let h = comfy_home(&s, "comfyui/wan22_t2v_a14b.json", WAN_BIND, "4n+1");
    let listing = h.ok(&["backends", "--json"]).json();
    let b = array(&listing)
        .iter()
        .find(|b| b["name"] == "box")
        .unwrap()
        .clone();
    assert_eq!(
        (
            b["kind"].as_str(),
            b["model"].as_str(),
            b["endpoint"].as_str()
        ),
        (Some("comfyui"), Some("wan2.2-t2v-a14b"), Some(s.url()))
    );
    h.ok(&[
        "render",
        "--all",
        "--takes",
        "2",
        "--backend",
        "box",
        "--size",
        "832x480",
        "--fps",
        "16",
        "--wait",
    ]);
    let takes = playable_takes(&h);
    assert_eq!(takes.len(), 6, "three shots, two takes each");
    let queued = s.accepted_all();
    assert_eq!(queued.len(), 6);
    assert_no_double_submission(&s);
    for t in &takes {
        assert_eq!(t["backend"], "box");
        assert!(
            (t["cost"].as_f64().unwrap() - TAKE_COST).abs() < 1e-9,
            "72 GPU seconds at 2.5 USD an hour: {t:#}"
        );
        assert_eq!(t["currency"], "USD");
        assert_eq!(
            (&t["width"], &t["height"], &t["fps"], &t["frames"]),
            (&json!(832), &json!(480), &json!(16), &json!(17))
        );
        // The graph the server got for this take carries its recipe.
        let prefix = format!("previs/{}", t["id"].as_str().unwrap());
        let g = queued
            .keys()
            .filter_map(|id| s.graph(id))
            .find(|g| g["98"]["inputs"]["filename_prefix"] == prefix.as_str())
            .unwrap_or_else(|| panic!("no prompt wrote {prefix}"));
        assert_eq!(g["99"]["inputs"]["text"], t["prompt"]);
        assert_eq!(g["96"]["inputs"]["noise_seed"], t["seed"]);
        assert_eq!(g["104"]["inputs"]["length"], 17);
        assert_eq!(g["100"]["inputs"]["fps"], 16);
    }
    let usage = h.ok(&["queue", "--json"]).json();
    assert!(
        array(&usage).iter().all(|j| j["state"] == "done"),
        "{usage:#}"
    );
}

#[test]
fn backends_check_reports_queue_gpus_and_missing_model_files() {
    let s = server();
    s.hold_queue(true);
    let other = std::fs::read_to_string(fixture("comfyui/no_weights_t2v.json")).unwrap();
    s.enqueue(serde_json::from_str(&other).unwrap());
    s.enqueue(serde_json::from_str(&other).unwrap());
    let h = comfy_home(&s, "comfyui/wan22_t2v_a14b.json", WAN_BIND, "4n+1");
    let v = h.ok(&["backends", "--check", "--json"]).json();
    let b = array(&v)
        .iter()
        .find(|b| b["name"] == "box")
        .unwrap()
        .clone();
    assert_eq!(b["ok"], true, "{b:#}");
    let health = &b["health"];
    assert_eq!(health["reachable"], true);
    assert_eq!(health["queue_depth"], 2);
    assert_eq!(health["missing_models"], json!([]));
    assert_eq!(
        health["gpus"],
        json!([{"name": "cuda:0 NVIDIA GeForce RTX 4090 : cudaMallocAsync",
                "vram_total": 25_386_352_640u64, "vram_free": 24_130_617_344u64}])
    );
    assert!(health["latency_ms"].is_u64());

    let low = "wan2.2_t2v_low_noise_14B_fp8_scaled.safetensors";
    let bare = ComfyServer::start(options().without_model(low));
    let h = comfy_home(&bare, "comfyui/wan22_t2v_a14b.json", WAN_BIND, "4n+1");
    let r = h.run(&["backends", "--check", "--json"]);
    assert_eq!(r.code, 1, "a missing model fails the check: {}", r.stderr);
    let v = r.json();
    let b = array(&v)
        .iter()
        .find(|b| b["name"] == "box")
        .unwrap()
        .clone();
    assert_eq!(b["ok"], false);
    assert_eq!(b["health"]["missing_models"], json!([low]));
    let problems = array(&b["health"]["problems"]);
    assert_eq!(problems.len(), 1, "{problems:?}");
    let p = problems[0].as_str().unwrap();
    assert!(
        p.contains(low)
            && p.contains("node 102 UNETLoader")
            && p.contains("ComfyUI/models/diffusion_models"),
        "{p}"
    );
}

#[test]
fn server_errors_garbage_and_429_through_the_binary_end_with_every_take_once() {
    let s = server();
    s.inject(Route::PostPrompt, Fault::Status(500), 1);
    s.inject(Route::PostPrompt, Fault::Busy { retry_after_s: 1 }, 1);
    s.inject(Route::PostPrompt, Fault::Garbage, 1);
    s.inject(Route::GetQueue, Fault::Status(503), 1);
    s.inject(Route::History, Fault::Truncate { after: 5 }, 1);
    let h = comfy_home(&s, "comfyui/no_weights_t2v.json", NO_WEIGHTS_BIND, "exact");
    h.ok(&[
        "render",
        "--all",
        "--takes",
        "1",
        "--backend",
        "box",
        "--wait",
    ]);
    let takes = playable_takes(&h);
    assert_eq!(takes.len(), 3);
    assert_eq!(s.accepted_all().len(), 3);
    assert_no_double_submission(&s);
    let jobs = h.ok(&["queue", "--json"]).json();
    assert!(
        array(&jobs).iter().all(|j| j["state"] == "done"),
        "{jobs:#}"
    );
}

#[test]
fn an_execution_error_fails_its_job_with_the_servers_message() {
    let s = server();
    s.fail_next_run(RunFault::Error {
        exception_type: "torch.OutOfMemoryError".into(),
        message: "Allocation on device 0 would exceed allowed memory. (out of memory)".into(),
    });
    let h = comfy_home(&s, "comfyui/wan22_t2v_a14b.json", WAN_BIND, "4n+1");
    let r = h.run(&[
        "render",
        "--all",
        "--takes",
        "1",
        "--backend",
        "box",
        "--size",
        "832x480",
        "--fps",
        "16",
        "--wait",
    ]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let jobs = h.ok(&["queue", "--json"]).json();
    let failed: Vec<&Value> = array(&jobs)
        .iter()
        .filter(|j| j["state"] == "failed")
        .collect();
    assert_eq!(failed.len(), 1, "{jobs:#}");
    assert_eq!(
        failed[0]["error"],
        "KSamplerAdvanced (node 96) failed: Allocation on device 0 would exceed allowed memory. (out of memory)"
    );
    assert_eq!(
        failed[0]["attempts"], 1,
        "not retried: the same graph fails the same way"
    );
    assert_eq!(playable_takes(&h).len(), 2);
    assert_no_double_submission(&s);
}

#[test]
fn a_ui_format_workflow_is_refused_naming_the_export_to_use() {
    let s = server();
    let h = comfy_home(&s, "comfyui/ui_format.json", NO_WEIGHTS_BIND, "exact");
    let err = h.fails(&["render", "--all", "--backend", "box"], 1);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("error: ")
            && err.contains("ui_format.json is a UI-format workflow")
            && err.contains("Workflow → Export (API)"),
        "{err}"
    );
    let v = h.run(&["backends", "--check", "--json"]).json();
    let b = array(&v)
        .iter()
        .find(|b| b["name"] == "box")
        .unwrap()
        .clone();
    assert_eq!(b["ok"], false);
    assert!(
        b["health"]["problems"][0]
            .as_str()
            .unwrap()
            .contains("Export (API)")
    );
    assert_eq!(s.requests(Route::PostPrompt), 0);
}

#[test]
fn a_binding_to_a_missing_node_is_refused_naming_the_binding() {
    let s = server();
    let mut bind = WAN_BIND.to_vec();
    bind[2] = ("seed", "77.noise_seed");
    let h = comfy_home(&s, "comfyui/wan22_t2v_a14b.json", &bind, "4n+1");
    let err = h.fails(
        &[
            "render",
            "--all",
            "--backend",
            "box",
            "--size",
            "832x480",
            "--fps",
            "16",
        ],
        1,
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("binding seed = \"77.noise_seed\"")
            && err.contains("no node with id or title \"77\"")
            && err.contains("fix the binding in config.toml"),
        "{err}"
    );
    assert_eq!(s.requests(Route::PostPrompt), 0);
}

#[test]
fn a_worker_killed_mid_job_finds_its_prompts_again_and_posts_nothing_twice() {
    let s = server();
    s.hold_running(true);
    let h = comfy_home(&s, "comfyui/no_weights_t2v.json", NO_WEIGHTS_BIND, "exact");
    h.ok(&["render", "--all", "--takes", "1", "--backend", "box"]);
    let mut worker = h
        .command(&["work", "--until-idle"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    s.wait("a prompt to run", |s| s.running().is_some());
    let first = s.running().unwrap();
    worker.kill().unwrap();
    worker.wait().unwrap();
    // The render box goes on without previs.
    s.hold_running(false);
    s.wait("the queue to drain", |s| {
        s.running().is_none() && s.pending().is_empty()
    });
    h.ok(&["work", "--until-idle"]);
    assert_eq!(playable_takes(&h).len(), 3);
    assert_eq!(s.posts(&first), 1, "looked up, not posted again");
    assert_eq!(s.accepted_all().len(), 3);
    assert_no_double_submission(&s);
    let jobs = h.ok(&["queue", "--json"]).json();
    assert!(
        array(&jobs).iter().all(|j| j["state"] == "done"),
        "{jobs:#}"
    );
}

#[test]
fn cancel_through_the_binary_deletes_a_pending_prompt_and_interrupts_a_running_one() {
    let s = server();
    s.hold_running(true);
    let h = comfy_home(&s, "comfyui/no_weights_t2v.json", NO_WEIGHTS_BIND, "exact");
    let mut render = h
        .command(&[
            "render",
            "--all",
            "--takes",
            "1",
            "--backend",
            "box",
            "--wait",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Two in flight: one runs (held), one waits in the server's queue.
    s.wait("one running and one pending", |s| {
        s.running().is_some() && s.pending().len() == 1
    });
    let (running, pending) = (s.running().unwrap(), s.pending()[0].clone());
    let job_of = |pid: &str| -> u64 {
        let found = std::cell::RefCell::new(None);
        s.wait("previs to record the remote id", |_| {
            let jobs = h.ok(&["queue", "--json"]).json();
            *found.borrow_mut() = array(&jobs)
                .iter()
                .find(|j| j["remote_id"] == pid)
                .and_then(|j| j["id"].as_u64());
            found.borrow().is_some()
        });
        found.into_inner().unwrap()
    };
    let (jr, jp) = (job_of(&running), job_of(&pending));
    h.ok(&["cancel", &jp.to_string()]);
    h.ok(&["cancel", &jr.to_string()]);
    s.wait("the delete and the interrupt", |s| {
        s.deletes().contains(&pending) && s.interrupts().contains(&Some(running.clone()))
    });
    s.hold_running(false);
    let status = render.wait().unwrap();
    let jobs = h.ok(&["queue", "--json"]).json();
    let state = |id: u64| {
        array(&jobs)
            .iter()
            .find(|j| j["id"] == id)
            .map(|j| j["state"].as_str().unwrap().to_string())
    };
    assert_eq!(state(jr).as_deref(), Some("canceled"), "{jobs:#}");
    assert_eq!(state(jp).as_deref(), Some("canceled"), "{jobs:#}");
    assert_eq!(playable_takes(&h).len(), 1, "the third shot still rendered");
    assert_eq!(s.status_of(&pending), None, "a deleted prompt never runs");
    assert_no_double_submission(&s);
    assert!(status.code().is_some(), "render --wait ended by itself");
    assert!(
        std::fs::read_dir(h.path().join("data/tmp")).map_or(0, |d| d.count()) == 0,
        "no partial file left"
    );
}
