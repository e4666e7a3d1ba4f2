//! The `dashscope` backend: hosted Wan text-to-video on Alibaba Cloud Model Studio, through its
//! asynchronous task API (create a task, poll it, download the MP4 from a signed link).
//!
//! Invariants: what a model cannot render is refused in [`Backend::check`], before anything is
//! queued or sent; the API key lives only in the environment and in the one request being made
//! (never in this struct, a log line, an error or `Debug` output); a task is never created
//! twice for one job without the user saying so (DashScope has no idempotent submission, so the
//! backend is [`SubmitKind::NonIdempotent`] and a lost answer makes the job `Unconfirmed`).
//!
//! Modules: `models` (what each model accepts and costs), `client` (requests and what their
//! answers mean), `limit` (account rate limits and waits), `task` (one job from submission to
//! file).

mod client;
mod limit;
mod models;
mod task;

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

pub use client::{QUERY_TIMEOUT, SUBMIT_TIMEOUT};
pub use limit::{QUERIES_PER_SECOND, SUBMITS_PER_SECOND, Timing};
pub use models::{MODELS, ModelSpec, Tier};
pub use task::SUBMIT_TRIES;

use super::{Backend, BoxFuture, Failure, Finished, Health, RenderJob, Reporter, SubmitKind};
use crate::config::DashScopeConfig;
use crate::model::{Cost, Recipe};
use client::{Api, ApiError, Key};
use limit::Pacer;
use models::Pricing;

/// Tasks in flight when the configuration does not say (the account limit for wan2.2).
pub const DEFAULT_MAX_IN_FLIGHT: usize = 2;

/// Builds the backend a `kind = "dashscope"` table describes; the error says what to change.
pub fn from_config(c: &DashScopeConfig) -> Result<Arc<dyn Backend>, String> {
    from_config_with(c, Timing::default())
}

/// [`from_config`] with other waits and time limits (see [`Timing`]).
pub fn from_config_with(c: &DashScopeConfig, timing: Timing) -> Result<Arc<dyn Backend>, String> {
    Ok(Arc::new(DashScope::with_timing(c, timing)?))
}

#[derive(Debug)]
pub struct DashScope {
    name: String,
    /// As configured (and sent): the 2.1 models have two spellings.
    model: String,
    spec: &'static ModelSpec,
    api: Api,
    /// The name of the environment variable holding the key; never the key.
    key_env: String,
    max_in_flight: usize,
    prompt_extend: bool,
    watermark: bool,
    pricing: Pricing,
    submits: Pacer,
    queries: Pacer,
    timing: Timing,
}

impl DashScope {
    pub fn new(c: &DashScopeConfig) -> Result<Self, String> {
        Self::with_timing(c, Timing::default())
    }

    pub fn with_timing(c: &DashScopeConfig, timing: Timing) -> Result<Self, String> {
        timing.check()?;
        let spec = models::find(c.model.trim())?;
        let api = Api::new(&c.base_url, timing.submit_timeout, timing.query_timeout)?;
        let pricing = Pricing::new(spec, api.base(), c.price.as_ref())?;
        Ok(Self {
            name: c.name.clone(),
            model: c.model.trim().to_string(),
            spec,
            api,
            key_env: c.api_key_env.clone(),
            max_in_flight: c.max_in_flight.unwrap_or(DEFAULT_MAX_IN_FLIGHT).max(1),
            prompt_extend: c.prompt_extend,
            watermark: c.watermark,
            pricing,
            submits: Pacer::per_second(SUBMITS_PER_SECOND),
            queries: Pacer::per_second(QUERIES_PER_SECOND),
            timing,
        })
    }

    /// The create-task body for a recipe that passed `check`.
    fn body(&self, r: &Recipe) -> serde_json::Value {
        let mut input = serde_json::json!({ "prompt": r.prompt });
        if !r.negative.trim().is_empty() {
            input["negative_prompt"] = r.negative.clone().into();
        }
        let mut parameters = serde_json::json!({
            "size": format!("{}*{}", r.width, r.height),
            "prompt_extend": self.prompt_extend,
            "watermark": self.watermark,
            "seed": r.seed.min(models::MAX_SEED),
        });
        if self.spec.takes_duration() {
            if let Some(s) = self.spec.seconds(r.duration_s) {
                parameters["duration"] = s.into();
            }
        }
        serde_json::json!({ "model": self.model, "input": input, "parameters": parameters })
    }

    /// How long a task usually runs once started, for the progress estimate.
    fn expected_render(&self) -> Duration {
        if self.spec.name.starts_with("wan2.2") {
            Duration::from_secs(90)
        } else {
            Duration::from_secs(180)
        }
    }

    /// Problems with prices: a model without one in this currency costs "0".
    fn price_problems(&self) -> Vec<String> {
        let missing = self.pricing.missing(self.spec);
        if missing.is_empty() {
            return Vec::new();
        }
        let tiers: Vec<String> = missing.iter().map(|t| format!("\"{t}\" = …")).collect();
        let whose = if self.pricing.configured {
            "[backend.price] has"
        } else {
            "previs knows"
        };
        vec![format!(
            "{whose} no {} price for {} at {}; costs show as 0 until you set [backend.price] currency = \"{}\" and per_second = {{ {} }}",
            self.pricing.currency,
            self.model,
            missing
                .iter()
                .map(|t| t.label())
                .collect::<Vec<_>>()
                .join(", "),
            self.pricing.currency,
            tiers.join(", ")
        )]
    }
}

impl Backend for DashScope {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &'static str {
        "dashscope"
    }

    fn model(&self) -> &str {
        &self.model
    }

    fn max_in_flight(&self) -> usize {
        self.max_in_flight
    }

    fn submit_kind(&self) -> SubmitKind {
        SubmitKind::NonIdempotent
    }

    /// DashScope renders at the model's own frame rate, whatever the recipe asks; the take
    /// records the frame rate of the file it returns.
    fn frames(&self, duration_s: f64, _fps: u32) -> u32 {
        let f = (duration_s.max(0.0) * f64::from(self.spec.fps)).round();
        f.clamp(1.0, f64::from(u32::MAX)) as u32
    }

    fn check(&self, recipe: &Recipe) -> Result<(), String> {
        self.spec.check(recipe)
    }

    fn estimate(&self, recipe: &Recipe) -> Cost {
        self.pricing.cost(
            self.spec.tier(recipe.width, recipe.height),
            recipe.duration_s,
        )
    }

    fn run(
        &self,
        job: RenderJob,
        report: Reporter,
        cancel: CancellationToken,
    ) -> BoxFuture<'_, Result<Finished, Failure>> {
        Box::pin(
            task::Task {
                ds: self,
                job,
                report,
                cancel,
            }
            .run(),
        )
    }

    fn endpoint(&self) -> Option<String> {
        Some(self.api.base().to_string())
    }

    fn prompt_limit(&self) -> Option<usize> {
        Some(self.spec.prompt_max)
    }

    fn health(&self) -> BoxFuture<'_, Health> {
        Box::pin(async move {
            let mut h = Health {
                problems: self.price_problems(),
                ..Health::default()
            };
            let key = match Key::from_env(&self.key_env) {
                Ok(k) => Some(k),
                Err(m) => {
                    h.authenticated = Some(false);
                    h.problems.insert(0, m);
                    None
                }
            };
            let t0 = std::time::Instant::now();
            match self.api.probe(key.as_ref()).await {
                Err(m) => h.problems.insert(0, m),
                Ok((status, err)) => {
                    h.reachable = true;
                    h.latency_ms = Some(u64::try_from(t0.elapsed().as_millis()).unwrap_or(0));
                    match (err, &key) {
                        (None, Some(_)) => h.authenticated = Some(true),
                        (None, None) => {}
                        // Without a key, a refusal is expected: DashScope answered.
                        (Some(_), None) => {}
                        (Some(e), Some(k)) => {
                            let problem = if status.as_u16() == 401 {
                                h.authenticated = Some(false);
                                format!("the key in ${} was refused (InvalidApiKey)", k.var())
                            } else {
                                if !matches!(e, ApiError::Retry { .. }) {
                                    h.authenticated = Some(false);
                                }
                                e.reason().to_string()
                            };
                            h.problems.insert(0, problem);
                        }
                    }
                }
            }
            h
        })
    }

    fn cancel_remote<'a>(&'a self, remote_id: &'a str) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            if !client::valid_id(remote_id) {
                return Err(format!(
                    "{:?} is not a DashScope task id",
                    crate::sanitize::line(remote_id)
                ));
            }
            let key = Key::from_env(&self.key_env)?;
            self.api.cancel(&key, remote_id).await.map_err(|e| {
                format!(
                    "DashScope did not cancel task {remote_id} ({}); it cancels only tasks that have not started, so this one will finish and may be billed",
                    e.reason()
                )
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::model::ShotSpec;

    fn config(model: &str) -> DashScopeConfig {
        DashScopeConfig {
            name: "wan-cloud".into(),
            model: model.into(),
            base_url: "https://dashscope-intl.aliyuncs.com/".into(),
            api_key_env: "PREVIS_UNIT_TEST_NO_SUCH_KEY".into(),
            max_in_flight: None,
            prompt_extend: false,
            watermark: false,
            price: None,
        }
    }

    fn recipe(w: u32, h: u32, d: f64) -> Recipe {
        Recipe {
            prompt: "a lantern sways in the rain".into(),
            negative: String::new(),
            seed: 42,
            backend: "wan-cloud".into(),
            model: "m".into(),
            width: w,
            height: h,
            fps: 16,
            duration_s: d,
            frames: 80,
            style: None,
            variant: BTreeMap::new(),
            spec: ShotSpec::default(),
            params: BTreeMap::new(),
        }
    }

    #[test]
    fn bodies_follow_the_legacy_protocol() {
        let ds = DashScope::new(&config("wan2.2-t2v-plus")).unwrap();
        let mut r = recipe(832, 480, 5.0);
        let b = ds.body(&r);
        assert_eq!(
            b,
            serde_json::json!({
                "model": "wan2.2-t2v-plus",
                "input": { "prompt": "a lantern sways in the rain" },
                "parameters": { "size": "832*480", "prompt_extend": false, "watermark": false, "seed": 42 }
            })
        );
        let ds = DashScope::new(&config("wan2.6-t2v")).unwrap();
        r.width = 1280;
        r.height = 720;
        r.duration_s = 10.0;
        r.negative = "blurry".into();
        let b = ds.body(&r);
        assert_eq!(b["parameters"]["duration"], 10);
        assert!(
            b["parameters"]["duration"].is_u64(),
            "an integer, not a string"
        );
        assert_eq!(b["input"]["negative_prompt"], "blurry");
    }

    #[test]
    fn configuration_is_checked_when_built() {
        let err = DashScope::new(&config("wan3-t2v")).unwrap_err();
        assert!(
            err.contains("wan2.2-t2v-plus") && err.contains("wan3-t2v"),
            "{err}"
        );
        let ds = DashScope::new(&config("wan2.2-t2v-plus")).unwrap();
        assert_eq!(ds.max_in_flight(), 2);
        assert_eq!(ds.submit_kind(), SubmitKind::NonIdempotent);
        assert_eq!(
            ds.endpoint().as_deref(),
            Some("https://dashscope-intl.aliyuncs.com")
        );
        // Output frame rate is the model's: 30 fps for wan2.2, 24 for wan2.5.
        assert_eq!(ds.frames(5.0, 16), 150);
        let ds25 = DashScope::new(&config("wan2.5-t2v-preview")).unwrap();
        assert_eq!(ds25.frames(10.0, 30), 240);
        // No published USD price for wan2.2: the estimate is 0 and health says what to set.
        assert_eq!(ds.estimate(&recipe(832, 480, 5.0)).amount, 0.0);
        let p = ds.price_problems();
        assert_eq!(p.len(), 1);
        assert!(
            p[0].contains("[backend.price]") && p[0].contains("480P"),
            "{p:?}"
        );
        let debug = format!("{ds:?}");
        assert!(
            debug.contains("PREVIS_UNIT_TEST_NO_SUCH_KEY"),
            "names the variable only"
        );
    }

    #[test]
    fn timings_that_would_never_give_up_are_refused() {
        let c = config("wan2.2-t2v-plus");
        let zero = Timing {
            submit_timeout: Duration::ZERO,
            ..Timing::default()
        };
        let err = DashScope::with_timing(&c, zero).unwrap_err();
        assert!(err.starts_with("timing: request timeouts"), "{err}");
        let quick = Timing {
            poll: vec![Duration::from_millis(10)],
            backoff: Duration::from_millis(10),
            ..Timing::default()
        };
        let ds = DashScope::with_timing(&c, quick).unwrap();
        assert_eq!(ds.timing.poll_delay(9), Duration::from_millis(10));
        assert_eq!(DashScope::new(&c).unwrap().timing, Timing::default());
    }

    #[tokio::test]
    async fn health_without_a_key_names_the_variable() {
        let mut c = config("wanx2.1-t2v-turbo");
        // Nothing listens on port 9 of loopback.
        c.base_url = "http://127.0.0.1:9".into();
        let ds = DashScope::new(&c).unwrap();
        let h = ds.health().await;
        assert!(!h.ok());
        assert!(!h.reachable);
        assert!(
            h.problems
                .iter()
                .any(|p| p.starts_with("PREVIS_UNIT_TEST_NO_SUCH_KEY is not set; export it")),
            "{:?}",
            h.problems
        );
    }
}
