//! Engine tests against a scripted backend, on a paused tokio clock.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, OnceLock};

use super::*;
use crate::backend::{BoxFuture, RenderJob};
use crate::model::{Cost, Project, Recipe, Shot, ShotId, ShotSpec};

/// A valid one-frame MP4, rendered once by the animatic.
fn tiny_mp4() -> &'static [u8] {
    static BYTES: OnceLock<Vec<u8>> = OnceLock::new();
    BYTES.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("t.mp4");
        let spec = crate::backend::animatic::render::AnimaticSpec {
            width: 854,
            height: 480,
            fps: 24,
            frames: 1,
            seed: 1,
            camera: crate::model::CameraMove::Static,
            lighting: String::new(),
            grade: Default::default(),
            prompt: "x".into(),
            slate: crate::model::Slate::default(),
        };
        let stop = std::sync::atomic::AtomicBool::new(false);
        crate::backend::animatic::render::render(&spec, &out, &mut |_, _| {}, &stop).unwrap();
        std::fs::read(out).unwrap()
    })
}

#[derive(Debug, Clone)]
enum Step {
    /// Report progress, wait this long, then write the file.
    Succeed {
        ms: u64,
    },
    Fail {
        retryable: bool,
    },
    /// Never finishes on its own.
    Hang,
    /// The submission may have gone through; nobody can tell.
    Unsure,
}

struct Scripted {
    steps: Mutex<VecDeque<Step>>,
    kind: SubmitKind,
    max: usize,
    calls: Mutex<Vec<(JobId, Option<String>)>>,
    running: Mutex<usize>,
    peak: Mutex<usize>,
}

impl Scripted {
    fn new(steps: &[Step], kind: SubmitKind, max: usize) -> Arc<Self> {
        Arc::new(Self {
            steps: Mutex::new(steps.iter().cloned().collect()),
            kind,
            max,
            calls: Mutex::new(Vec::new()),
            running: Mutex::new(0),
            peak: Mutex::new(0),
        })
    }
}

impl Backend for Scripted {
    fn name(&self) -> &str {
        "scripted"
    }
    fn kind(&self) -> &'static str {
        "test"
    }
    fn model(&self) -> &str {
        "m"
    }
    fn max_in_flight(&self) -> usize {
        self.max
    }
    fn submit_kind(&self) -> SubmitKind {
        self.kind
    }
    fn frames(&self, duration_s: f64, fps: u32) -> u32 {
        (duration_s * f64::from(fps)) as u32
    }
    fn check(&self, _: &Recipe) -> Result<(), String> {
        Ok(())
    }
    fn estimate(&self, _: &Recipe) -> Cost {
        Cost {
            amount: 0.5,
            currency: "USD".into(),
        }
    }
    fn run(
        &self,
        job: RenderJob,
        report: Reporter,
        cancel: CancellationToken,
    ) -> BoxFuture<'_, Result<Finished, Failure>> {
        Box::pin(async move {
            self.calls
                .lock()
                .unwrap()
                .push((job.job, job.remote_id.clone()));
            {
                let mut r = self.running.lock().unwrap();
                *r += 1;
                let mut p = self.peak.lock().unwrap();
                *p = (*p).max(*r);
            }
            let step = self
                .steps
                .lock()
                .unwrap()
                .pop_front()
                .unwrap_or(Step::Succeed { ms: 10 });
            if matches!(step, Step::Unsure) {
                *self.running.lock().unwrap() -= 1;
                return Err(Failure::Unconfirmed {
                    reason: "timed out after sending".into(),
                });
            }
            report.send(JobOut::Accepted {
                remote_id: format!("r{}", job.job),
            });
            report.send(JobOut::Progress { value: 1, max: 2 });
            let result = match step {
                Step::Succeed { ms } => {
                    tokio::select! {
                        () = cancel.cancelled() => Err(Failure::Canceled),
                        () = tokio::time::sleep(Duration::from_millis(ms)) => {
                            std::fs::create_dir_all(job.out.parent().unwrap()).unwrap();
                            std::fs::write(&job.out, tiny_mp4()).unwrap();
                            Ok(Finished { cost: Cost { amount: 0.5, currency: "USD".into() }, rendered_by: None })
                        }
                    }
                }
                Step::Fail { retryable } => Err(Failure::Failed {
                    reason: "boom".into(),
                    retryable,
                }),
                Step::Unsure => Err(Failure::Unconfirmed {
                    reason: "timed out after sending".into(),
                }),
                Step::Hang => {
                    std::fs::create_dir_all(job.out.parent().unwrap()).unwrap();
                    std::fs::write(&job.out, b"partial").unwrap();
                    cancel.cancelled().await;
                    Err(Failure::Canceled)
                }
            };
            *self.running.lock().unwrap() -= 1;
            result
        })
    }
}

/// Time that follows tokio's (paused) clock.
struct TokioClock(tokio::time::Instant);

impl Clock for TokioClock {
    fn now(&self) -> Millis {
        1_000_000 + i64::try_from(self.0.elapsed().as_millis()).unwrap()
    }
}

struct Harness {
    _dir: tempfile::TempDir,
    store: Store,
    registry: Registry,
    project: Project,
    shot: Shot,
}

fn harness(backend: Arc<Scripted>) -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let project = Project::new("p", 0).unwrap();
    store.create_project(&project).unwrap();
    let shot = Shot::new(
        ShotId(1),
        "p",
        "1A",
        "1",
        0,
        ShotSpec {
            action: "a fox runs".into(),
            ..ShotSpec::default()
        },
        0,
    );
    store.put_shot(&shot).unwrap();
    let config = crate::config::Config::default();
    let registry = Registry::from_config(&config).with(backend);
    Harness {
        _dir: dir,
        store,
        registry,
        project,
        shot,
    }
}

impl Harness {
    fn queue(&self, takes: u32) -> Vec<JobRecord> {
        let shot = self.store.shot(self.shot.id).unwrap().unwrap();
        let opts = RenderOptions {
            takes,
            backend: Some("scripted".into()),
            ..RenderOptions::default()
        };
        queue_renders(
            &self.store,
            &self.registry,
            &self.project,
            &[shot],
            &opts,
            &crate::prompt::Workbench::default(),
            &SystemClock,
        )
        .unwrap()
        .jobs
    }

    fn engine(&self) -> (Engine, EngineHandle, mpsc::UnboundedReceiver<Event>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let backoff = Backoff {
            base_ms: 1_000,
            cap_ms: 4_000,
            max_attempts: 3,
        };
        let (e, h) = Engine::new(
            self.store.clone(),
            self.registry.clone(),
            backoff,
            Arc::new(TokioClock(tokio::time::Instant::now())),
            tx,
        );
        (e, h, rx)
    }

    fn states(&self) -> Vec<String> {
        self.store
            .jobs()
            .unwrap()
            .iter()
            .map(|j| j.state.name().to_string())
            .collect()
    }
}

fn until_idle() -> RunOptions {
    RunOptions {
        until_idle: true,
        only: None,
    }
}

#[tokio::test(start_paused = true)]
async fn takes_are_made_and_announced_after_they_are_stored() {
    let b = Scripted::new(&[], SubmitKind::Idempotent, 2);
    let h = harness(b.clone());
    h.queue(3);
    let (engine, _handle, mut rx) = h.engine();
    let summary = engine.run(until_idle()).await.unwrap();
    assert_eq!(
        summary,
        RunSummary {
            done: 3,
            ..RunSummary::default()
        }
    );
    assert_eq!(h.states(), ["done", "done", "done"]);
    let takes = h.store.takes("p").unwrap();
    assert_eq!(
        takes.iter().map(|t| t.code.as_str()).collect::<Vec<_>>(),
        ["SC001_SH1A_TK01", "SC001_SH1A_TK02", "SC001_SH1A_TK03"]
    );
    assert!(
        takes
            .iter()
            .all(|t| t.cost.amount == 0.5 && t.media.codec == "h264")
    );
    assert_eq!(*b.peak.lock().unwrap(), 2, "max_in_flight caps concurrency");
    let mut ready = 0;
    while let Ok(ev) = rx.try_recv() {
        if let Event::TakeReady { take } = ev {
            // Announced only once it is in the store.
            assert!(h.store.take_by_code("p", &take.id).unwrap().is_some());
            ready += 1;
        }
    }
    assert_eq!(ready, 3);
}

#[tokio::test(start_paused = true)]
async fn retryable_failures_back_off_then_fail_for_good() {
    let b = Scripted::new(
        &[
            Step::Fail { retryable: true },
            Step::Fail { retryable: true },
            Step::Fail { retryable: true },
        ],
        SubmitKind::Idempotent,
        1,
    );
    let h = harness(b.clone());
    h.queue(1);
    let (engine, _handle, _rx) = h.engine();
    let start = tokio::time::Instant::now();
    let summary = engine.run(until_idle()).await.unwrap();
    assert_eq!(summary.failed, 1);
    let job = &h.store.jobs().unwrap()[0];
    assert!(
        matches!(&job.state, JobState::Failed { attempts: 3, reason } if reason == "boom"),
        "{:?}",
        job.state
    );
    // Waits of 1 s and 2 s between the three attempts.
    let waited = start.elapsed();
    assert!(
        waited >= Duration::from_millis(3_000) && waited < Duration::from_millis(3_500),
        "{waited:?}"
    );
    assert_eq!(b.calls.lock().unwrap().len(), 3);
}

#[tokio::test(start_paused = true)]
async fn a_retry_that_succeeds_makes_one_take() {
    let b = Scripted::new(
        &[Step::Fail { retryable: true }, Step::Succeed { ms: 5 }],
        SubmitKind::Idempotent,
        1,
    );
    let h = harness(b);
    h.queue(1);
    let (engine, _handle, _rx) = h.engine();
    assert_eq!(engine.run(until_idle()).await.unwrap().done, 1);
    assert_eq!(h.store.takes("p").unwrap().len(), 1);
    assert_eq!(h.store.jobs().unwrap()[0].attempts, 2);
}

#[tokio::test(start_paused = true)]
async fn a_non_retryable_failure_is_final_at_once() {
    let b = Scripted::new(
        &[Step::Fail { retryable: false }],
        SubmitKind::Idempotent,
        1,
    );
    let h = harness(b.clone());
    h.queue(1);
    let (engine, _handle, _rx) = h.engine();
    assert_eq!(engine.run(until_idle()).await.unwrap().failed, 1);
    assert_eq!(b.calls.lock().unwrap().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn cancel_stops_a_running_job_and_removes_its_partial_file() {
    let b = Scripted::new(&[Step::Hang], SubmitKind::Idempotent, 1);
    let h = harness(b);
    let jobs = h.queue(2);
    let (engine, handle, _rx) = h.engine();
    let run = tokio::spawn(engine.run(until_idle()));
    tokio::time::sleep(Duration::from_millis(50)).await;
    let tmp = media::tmp_path(h.store.dir(), jobs[0].id);
    assert!(tmp.exists());
    assert!(handle.send(Command::Cancel { job: jobs[0].id }).await);
    let summary = run.await.unwrap().unwrap();
    assert_eq!((summary.canceled, summary.done), (1, 1));
    assert_eq!(h.states(), ["canceled", "done"]);
    assert!(!tmp.exists());
}

#[tokio::test(start_paused = true)]
async fn pause_lets_running_jobs_finish_and_starts_nothing_new() {
    let b = Scripted::new(&[Step::Succeed { ms: 100 }], SubmitKind::Idempotent, 1);
    let h = harness(b);
    h.queue(2);
    let (engine, handle, _rx) = h.engine();
    let run = tokio::spawn(engine.run(until_idle()));
    tokio::time::sleep(Duration::from_millis(10)).await;
    handle.send(Command::Pause).await;
    let summary = run.await.unwrap().unwrap();
    assert_eq!(summary.done, 1);
    assert_eq!(h.states(), ["done", "queued"]);
    assert!(h.store.queue_paused().unwrap());
    // Resumed in a later run, the rest renders.
    h.store.set_queue_paused(false).unwrap();
    let (engine, _handle, _rx) = h.engine();
    assert_eq!(engine.run(until_idle()).await.unwrap().done, 1);
}

#[tokio::test(start_paused = true)]
async fn recovery_restarts_local_resumes_idempotent_and_never_resends_the_rest() {
    for (kind, want_state, want_calls) in [
        (SubmitKind::Local, "done", vec![None]),
        (
            SubmitKind::Idempotent,
            "done",
            vec![Some("r-old".to_string())],
        ),
        (SubmitKind::NonIdempotent, "unconfirmed", vec![]),
    ] {
        let b = Scripted::new(&[], kind, 1);
        let h = harness(b.clone());
        let mut job = h.queue(1).remove(0);
        // A previous worker died while the job was in flight.
        let backoff = Backoff::default();
        job.apply(JobOut::Start, 1, &backoff).unwrap();
        if kind != SubmitKind::NonIdempotent {
            job.apply(
                JobOut::Accepted {
                    remote_id: "r-old".into(),
                },
                2,
                &backoff,
            )
            .unwrap();
        }
        h.store.put_job(&job).unwrap();
        let stray = media::tmp_path(h.store.dir(), JobId(999));
        std::fs::create_dir_all(stray.parent().unwrap()).unwrap();
        std::fs::write(&stray, b"x").unwrap();
        let (engine, _handle, _rx) = h.engine();
        engine.run(until_idle()).await.unwrap();
        assert_eq!(h.states(), [want_state], "{kind:?}");
        let calls: Vec<Option<String>> = b
            .calls
            .lock()
            .unwrap()
            .iter()
            .map(|(_, r)| r.clone())
            .collect();
        assert_eq!(calls, want_calls, "{kind:?}");
        assert!(!stray.exists(), "stray temporary files are swept");
    }
}

#[tokio::test(start_paused = true)]
async fn shutdown_puts_local_renders_back_in_the_queue() {
    let b = Scripted::new(&[Step::Hang], SubmitKind::Local, 1);
    let h = harness(b);
    h.queue(1);
    let (engine, handle, _rx) = h.engine();
    let run = tokio::spawn(engine.run(RunOptions::default()));
    tokio::time::sleep(Duration::from_millis(20)).await;
    handle.send(Command::Shutdown).await;
    run.await.unwrap().unwrap();
    assert_eq!(h.states(), ["queued"]);
}

#[tokio::test(start_paused = true)]
async fn a_job_for_a_backend_that_is_gone_fails_with_the_reason() {
    let b = Scripted::new(&[], SubmitKind::Local, 1);
    let h = harness(b);
    h.queue(1);
    let (tx, _rx) = mpsc::unbounded_channel();
    let registry = Registry::from_config(&crate::config::Config::default());
    let (engine, _h) = Engine::new(
        h.store.clone(),
        registry,
        Backoff::default(),
        Arc::new(SystemClock),
        tx,
    );
    engine.run(until_idle()).await.unwrap();
    let job = &h.store.jobs().unwrap()[0];
    assert!(
        matches!(&job.state, JobState::Failed { reason, .. } if reason.contains("unknown backend \"scripted\"")),
        "{:?}",
        job.state
    );
}

#[tokio::test(start_paused = true)]
async fn an_unconfirmed_submission_waits_for_the_user_and_is_never_resent() {
    let b = Scripted::new(&[Step::Unsure], SubmitKind::NonIdempotent, 1);
    let h = harness(b.clone());
    h.queue(1);
    let (engine, _handle, mut rx) = h.engine();
    let summary = engine.run(until_idle()).await.unwrap();
    assert_eq!(summary.unconfirmed, 1);
    assert_eq!(h.states(), ["unconfirmed"]);
    assert_eq!(b.calls.lock().unwrap().len(), 1);
    let mut told = false;
    while let Ok(ev) = rx.try_recv() {
        if let Event::Notice { text, .. } = ev {
            told |= text.contains("not resubmitted");
        }
    }
    assert!(told, "the user is told what to do");
    // A later run leaves it alone.
    let (engine, _handle, _rx) = h.engine();
    engine.run(until_idle()).await.unwrap();
    assert_eq!(b.calls.lock().unwrap().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn move_reorders_waiting_jobs_and_persists_the_order() {
    let steps = vec![Step::Succeed { ms: 100 }; 4];
    let b = Scripted::new(&steps, SubmitKind::Idempotent, 1);
    let h = harness(b.clone());
    let jobs = h.queue(4);
    let ids: Vec<JobId> = jobs.iter().map(|j| j.id).collect();
    let (engine, handle, mut rx) = h.engine();
    let run = tokio::spawn(engine.run(until_idle()));
    tokio::time::sleep(Duration::from_millis(10)).await;
    // The first job runs; the last moves ahead of the two others, the running one cannot move.
    handle
        .send(Command::Move {
            job: ids[3],
            up: true,
        })
        .await;
    handle
        .send(Command::Move {
            job: ids[3],
            up: true,
        })
        .await;
    handle
        .send(Command::Move {
            job: ids[0],
            up: false,
        })
        .await;
    tokio::time::sleep(Duration::from_millis(10)).await;
    let stored: Vec<i64> = ids
        .iter()
        .map(|id| h.store.job(*id).unwrap().unwrap().priority)
        .collect();
    assert!(
        stored[3] < stored[1] && stored[1] <= stored[2],
        "{stored:?}"
    );
    run.await.unwrap().unwrap();
    let order: Vec<JobId> = b.calls.lock().unwrap().iter().map(|c| c.0).collect();
    assert_eq!(order, [ids[0], ids[3], ids[1], ids[2]]);
    let mut refused = false;
    while let Ok(ev) = rx.try_recv() {
        if let Event::Notice { text, .. } = ev {
            refused |= text.contains("only queued jobs move");
        }
    }
    assert!(refused, "moving a running job says why it cannot");
}
