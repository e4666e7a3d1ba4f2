//! The `comfyui` backend: a render box running ComfyUI with an API-format workflow (the
//! Wan2.2 text-to-video graph by default), driven over HTTP and its WebSocket.
//!
//! Invariants: the workflow and its bindings are checked when the backend is built, so a
//! broken configuration shows in `previs backends` and no graph that fails the checks is ever
//! submitted; submission is idempotent (the prompt id is the job's submission key, and it is
//! looked up before every POST); the cost of a take is its GPU time at the configured price.
//!
//! Module map: `workflow` (load, API-format check, bindings, apply), `client` (HTTP calls and
//! their failures), `history` (what the server reports, as data and one-line text), `socket`
//! (the WebSocket and its events), `progress` (one fraction from node progress), `run` (a job
//! from submission to download), `health` (`backends --check`).

mod client;
mod health;
mod history;
mod progress;
mod run;
mod socket;
#[cfg(test)]
mod tests;
mod workflow;

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::{Backend, BoxFuture, Failure, Finished, Health, RenderJob, Reporter, SubmitKind};
use crate::config::{ComfyConfig, FrameRule, GpuPrice};
use crate::model::{Cost, Recipe};
use client::{Client, Presence};
use socket::Hub;
use workflow::Workflow;

/// The model named in take recipes when the configuration names none.
pub const DEFAULT_MODEL: &str = "wan2.2-t2v-a14b";

/// GPU seconds a take is expected to take when the price does not say.
pub const DEFAULT_EST_GPU_S: f64 = 600.0;

/// Timings of the conversation with the server. The defaults suit a real render box; tests
/// shorten them.
#[derive(Debug, Clone)]
pub struct Tuning {
    /// Longest wait for one HTTP answer (downloads have their own).
    pub request_timeout: Duration,
    /// How often a prompt is looked up while the socket is down, or when its events go to
    /// another process (a job resumed after a crash).
    pub poll_every: Duration,
    /// How often the prompt is looked up while the socket is up, in case an event was missed.
    pub safety_poll: Duration,
    /// How long a job waits for the socket to open before it posts anyway.
    pub connect_wait: Duration,
    /// Longest `Retry-After` waited out within one attempt.
    pub max_retry_after: Duration,
    /// How long a running prompt may be out of reach before the attempt fails (retryable).
    pub unreachable_for: Duration,
}

impl Default for Tuning {
    fn default() -> Self {
        Self {
            request_timeout: Duration::from_secs(30),
            poll_every: Duration::from_secs(3),
            safety_poll: Duration::from_secs(30),
            connect_wait: Duration::from_secs(3),
            max_retry_after: Duration::from_secs(60),
            unreachable_for: Duration::from_secs(600),
        }
    }
}

pub struct ComfyUi {
    name: String,
    url: String,
    model: String,
    max_in_flight: usize,
    price: Option<GpuPrice>,
    workflow: Workflow,
    client: Client,
    hub: Arc<Hub>,
    tuning: Tuning,
}

/// The backend of a `[[backend]] kind = "comfyui"` table. A bad workflow or binding is an
/// error naming the file or binding and the fix.
pub fn from_config(c: &ComfyConfig) -> Result<Arc<dyn Backend>, String> {
    from_config_tuned(c, Tuning::default())
}

/// [`from_config`] with other timings.
pub fn from_config_tuned(c: &ComfyConfig, tuning: Tuning) -> Result<Arc<dyn Backend>, String> {
    Ok(Arc::new(ComfyUi::new(c, tuning)?))
}

impl ComfyUi {
    pub fn new(c: &ComfyConfig, tuning: Tuning) -> Result<Self, String> {
        let workflow = Workflow::load(&c.workflow, &c.bind)?;
        let client = Client::new(&c.url, tuning.request_timeout)?;
        let client_id = uuid::Uuid::new_v4().simple().to_string();
        let hub = Hub::new(client.ws_url(&client_id), client_id);
        Ok(Self {
            name: c.name.clone(),
            url: c.url.clone(),
            model: c.model.clone().unwrap_or_else(|| DEFAULT_MODEL.to_string()),
            max_in_flight: c.max_in_flight.unwrap_or(1).max(1),
            price: c.price.clone(),
            workflow,
            client,
            hub,
            tuning,
        })
    }

    /// `gpu_s` at the configured hourly price (zero, in USD, without a price).
    fn cost(&self, gpu_s: f64) -> Cost {
        match &self.price {
            Some(p) => Cost {
                amount: gpu_s.max(0.0) * p.gpu_hour / 3600.0,
                currency: p.currency.clone(),
            },
            None => Cost::zero(),
        }
    }
}

/// Tokens Wan2.2's text encoder (umT5-XXL) reads; the rest of a prompt is cut off silently.
pub const TEXT_TOKENS: usize = 512;

/// A lower bound of a prompt's umT5 tokens: one per Han character and one per other word (real
/// counts are higher), so a prompt refused for its length is surely too long.
pub fn min_tokens(text: &str) -> usize {
    let han = text
        .chars()
        .filter(|c| ('\u{3400}'..='\u{9fff}').contains(c))
        .count();
    let words = text
        .split(|c: char| c.is_whitespace() || ('\u{3400}'..='\u{9fff}').contains(&c))
        .filter(|w| w.chars().any(char::is_alphanumeric))
        .count();
    han + words
}

/// Sizes and rates a workflow plausibly renders; the message names what is allowed.
fn check_recipe(rule: FrameRule, r: &Recipe) -> Result<(), String> {
    let tokens = min_tokens(&r.prompt);
    if tokens > TEXT_TOKENS {
        return Err(format!(
            "the prompt is at least {tokens} tokens and Wan2.2's text encoder reads {TEXT_TOKENS} (it would ignore the rest); shorten it"
        ));
    }
    let (step, kind) = match rule {
        FrameRule::FourNPlusOne => (16, "this Wan2.2 workflow (frame_rule 4n+1)"),
        FrameRule::Exact => (2, "this workflow (frame_rule exact)"),
    };
    for (what, v) in [("width", r.width), ("height", r.height)] {
        if !(16..=2048).contains(&v) || v % step != 0 {
            let lower = (v / step * step).max(16);
            return Err(format!(
                "unsupported {what} {v}: {kind} takes {what}s of 16 to 2048 pixels in steps of {step} (e.g. {lower} or {}; Wan2.2 sizes: 1280x720, 832x480)",
                (lower + step).min(2048)
            ));
        }
    }
    if !(1..=120).contains(&r.fps) {
        return Err(format!(
            "unsupported frame rate {}: it must be 1 to 120 frames per second (Wan2.2 renders 16)",
            r.fps
        ));
    }
    if !(r.duration_s.is_finite() && r.duration_s > 0.0) {
        return Err(format!(
            "unsupported duration {}s: it must be more than 0 seconds",
            r.duration_s
        ));
    }
    match rule {
        FrameRule::FourNPlusOne if r.frames % 4 != 1 => Err(format!(
            "unsupported length of {} frames: Wan2.2 needs 4n+1 frames (e.g. {} or {})",
            r.frames,
            r.frames.saturating_sub(1) / 4 * 4 + 1,
            r.frames.saturating_sub(1) / 4 * 4 + 5
        )),
        _ if r.frames == 0 => Err("unsupported length of 0 frames: it must be at least 1".into()),
        _ => Ok(()),
    }
}

impl Backend for ComfyUi {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &'static str {
        "comfyui"
    }

    fn model(&self) -> &str {
        &self.model
    }

    fn max_in_flight(&self) -> usize {
        self.max_in_flight
    }

    fn submit_kind(&self) -> SubmitKind {
        SubmitKind::Idempotent
    }

    fn frames(&self, duration_s: f64, fps: u32) -> u32 {
        self.workflow.frame_rule.frames(duration_s, fps)
    }

    fn check(&self, recipe: &Recipe) -> Result<(), String> {
        check_recipe(self.workflow.frame_rule, recipe)
    }

    fn estimate(&self, _recipe: &Recipe) -> Cost {
        let est = self
            .price
            .as_ref()
            .and_then(|p| p.est_gpu_s)
            .unwrap_or(DEFAULT_EST_GPU_S);
        self.cost(est)
    }

    fn run(
        &self,
        job: RenderJob,
        report: Reporter,
        cancel: CancellationToken,
    ) -> BoxFuture<'_, Result<Finished, Failure>> {
        Box::pin(self.run_job(job, report, cancel))
    }

    fn endpoint(&self) -> Option<String> {
        Some(self.url.clone())
    }

    fn health(&self) -> BoxFuture<'_, Health> {
        Box::pin(self.check_health())
    }

    /// True when the server has the prompt queued, running or finished well (a failed one is
    /// run again by a retry).
    fn find_submission<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<bool, String>> {
        Box::pin(async move {
            match self.client.lookup(key).await {
                Ok(Presence::Pending | Presence::Running) => Ok(true),
                Ok(Presence::Finished(e)) => Ok(e.ending == history::Ending::Success),
                Ok(Presence::Absent) => Ok(false),
                Err(e) => Err(e.message().to_string()),
            }
        })
    }

    fn cancel_remote<'a>(&'a self, remote_id: &'a str) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            self.client
                .cancel(remote_id)
                .await
                .map(|_| ())
                .map_err(|e| e.message().to_string())
        })
    }
}
