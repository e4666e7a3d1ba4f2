//! The engine: schedules render jobs on backends and owns their lifecycles.
//!
//! Invariants: every state transition goes through [`JobRecord::apply`] and is written (and
//! flushed) to the store before it is announced as an [`Event`] or acted upon; progress within a
//! state is coalesced and written every [`PROGRESS_EVERY`]; on start every unfinished job is
//! recovered (restarted, resumed, or marked `Unconfirmed`), never silently duplicated. The engine
//! never draws; front ends talk to it with [`Command`]s and listen to [`Event`]s.

mod commands;
mod finalize;
mod queue;
mod recovery;
pub mod view;

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use thiserror::Error;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

pub use queue::{Batch, MAX_SEED, RenderOptions, queue_renders, queue_reroll};
pub use view::{JobView, TakeView};

use crate::backend::{
    Backend, BackendMsg, Failure, Finished, Registry, RenderJob, Reporter, SubmitKind,
};
use crate::model::{Backoff, JobId, JobOut, JobRecord, JobState, Millis, Transition};
use crate::store::{Store, StoreError, media};

/// How often coalesced progress is written and announced.
pub const PROGRESS_EVERY: Duration = Duration::from_millis(200);

#[derive(Debug, Error)]
pub enum EngineError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Invalid(String),
}

/// The time source, injectable for tests.
pub trait Clock: Send + Sync {
    fn now(&self) -> Millis;
}

pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Millis {
        let d = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
    }
}

/// What front ends ask of the engine. Serializable so it can cross a socket unchanged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum Command {
    /// New jobs were queued in the store: look again.
    Wake,
    Cancel {
        job: JobId,
    },
    Pause,
    Resume,
    /// Move a queued job one place earlier (`up`) or later in the queue.
    Move {
        job: JobId,
        up: bool,
    },
    /// Stop taking jobs, put interrupted local renders back in the queue and return.
    Shutdown,
}

pub use crate::model::Level;

/// What the engine tells front ends; owned snapshots, never references into engine state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    JobUpdated {
        job: Box<JobView>,
    },
    TakeReady {
        take: Box<TakeView>,
    },
    Notice {
        level: Level,
        text: String,
    },
    /// Nothing is running and nothing can start now.
    Idle {
        paused: bool,
    },
}

/// A clonable way to send commands to a running engine.
#[derive(Clone)]
pub struct EngineHandle {
    tx: mpsc::Sender<Command>,
}

impl EngineHandle {
    /// False when the engine has stopped.
    pub async fn send(&self, command: Command) -> bool {
        self.tx.send(command).await.is_ok()
    }

    /// `send` from a thread that is not async (a blocking task running a command).
    pub fn send_blocking(&self, command: Command) -> bool {
        self.tx.blocking_send(command).is_ok()
    }
}

#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Return when nothing is running and nothing can start (paused counts as idle).
    pub until_idle: bool,
    /// Only run these jobs, and return when they have all ended.
    pub only: Option<BTreeSet<JobId>>,
}

/// How the jobs that ended during a run ended.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct RunSummary {
    pub done: usize,
    pub failed: usize,
    pub canceled: usize,
    pub unconfirmed: usize,
}

/// What a job's task returns.
type TaskOutput = (JobId, Result<Finished, Failure>);

struct Running {
    token: CancellationToken,
    backend: Arc<dyn Backend>,
    started: std::time::Instant,
}

pub struct Engine {
    store: Store,
    registry: Registry,
    backoff: Backoff,
    clock: Arc<dyn Clock>,
    events: mpsc::UnboundedSender<Event>,
    cmds: mpsc::Receiver<Command>,
    cmds_open: bool,
    outs_tx: mpsc::UnboundedSender<(JobId, BackendMsg)>,
    outs_rx: mpsc::UnboundedReceiver<(JobId, BackendMsg)>,
    /// Jobs waiting in the queue, in memory so scheduling never scans the store.
    queued: Vec<JobRecord>,
    /// Current records of running jobs.
    live: HashMap<JobId, JobRecord>,
    running: HashMap<JobId, Running>,
    tasks: JoinSet<TaskOutput>,
    task_jobs: HashMap<tokio::task::Id, JobId>,
    dirty: BTreeSet<JobId>,
    user_canceled: BTreeSet<JobId>,
    paused: bool,
    shutting_down: bool,
    announced_idle: bool,
    summary: RunSummary,
}

impl Engine {
    pub fn new(
        store: Store,
        registry: Registry,
        backoff: Backoff,
        clock: Arc<dyn Clock>,
        events: mpsc::UnboundedSender<Event>,
    ) -> (Self, EngineHandle) {
        let (tx, cmds) = mpsc::channel(64);
        let (outs_tx, outs_rx) = mpsc::unbounded_channel();
        let engine = Self {
            store,
            registry,
            backoff,
            clock,
            events,
            cmds,
            cmds_open: true,
            outs_tx,
            outs_rx,
            queued: Vec::new(),
            live: HashMap::new(),
            running: HashMap::new(),
            tasks: JoinSet::new(),
            task_jobs: HashMap::new(),
            dirty: BTreeSet::new(),
            user_canceled: BTreeSet::new(),
            paused: false,
            shutting_down: false,
            announced_idle: false,
            summary: RunSummary::default(),
        };
        (engine, EngineHandle { tx })
    }

    /// Recovers unfinished jobs, then runs jobs until `opts` says to stop or a
    /// [`Command::Shutdown`] arrives.
    pub async fn run(mut self, opts: RunOptions) -> Result<RunSummary, EngineError> {
        self.paused = self.blocking(|s| s.queue_paused()).await?;
        let resume = self.recover().await?;
        for job in resume {
            if in_scope(&opts, job.id) {
                self.spawn(job);
            } else {
                // Out of scope for this run: stays as it is for the next worker.
            }
        }
        let mut tick = tokio::time::interval(PROGRESS_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            if !self.paused && !self.shutting_down {
                self.schedule(&opts).await?;
            }
            if self.should_stop(&opts) {
                break;
            }
            let wake = self.next_retry(&opts).map(|at| {
                let ms = u64::try_from(at.saturating_sub(self.clock.now())).unwrap_or(0);
                tokio::time::Instant::now() + Duration::from_millis(ms)
            });
            tokio::select! {
                cmd = self.cmds.recv(), if self.cmds_open => match cmd {
                    Some(cmd) => self.command(cmd).await?,
                    None => self.cmds_open = false,
                },
                Some((id, out)) = self.outs_rx.recv() => self.on_out(id, out).await?,
                Some(res) = self.tasks.join_next_with_id(), if !self.tasks.is_empty() => {
                    self.on_task_end(res).await?;
                }
                () = sleep_until(wake), if wake.is_some() => {}
                _ = tick.tick() => self.flush_progress().await?,
            }
        }
        self.flush_progress().await?;
        Ok(self.summary)
    }

    /// Runs a store call off the async threads.
    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Store) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, EngineError> {
        let store = self.store.clone();
        match tokio::task::spawn_blocking(move || f(&store)).await {
            Ok(r) => r.map_err(EngineError::from),
            Err(e) => Err(EngineError::Invalid(format!("store task failed: {e}"))),
        }
    }

    fn emit(&self, event: Event) {
        // No listener is fine: a headless worker may run without one.
        let _ = self.events.send(event);
    }

    fn notice(&self, level: Level, text: String) {
        match level {
            Level::Info => tracing::info!("{text}"),
            Level::Warn => tracing::warn!("{text}"),
            Level::Error => tracing::error!("{text}"),
        }
        self.emit(Event::Notice { level, text });
    }

    fn job_event(&self, job: &JobRecord) {
        let view = JobView::new(job, None, None, self.store.dir());
        self.emit(Event::JobUpdated {
            job: Box::new(view),
        });
    }

    /// Applies `out`, writes the result (flushed for a new state) and announces it.
    async fn transition(&mut self, job: &mut JobRecord, out: JobOut) -> Result<bool, EngineError> {
        match job.apply(out, self.clock.now(), &self.backoff) {
            Ok(Transition::State) => {
                let rec = job.clone();
                self.blocking(move |s| s.put_job(&rec)).await?;
                self.count(job);
                self.job_event(job);
                Ok(true)
            }
            Ok(Transition::Progress) => {
                self.dirty.insert(job.id);
                Ok(false)
            }
            Err(e) => {
                tracing::warn!("ignored: {e}");
                Ok(false)
            }
        }
    }

    fn count(&mut self, job: &JobRecord) {
        match job.state {
            JobState::Done { .. } => self.summary.done += 1,
            JobState::Failed { .. } => self.summary.failed += 1,
            JobState::Canceled => self.summary.canceled += 1,
            JobState::Unconfirmed { .. } => self.summary.unconfirmed += 1,
            _ => {}
        }
    }

    async fn schedule(&mut self, opts: &RunOptions) -> Result<(), EngineError> {
        let now = self.clock.now();
        if !self.queued.is_sorted_by_key(|j| (j.priority, j.id)) {
            self.queued.sort_by_key(|j| (j.priority, j.id));
        }
        // Backends with no free slot are skipped without a look at their jobs; once every
        // backend is full the scan stops (a long queue costs nothing per event).
        let mut full: std::collections::BTreeSet<String> = std::collections::BTreeSet::new();
        let mut i = 0;
        while i < self.queued.len() {
            if !full.is_empty() && self.registry.names().all(|n| full.contains(n)) {
                break;
            }
            let j = &self.queued[i];
            if full.contains(&j.recipe.backend) {
                i += 1;
                continue;
            }
            if !in_scope(opts, j.id) || j.not_before.is_some_and(|t| t > now) {
                i += 1;
                continue;
            }
            let backend = match self.registry.get(&j.recipe.backend) {
                Ok(b) => b,
                Err(e) => {
                    let mut job = self.queued.remove(i);
                    let reason =
                        format!("{e}; configure it in config.toml or re-render with --backend");
                    self.transition(
                        &mut job,
                        JobOut::Failed {
                            reason,
                            retryable: false,
                        },
                    )
                    .await?;
                    continue;
                }
            };
            let busy = self
                .running
                .values()
                .filter(|r| r.backend.name() == backend.name())
                .count();
            if busy >= backend.max_in_flight() {
                full.insert(j.recipe.backend.clone());
                i += 1;
                continue;
            }
            let mut job = self.queued.remove(i);
            if self.transition(&mut job, JobOut::Start).await? {
                self.spawn(job);
            }
        }
        Ok(())
    }

    /// Starts (or resumes) a job's backend work.
    fn spawn(&mut self, job: JobRecord) {
        let Ok(backend) = self.registry.get(&job.recipe.backend) else {
            return;
        };
        let token = CancellationToken::new();
        let remote_id = match &job.state {
            JobState::Remote { remote_id, .. } => Some(remote_id.clone()),
            // A download cut off by a crash resumes from the same remote result.
            JobState::Downloading { .. } => job.remote_id.clone(),
            _ => None,
        };
        let render = RenderJob {
            job: job.id,
            recipe: job.recipe.clone(),
            slate: job.slate.clone(),
            submission_key: job.submission_key.clone(),
            out: media::tmp_path(self.store.dir(), job.id),
            remote_id,
        };
        let reporter = Reporter::new(job.id, self.outs_tx.clone());
        let (b, t, id) = (backend.clone(), token.clone(), job.id);
        let handle = self
            .tasks
            .spawn(async move { (id, b.run(render, reporter, t).await) });
        self.task_jobs.insert(handle.id(), id);
        self.running.insert(
            id,
            Running {
                token,
                backend,
                started: std::time::Instant::now(),
            },
        );
        self.live.insert(id, job);
        self.announced_idle = false;
    }

    async fn on_out(&mut self, id: JobId, msg: BackendMsg) -> Result<(), EngineError> {
        let out = match msg {
            BackendMsg::Out(out) => out,
            BackendMsg::Notice(level, text) => {
                let take = self
                    .live
                    .get(&id)
                    .map_or_else(|| format!("job {id}"), |j| j.take_code.clone());
                self.notice(level, format!("{take}: {text}"));
                return Ok(());
            }
        };
        let Some(mut job) = self.live.remove(&id) else {
            return Ok(());
        };
        let r = self.transition(&mut job, out).await;
        self.live.insert(id, job);
        r.map(|_| ())
    }

    async fn on_task_end(
        &mut self,
        res: Result<(tokio::task::Id, TaskOutput), tokio::task::JoinError>,
    ) -> Result<(), EngineError> {
        let (id, result) = match res {
            Ok((task, (id, r))) => {
                self.task_jobs.remove(&task);
                (id, r)
            }
            Err(e) => {
                let Some(id) = self.task_jobs.remove(&e.id()) else {
                    return Ok(());
                };
                (
                    id,
                    Err(Failure::Failed {
                        reason: format!("backend task crashed: {e}"),
                        retryable: true,
                    }),
                )
            }
        };
        // Whatever the backend reported before it returned comes first.
        while let Ok((jid, out)) = self.outs_rx.try_recv() {
            self.on_out(jid, out).await?;
        }
        let Some(running) = self.running.remove(&id) else {
            return Ok(());
        };
        let Some(mut job) = self.live.remove(&id) else {
            return Ok(());
        };
        self.dirty.remove(&id);
        let tmp = media::tmp_path(self.store.dir(), id);
        match result {
            Ok(finished) => {
                let elapsed = running.started.elapsed();
                if let Err(reason) = self.finalize(&mut job, finished, elapsed).await? {
                    let _ = std::fs::remove_file(&tmp);
                    self.fail(&mut job, reason, true).await?;
                }
            }
            Err(Failure::Canceled) if self.user_canceled.remove(&id) => {
                let _ = std::fs::remove_file(&tmp);
                self.transition(&mut job, JobOut::Cancel).await?;
            }
            Err(Failure::Canceled) => {
                // Shutdown: a local render starts again next time; remote work is resumed.
                if running.backend.submit_kind() == SubmitKind::Local {
                    let _ = std::fs::remove_file(&tmp);
                    self.transition(&mut job, JobOut::Requeue).await?;
                }
            }
            Err(Failure::Unconfirmed { reason }) => {
                let _ = std::fs::remove_file(&tmp);
                self.transition(
                    &mut job,
                    JobOut::Unconfirmed {
                        reason: reason.clone(),
                    },
                )
                .await?;
                self.notice(
                    Level::Warn,
                    format!(
                        "{}: {reason}; not resubmitted (`previs retry {}` sends it again, `previs cancel {}` drops it)",
                        job.take_code, job.id, job.id
                    ),
                );
            }
            Err(Failure::Failed { reason, retryable }) => {
                let _ = std::fs::remove_file(&tmp);
                self.fail(&mut job, reason, retryable).await?;
            }
        }
        Ok(())
    }

    async fn fail(
        &mut self,
        job: &mut JobRecord,
        reason: String,
        retryable: bool,
    ) -> Result<(), EngineError> {
        self.transition(
            job,
            JobOut::Failed {
                reason: reason.clone(),
                retryable,
            },
        )
        .await?;
        match &job.state {
            JobState::Queued => {
                self.notice(
                    Level::Warn,
                    format!(
                        "{}: {reason}; retrying (attempt {} of {})",
                        job.take_code,
                        job.attempts + 1,
                        self.backoff.max_attempts
                    ),
                );
                self.queued.push(job.clone());
            }
            JobState::Failed { .. } => {
                self.notice(Level::Error, format!("{} failed: {reason}", job.take_code))
            }
            _ => {}
        }
        Ok(())
    }

    /// Writes and announces coalesced progress of running jobs.
    async fn flush_progress(&mut self) -> Result<(), EngineError> {
        let dirty = std::mem::take(&mut self.dirty);
        let mut batch = Vec::new();
        for id in dirty {
            if let Some(job) = self.live.get(&id) {
                batch.push(job.clone());
            }
        }
        if batch.is_empty() {
            return Ok(());
        }
        for job in &batch {
            self.job_event(job);
        }
        self.blocking(move |s| {
            for job in &batch {
                s.put_job_progress(job)?;
            }
            Ok(())
        })
        .await
    }

    fn next_retry(&self, opts: &RunOptions) -> Option<Millis> {
        if self.paused || self.shutting_down {
            return None;
        }
        self.queued
            .iter()
            .filter(|j| in_scope(opts, j.id))
            .filter_map(|j| j.not_before)
            .min()
    }

    fn should_stop(&mut self, opts: &RunOptions) -> bool {
        if !self.running.is_empty() {
            return false;
        }
        if self.shutting_down {
            return true;
        }
        let waiting = !self.paused && self.queued.iter().any(|j| in_scope(opts, j.id));
        if waiting {
            return false;
        }
        if !self.announced_idle {
            self.announced_idle = true;
            self.emit(Event::Idle {
                paused: self.paused,
            });
        }
        if let Some(only) = &opts.only {
            // Paused with some of ours still queued: stop too; they stay queued.
            let _ = only;
            return true;
        }
        opts.until_idle || !self.cmds_open
    }
}

fn in_scope(opts: &RunOptions, id: JobId) -> bool {
    opts.only.as_ref().is_none_or(|only| only.contains(&id))
}

async fn sleep_until(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests;
