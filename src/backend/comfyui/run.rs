//! One job on a ComfyUI server: find or submit its prompt, follow it, download the video.
//!
//! Invariants: the prompt (id = the job's submission key) is looked up in the queue and the
//! history before every POST, so nothing runs twice; a prompt the server lost (a restart) is
//! submitted again once, with a notice, and a second loss fails the attempt as retryable; the
//! job subscribes to the socket before it posts; while the socket is down, or when the prompt
//! was posted by another process (its events go to that process's socket), polling takes over;
//! a cancel deletes a pending prompt or interrupts a running one. A retried job (same prompt id)
//! runs again over an earlier run that failed or left no video, and is never judged by that
//! run's history entry, which the server keeps until the new run ends: every check while
//! following asks the queue before the history.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::time::{MissedTickBehavior, interval_at};
use tokio_util::sync::CancellationToken;

use super::ComfyUi;
use super::client::{ApiError, Presence};
use super::history::{Ending, HistoryEntry, OutputFile, files_in, pick_video};
use super::progress::{SCALE, Tracker};
use super::socket::{Event, Subscription};
use crate::backend::http::{self, DownloadError};
use crate::backend::{Failure, Finished, RenderJob, Reporter};
use crate::model::{JobOut, Level};

/// A prompt that finished well.
struct Done {
    files: Vec<OutputFile>,
    /// GPU time: the server's timestamps when known, else what was seen here.
    gpu_s: f64,
}

/// How following a prompt ended.
enum Followed {
    Done(Done),
    /// In neither the queue nor the history any more.
    Lost,
}

fn fail(reason: String) -> Failure {
    Failure::Failed {
        reason,
        retryable: false,
    }
}

/// The output prefix for a take: `previs/SC001_SH1A_TK01`.
pub fn take_prefix(job: &RenderJob) -> String {
    let code: String = job
        .slate
        .take_code
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if code.is_empty() {
        format!("previs/job{}", job.job)
    } else {
        format!("previs/{code}")
    }
}

fn ending_failure(entry: &HistoryEntry) -> Option<Failure> {
    match &entry.ending {
        Ending::Success => None,
        Ending::Error(t) | Ending::Interrupted(t) => Some(fail(t.clone())),
    }
}

fn seconds(start: Option<i64>, end: Option<i64>) -> Option<f64> {
    match (start, end) {
        (Some(s), Some(e)) if e >= s => Some((e - s) as f64 / 1000.0),
        _ => None,
    }
}

impl ComfyUi {
    pub(super) async fn run_job(
        &self,
        job: RenderJob,
        report: Reporter,
        cancel: CancellationToken,
    ) -> Result<Finished, Failure> {
        let pid = job
            .remote_id
            .clone()
            .unwrap_or_else(|| job.submission_key.clone());
        let graph = self.workflow.apply(&job.recipe, &take_prefix(&job));
        let mut sub = self.hub.subscribe(&pid);
        tokio::select! {
            () = cancel.cancelled() => return Err(Failure::Canceled),
            () = sub.ready(self.tuning.connect_wait) => {}
        }
        let resumed = job.remote_id.is_some();
        let (mut posted, mut accepted, mut losses) = (false, false, 0u32);
        let done = loop {
            let presence = tokio::select! {
                () = cancel.cancelled() => return Err(self.stop(&pid).await),
                p = self.client.lookup(&pid) => p.map_err(ApiError::failure)?,
            };
            let mut ours = posted;
            let submit = match presence {
                Presence::Pending | Presence::Running => false,
                Presence::Finished(entry) => match ending_failure(&entry) {
                    // A run of an earlier attempt that left no take (a part of the workflow
                    // the server accepted, or a workflow fixed since): run it again.
                    None if !(resumed || posted)
                        && pick_video(&entry.outputs, &self.workflow).is_none() =>
                    {
                        true
                    }
                    None => {
                        if !std::mem::replace(&mut accepted, true) {
                            report.send(JobOut::Accepted {
                                remote_id: pid.clone(),
                            });
                        }
                        break self.finished(entry, Vec::new(), None);
                    }
                    Some(f) if resumed || posted => {
                        if !accepted {
                            report.send(JobOut::Accepted {
                                remote_id: pid.clone(),
                            });
                        }
                        return Err(f);
                    }
                    // An earlier attempt that failed (the job is being retried): run it again.
                    Some(_) => true,
                },
                Presence::Absent => {
                    if resumed || posted {
                        losses += 1;
                        if losses > 1 {
                            return Err(Failure::Failed {
                                reason: format!(
                                    "the render box lost prompt {pid} twice (did it restart?); it goes back to the queue"
                                ),
                                retryable: true,
                            });
                        }
                        report.notice(
                            Level::Warn,
                            format!("the render box lost prompt {pid} (did it restart?); submitting it again"),
                        );
                    }
                    true
                }
            };
            if submit {
                self.submit(&pid, &graph, &report, &cancel).await?;
                posted = true;
                ours = true;
            }
            if !std::mem::replace(&mut accepted, true) {
                report.send(JobOut::Accepted {
                    remote_id: pid.clone(),
                });
            }
            match self.follow(&pid, &mut sub, ours, &report, &cancel).await? {
                Followed::Done(d) => break d,
                Followed::Lost => continue,
            }
        };
        drop(sub);
        self.fetch(&job, done, &report, &cancel).await
    }

    /// Deletes or interrupts `pid`, quietly; the job ends canceled either way.
    async fn stop(&self, pid: &str) -> Failure {
        match self.client.cancel(pid).await {
            Ok(what) => tracing::info!(prompt = pid, "canceled on the render box: {what}"),
            Err(e) => tracing::warn!(
                prompt = pid,
                "could not cancel on the render box: {}",
                e.message()
            ),
        }
        Failure::Canceled
    }

    /// `POST /prompt`, waiting out a few 429s; validation errors of a partly accepted prompt
    /// fail the job (and the part the server queued is removed).
    async fn submit(
        &self,
        pid: &str,
        graph: &Value,
        report: &Reporter,
        cancel: &CancellationToken,
    ) -> Result<(), Failure> {
        let body = json!({ "prompt": graph, "client_id": self.hub.client_id(), "prompt_id": pid });
        let mut busy = 0;
        loop {
            let answer = tokio::select! {
                () = cancel.cancelled() => return Err(self.stop(pid).await),
                a = self.client.post_prompt(&body) => a,
            };
            match answer {
                Ok(s) if s.prompt_id != pid => {
                    let _ = self.client.cancel(&s.prompt_id).await;
                    return Err(fail(format!(
                        "the render box ignored the prompt id previs chose (it answered {}); update ComfyUI to 0.3.40 or newer",
                        crate::sanitize::line(&s.prompt_id)
                    )));
                }
                Ok(s) if !s.node_errors.is_empty() => {
                    let _ = self.stop(pid).await;
                    return Err(fail(super::history::clip(&format!(
                        "the render box rejected part of the workflow: {}",
                        s.node_errors
                    ))));
                }
                Ok(_) => return Ok(()),
                Err(ApiError::Busy { retry_after, .. }) if busy < 3 => {
                    busy += 1;
                    let wait = retry_after
                        .unwrap_or(Duration::from_secs(5))
                        .min(self.tuning.max_retry_after);
                    report.notice(
                        Level::Warn,
                        format!(
                            "the render box is busy (HTTP 429); sending again in {}s",
                            wait.as_secs_f32()
                        ),
                    );
                    tokio::select! {
                        () = cancel.cancelled() => return Err(Failure::Canceled),
                        () = tokio::time::sleep(wait) => {}
                    }
                    // Look before posting again, always.
                    match self.client.lookup(pid).await.map_err(ApiError::failure)? {
                        Presence::Absent => {}
                        _ => return Ok(()),
                    }
                }
                Err(e) => return Err(e.failure()),
            }
        }
    }

    /// Follows `pid` until it ends: events from the socket while it is up and ours; polling
    /// otherwise; a look-up now and then in case an event was missed.
    async fn follow(
        &self,
        pid: &str,
        sub: &mut Subscription,
        ours: bool,
        report: &Reporter,
        cancel: &CancellationToken,
    ) -> Result<Followed, Failure> {
        let t = &self.tuning;
        let mut tracker = Tracker::new(
            self.workflow.samplers().to_vec(),
            self.workflow.node_count(),
        );
        let mut files: Vec<OutputFile> = Vec::new();
        let (mut start_ts, mut end_ts) = (None, None);
        let mut started: Option<Instant> = None;
        let began = Instant::now();
        let mut generation = sub.link.borrow().generation;
        let mut poll = interval_at(tokio::time::Instant::now() + t.poll_every, t.poll_every);
        poll.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut safety = interval_at(tokio::time::Instant::now() + t.safety_poll, t.safety_poll);
        safety.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut last_ok = Instant::now();
        let mut finishing = false;
        let mut events_open = true;
        loop {
            let polling = !ours || !events_open || !sub.link.borrow().up;
            // Whether to look the prompt up now.
            let look = tokio::select! {
                biased;
                () = cancel.cancelled() => return Err(self.stop(pid).await),
                ev = sub.events.recv(), if events_open => {
                    let Some(ev) = ev else {
                        // Nobody sends any more: polling alone from here on.
                        events_open = false;
                        continue;
                    };
                    match ev {
                        Event::Started { ts } => {
                            start_ts = ts;
                            started = Some(Instant::now());
                            false
                        }
                        Event::Executed { node, output } => {
                            files.extend(files_in(&node, &output));
                            false
                        }
                        Event::Success { ts } => {
                            end_ts = ts;
                            finishing = true;
                            false
                        }
                        Event::Executing { node: None } => {
                            finishing = true;
                            true
                        }
                        Event::Error { text, .. } | Event::Interrupted { text, .. } => {
                            return Err(fail(text));
                        }
                        other => {
                            if let Some(v) = tracker.on(&other) {
                                report.send(JobOut::Progress { value: v, max: SCALE });
                            }
                            false
                        }
                    }
                }
                changed = sub.link.changed() => {
                    let link = *sub.link.borrow();
                    if changed.is_ok() && link.up && link.generation != generation {
                        generation = link.generation;
                        // Reconnected: the server may have restarted and lost the prompt.
                        true
                    } else {
                        false
                    }
                }
                () = tokio::time::sleep(Duration::from_millis(100)), if finishing => true,
                _ = poll.tick(), if polling => true,
                _ = safety.tick(), if !polling => true,
            };
            if finishing && pick_video(&files, &self.workflow).is_some() && end_ts.is_some() {
                let gpu_s = seconds(start_ts, end_ts)
                    .unwrap_or_else(|| started.unwrap_or(began).elapsed().as_secs_f64());
                return Ok(Followed::Done(Done { files, gpu_s }));
            }
            if !look {
                continue;
            }
            // The queue before the history, always: a prompt submitted again (a retried job)
            // keeps the entry of its failed run in the history until the new run ends.
            let answer = self.client.lookup(pid).await;
            match answer {
                Ok(Presence::Finished(entry)) => {
                    if let Some(f) = ending_failure(&entry) {
                        return Err(f);
                    }
                    let seen = started.map(|s| s.elapsed().as_secs_f64());
                    let fallback = seen.unwrap_or_else(|| began.elapsed().as_secs_f64());
                    let mut done = self.finished(entry, std::mem::take(&mut files), Some(fallback));
                    if let Some(s) = seconds(start_ts, end_ts) {
                        done.gpu_s = s;
                    }
                    return Ok(Followed::Done(done));
                }
                Ok(Presence::Absent) => return Ok(Followed::Lost),
                Ok(_) => last_ok = Instant::now(),
                Err(e) => {
                    tracing::info!(prompt = pid, "check failed: {}", e.message());
                    if last_ok.elapsed() > t.unreachable_for {
                        return Err(Failure::Failed {
                            reason: format!(
                                "lost touch with the render box for {}s: {}",
                                t.unreachable_for.as_secs(),
                                e.message()
                            ),
                            retryable: true,
                        });
                    }
                }
            }
        }
    }

    /// A finished history entry (plus files seen on the socket) as [`Done`].
    fn finished(
        &self,
        entry: HistoryEntry,
        mut files: Vec<OutputFile>,
        wall_s: Option<f64>,
    ) -> Done {
        files.extend(entry.outputs);
        let gpu_s = seconds(entry.started_ms, entry.ended_ms)
            .or(wall_s)
            .unwrap_or(0.0);
        Done { files, gpu_s }
    }

    /// Downloads the take's video into `job.out` and prices the GPU time.
    async fn fetch(
        &self,
        job: &RenderJob,
        done: Done,
        report: &Reporter,
        cancel: &CancellationToken,
    ) -> Result<Finished, Failure> {
        let Some(file) = pick_video(&done.files, &self.workflow) else {
            let names: Vec<&str> = done.files.iter().map(|f| f.filename.as_str()).collect();
            return Err(fail(super::history::clip(&format!(
                "the workflow finished without a video (outputs: {}); end it in a SaveVideo node",
                if names.is_empty() {
                    "none".to_string()
                } else {
                    names.join(", ")
                }
            ))));
        };
        if let Some(dir) = job.out.parent() {
            tokio::fs::create_dir_all(dir)
                .await
                .map_err(|e| fail(format!("creating {}: {e}", dir.display())))?;
        }
        let url = self.client.view_url(file);
        match http::download(self.client.http(), &url, &job.out, report, cancel).await {
            Ok(_) => Ok(Finished {
                cost: self.cost(done.gpu_s),
                rendered_by: None,
            }),
            Err(DownloadError::Canceled) => Err(Failure::Canceled),
            Err(DownloadError::Retryable(reason)) => Err(Failure::Failed {
                reason,
                retryable: true,
            }),
            Err(DownloadError::Gone(reason) | DownloadError::Fatal(reason)) => Err(fail(reason)),
        }
    }
}
