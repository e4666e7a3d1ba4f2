//! Render backends behind one trait, and the registry that names them.
//!
//! A backend turns a [`RenderJob`] into an MP4 at the job's temporary path and reports what
//! happens on the way as [`JobOut`]s (accepted, progress, bytes). It never touches the store:
//! the engine persists every transition before acting on it.

pub mod animatic;
pub mod comfyui;
pub mod dashscope;
pub mod http;
pub mod pool;

use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::config::{BackendConfig, Config};
use crate::model::{Cost, JobId, JobOut, Level, Recipe, Slate};

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
    /// The member of a pool that rendered it.
    pub rendered_by: Option<String>,
}

/// Why a render did not finish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    Canceled,
    Failed {
        reason: String,
        retryable: bool,
    },
    /// The submission may or may not have reached a backend that cannot be asked (a timeout
    /// after the request was sent): the job waits for the user, never resubmitted silently.
    Unconfirmed {
        reason: String,
    },
}

/// Where a backend reports a job's progress.
#[derive(Debug, Clone)]
pub struct Reporter {
    job: JobId,
    tx: mpsc::UnboundedSender<(JobId, BackendMsg)>,
    /// A pool's member name, put before the remote ids its member reports.
    prefix: Option<String>,
}

/// What a backend tells the engine about a job.
#[derive(Debug, Clone, PartialEq)]
pub enum BackendMsg {
    /// A step of the job's lifecycle (goes through `JobRecord::apply`).
    Out(JobOut),
    /// Something the user should know (a requeue after a server restart, throttling…).
    Notice(Level, String),
}

impl Reporter {
    pub fn new(job: JobId, tx: mpsc::UnboundedSender<(JobId, BackendMsg)>) -> Self {
        Self {
            job,
            tx,
            prefix: None,
        }
    }

    /// The same reporter for a pool member: remote ids become `member|id`.
    pub fn for_member(&self, member: &str) -> Self {
        Self {
            job: self.job,
            tx: self.tx.clone(),
            prefix: Some(member.to_string()),
        }
    }

    pub fn job(&self) -> JobId {
        self.job
    }

    pub fn send(&self, out: JobOut) {
        let out = match (out, &self.prefix) {
            (JobOut::Accepted { remote_id }, Some(p)) => JobOut::Accepted {
                remote_id: format!("{p}|{remote_id}"),
            },
            (out, _) => out,
        };
        // The engine going away means it is shutting down; the job is recovered on restart.
        let _ = self.tx.send((self.job, BackendMsg::Out(out)));
    }

    pub fn notice(&self, level: Level, text: impl Into<String>) {
        let _ = self
            .tx
            .send((self.job, BackendMsg::Notice(level, text.into())));
    }
}

/// What `previs backends --check` reports for a backend. Problems are one line each and say
/// what to do.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Health {
    pub reachable: bool,
    /// `None` when the backend has no authentication.
    pub authenticated: Option<bool>,
    /// Model files the workflow needs that the server does not have (`None`: not checked).
    pub missing_models: Option<Vec<String>>,
    pub queue_depth: Option<u64>,
    pub gpus: Vec<Gpu>,
    pub problems: Vec<String>,
    pub latency_ms: Option<u64>,
}

impl Health {
    pub fn ok(&self) -> bool {
        self.reachable && self.authenticated != Some(false) && self.problems.is_empty()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Gpu {
    pub name: String,
    pub vram_total: u64,
    pub vram_free: u64,
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

    /// Where it is (a URL), for listings.
    fn endpoint(&self) -> Option<String> {
        None
    }

    /// The longest prompt (in characters) this backend reads whole; `check` refuses longer
    /// ones and `lint` flags them. `None`: no limit known.
    fn prompt_limit(&self) -> Option<usize> {
        None
    }

    /// Reachability, authentication, models, queue and GPUs. Never fails: problems are reported.
    fn health(&self) -> BoxFuture<'_, Health> {
        Box::pin(async {
            Health {
                reachable: true,
                ..Health::default()
            }
        })
    }

    /// Whether the backend already has a submission made under `key` (backends that accept a
    /// client-chosen id): asked before submitting after a crash, so nothing runs twice.
    fn find_submission<'a>(&'a self, _key: &'a str) -> BoxFuture<'a, Result<bool, String>> {
        Box::pin(async { Ok(false) })
    }

    /// Stops remote work of a job this process is not running (found interrupted after a crash,
    /// or unconfirmed). Backends without remote work have nothing to do.
    fn cancel_remote<'a>(&'a self, _remote_id: &'a str) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async { Ok(()) })
    }
}

/// A configured backend that cannot work (its workflow file is missing, say): every job is
/// refused with the reason, and `previs backends` shows it, while the rest of previs works.
pub struct Broken {
    pub name: String,
    pub kind: &'static str,
    pub reason: String,
}

impl Backend for Broken {
    fn name(&self) -> &str {
        &self.name
    }
    fn kind(&self) -> &'static str {
        self.kind
    }
    fn model(&self) -> &str {
        "-"
    }
    fn max_in_flight(&self) -> usize {
        1
    }
    fn submit_kind(&self) -> SubmitKind {
        SubmitKind::NonIdempotent
    }
    fn frames(&self, duration_s: f64, fps: u32) -> u32 {
        (duration_s * f64::from(fps)).round().max(1.0) as u32
    }
    fn check(&self, _recipe: &Recipe) -> Result<(), String> {
        Err(format!(
            "backend {:?} is not usable: {}",
            self.name, self.reason
        ))
    }
    fn estimate(&self, _recipe: &Recipe) -> Cost {
        Cost::zero()
    }
    fn run(
        &self,
        _job: RenderJob,
        _report: Reporter,
        _cancel: CancellationToken,
    ) -> BoxFuture<'_, Result<Finished, Failure>> {
        let reason = format!("backend {:?} is not usable: {}", self.name, self.reason);
        Box::pin(async move {
            Err(Failure::Failed {
                reason,
                retryable: false,
            })
        })
    }
    fn health(&self) -> BoxFuture<'_, Health> {
        let problem = self.reason.clone();
        Box::pin(async move {
            Health {
                problems: vec![problem],
                ..Health::default()
            }
        })
    }
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
        let broken = |name: &str, kind: &'static str, reason: String| -> Arc<dyn Backend> {
            Arc::new(Broken {
                name: name.to_string(),
                kind,
                reason,
            })
        };
        for b in &config.backends {
            let backend: Arc<dyn Backend> = match b {
                BackendConfig::Animatic {
                    name,
                    max_in_flight,
                } => Arc::new(animatic::Animatic::new(name, *max_in_flight)),
                BackendConfig::Comfyui(c) => {
                    comfyui::from_config(c).unwrap_or_else(|e| broken(&c.name, "comfyui", e))
                }
                BackendConfig::Dashscope(c) => {
                    dashscope::from_config(c).unwrap_or_else(|e| broken(&c.name, "dashscope", e))
                }
                // Pools are built below, once their members exist.
                BackendConfig::Pool { .. } => continue,
            };
            backends.insert(b.name().to_string(), backend);
        }
        for b in &config.backends {
            if let BackendConfig::Pool { name, members } = b {
                let members: Vec<Arc<dyn Backend>> = members
                    .iter()
                    .filter_map(|m| backends.get(m).cloned())
                    .collect();
                backends.insert(name.clone(), Arc::new(pool::Pool::new(name, members)));
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

    /// Every backend, by name.
    pub fn all(&self) -> Vec<Arc<dyn Backend>> {
        self.backends.values().cloned().collect()
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.backends.keys().map(String::as_str)
    }
}
