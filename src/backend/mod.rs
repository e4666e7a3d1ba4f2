//! Render backends behind one trait, and the registry that names them.
//!
//! A backend turns a [`RenderJob`] into an MP4 at the job's temporary path and reports what
//! happens on the way as [`JobOut`]s (accepted, progress, bytes). It never touches the store:
//! the engine persists every transition before acting on it.

pub mod animatic;

use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::config::{BackendConfig, Config};
use crate::model::{Cost, JobId, JobOut, Recipe, Slate};

/// How safe it is to send a job again after a crash during submission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubmitKind {
    /// Rendered in this process: a restart simply renders again.
    Local,
    /// The backend accepts a client-chosen id, so a resubmission is recognised.
    Idempotent,
    /// A resubmission could run (and bill) the job twice: ask the user.
    NonIdempotent,
}

/// Everything a backend needs for one job.
#[derive(Debug, Clone)]
pub struct RenderJob {
    pub job: JobId,
    pub recipe: Recipe,
    pub slate: Slate,
    /// Client-chosen id for backends that accept one.
    pub submission_key: String,
    /// Where the finished MP4 goes (a temporary file; the engine moves it into place).
    pub out: PathBuf,
    /// Set when resuming a job the backend already accepted.
    pub remote_id: Option<String>,
}

/// A finished render.
#[derive(Debug, Clone, PartialEq)]
pub struct Finished {
    pub cost: Cost,
}

/// Why a render did not finish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    Canceled,
    Failed { reason: String, retryable: bool },
}

/// Where a backend reports a job's progress.
#[derive(Debug, Clone)]
pub struct Reporter {
    job: JobId,
    tx: mpsc::UnboundedSender<(JobId, JobOut)>,
}

impl Reporter {
    pub fn new(job: JobId, tx: mpsc::UnboundedSender<(JobId, JobOut)>) -> Self {
        Self { job, tx }
    }

    pub fn send(&self, out: JobOut) {
        // The engine going away means it is shutting down; the job is recovered on restart.
        let _ = self.tx.send((self.job, out));
    }
}

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

pub trait Backend: Send + Sync {
    fn name(&self) -> &str;
    /// `animatic`, `comfyui`, `dashscope`, `pool`.
    fn kind(&self) -> &'static str;
    /// The model named in take recipes.
    fn model(&self) -> &str;
    /// Jobs this backend runs at once.
    fn max_in_flight(&self) -> usize;
    fn submit_kind(&self) -> SubmitKind;
    /// Frames for a clip (backends differ: Wan2.2 wants 4n+1).
    fn frames(&self, duration_s: f64, fps: u32) -> u32;
    /// Refuses, before anything is queued, what this backend cannot render; the message names
    /// the value and what is allowed.
    fn check(&self, recipe: &Recipe) -> Result<(), String>;
    fn estimate(&self, recipe: &Recipe) -> Cost;
    /// Renders (or resumes) a job into `job.out`. Cancelled through `cancel`.
    fn run(
        &self,
        job: RenderJob,
        report: Reporter,
        cancel: CancellationToken,
    ) -> BoxFuture<'_, Result<Finished, Failure>>;
}

/// The configured backends by name; `animatic` always exists.
#[derive(Clone)]
pub struct Registry {
    backends: BTreeMap<String, Arc<dyn Backend>>,
    default: String,
}

impl Registry {
    pub fn from_config(config: &Config) -> Self {
        let mut backends: BTreeMap<String, Arc<dyn Backend>> = BTreeMap::new();
        backends.insert(
            "animatic".into(),
            Arc::new(animatic::Animatic::new("animatic", None)),
        );
        for b in &config.backends {
            match b {
                BackendConfig::Animatic {
                    name,
                    max_in_flight,
                } => {
                    backends.insert(
                        name.clone(),
                        Arc::new(animatic::Animatic::new(name, *max_in_flight)),
                    );
                }
            }
        }
        Self {
            backends,
            default: config.default_backend.clone(),
        }
    }

    pub fn with(mut self, backend: Arc<dyn Backend>) -> Self {
        self.backends.insert(backend.name().to_string(), backend);
        self
    }

    pub fn default_name(&self) -> &str {
        &self.default
    }

    /// The backend called `name`; the error lists the configured ones.
    pub fn get(&self, name: &str) -> Result<Arc<dyn Backend>, String> {
        self.backends.get(name).cloned().ok_or_else(|| {
            format!(
                "unknown backend {name:?}; configured backends: {}",
                self.backends.keys().cloned().collect::<Vec<_>>().join(", ")
            )
        })
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.backends.keys().map(String::as_str)
    }
}
