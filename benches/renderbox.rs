//! The `comfyui` backend against a simulated render box (tests/support/comfy_server.rs):
//!
//! 1. the box's idle gap between consecutive prompts with `max_in_flight` 1 and 2 (with 2, the
//!    next prompt already waits in the box's queue when one ends);
//! 2. the time from the box's completion to the take on disk, against a bare download of the same
//!    file in the same process;
//! 3. the CPU cost of tracking 1,000 prompts in flight, against tracking one.
//!
//! Run: `cargo bench --bench renderbox`. Figures are printed, with ratios against the baselines
//! measured in the same run.

#![allow(clippy::unwrap_used)] // a benchmark: a failed unwrap is a failed run

#[path = "../tests/support/comfy_server.rs"]
mod comfy_server;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use comfy_server::{ComfyServer, Options};
use previs::backend::comfyui::{Tuning, from_config_tuned};
use previs::backend::{Backend, BackendMsg, RenderJob, Reporter};
use previs::config::{Bindings, ComfyConfig, FrameRule};
use previs::model::{JobId, JobOut, Recipe, Slate};
use serde_json::Value;
use tokio::sync::{Semaphore, mpsc};
use tokio_util::sync::CancellationToken;

fn video() -> Vec<u8> {
    use previs::backend::animatic::render::{AnimaticSpec, render};
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("served.mp4");
    let spec = AnimaticSpec {
        width: 1280,
        height: 720,
        fps: 16,
        frames: 81,
        seed: 7,
        camera: previs::model::CameraMove::PushIn,
        lighting: "dusk".into(),
        grade: Default::default(),
        prompt: "a courier in a yellow raincoat sprints between the stalls".into(),
        slate: Slate::default(),
    };
    let stop = std::sync::atomic::AtomicBool::new(false);
    render(&spec, &out, &mut |_, _| {}, &stop).unwrap();
    std::fs::read(out).unwrap()
}

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(rel)
}

fn config(url: &str, max_in_flight: usize) -> ComfyConfig {
    ComfyConfig {
        name: "box".into(),
        url: url.into(),
        workflow: fixture("comfyui/no_weights_t2v.json"),
        bind: Bindings {
            prompt: "1.value".into(),
            negative: None,
            seed: "3.seed".into(),
            width: "2.width".into(),
            height: "2.height".into(),
            frames: "2.batch_size".into(),
            frame_rule: FrameRule::Exact,
            fps: Some("4.fps".into()),
            prefix: Some("5.filename_prefix".into()),
        },
        max_in_flight: Some(max_in_flight),
        model: None,
        price: None,
    }
}

fn job(dir: &Path, n: u64) -> RenderJob {
    RenderJob {
        job: JobId(n),
        recipe: Recipe {
            prompt: format!("a courier sprints between the stalls, take {n}"),
            negative: String::new(),
            seed: n,
            backend: "box".into(),
            model: "wan2.2-t2v-a14b".into(),
            width: 320,
            height: 240,
            fps: 16,
            duration_s: 1.0,
            frames: 16,
            style: None,
            variant: Default::default(),
            spec: Default::default(),
            params: Default::default(),
        },
        slate: Slate {
            take_code: format!("SC001_SH1A_TK{n:04}"),
            ..Slate::default()
        },
        submission_key: uuid::Uuid::new_v4().to_string(),
        out: dir.join(format!("{n}.mp4.part")),
        remote_id: None,
    }
}

fn tuning() -> Tuning {
    Tuning {
        poll_every: Duration::from_millis(500),
        ..Tuning::default()
    }
}

/// One job run to its end; its prompt id and the wall time it ended.
async fn run_one(b: Arc<dyn Backend>, j: RenderJob) -> (String, SystemTime) {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let r = b
        .run(
            j.clone(),
            Reporter::new(j.job, tx),
            CancellationToken::new(),
        )
        .await;
    let done = SystemTime::now();
    assert!(r.is_ok(), "job {} failed: {r:?}", j.job);
    let mut id = None;
    while let Ok((_, m)) = rx.try_recv() {
        if let BackendMsg::Out(JobOut::Accepted { remote_id }) = m {
            id = Some(remote_id);
        }
    }
    (id.unwrap(), done)
}

/// (start, end) of a prompt on the box, ms since the epoch, from its history.
async fn span(http: &reqwest::Client, url: &str, id: &str) -> (i64, i64) {
    let h: Value = http
        .get(format!("{url}/history/{id}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let msgs = h[id]["status"]["messages"].as_array().unwrap();
    let at = |kind: &str| {
        msgs.iter()
            .find(|m| m[0] == kind)
            .and_then(|m| m[1]["timestamp"].as_i64())
            .unwrap()
    };
    (at("execution_start"), at("execution_success"))
}

/// A video the box wrote, as `/view` query parameters.
async fn some_output(http: &reqwest::Client, url: &str) -> String {
    let h: Value = http
        .get(format!("{url}/history"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let f = h
        .as_object()
        .unwrap()
        .values()
        .flat_map(|e| e["outputs"].as_object().unwrap().values())
        .find_map(|o| o["images"].get(0).cloned())
        .unwrap();
    format!(
        "filename={}&subfolder={}&type={}",
        f["filename"].as_str().unwrap(),
        f["subfolder"].as_str().unwrap(),
        f["type"].as_str().unwrap()
    )
}

fn ms_since_epoch(t: SystemTime) -> f64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
        * 1000.0
}

/// Runs `n` jobs with `max_in_flight` slots, like the engine does; returns the box's idle gaps
/// (ms) and the completion → on-disk delays (ms).
async fn batch(s: &ComfyServer, max_in_flight: usize, n: u64) -> (Vec<f64>, Vec<f64>) {
    let dir = tempfile::tempdir().unwrap();
    let b = from_config_tuned(&config(s.url(), max_in_flight), tuning()).unwrap();
    let slots = Arc::new(Semaphore::new(max_in_flight));
    let mut tasks = Vec::new();
    for k in 0..n {
        let permit = slots.clone().acquire_owned().await.unwrap();
        let (b, j) = (b.clone(), job(dir.path(), k + 1));
        tasks.push(tokio::spawn(async move {
            let r = run_one(b, j).await;
            drop(permit);
            r
        }));
    }
    let http = previs::backend::http::client(Duration::from_secs(5)).unwrap();
    let mut spans = Vec::new();
    let mut delays = Vec::new();
    for t in tasks {
        let (id, done) = t.await.unwrap();
        let (start, end) = span(&http, s.url(), &id).await;
        spans.push((start, end));
        delays.push(ms_since_epoch(done) - end as f64);
    }
    spans.sort_unstable();
    let gaps = spans
        .windows(2)
        .map(|w| (w[1].0 - w[0].1).max(0) as f64)
        .collect();
    (gaps, delays)
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len().max(1) as f64
}

fn p95(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    v[((v.len() as f64 * 0.95).ceil() as usize).clamp(1, v.len()) - 1]
}

/// CPU time of this process (user + system), from /proc.
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = after.split_whitespace().collect();
    // Fields 14 and 15 of stat (utime, stime) are 11 and 12 after the command name.
    let ticks: u64 = f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap();
    Duration::from_millis(ticks * 10)
}

/// CPU seconds per wall second spent following `n` prompts that wait in the box's queue.
async fn tracking_cost(s: &ComfyServer, n: u64, window: Duration) -> f64 {
    let dir = tempfile::tempdir().unwrap();
    let b = from_config_tuned(&config(s.url(), n as usize), Tuning::default()).unwrap();
    s.hold_queue(true);
    let cancel = CancellationToken::new();
    let mut tasks = Vec::new();
    for k in 0..n {
        let (b, j, c) = (b.clone(), job(dir.path(), 100_000 + k), cancel.clone());
        tasks.push(tokio::spawn(async move {
            let (tx, _rx) = mpsc::unbounded_channel();
            b.run(j.clone(), Reporter::new(j.job, tx), c).await
        }));
    }
    // Settle: every prompt submitted and waiting.
    while s.pending().len() < n as usize {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (c0, t0) = (cpu_time(), Instant::now());
    tokio::time::sleep(window).await;
    let cost = (cpu_time() - c0).as_secs_f64() / t0.elapsed().as_secs_f64();
    cancel.cancel();
    for t in tasks {
        let _ = t.await;
    }
    s.hold_queue(false);
    cost
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let video = video();
    let mut opts = Options::new(video.clone());
    // A short simulated render: 20 steps of 20 ms on each sampler node.
    opts.step_time = Duration::from_millis(20);
    let s = ComfyServer::start(opts);
    rt.block_on(async {
        let jobs = 12;
        let (gaps1, delays1) = batch(&s, 1, jobs).await;
        let (gaps2, delays2) = batch(&s, 2, jobs).await;
        println!("renderbox: {jobs} prompts per run, a {} KB take each", video.len() / 1024);
        println!(
            "  idle gap between prompts, max_in_flight 1: mean {:.1} ms, p95 {:.1} ms",
            mean(&gaps1),
            p95(&gaps1)
        );
        println!(
            "  idle gap between prompts, max_in_flight 2: mean {:.1} ms, p95 {:.1} ms  (ratio 2/1: {:.2})",
            mean(&gaps2),
            p95(&gaps2),
            mean(&gaps2) / mean(&gaps1).max(0.001)
        );

        // Baseline: the same file fetched bare from /view.
        let http = previs::backend::http::client(Duration::from_secs(5)).unwrap();
        let query = some_output(&http, s.url()).await;
        let mut bare = Vec::new();
        for _ in 0..jobs {
            let t = Instant::now();
            let bytes = http
                .get(format!("{}/view?{query}", s.url()))
                .send()
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap();
            let dir = tempfile::tempdir().unwrap();
            std::fs::write(dir.path().join("x.mp4"), &bytes).unwrap();
            bare.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        let all: Vec<f64> = delays1.iter().chain(&delays2).copied().collect();
        println!(
            "  completion on the box → take on disk: mean {:.1} ms, p95 {:.1} ms; bare download + write {:.1} ms (ratio {:.1})",
            mean(&all),
            p95(&all),
            mean(&bare),
            mean(&all) / mean(&bare).max(0.001)
        );

        // Longer than the safety poll (30 s), so each prompt's periodic history check is in it.
        let window = Duration::from_secs(32);
        let one = tracking_cost(&s, 1, window).await;
        let many = tracking_cost(&s, 1000, window).await;
        println!(
            "  CPU while following prompts queued on the box over {} s: 1 → {:.2} % of a core, 1000 → {:.2} % of a core ({:.4} ms of CPU per prompt per second; /proc resolution 10 ms)",
            window.as_secs(),
            one * 100.0,
            many * 100.0,
            (many - one).max(0.0) * 1000.0 / 999.0
        );
    });
}
