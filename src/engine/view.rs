//! Owned snapshots of jobs and takes: what events carry and what `--json` prints.
//!
//! Field names are part of the CLI contract (README, "JSON output").

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::model::{JobRecord, JobState, Take};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobView {
    pub id: u64,
    pub project: String,
    pub shot: String,
    pub take: String,
    pub state: String,
    /// 0.0 to 1.0 while rendering or downloading.
    pub progress: f32,
    pub backend: String,
    pub model: String,
    pub seed: u64,
    pub prompt: String,
    pub duration_s: f64,
    pub width: u32,
    pub height: u32,
    pub fps: u32,
    pub frames: u32,
    /// The take's cost when done (zero for a cache hit).
    pub cost: f64,
    pub currency: String,
    pub attempts: u32,
    pub remote_id: Option<String>,
    /// The reason of a failure, of a pending retry, or of an unconfirmed submission.
    pub error: Option<String>,
    /// A retry waits until then (ms since the epoch).
    pub retry_at: Option<i64>,
    pub cache_hit: bool,
    /// Absolute path of the take's MP4 when done.
    pub path: Option<String>,
    pub parent: Option<String>,
    pub variant: BTreeMap<String, String>,
    pub created_at: i64,
    /// Queue order: lower runs first.
    #[serde(default)]
    pub priority: i64,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
}

impl JobView {
    /// `take` is the job's take when done (for its path and cost).
    pub fn new(
        job: &JobRecord,
        take: Option<&Take>,
        parent: Option<&str>,
        data_dir: &Path,
    ) -> Self {
        let (progress, remote_id, error, cache_hit) = match &job.state {
            JobState::Remote {
                remote_id,
                progress,
            } => (*progress, Some(remote_id.clone()), None, false),
            JobState::Downloading { bytes, total } => {
                let p = total
                    .filter(|t| *t > 0)
                    .map_or(0.0, |t| (*bytes as f32 / t as f32).min(1.0));
                (p, None, None, false)
            }
            JobState::Done { cache_hit, .. } => (1.0, None, None, *cache_hit),
            JobState::Failed { reason, .. } => (0.0, None, Some(reason.clone()), false),
            JobState::Unconfirmed { reason } => (0.0, None, Some(reason.clone()), false),
            JobState::Queued => (0.0, None, job.last_error.clone(), false),
            JobState::Submitting | JobState::Canceled => (0.0, None, None, false),
        };
        let cost = match (&job.state, take) {
            (
                JobState::Done {
                    cache_hit: false, ..
                },
                Some(t),
            ) => t.cost.amount,
            _ => 0.0,
        };
        Self {
            id: job.id.0,
            project: job.project.clone(),
            shot: job.shot_code.clone(),
            take: job.take_code.clone(),
            state: job.state.name().to_string(),
            progress,
            backend: job.recipe.backend.clone(),
            model: job.recipe.model.clone(),
            seed: job.recipe.seed,
            prompt: job.recipe.prompt.clone(),
            duration_s: job.recipe.duration_s,
            width: job.recipe.width,
            height: job.recipe.height,
            fps: job.recipe.fps,
            frames: job.recipe.frames,
            cost,
            currency: take.map_or_else(|| "USD".to_string(), |t| t.cost.currency.clone()),
            attempts: job.attempts,
            remote_id,
            error,
            retry_at: if matches!(job.state, JobState::Queued) {
                job.not_before
            } else {
                None
            },
            cache_hit,
            path: take
                .filter(|_| matches!(job.state, JobState::Done { .. }))
                .map(|t| data_dir.join(&t.file).display().to_string()),
            parent: parent.map(str::to_string),
            variant: job.recipe.variant.clone(),
            created_at: job.created_at,
            priority: job.priority,
            started_at: job.started_at,
            finished_at: job.finished_at,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TakeView {
    /// The take code, `SC012_SH12A_TK03`.
    pub id: String,
    pub project: String,
    pub shot: String,
    pub number: u32,
    pub state: String,
    pub circled: bool,
    pub backend: String,
    pub model: String,
    pub path: String,
    pub seed: u64,
    pub prompt: String,
    pub negative: String,
    pub duration_s: f64,
    pub width: u32,
    pub height: u32,
    pub fps: u32,
    pub frames: u32,
    pub cost: f64,
    pub currency: String,
    pub style: Option<String>,
    pub variant: BTreeMap<String, String>,
    /// The take this one was re-rolled from.
    pub parent: Option<String>,
    /// The pool member that rendered it.
    pub rendered_by: Option<String>,
    pub job: u64,
    /// What the file really is (probed after rendering).
    pub media: crate::model::MediaInfo,
    /// The structured prompt the compiled prompt came from.
    pub spec: crate::model::ShotSpec,
    /// Backend parameters beyond size, fps and seed (steps, sampler, …).
    pub params: BTreeMap<String, serde_json::Value>,
    pub queued_at: i64,
    pub started_at: Option<i64>,
    pub finished_at: i64,
    pub render_ms: u64,
    pub created_at: i64,
}

impl TakeView {
    pub fn new(take: &Take, circled: bool, parent: Option<&str>, data_dir: &Path) -> Self {
        let r = &take.recipe;
        Self {
            id: take.code.clone(),
            project: take.project.clone(),
            shot: take.shot_code.clone(),
            number: take.number,
            state: "done".into(),
            circled,
            backend: r.backend.clone(),
            model: r.model.clone(),
            path: data_dir.join(&take.file).display().to_string(),
            seed: r.seed,
            prompt: r.prompt.clone(),
            negative: r.negative.clone(),
            duration_s: r.duration_s,
            width: r.width,
            height: r.height,
            fps: r.fps,
            frames: r.frames,
            cost: take.cost.amount,
            currency: take.cost.currency.clone(),
            style: r.style.clone(),
            variant: r.variant.clone(),
            parent: parent.map(str::to_string),
            rendered_by: take.rendered_by.clone(),
            job: take.job.0,
            media: take.media.clone(),
            spec: r.spec.clone(),
            params: r.params.clone(),
            queued_at: take.timings.queued_at,
            started_at: take.timings.started_at,
            finished_at: take.timings.finished_at,
            render_ms: take.timings.render_ms,
            created_at: take.created_at,
        }
    }
}
