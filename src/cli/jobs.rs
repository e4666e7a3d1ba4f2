//! Rendering from the command line: queueing takes, running the engine, and the queue.

use std::collections::{BTreeSet, HashMap};
use std::io::Write as _;
use std::sync::Arc;

use anyhow::{Result, anyhow, bail};
use tokio::sync::mpsc;

use super::args::{QueueArgs, RenderArgs, RerollArgs};
use super::output::{print_json, table};
use super::{Ctx, parse_size};
use crate::engine::{
    Batch, Clock, Command, Engine, Event, JobView, Level, RenderOptions, RunOptions, RunSummary,
    SystemClock, queue_renders, queue_reroll,
};
use crate::model::{JobId, JobOut, JobRecord, JobState, Shot};
use crate::sanitize::line;
use crate::store::media;

pub fn render(ctx: &Ctx, a: RenderArgs) -> Result<i32> {
    let project = ctx.project()?;
    if a.takes == 0 || a.takes > 100 {
        bail!("invalid --takes {}: give 1 to 100 takes per shot", a.takes);
    }
    let shots: Vec<Shot> = if a.all {
        ctx.store
            .shots(&project.name)?
            .into_iter()
            .filter(|s| !s.omitted)
            .collect()
    } else if a.shots.is_empty() {
        bail!("name the shots to render (e.g. `previs render 1A 1B`) or pass --all");
    } else {
        a.shots
            .iter()
            .map(|c| ctx.shot(&project, c))
            .collect::<Result<_>>()?
    };
    if shots.is_empty() {
        bail!(
            "project {} has no shots; `previs import FILE` creates them",
            project.name
        );
    }
    if let Some(d) = a.duration {
        if !(d > 0.0 && d <= 60.0) {
            bail!("invalid --duration {d}: give seconds between 0.1 and 60");
        }
    }
    let opts = RenderOptions {
        takes: a.takes,
        backend: a.backend,
        seed: a.seed,
        size: a.size.as_deref().map(parse_size).transpose()?,
        duration_s: a.duration,
        fps: a.fps,
        force: a.force,
    };
    let batch = queue_renders(
        &ctx.store,
        &ctx.registry,
        &project,
        &shots,
        &opts,
        &SystemClock,
    )?;
    finish_queueing(ctx, batch, a.wait)
}

pub fn reroll(ctx: &Ctx, a: RerollArgs) -> Result<i32> {
    let project = ctx.project()?;
    let take = ctx.take(&project, &a.take)?;
    let batch = queue_reroll(
        &ctx.store,
        &ctx.registry,
        &project,
        &take,
        a.seed,
        a.prompt,
        &SystemClock,
    )?;
    finish_queueing(ctx, batch, a.wait)
}

fn finish_queueing(ctx: &Ctx, batch: Batch, wait: bool) -> Result<i32> {
    let fresh = batch.jobs.len() - batch.cached;
    let backend = batch
        .jobs
        .first()
        .map(|j| j.recipe.backend.clone())
        .unwrap_or_default();
    eprintln!(
        "queued {fresh} take{} on {backend} (estimated cost {:.2} {}){}",
        if fresh == 1 { "" } else { "s" },
        batch.estimate.amount,
        batch.estimate.currency,
        if batch.cached > 0 {
            format!(
                "; {} reused from the cache (use --force to render anew)",
                batch.cached
            )
        } else {
            String::new()
        }
    );
    for j in batch
        .jobs
        .iter()
        .filter(|j| matches!(j.state, JobState::Done { .. }))
    {
        eprintln!("{}  cache hit", j.take_code);
    }
    let ids: BTreeSet<JobId> = batch.jobs.iter().map(|j| j.id).collect();
    let mut code = 0;
    if wait && fresh > 0 {
        let summary = run_engine(
            ctx,
            RunOptions {
                until_idle: false,
                only: Some(ids.clone()),
            },
        )?;
        eprintln!(
            "{} done, {} failed, {} canceled{}",
            summary.done,
            summary.failed,
            summary.canceled,
            if summary.unconfirmed > 0 {
                format!(", {} unconfirmed", summary.unconfirmed)
            } else {
                String::new()
            }
        );
        if summary.failed > 0 || summary.unconfirmed > 0 {
            code = 1;
        }
    }
    let jobs: Vec<JobRecord> = ids
        .iter()
        .filter_map(|id| ctx.store.job(*id).ok().flatten())
        .collect();
    if wait && jobs.iter().any(|j| !j.state.is_terminal()) {
        // Paused or interrupted before they ended.
        code = 1;
    }
    if ctx.json {
        print_json(&views(ctx, &jobs)?)?;
    } else if !wait {
        eprintln!("run `previs work --until-idle` (or render with --wait) to render them");
    }
    Ok(code)
}

fn views(ctx: &Ctx, jobs: &[JobRecord]) -> Result<Vec<JobView>> {
    jobs.iter()
        .map(|j| {
            let take = match &j.state {
                JobState::Done { take, .. } => ctx.store.take(*take)?,
                _ => None,
            };
            let parent = match j.parent {
                Some(p) => ctx.store.take(p)?.map(|t| t.code),
                None => None,
            };
            Ok(JobView::new(
                j,
                take.as_ref(),
                parent.as_deref(),
                ctx.store.dir(),
            ))
        })
        .collect()
}

pub fn queue(ctx: &Ctx, a: &QueueArgs) -> Result<i32> {
    let project = ctx.project()?;
    let all: Vec<JobRecord> = ctx
        .store
        .jobs()?
        .into_iter()
        .filter(|j| j.project == project.name)
        .collect();
    let finished: Vec<&JobRecord> = all.iter().filter(|j| j.state.is_terminal()).collect();
    let keep_finished: BTreeSet<JobId> = if a.all {
        finished.iter().map(|j| j.id).collect()
    } else {
        let mut f = finished.clone();
        f.sort_by_key(|j| std::cmp::Reverse(j.finished_at));
        f.iter().take(20).map(|j| j.id).collect()
    };
    let jobs: Vec<JobRecord> = all
        .into_iter()
        .filter(|j| !j.state.is_terminal() || keep_finished.contains(&j.id))
        .collect();
    let views = views(ctx, &jobs)?;
    if ctx.json {
        print_json(&views)?;
        return Ok(0);
    }
    if ctx.store.queue_paused()? {
        println!("queue paused (`previs resume` resumes it)");
    }
    if views.is_empty() {
        println!("the queue is empty");
        return Ok(0);
    }
    let rows: Vec<Vec<String>> = views
        .iter()
        .map(|v| {
            let info = match (&v.error, &v.path) {
                (Some(e), _) => e.clone(),
                (None, Some(p)) if v.cache_hit => format!("cache hit: {p}"),
                (None, Some(p)) => p.clone(),
                _ => String::new(),
            };
            vec![
                v.id.to_string(),
                v.take.clone(),
                state_label(&v.state).to_string(),
                if v.state == "remote" || v.state == "downloading" {
                    format!("{:>3.0}%", v.progress * 100.0)
                } else {
                    String::new()
                },
                v.backend.clone(),
                v.attempts.to_string(),
                info,
            ]
        })
        .collect();
    table(
        &["JOB", "TAKE", "STATE", "PROG", "BACKEND", "TRIES", "INFO"],
        &rows,
    );
    Ok(0)
}

pub fn work(ctx: &Ctx, until_idle: bool) -> Result<i32> {
    let summary = run_engine(
        ctx,
        RunOptions {
            until_idle,
            only: None,
        },
    )?;
    eprintln!(
        "{} done, {} failed, {} canceled",
        summary.done, summary.failed, summary.canceled
    );
    Ok(0)
}

/// Finds a job by id or by take code.
fn find_job(ctx: &Ctx, key: &str) -> Result<JobRecord> {
    if let Ok(n) = key.parse::<u64>() {
        return ctx
            .store
            .job(JobId(n))?
            .ok_or_else(|| anyhow!("no job {n}; `previs queue` lists them"));
    }
    let mut matching: Vec<JobRecord> = ctx
        .store
        .jobs()?
        .into_iter()
        .filter(|j| j.take_code.eq_ignore_ascii_case(key))
        .collect();
    matching.sort_by_key(|j| (j.state.is_terminal(), std::cmp::Reverse(j.id)));
    matching
        .into_iter()
        .next()
        .ok_or_else(|| anyhow!("no job for {:?}; `previs queue` lists them", line(key)))
}

/// Cancels a job. No engine runs while the CLI holds the store, so the job is changed here;
/// a job that was interrupted mid-render loses its temporary file.
pub fn cancel(ctx: &Ctx, key: &str) -> Result<i32> {
    let mut job = find_job(ctx, key)?;
    if job.state.is_terminal() {
        bail!(
            "job {} ({}) is already {}",
            job.id,
            job.take_code,
            job.state.name()
        );
    }
    job.apply(
        JobOut::Cancel,
        SystemClock.now(),
        &ctx.config.engine.backoff(),
    )
    .map_err(|e| anyhow!(e.to_string()))?;
    ctx.store.put_job(&job)?;
    let _ = std::fs::remove_file(media::tmp_path(ctx.store.dir(), job.id));
    println!("canceled job {} ({})", job.id, job.take_code);
    Ok(0)
}

pub fn pause(ctx: &Ctx, paused: bool) -> Result<i32> {
    ctx.store.set_queue_paused(paused)?;
    println!(
        "{}",
        if paused {
            "queue paused: no new jobs start until `previs resume`"
        } else {
            "queue resumed"
        }
    );
    Ok(0)
}

/// Runs the engine until `opts` says stop, printing progress on stderr. Ctrl-C (or SIGTERM)
/// stops it cleanly; a second Ctrl-C exits at once (the next start recovers).
fn run_engine(ctx: &Ctx, opts: RunOptions) -> Result<RunSummary> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(async {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let (engine, handle) = Engine::new(
            ctx.store.clone(),
            ctx.registry.clone(),
            ctx.config.engine.backoff(),
            Arc::new(SystemClock),
            tx,
        );
        let signals = tokio::spawn(async move {
            let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
            let mut stops = 0;
            loop {
                tokio::select! {
                    r = tokio::signal::ctrl_c() => if r.is_err() { std::future::pending::<()>().await },
                    Some(()) = async { match term.as_mut() { Some(t) => t.recv().await, None => std::future::pending().await } } => {},
                }
                stops += 1;
                if stops > 1 {
                    eprintln!("\nstopping now; interrupted jobs are recovered at the next start");
                    std::process::exit(130);
                }
                eprintln!("\nstopping: running renders are put back in the queue (Ctrl-C again to quit at once)");
                handle.send(Command::Shutdown).await;
            }
        });
        let printer = tokio::spawn(async move {
            let mut progress = Progress::default();
            while let Some(ev) = rx.recv().await {
                progress.print(&ev);
            }
        });
        let summary = engine.run(opts).await;
        signals.abort();
        let _ = printer.await;
        summary.map_err(anyhow::Error::from)
    })
}

/// The word people read for a state: `remote` means the backend is rendering it.
fn state_label(state: &str) -> &str {
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
    active: std::collections::BTreeMap<u64, (String, f32)>,
    status_shown: bool,
    drawn_at: Option<std::time::Instant>,
}

impl Default for Progress {
    fn default() -> Self {
        use std::io::IsTerminal as _;
        Self {
            tty: std::io::stderr().is_terminal(),
            last: HashMap::new(),
            active: std::collections::BTreeMap::new(),
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
                .is_some_and(|t| t.elapsed() < std::time::Duration::from_millis(100))
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
                        self.say(&format!("{}  {:<11} {d}", job.take, job.state))
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
