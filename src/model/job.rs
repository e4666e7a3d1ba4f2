//! Render jobs and their persisted lifecycle.
//!
//! `Queued → Submitting → Remote{remote_id, progress} → Downloading{bytes, total} → Done{take}`,
//! with `Failed`, `Canceled` and `Unconfirmed`. [`apply`] is the only code that changes a job's
//! state: the engine and the backends describe what happened as a [`JobOut`], and an illegal
//! transition is refused, never applied.

use std::fmt;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::{Millis, Recipe, ShotId, TakeId};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct JobId(pub u64);

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum JobState {
    /// Waiting for a backend slot (and for `not_before`, after a retryable failure).
    Queued,
    /// The request is being sent; the backend has not yet named the job.
    Submitting,
    /// The backend accepted the job under `remote_id` and is rendering it.
    Remote {
        remote_id: String,
        progress: f32,
    },
    /// The result is being fetched into a temporary file.
    Downloading {
        bytes: u64,
        total: Option<u64>,
    },
    Done {
        take: TakeId,
        cache_hit: bool,
    },
    Failed {
        reason: String,
        attempts: u32,
    },
    Canceled,
    /// A crash came between sending a submission and recording its remote id, on a backend
    /// that cannot be asked whether it received it. Never resubmitted without the user.
    Unconfirmed {
        reason: String,
    },
}

impl JobState {
    pub fn name(&self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Submitting => "submitting",
            Self::Remote { .. } => "remote",
            Self::Downloading { .. } => "downloading",
            Self::Done { .. } => "done",
            Self::Failed { .. } => "failed",
            Self::Canceled => "canceled",
            Self::Unconfirmed { .. } => "unconfirmed",
        }
    }

    /// Done, failed and canceled jobs never change again.
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            Self::Done { .. } | Self::Failed { .. } | Self::Canceled
        )
    }

    /// Submitting, remote or downloading: a backend is working on it.
    pub fn is_active(&self) -> bool {
        matches!(
            self,
            Self::Submitting | Self::Remote { .. } | Self::Downloading { .. }
        )
    }
}

/// What is shown on the first frames of an animatic and burnt into its corner.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Slate {
    pub project: String,
    pub take_code: String,
    pub shot_code: String,
    pub scene_heading: String,
    pub variant: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobRecord {
    pub id: JobId,
    pub project: String,
    pub shot: ShotId,
    pub shot_code: String,
    pub take_number: u32,
    pub take_code: String,
    pub recipe: Recipe,
    pub slate: Slate,
    /// The take this job re-rolls.
    #[serde(default)]
    pub parent: Option<TakeId>,
    pub state: JobState,
    /// Submissions started so far.
    pub attempts: u32,
    /// A retry waits until then.
    #[serde(default)]
    pub not_before: Option<Millis>,
    /// Chosen before the first submission; backends that accept a client-chosen id use it, so a
    /// resubmission after a crash is recognised instead of run twice.
    pub submission_key: String,
    /// The backend's id for the job once it accepted it (kept through downloading, so an
    /// interrupted download can be resumed); cleared when the job is submitted anew.
    #[serde(default)]
    pub remote_id: Option<String>,
    /// The reason of the last retryable failure, while the job waits to try again.
    #[serde(default)]
    pub last_error: Option<String>,
    /// Queue order: lower runs first.
    pub priority: i64,
    pub created_at: Millis,
    pub updated_at: Millis,
    #[serde(default)]
    pub started_at: Option<Millis>,
    #[serde(default)]
    pub finished_at: Option<Millis>,
}

/// Something that happened to a job: decided by the engine or reported by a backend.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "out", rename_all = "snake_case")]
pub enum JobOut {
    /// The engine takes the job from the queue and starts submitting it.
    Start,
    Accepted {
        remote_id: String,
    },
    Progress {
        value: u64,
        max: u64,
    },
    Bytes {
        done: u64,
        total: Option<u64>,
    },
    Finished {
        take: TakeId,
        cache_hit: bool,
    },
    Failed {
        reason: String,
        retryable: bool,
    },
    Cancel,
    /// Back to the queue: recovery of a job whose backend work can be restarted safely, a
    /// user's retry of a failed job, or the user's decision on an unconfirmed one.
    Requeue,
    Unconfirmed {
        reason: String,
    },
}

/// Retries of retryable failures: `base × 2^(attempt-1)`, capped, at most `max_attempts`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub base_ms: u64,
    pub cap_ms: u64,
    pub max_attempts: u32,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            base_ms: 2_000,
            cap_ms: 120_000,
            max_attempts: 5,
        }
    }
}

impl Backoff {
    pub fn delay_ms(&self, attempt: u32) -> u64 {
        let shift = attempt.saturating_sub(1).min(30);
        self.base_ms.saturating_mul(1u64 << shift).min(self.cap_ms)
    }
}

/// How a job changed, which decides how urgently it is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// A new state: written and flushed before it is announced or acted upon.
    State,
    /// Only progress within the same state: may be coalesced.
    Progress,
}

#[derive(Debug, Error, PartialEq, Eq)]
#[error("job {job}: {out} is not possible while {state}")]
pub struct ApplyError {
    pub job: JobId,
    pub state: &'static str,
    pub out: String,
}

impl JobRecord {
    /// Applies `out` to the job. The only function that changes `state`.
    pub fn apply(
        &mut self,
        out: JobOut,
        now: Millis,
        backoff: &Backoff,
    ) -> Result<Transition, ApplyError> {
        use JobState as S;
        let illegal = |rec: &Self, out: &JobOut| ApplyError {
            job: rec.id,
            state: rec.state.name(),
            out: format!("{out:?}"),
        };
        let next = match (&self.state, &out) {
            (S::Queued, JobOut::Start) => {
                self.attempts += 1;
                self.started_at.get_or_insert(now);
                self.not_before = None;
                self.remote_id = None;
                S::Submitting
            }
            (S::Submitting, JobOut::Accepted { remote_id }) => {
                self.remote_id = Some(remote_id.clone());
                S::Remote {
                    remote_id: remote_id.clone(),
                    progress: 0.0,
                }
            }
            (
                S::Remote {
                    remote_id,
                    progress,
                },
                JobOut::Progress { value, max },
            ) => {
                let p = if *max == 0 {
                    0.0
                } else {
                    (*value as f32 / *max as f32).clamp(0.0, 1.0)
                };
                self.updated_at = now;
                if (p - progress).abs() < f32::EPSILON {
                    return Ok(Transition::Progress);
                }
                self.state = S::Remote {
                    remote_id: remote_id.clone(),
                    progress: p,
                };
                return Ok(Transition::Progress);
            }
            (S::Remote { .. }, JobOut::Bytes { done, total }) => S::Downloading {
                bytes: *done,
                total: *total,
            },
            (S::Downloading { .. }, JobOut::Bytes { done, total }) => {
                self.state = S::Downloading {
                    bytes: *done,
                    total: *total,
                };
                self.updated_at = now;
                return Ok(Transition::Progress);
            }
            (
                S::Queued | S::Submitting | S::Remote { .. } | S::Downloading { .. },
                JobOut::Finished { take, cache_hit },
            ) => {
                self.finished_at = Some(now);
                self.last_error = None;
                S::Done {
                    take: *take,
                    cache_hit: *cache_hit,
                }
            }
            (
                S::Submitting | S::Remote { .. } | S::Downloading { .. },
                JobOut::Failed { reason, retryable },
            ) => {
                if *retryable && self.attempts < backoff.max_attempts {
                    self.last_error = Some(reason.clone());
                    let delay = i64::try_from(backoff.delay_ms(self.attempts)).unwrap_or(i64::MAX);
                    self.not_before = Some(now.saturating_add(delay));
                    S::Queued
                } else {
                    self.finished_at = Some(now);
                    S::Failed {
                        reason: reason.clone(),
                        attempts: self.attempts,
                    }
                }
            }
            (
                S::Queued,
                JobOut::Failed {
                    reason,
                    retryable: false,
                },
            ) => {
                self.finished_at = Some(now);
                S::Failed {
                    reason: reason.clone(),
                    attempts: self.attempts,
                }
            }
            (state, JobOut::Cancel) if !state.is_terminal() => {
                self.finished_at = Some(now);
                S::Canceled
            }
            (
                S::Submitting
                | S::Remote { .. }
                | S::Downloading { .. }
                | S::Failed { .. }
                | S::Unconfirmed { .. },
                JobOut::Requeue,
            ) => {
                if matches!(self.state, S::Failed { .. }) {
                    self.attempts = 0;
                    self.finished_at = None;
                } else if self.state.is_active() {
                    // An interrupted attempt (crash, shutdown, lost by the backend) is not a
                    // failed one: it does not count against `max_attempts`.
                    self.attempts = self.attempts.saturating_sub(1);
                }
                self.not_before = None;
                S::Queued
            }
            (S::Submitting, JobOut::Unconfirmed { reason }) => S::Unconfirmed {
                reason: reason.clone(),
            },
            _ => return Err(illegal(self, &out)),
        };
        self.state = next;
        self.updated_at = now;
        Ok(Transition::State)
    }
}

/// A queued job for tests of other modules.
#[cfg(test)]
pub fn sample_job(id: u64) -> JobRecord {
    JobRecord {
        id: JobId(id),
        project: "p".into(),
        shot: ShotId(1),
        shot_code: "1A".into(),
        take_number: 1,
        take_code: "SC001_SH1A_TK01".into(),
        recipe: Recipe {
            prompt: "x".into(),
            negative: String::new(),
            seed: 1,
            backend: "animatic".into(),
            model: "animatic-1".into(),
            width: 640,
            height: 480,
            fps: 24,
            duration_s: 1.0,
            frames: 24,
            style: None,
            variant: std::collections::BTreeMap::new(),
            spec: crate::model::ShotSpec::default(),
            params: std::collections::BTreeMap::new(),
        },
        slate: Slate::default(),
        parent: None,
        state: JobState::Queued,
        attempts: 0,
        not_before: None,
        submission_key: "k".into(),
        remote_id: None,
        last_error: None,
        priority: 1,
        created_at: 0,
        updated_at: 0,
        started_at: None,
        finished_at: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job() -> JobRecord {
        sample_job(1)
    }

    fn accepted() -> JobOut {
        JobOut::Accepted {
            remote_id: "r1".into(),
        }
    }

    fn fail(retryable: bool) -> JobOut {
        JobOut::Failed {
            reason: "boom".into(),
            retryable,
        }
    }

    /// Runs `outs` from a fresh queued job; returns the final state name and whether every
    /// step was legal.
    fn run(outs: &[JobOut]) -> (String, bool) {
        let mut j = job();
        let b = Backoff {
            base_ms: 1000,
            cap_ms: 8000,
            max_attempts: 3,
        };
        let mut legal = true;
        for (i, out) in outs.iter().enumerate() {
            if j.apply(out.clone(), i as i64 * 10, &b).is_err() {
                legal = false;
            }
        }
        (j.state.name().to_string(), legal)
    }

    #[test]
    fn lifecycle_table() {
        let t = JobOut::Finished {
            take: TakeId(9),
            cache_hit: false,
        };
        let prog = JobOut::Progress { value: 5, max: 10 };
        let bytes = JobOut::Bytes {
            done: 1,
            total: Some(2),
        };
        let cases: Vec<(Vec<JobOut>, &str, bool)> = vec![
            (vec![], "queued", true),
            (vec![JobOut::Start], "submitting", true),
            (vec![JobOut::Start, accepted()], "remote", true),
            (
                vec![JobOut::Start, accepted(), prog.clone()],
                "remote",
                true,
            ),
            (
                vec![JobOut::Start, accepted(), bytes.clone()],
                "downloading",
                true,
            ),
            (
                vec![
                    JobOut::Start,
                    accepted(),
                    bytes.clone(),
                    bytes.clone(),
                    t.clone(),
                ],
                "done",
                true,
            ),
            (vec![JobOut::Start, accepted(), t.clone()], "done", true),
            (vec![t.clone()], "done", true),
            (vec![JobOut::Start, fail(true)], "queued", true),
            (vec![JobOut::Start, fail(false)], "failed", true),
            (
                vec![
                    JobOut::Start,
                    fail(true),
                    JobOut::Start,
                    fail(true),
                    JobOut::Start,
                    fail(true),
                ],
                "failed",
                true,
            ),
            (vec![JobOut::Start, JobOut::Cancel], "canceled", true),
            (vec![JobOut::Cancel], "canceled", true),
            (
                vec![
                    JobOut::Start,
                    JobOut::Unconfirmed {
                        reason: "crash".into(),
                    },
                ],
                "unconfirmed",
                true,
            ),
            (
                vec![
                    JobOut::Start,
                    JobOut::Unconfirmed {
                        reason: "crash".into(),
                    },
                    JobOut::Requeue,
                ],
                "queued",
                true,
            ),
            (
                vec![
                    JobOut::Start,
                    JobOut::Unconfirmed {
                        reason: "crash".into(),
                    },
                    JobOut::Cancel,
                ],
                "canceled",
                true,
            ),
            (
                vec![JobOut::Start, fail(false), JobOut::Requeue],
                "queued",
                true,
            ),
            (
                vec![JobOut::Start, accepted(), JobOut::Requeue],
                "queued",
                true,
            ),
            // Illegal steps are refused and leave the state as it was.
            (vec![accepted()], "queued", false),
            (vec![prog.clone()], "queued", false),
            (vec![JobOut::Start, JobOut::Start], "submitting", false),
            (vec![t.clone(), JobOut::Cancel], "done", false),
            (vec![t.clone(), fail(false)], "done", false),
            (
                vec![JobOut::Start, JobOut::Cancel, JobOut::Requeue],
                "canceled",
                false,
            ),
            (
                vec![
                    JobOut::Start,
                    accepted(),
                    JobOut::Unconfirmed { reason: "x".into() },
                ],
                "remote",
                false,
            ),
            (vec![JobOut::Requeue], "queued", false),
        ];
        for (outs, want, want_legal) in cases {
            let (got, legal) = run(&outs);
            assert_eq!((got.as_str(), legal), (want, want_legal), "{outs:?}");
        }
    }

    #[test]
    fn retry_waits_with_capped_exponential_backoff() {
        let b = Backoff {
            base_ms: 1000,
            cap_ms: 5000,
            max_attempts: 10,
        };
        assert_eq!(
            (1..=6).map(|a| b.delay_ms(a)).collect::<Vec<_>>(),
            vec![1000, 2000, 4000, 5000, 5000, 5000]
        );
        let mut j = job();
        j.apply(JobOut::Start, 100, &b).unwrap();
        j.apply(fail(true), 200, &b).unwrap();
        assert_eq!(j.not_before, Some(1200));
        assert_eq!(j.last_error.as_deref(), Some("boom"));
        j.apply(JobOut::Start, 1300, &b).unwrap();
        assert_eq!(j.attempts, 2);
        assert_eq!(j.not_before, None);
        j.apply(fail(true), 1400, &b).unwrap();
        assert_eq!(j.not_before, Some(3400));
    }

    #[test]
    fn progress_is_a_fraction_and_not_a_state_change() {
        let b = Backoff::default();
        let mut j = job();
        j.apply(JobOut::Start, 0, &b).unwrap();
        assert_eq!(j.apply(accepted(), 0, &b), Ok(Transition::State));
        assert_eq!(
            j.apply(
                JobOut::Progress {
                    value: 30,
                    max: 120
                },
                0,
                &b
            ),
            Ok(Transition::Progress)
        );
        assert_eq!(
            j.state,
            JobState::Remote {
                remote_id: "r1".into(),
                progress: 0.25
            }
        );
        j.apply(
            JobOut::Progress {
                value: 500,
                max: 120,
            },
            0,
            &b,
        )
        .unwrap();
        assert_eq!(
            j.state,
            JobState::Remote {
                remote_id: "r1".into(),
                progress: 1.0
            }
        );
    }

    #[test]
    fn job_record_json_roundtrips_with_a_tagged_state() {
        let mut j = job();
        j.state = JobState::Failed {
            reason: "x".into(),
            attempts: 3,
        };
        let v = serde_json::to_value(&j).unwrap();
        assert_eq!(v["state"]["kind"], "failed");
        assert_eq!(v["state"]["attempts"], 3);
        assert_eq!(serde_json::from_value::<JobRecord>(v).unwrap(), j);
        j.state = JobState::Remote {
            remote_id: "abc".into(),
            progress: 0.5,
        };
        let v = serde_json::to_value(&j).unwrap();
        assert_eq!(v["state"]["remote_id"], "abc");
        let back: JobRecord = serde_json::from_value(v).unwrap();
        assert_eq!(back, j);
    }
}
