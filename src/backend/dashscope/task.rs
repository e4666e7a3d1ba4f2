//! One job on DashScope: submit (or resume) a task, poll it to the end, download the video.
//!
//! Invariants: a task is created at most once per call, and only when the job has no task id;
//! a submission is tried again only when DashScope certainly created nothing (a refused
//! connection, throttling, a server error with its error body); a submission whose answer was
//! lost ends as [`Failure::Unconfirmed`], never resent; once a task exists every failure to
//! read its state is retried here, and nothing after it exists is reported as retryable unless
//! the task is known to have produced nothing (a new submission would be a second bill).

use std::time::Duration;

use tokio::time::Instant;

use tokio_util::sync::CancellationToken;

use super::DashScope;
use super::client::{ApiError, Key, TaskStatus, valid_id};
use super::limit::{self, pause};
use crate::backend::http::{self, DownloadError};
use crate::backend::{Failure, Finished, RenderJob, Reporter};
use crate::model::{JobOut, Level};

/// Create attempts per run when DashScope says "not now" (throttling, server errors).
pub const SUBMIT_TRIES: u32 = 5;
/// Download attempts (each resuming cut connections on its own) before giving up.
const DOWNLOAD_TRIES: u32 = 4;
/// How long status queries may keep failing before the job is given up.
const POLL_GIVE_UP: Duration = Duration::from_secs(30 * 60);
/// DashScope keeps tasks for 24 h.
const TASK_LIFETIME: Duration = Duration::from_secs(24 * 3600);
/// Progress shown while a task runs is an estimate from elapsed time, never above this.
const PROGRESS_CAP: u64 = 950;

fn failed(reason: impl Into<String>, retryable: bool) -> Failure {
    Failure::Failed {
        reason: reason.into(),
        retryable,
    }
}

pub(super) struct Task<'a> {
    pub ds: &'a DashScope,
    pub job: RenderJob,
    pub report: Reporter,
    pub cancel: CancellationToken,
}

impl Task<'_> {
    pub async fn run(self) -> Result<Finished, Failure> {
        let (id, resumed) = match self.job.remote_id.clone() {
            Some(id) if valid_id(&id) => (id, true),
            Some(id) => {
                return Err(failed(
                    format!(
                        "the recorded DashScope task id {:?} is not one DashScope gives",
                        crate::sanitize::line(&id)
                    ),
                    false,
                ));
            }
            None => {
                if tokio::fs::try_exists(&self.job.out).await.unwrap_or(false) {
                    // Only an interrupted download leaves this file: its task exists, and a new
                    // submission would render (and bill) the take twice.
                    return Err(failed(
                        "resumed an interrupted download without its DashScope task id; not submitting it again (that would bill twice)",
                        false,
                    ));
                }
                let id = self.submit().await?;
                self.report.send(JobOut::Accepted {
                    remote_id: id.clone(),
                });
                (id, false)
            }
        };
        let (url, billed) = self.poll(&id, resumed).await?;
        self.download(&id, &url).await?;
        let r = &self.job.recipe;
        let seconds = billed.unwrap_or(r.duration_s);
        Ok(Finished {
            cost: self
                .ds
                .pricing
                .cost(self.ds.spec.tier(r.width, r.height), seconds),
            rendered_by: None,
        })
    }

    /// Creates the task; its id.
    async fn submit(&self) -> Result<String, Failure> {
        let body = self.ds.body(&self.job.recipe);
        let mut last = String::new();
        for attempt in 1..=SUBMIT_TRIES {
            if !self.ds.submits.wait(&self.cancel).await {
                return Err(Failure::Canceled);
            }
            // Read at the moment of use and dropped with this attempt.
            let key = Key::from_env(&self.ds.key_env).map_err(|m| failed(m, false))?;
            // Not raced against `cancel`: dropping a sent request would leave a task that
            // nobody knows about. The poll that follows sees the cancel and cancels the task.
            match self.ds.api.submit(&key, &body).await {
                Ok((id, request)) => {
                    tracing::info!(job = %self.job.job, task = %id, request = %request, "DashScope task created");
                    return Ok(id);
                }
                Err(ApiError::Refused { reason }) => return Err(failed(reason, false)),
                Err(ApiError::Lost { reason }) => {
                    return Err(Failure::Unconfirmed {
                        reason: format!("{reason}; DashScope may have created the task"),
                    });
                }
                Err(ApiError::Retry { reason, after }) => {
                    if attempt == SUBMIT_TRIES {
                        last = reason;
                        break;
                    }
                    let wait = limit::backoff(self.ds.timing.backoff, attempt, after);
                    self.report.notice(
                        Level::Warn,
                        format!(
                            "{reason}; nothing was submitted, trying again in {} s",
                            wait.as_secs_f64().ceil()
                        ),
                    );
                    if !pause(wait, &self.cancel).await {
                        return Err(Failure::Canceled);
                    }
                }
            }
        }
        // Nothing was created, so the engine may safely try again later.
        Err(failed(
            format!("{last} ({SUBMIT_TRIES} tries; nothing was submitted)"),
            true,
        ))
    }

    /// Polls task `id` until it ends; the video URL and the billed seconds.
    async fn poll(&self, id: &str, resumed: bool) -> Result<(String, Option<f64>), Failure> {
        let started = Instant::now();
        let mut polls = 0u32;
        let mut failures = 0u32;
        let mut failing_since: Option<Instant> = None;
        let mut running_since: Option<Instant> = None;
        let mut delay = if resumed {
            Duration::ZERO
        } else {
            self.ds.timing.poll_delay(0)
        };
        loop {
            if !pause(delay, &self.cancel).await || !self.ds.queries.wait(&self.cancel).await {
                return Err(self.cancel_task(id).await);
            }
            let key = Key::from_env(&self.ds.key_env)
                .map_err(|m| failed(format!("{m}; DashScope task {id} was left running"), false))?;
            let status = self.ds.api.query(&key, id).await;
            drop(key);
            match status {
                Ok(s) => {
                    polls += 1;
                    failures = 0;
                    failing_since = None;
                    delay = self.ds.timing.poll_delay(polls);
                    match s {
                        TaskStatus::Pending => self.progress(0),
                        TaskStatus::Running | TaskStatus::Other(_) => {
                            let since = *running_since.get_or_insert_with(Instant::now);
                            let expected = self.ds.expected_render().as_millis().max(1) as u64;
                            let done = since.elapsed().as_millis() as u64 * 1000 / expected;
                            self.progress(done.min(PROGRESS_CAP));
                        }
                        TaskStatus::Succeeded { url, seconds } => return Ok((url, seconds)),
                        TaskStatus::Failed { code, message } => {
                            return Err(task_failed(id, &code, &message));
                        }
                        TaskStatus::Canceled if self.cancel.is_cancelled() => {
                            return Err(Failure::Canceled);
                        }
                        // Only a task that never started can be canceled, and it is not
                        // billed: sending the job again cannot charge twice.
                        TaskStatus::Canceled => {
                            return Err(failed(
                                format!(
                                    "DashScope task {id} was canceled before it started (not billed)"
                                ),
                                true,
                            ));
                        }
                        TaskStatus::Unknown => {
                            return Err(failed(
                                format!(
                                    "DashScope does not know task {id}: it expired (tasks are kept 24 h) or belongs to another key or region"
                                ),
                                false,
                            ));
                        }
                    }
                }
                Err(e) => {
                    let (reason, after) = match e {
                        ApiError::Refused { reason } => {
                            return Err(failed(
                                format!(
                                    "{reason} (checking task {id}, which may still finish on DashScope)"
                                ),
                                false,
                            ));
                        }
                        ApiError::Retry { reason, after } => (reason, after),
                        ApiError::Lost { reason } => (reason, None),
                    };
                    failures += 1;
                    let since = *failing_since.get_or_insert_with(Instant::now);
                    if since.elapsed() > POLL_GIVE_UP {
                        return Err(failed(
                            format!(
                                "{reason}; gave up checking DashScope task {id} after {} min (it may still finish there)",
                                POLL_GIVE_UP.as_secs() / 60
                            ),
                            false,
                        ));
                    }
                    delay = limit::backoff(self.ds.timing.backoff, failures, after);
                    if failures == 1 || failures % 5 == 0 {
                        self.report.notice(
                            Level::Warn,
                            format!(
                                "{reason}; task {id} keeps running, checking again in {} s",
                                delay.as_secs_f64().ceil()
                            ),
                        );
                    }
                }
            }
            if started.elapsed() > TASK_LIFETIME {
                return Err(failed(
                    format!("DashScope task {id} did not finish within 24 h"),
                    false,
                ));
            }
        }
    }

    fn progress(&self, permille: u64) {
        self.report.send(JobOut::Progress {
            value: permille,
            max: 1000,
        });
    }

    /// Asks DashScope to cancel `id` after the user canceled; DashScope only cancels tasks that
    /// have not started, and says so when it refuses.
    async fn cancel_task(&self, id: &str) -> Failure {
        let note = |level, text: String| self.report.notice(level, text);
        match Key::from_env(&self.ds.key_env) {
            Err(m) => note(
                Level::Warn,
                format!("could not cancel DashScope task {id}: {m}"),
            ),
            Ok(key) => match self.ds.api.cancel(&key, id).await {
                Ok(()) => note(
                    Level::Info,
                    format!("canceled DashScope task {id} before it started (not billed)"),
                ),
                Err(e) => note(
                    Level::Warn,
                    format!(
                        "DashScope did not cancel task {id} ({}); it cancels only tasks that have not started, so this one will finish and may be billed",
                        e.reason()
                    ),
                ),
            },
        }
        Failure::Canceled
    }

    /// Downloads the video; cut connections resume where they stopped.
    async fn download(&self, id: &str, url: &str) -> Result<(), Failure> {
        if let Some(dir) = self.job.out.parent() {
            tokio::fs::create_dir_all(dir).await.map_err(|e| {
                failed(
                    format!(
                        "saving the video of DashScope task {id}: creating {}: {e}; check that the data directory is writable",
                        dir.display()
                    ),
                    false,
                )
            })?;
        }
        let mut last = String::new();
        for attempt in 1..=DOWNLOAD_TRIES {
            match http::download(
                &self.ds.api.http,
                url,
                &self.job.out,
                &self.report,
                &self.cancel,
            )
            .await
            {
                Ok(bytes) => {
                    tracing::info!(job = %self.job.job, task = %id, bytes, "DashScope video downloaded");
                    return Ok(());
                }
                Err(DownloadError::Canceled) => return Err(Failure::Canceled),
                Err(DownloadError::Gone(m)) => {
                    return Err(failed(
                        format!(
                            "the video of DashScope task {id} has expired (result links last 24 h): {m}"
                        ),
                        false,
                    ));
                }
                Err(DownloadError::Fatal(m)) => {
                    return Err(failed(
                        format!("saving the video of DashScope task {id}: {m}"),
                        false,
                    ));
                }
                Err(DownloadError::Retryable(m)) => {
                    last = m;
                    if attempt < DOWNLOAD_TRIES {
                        let wait = limit::backoff(self.ds.timing.backoff, attempt + 1, None);
                        self.report.notice(
                            Level::Warn,
                            format!("{last}; trying again in {} s", wait.as_secs_f64().ceil()),
                        );
                        if !pause(wait, &self.cancel).await {
                            return Err(Failure::Canceled);
                        }
                    }
                }
            }
        }
        // Not retryable: the engine would submit anew, and DashScope would bill a second time.
        Err(failed(
            format!("could not download the video of DashScope task {id}: {last}"),
            false,
        ))
    }
}

/// A task that ended FAILED: moderation and bad parameters are final; DashScope's own trouble
/// produced nothing billable, so the engine may submit the job again.
fn task_failed(id: &str, code: &str, message: &str) -> Failure {
    let detail = if message.is_empty() {
        code.to_string()
    } else {
        format!("{code}: {message}")
    };
    match code {
        "DataInspectionFailed" => failed(
            "DashScope refused the prompt on content-safety grounds (DataInspectionFailed); rephrase it",
            false,
        ),
        "IPInfringementSuspect" => failed(
            "DashScope refused the prompt as a suspected infringement of intellectual property (IPInfringementSuspect); rephrase it",
            false,
        ),
        c if c.starts_with("InternalError")
            || c.starts_with("Throttling")
            || c == "ServiceUnavailable"
            || c == "RequestTimeOut" =>
        {
            failed(format!("DashScope task {id} failed ({detail})"), true)
        }
        _ => failed(format!("DashScope task {id} failed ({detail})"), false),
    }
}
