//! Running the engine from the command line: `render --wait`, `work --until-idle`, and `work`
//! as a long-running render service.
//!
//! Only one process can open a store. A busy `previs work` holds it; an idle one lets go of it
//! and looks for queued jobs every [`IDLE_POLL`], so `previs render` from any shell queues work
//! for it. Ctrl-C or SIGTERM stops cleanly (interrupted local renders go back in the queue); a
//! second one exits at once (the next start recovers).

use std::collections::{BTreeMap, HashMap};
use std::io::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Result;
use tokio::sync::{Mutex, Notify, mpsc};

use super::Ctx;
use crate::engine::{
    Command, Engine, EngineHandle, Event, Level, RunOptions, RunSummary, SystemClock,
};
use crate::model::JobState;
use crate::sanitize::line;
use crate::store::{Store, StoreError};

/// How often an idle worker looks for new jobs.
pub const IDLE_POLL: Duration = Duration::from_secs(2);

/// Ctrl-C / SIGTERM, shared by the engine runs of one command.
#[derive(Clone, Default)]
struct Stop {
    requested: Arc<AtomicBool>,
    notify: Arc<Notify>,
    engine: Arc<Mutex<Option<EngineHandle>>>,
}

impl Stop {
    fn is_set(&self) -> bool {
        self.requested.load(Ordering::SeqCst)
    }

    /// Watches for signals for as long as the runtime lives.
    fn watch(&self) {
        let stop = self.clone();
        tokio::spawn(async move {
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
            loop {
                tokio::select! {
                    r = tokio::signal::ctrl_c() => if r.is_err() { std::future::pending::<()>().await },
                    Some(()) = async { match term.as_mut() { Some(t) => t.recv().await, None => std::future::pending().await } } => {},
                }
                if stop.requested.swap(true, Ordering::SeqCst) {
                    eprintln!("\nstopping now; interrupted jobs are recovered at the next start");
                    std::process::exit(130);
                }
                eprintln!(
                    "\nstopping: running renders are put back in the queue (Ctrl-C again to quit at once)"
                );
                stop.notify.notify_waiters();
                if let Some(h) = stop.engine.lock().await.as_ref() {
                    h.send(Command::Shutdown).await;
                }
            }
        });
    }
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?)
}

/// Runs the engine until `opts` says stop, printing progress on stderr.
pub fn run_engine(ctx: &Ctx, opts: RunOptions) -> Result<RunSummary> {
    let rt = runtime()?;
    rt.block_on(async {
        let stop = Stop::default();
        stop.watch();
        engine_once(ctx, opts, &stop).await
    })
}

async fn engine_once(ctx: &Ctx, opts: RunOptions, stop: &Stop) -> Result<RunSummary> {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let (engine, handle) = Engine::new(
        ctx.store.clone(),
        ctx.registry.clone(),
        ctx.config.engine.backoff(),
        Arc::new(SystemClock),
        tx,
    );
    let serving = super::control::serve(ctx, handle.clone());
    *stop.engine.lock().await = Some(handle);
    let printer = tokio::spawn(async move {
        let mut progress = Progress::default();
        while let Some(ev) = rx.recv().await {
            progress.print(&ev);
        }
    });
    let summary = engine.run(opts).await;
    drop(serving);
    *stop.engine.lock().await = None;
    let _ = printer.await;
    Ok(summary?)
}

/// `previs work`: with `until_idle`, one engine run; otherwise a service that renders whatever
/// gets queued until it is stopped.
pub fn work(
    ctx: Ctx,
    until_idle: bool,
    home: Option<PathBuf>,
    project: Option<String>,
) -> Result<i32> {
    let rt = runtime()?;
    rt.block_on(async move {
        let stop = Stop::default();
        stop.watch();
        let mut total = RunSummary::default();
        let mut current = Some(ctx);
        loop {
            let Some(ctx) = current.take() else { break };
            let s = engine_once(&ctx, RunOptions { until_idle: true, only: None }, &stop).await?;
            total.done += s.done;
            total.failed += s.failed;
            total.canceled += s.canceled;
            total.unconfirmed += s.unconfirmed;
            let data_dir = ctx.paths.data_dir.clone();
            drop(ctx); // lets other previs commands use the store while we wait
            if until_idle || stop.is_set() {
                break;
            }
            eprintln!("idle: waiting for queued jobs (`previs render` from any shell queues them; Ctrl-C stops)");
            loop {
                tokio::select! {
                    () = tokio::time::sleep(IDLE_POLL) => {}
                    () = stop.notify.notified() => {}
                }
                if stop.is_set() {
                    break;
                }
                match has_work(&data_dir) {
                    Ok(true) => {
                        current = Some(Ctx::open(home.clone(), project.clone(), false)?);
                        break;
                    }
                    Ok(false) | Err(StoreError::Locked { .. }) => {}
                    Err(e) => return Err(e.into()),
                }
            }
        }
        eprintln!("{} done, {} failed, {} canceled", total.done, total.failed, total.canceled);
        // A batch run (`--until-idle`) that lost takes says so in its exit code.
        Ok(i32::from(until_idle && total.failed > 0))
    })
}

/// Whether the store holds jobs a worker should run now. Opens the store only briefly.
fn has_work(data_dir: &std::path::Path) -> Result<bool, StoreError> {
    let store = Store::open(data_dir)?;
    if store.queue_paused()? {
        return Ok(false);
    }
    Ok(store
        .unfinished_jobs()?
        .iter()
        .any(|j| !j.state.is_terminal() && !matches!(j.state, JobState::Unconfirmed { .. })))
}

/// The word people read for a state: `remote` means the backend is rendering it.
pub fn state_label(state: &str) -> &str {
    if state == "remote" {
        "rendering"
    } else {
        state
    }
}

/// Prints engine events on stderr: a line per state change and per finished take; progress as
/// one refreshing status line on a terminal, or a line per quarter when stderr is a file or pipe.
struct Progress {
    tty: bool,
    last: HashMap<u64, (String, u32)>,
    active: BTreeMap<u64, (String, f32)>,
    status_shown: bool,
    drawn_at: Option<std::time::Instant>,
}

impl Default for Progress {
    fn default() -> Self {
        use std::io::IsTerminal as _;
        Self {
            tty: std::io::stderr().is_terminal(),
            last: HashMap::new(),
            active: BTreeMap::new(),
            status_shown: false,
            drawn_at: None,
        }
    }
}

impl Progress {
    fn say(&mut self, text: &str) {
        let mut err = std::io::stderr().lock();
        if self.status_shown {
            let _ = write!(err, "\r\x1b[K");
            self.status_shown = false;
        }
        let _ = writeln!(err, "{text}");
    }

    fn status(&mut self, force: bool) {
        if !self.tty || self.active.is_empty() {
            return;
        }
        if !force
            && self
                .drawn_at
                .is_some_and(|t| t.elapsed() < Duration::from_millis(100))
        {
            return;
        }
        self.drawn_at = Some(std::time::Instant::now());
        let cols: usize = std::env::var("COLUMNS")
            .ok()
            .and_then(|c| c.parse().ok())
            .unwrap_or(80);
        let parts: Vec<String> = self
            .active
            .values()
            .map(|(take, p)| format!("{take} {:>3.0}%", p * 100.0))
            .collect();
        let text = super::output::clip(
            &format!("rendering {}", parts.join(" · ")),
            cols.saturating_sub(1),
        );
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r\x1b[K{text}");
        let _ = err.flush();
        self.status_shown = true;
    }

    fn print(&mut self, ev: &Event) {
        match ev {
            Event::JobUpdated { job } => {
                let quarter = (job.progress * 4.0).floor() as u32;
                let prev = self.last.insert(job.id, (job.state.clone(), quarter));
                let state_changed = prev.as_ref().is_none_or(|(s, _)| *s != job.state);
                if matches!(job.state.as_str(), "remote" | "downloading") {
                    self.active.insert(job.id, (job.take.clone(), job.progress));
                } else {
                    self.active.remove(&job.id);
                }
                let detail = match job.state.as_str() {
                    "failed" | "unconfirmed" => {
                        Some(job.error.as_deref().map(line).unwrap_or_default())
                    }
                    "canceled" => Some(String::new()),
                    "remote" | "downloading" if !self.tty => {
                        let moved =
                            prev.as_ref().is_none_or(|(_, q)| *q != quarter) || state_changed;
                        moved.then(|| format!("{:>3}%", quarter * 25))
                    }
                    _ => None,
                };
                match detail {
                    Some(d) if state_changed || !self.tty => {
                        self.say(&format!(
                            "{}  {:<11} {d}",
                            job.take,
                            state_label(&job.state)
                        ));
                    }
                    _ => self.status(false),
                }
            }
            Event::TakeReady { take } => {
                self.active.retain(|_, (t, _)| *t != take.id);
                self.say(&format!(
                    "{}  done        {:.1}s render → {}",
                    take.id,
                    take.render_ms as f64 / 1000.0,
                    line(&take.path)
                ));
                self.status(true);
            }
            Event::Notice { level, text } => {
                let tag = match level {
                    Level::Info => "note",
                    Level::Warn => "warning",
                    Level::Error => "error",
                };
                self.say(&format!("{tag}: {}", line(text)));
            }
            Event::Idle { paused: true } => {
                self.say("queue paused; `previs resume` lets queued jobs start")
            }
            Event::Idle { paused: false } => {}
        }
    }
}
