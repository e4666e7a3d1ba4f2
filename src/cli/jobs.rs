//! Rendering from the command line: queueing takes, running the engine, and the queue.

use std::collections::BTreeSet;

use super::output::{errln, outln};
use anyhow::{Result, anyhow, bail};

use super::args::{QueueArgs, RenderArgs, RerollArgs};
use super::output::{print_json, table};
use super::{Ctx, parse_size};
use crate::engine::{
    Batch, Clock, Command, JobView, RenderOptions, RunOptions, SystemClock, queue_renders,
    queue_reroll,
};
use crate::model::{Cost, JobId, JobOut, JobRecord, JobState, Shot};
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
        dry_run: a.estimate,
        style: a.style,
        vary: a
            .vary
            .iter()
            .map(|v| crate::prompt::vary::parse_axis(v))
            .collect::<Result<_, _>>()
            .map_err(|e| anyhow!(e))?,
    };
    let bench = ctx.workbench()?;
    let batch = queue_renders(
        &ctx.store,
        &ctx.registry,
        &project,
        &shots,
        &opts,
        &bench,
        &SystemClock,
    )?;
    let animatic = batch.jobs.first().is_some_and(|j| {
        ctx.registry
            .get(&j.recipe.backend)
            .is_ok_and(|b| b.kind() == "animatic")
    });
    if animatic {
        for s in &shots {
            let mv = s.spec.camera.movement.trim();
            if !mv.is_empty() && crate::model::CameraMove::find(mv).is_none() {
                errln!(
                    "note: shot {}: the animatic does not know the camera move {:?} and shows it static",
                    line(&s.code),
                    line(mv)
                );
            }
        }
    }
    if a.estimate {
        return print_estimate(ctx, &batch);
    }
    finish_queueing(ctx, batch, a.wait)
}

/// `render --estimate`: the batch priced, nothing queued.
fn print_estimate(ctx: &Ctx, batch: &Batch) -> Result<i32> {
    let fresh = batch.jobs.len() - batch.cached;
    let backend = batch
        .jobs
        .first()
        .map(|j| j.recipe.backend.clone())
        .unwrap_or_default();
    let seconds: f64 = batch
        .jobs
        .iter()
        .filter(|j| !matches!(j.state, JobState::Done { .. }))
        .map(|j| j.recipe.duration_s)
        .sum();
    let unpriced = unpriced_note(ctx, &backend, fresh, &batch.estimate);
    if ctx.json {
        print_json(&serde_json::json!({
            "backend": backend,
            "takes": fresh,
            "cached": batch.cached,
            "seconds": seconds,
            "estimate": { "amount": batch.estimate.amount, "currency": batch.estimate.currency },
            "priced": unpriced.is_none(),
        }))?;
    } else {
        outln!(
            "{fresh} take{} on {} ({seconds:.1} s of video): estimated cost {:.2} {}{}; nothing queued",
            if fresh == 1 { "" } else { "s" },
            line(&backend),
            batch.estimate.amount,
            batch.estimate.currency,
            if batch.cached > 0 {
                format!("; {} more reused from the cache at no cost", batch.cached)
            } else {
                String::new()
            }
        );
        if let Some(note) = unpriced {
            errln!("{note}");
        }
    }
    Ok(0)
}

/// A note when a batch on a paid backend comes out free because no price is known.
fn unpriced_note(ctx: &Ctx, backend: &str, fresh: usize, estimate: &Cost) -> Option<String> {
    let kind = ctx.registry.get(backend).ok()?.kind();
    (fresh > 0 && estimate.amount == 0.0 && kind != "animatic").then(|| {
        format!(
            "note: previs knows no price for backend {}; add a [backend.price] table to config.toml (see `previs backends`) to see what takes cost",
            line(backend)
        )
    })
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
        &ctx.workbench()?,
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
    errln!(
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
    if let Some(note) = unpriced_note(ctx, &backend, fresh, &batch.estimate) {
        errln!("{note}");
    }
    for j in batch
        .jobs
        .iter()
        .filter(|j| matches!(j.state, JobState::Done { .. }))
    {
        errln!("{}  cache hit", j.take_code);
    }
    let ids: BTreeSet<JobId> = batch.jobs.iter().map(|j| j.id).collect();
    if let Some(engine) = &ctx.engine {
        // Queued on behalf of another process: the engine running here picks them up.
        engine.send_blocking(Command::Wake);
        if wait {
            bail!("--wait is answered by the process that asked; queued {fresh} takes");
        }
    }
    let mut code = 0;
    if wait && fresh > 0 {
        let summary = super::worker::run_engine(
            ctx,
            RunOptions {
                until_idle: false,
                only: Some(ids.clone()),
            },
        )?;
        errln!(
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
    let unfinished = jobs.iter().filter(|j| !j.state.is_terminal()).count();
    if wait && unfinished > 0 {
        code = 1;
        if ctx.store.queue_paused()? {
            errln!(
                "error: {unfinished} takes did not start: the queue is paused; `previs resume` and `previs work` render them"
            );
        } else {
            errln!(
                "error: stopped before {unfinished} takes finished; they are back in the queue and `previs work` renders them"
            );
        }
    }
    if ctx.json {
        print_json(&views(ctx, &jobs)?)?;
    } else if !wait {
        errln!("run `previs work --until-idle` (or render with --wait) to render them");
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
        outln!("queue paused (`previs resume` resumes it)");
    }
    if views.is_empty() {
        outln!("the queue is empty");
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
            // Without an engine in this process (we hold the store), nothing is rendering: an
            // active state is an interruption that the next `previs work` recovers.
            let interrupted = ctx.engine.is_none()
                && matches!(v.state.as_str(), "submitting" | "remote" | "downloading");
            let info = if interrupted {
                "interrupted; `previs work` resumes it".to_string()
            } else {
                info
            };
            vec![
                v.id.to_string(),
                v.take.clone(),
                if interrupted {
                    "interrupted".to_string()
                } else {
                    super::worker::state_label(&v.state).to_string()
                },
                if !interrupted && (v.state == "remote" || v.state == "downloading") {
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
    if let Some(engine) = &ctx.engine {
        // An engine runs here: it cancels the job, running or not.
        if !engine.send_blocking(Command::Cancel { job: job.id }) {
            bail!("the engine stopped; run the command again");
        }
        if ctx.json {
            print_json(&views(ctx, std::slice::from_ref(&job))?)?;
        } else {
            outln!("cancel sent for job {} ({})", job.id, job.take_code);
        }
        return Ok(0);
    }
    // Work left on a remote backend by an interrupted worker (or an unconfirmed submission
    // that did get through) is stopped there too, when the backend can be asked.
    let stoppable = job.state.is_active() || matches!(job.state, JobState::Unconfirmed { .. });
    if let (Some(rid), true) = (job.remote_id.clone(), stoppable) {
        if let Ok(backend) = ctx.registry.get(&job.recipe.backend) {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            let outcome = rt.block_on(async {
                tokio::time::timeout(
                    std::time::Duration::from_secs(30),
                    backend.cancel_remote(&rid),
                )
                .await
            });
            match outcome {
                Ok(Ok(())) => {}
                Ok(Err(e)) => errln!(
                    "warning: {} could not be stopped on {}: {}",
                    job.take_code,
                    backend.name(),
                    line(&e)
                ),
                Err(_) => errln!(
                    "warning: {} did not answer the cancel within 30 s",
                    backend.name()
                ),
            }
        }
    }
    job.apply(
        JobOut::Cancel,
        SystemClock.now(),
        &ctx.config.engine.backoff(),
    )
    .map_err(|e| anyhow!(e.to_string()))?;
    ctx.store.put_job(&job)?;
    let _ = std::fs::remove_file(media::tmp_path(ctx.store.dir(), job.id));
    // A kill between moving a finished file into place and recording its take leaves the file
    // without a take; it goes with its job.
    if ctx
        .store
        .take_by_code(&job.project, &job.take_code)?
        .is_none()
    {
        let _ = std::fs::remove_file(
            ctx.store
                .dir()
                .join(media::take_rel_path(&job.project, &job.take_code)),
        );
    }
    if ctx.json {
        print_json(&views(ctx, std::slice::from_ref(&job))?)?;
    } else {
        outln!("canceled job {} ({})", job.id, job.take_code);
    }
    Ok(0)
}

/// Puts a failed or unconfirmed job back in the queue.
pub fn retry(ctx: &Ctx, key: &str) -> Result<i32> {
    let mut job = find_job(ctx, key)?;
    let unconfirmed = matches!(job.state, JobState::Unconfirmed { .. });
    if !matches!(job.state, JobState::Failed { .. }) && !unconfirmed {
        bail!(
            "job {} ({}) is {}; only failed or unconfirmed jobs are retried (render the shot again for a new take)",
            job.id,
            job.take_code,
            job.state.name()
        );
    }
    job.apply(
        JobOut::Requeue,
        SystemClock.now(),
        &ctx.config.engine.backoff(),
    )
    .map_err(|e| anyhow!(e.to_string()))?;
    ctx.store.put_job(&job)?;
    if let Some(engine) = &ctx.engine {
        engine.send_blocking(Command::Wake);
    }
    if unconfirmed {
        errln!(
            "warning: {} may already exist on {}; if it does, it will run (and be billed) twice",
            job.take_code,
            job.recipe.backend
        );
    }
    if ctx.json {
        print_json(&views(ctx, std::slice::from_ref(&job))?)?;
    } else {
        outln!(
            "job {} ({}) is queued again; `previs work` renders it",
            job.id,
            job.take_code
        );
    }
    Ok(0)
}

pub fn pause(ctx: &Ctx, paused: bool) -> Result<i32> {
    match &ctx.engine {
        Some(engine) => {
            if !engine.send_blocking(if paused {
                Command::Pause
            } else {
                Command::Resume
            }) {
                bail!("the engine stopped; run the command again");
            }
        }
        None => ctx.store.set_queue_paused(paused)?,
    }
    if ctx.json {
        print_json(&serde_json::json!({ "paused": paused }))?;
        return Ok(0);
    }
    outln!(
        "{}",
        if paused {
            "queue paused: no new jobs start until `previs resume`"
        } else {
            "queue resumed"
        }
    );
    Ok(0)
}
