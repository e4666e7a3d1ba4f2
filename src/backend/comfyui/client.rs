//! HTTP calls to a ComfyUI server, and what their failures mean for a job.
//!
//! Invariants: every error is one sanitised line naming the endpoint; a failure is retryable
//! exactly when trying again may help (refused, reset, timeout, 5xx, 429, garbage); a lookup
//! asks `/queue` (a snapshot taken after the lookup began) before `/history/{id}`, so a prompt
//! that moves from the queue to the history in between is never reported absent.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::{StatusCode, Url};
use serde::Deserialize;
use serde::de::{IgnoredAny, SeqAccess, Visitor};
use serde_json::Value;

use super::history::{self, HistoryEntry, OutputFile};
use crate::backend::Failure;
use crate::backend::http;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    /// Worth trying again: refused, reset, timed out, 5xx, an answer that is not JSON.
    Transient(String),
    /// HTTP 429, with the wait the server asked for.
    Busy {
        message: String,
        retry_after: Option<Duration>,
    },
    /// Will not get better by trying again (a 400 with validation errors, a 404 …).
    Rejected(String),
}

impl ApiError {
    pub fn message(&self) -> &str {
        match self {
            Self::Transient(m) | Self::Rejected(m) | Self::Busy { message: m, .. } => m,
        }
    }

    pub fn failure(self) -> Failure {
        match self {
            Self::Transient(reason)
            | Self::Busy {
                message: reason, ..
            } => Failure::Failed {
                reason,
                retryable: true,
            },
            Self::Rejected(reason) => Failure::Failed {
                reason,
                retryable: false,
            },
        }
    }
}

/// Where a prompt is on the server.
#[derive(Debug, Clone, PartialEq)]
pub enum Presence {
    Pending,
    Running,
    Finished(HistoryEntry),
    /// In neither the queue nor the history: never received, deleted, or lost in a restart.
    Absent,
}

/// The answer to a submission.
#[derive(Debug, Clone)]
pub struct Submitted {
    pub prompt_id: String,
    /// Validation errors of outputs that will not run, as one line (empty when none).
    pub node_errors: String,
}

/// A `GET /queue` answer, reduced to what a lookup needs.
#[derive(Debug, Default)]
pub struct Queue {
    /// prompt id → running (else pending).
    items: HashMap<String, bool>,
}

impl Queue {
    pub fn presence(&self, id: &str) -> Option<Presence> {
        self.items.get(id).map(|running| {
            if *running {
                Presence::Running
            } else {
                Presence::Pending
            }
        })
    }
}

pub struct Client {
    http: reqwest::Client,
    base: Url,
    shown: String,
    timeout: Duration,
    /// The newest queue snapshot and when its request started.
    snapshot: Mutex<Option<(Instant, Arc<Queue>)>>,
    fetching: tokio::sync::Mutex<()>,
}

impl Client {
    pub fn new(base: &str, timeout: Duration) -> Result<Self, String> {
        let base = Url::parse(base.trim_end_matches('/'))
            .map_err(|e| format!("url {base:?} is not a valid URL ({e}); use http://HOST:8188"))?;
        if base.cannot_be_a_base() {
            return Err(format!(
                "url {base} is not an http:// URL; use http://HOST:8188"
            ));
        }
        Ok(Self {
            http: http::client(Duration::from_secs(5).min(timeout))?,
            shown: http::redact(base.as_str())
                .trim_end_matches('/')
                .to_string(),
            base,
            timeout,
            snapshot: Mutex::new(None),
            fetching: tokio::sync::Mutex::new(()),
        })
    }

    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// `base/segments…` with each segment escaped.
    pub fn endpoint(&self, segments: &[&str]) -> Url {
        let mut u = self.base.clone();
        if let Ok(mut s) = u.path_segments_mut() {
            s.pop_if_empty().extend(segments);
        }
        u
    }

    /// `ws(s)://…/ws?clientId=…`.
    pub fn ws_url(&self, client_id: &str) -> String {
        let mut u = self.endpoint(&["ws"]);
        let scheme = if u.scheme() == "https" { "wss" } else { "ws" };
        let _ = u.set_scheme(scheme);
        u.query_pairs_mut().append_pair("clientId", client_id);
        u.to_string()
    }

    pub fn view_url(&self, f: &OutputFile) -> String {
        let mut u = self.endpoint(&["view"]);
        u.query_pairs_mut()
            .append_pair("filename", &f.filename)
            .append_pair("subfolder", &f.subfolder)
            .append_pair("type", &f.kind);
        u.to_string()
    }

    /// Sends a request; returns status and body, or the failure as an [`ApiError`].
    async fn send(
        &self,
        what: &str,
        req: reqwest::RequestBuilder,
    ) -> Result<(StatusCode, Vec<u8>), ApiError> {
        let resp = req
            .timeout(self.timeout)
            .send()
            .await
            .map_err(|e| self.net(what, &e))?;
        let status = resp.status();
        let retry_after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let body = resp.bytes().await.map_err(|e| self.net(what, &e))?.to_vec();
        match status.as_u16() {
            200..=299 | 400 => Ok((status, body)),
            429 => Err(ApiError::Busy {
                message: format!("{what} on {}: HTTP 429, the render box is busy", self.shown),
                retry_after,
            }),
            500..=599 | 408 => Err(ApiError::Transient(format!(
                "{what} on {}: HTTP {status}",
                self.shown
            ))),
            404 | 405 => Err(ApiError::Rejected(format!(
                "{what} on {}: HTTP {status}; is this a ComfyUI server (check `url =`)?",
                self.shown
            ))),
            _ => Err(ApiError::Rejected(format!(
                "{what} on {}: HTTP {status} {}",
                self.shown,
                history::clip(&String::from_utf8_lossy(&body[..body.len().min(200)]))
            ))),
        }
    }

    fn net(&self, what: &str, e: &reqwest::Error) -> ApiError {
        let why = if e.is_timeout() {
            format!("no answer within {}s", self.timeout.as_secs_f32())
        } else if e.is_connect() {
            format!("cannot connect ({})", http::one_line(e))
        } else {
            http::one_line(e)
        };
        ApiError::Transient(history::clip(&format!("{what} on {}: {why}", self.shown)))
    }

    fn garbage(&self, what: &str, e: &dyn std::fmt::Display) -> ApiError {
        ApiError::Transient(history::clip(&format!(
            "{what} on {} answered with invalid JSON ({e}); is this a ComfyUI server?",
            self.shown
        )))
    }

    /// `GET` a JSON document (`segments` below the base URL).
    pub async fn get_json(&self, segments: &[&str]) -> Result<Value, ApiError> {
        let what = format!("GET /{}", segments.join("/"));
        let (status, body) = self
            .send(&what, self.http.get(self.endpoint(segments)))
            .await?;
        if status == StatusCode::BAD_REQUEST {
            return Err(ApiError::Rejected(format!(
                "{what} on {}: HTTP 400",
                self.shown
            )));
        }
        serde_json::from_slice(&body).map_err(|e| self.garbage(&what, &e))
    }

    /// `POST /prompt`. A 400 is [`ApiError::Rejected`] with the server's reasons.
    pub async fn post_prompt(&self, body: &Value) -> Result<Submitted, ApiError> {
        let what = "POST /prompt";
        let req = self.http.post(self.endpoint(&["prompt"])).json(body);
        let (status, bytes) = self.send(what, req).await?;
        let v: Value = serde_json::from_slice(&bytes).map_err(|e| self.garbage(what, &e))?;
        if status == StatusCode::BAD_REQUEST {
            return Err(ApiError::Rejected(format!(
                "the render box rejected the workflow: {}",
                history::rejection_text(&v)
            )));
        }
        let Some(prompt_id) = v.get("prompt_id").and_then(Value::as_str) else {
            return Err(self.garbage(what, &"no prompt_id"));
        };
        Ok(Submitted {
            prompt_id: prompt_id.to_string(),
            node_errors: history::node_errors_text(v.get("node_errors")),
        })
    }

    /// The finished entry of `id`, or `None` while it is queued, running or unknown.
    pub async fn history(&self, id: &str) -> Result<Option<HistoryEntry>, ApiError> {
        let v = self.get_json(&["history", id]).await?;
        history::parse_history(id, &v).map_err(|e| self.garbage("GET /history", &e))
    }

    /// A queue snapshot whose request started at or after `since`; concurrent lookups share one.
    pub async fn queue_since(&self, since: Instant) -> Result<Arc<Queue>, ApiError> {
        if let Some(q) = self.cached(since) {
            return Ok(q);
        }
        let _turn = self.fetching.lock().await;
        if let Some(q) = self.cached(since) {
            return Ok(q);
        }
        let started = Instant::now();
        let what = "GET /queue";
        let (status, body) = self
            .send(what, self.http.get(self.endpoint(&["queue"])))
            .await?;
        if status == StatusCode::BAD_REQUEST {
            return Err(ApiError::Transient(format!(
                "{what} on {}: HTTP 400",
                self.shown
            )));
        }
        let parsed: QueueBody =
            serde_json::from_slice(&body).map_err(|e| self.garbage(what, &e))?;
        let mut items =
            HashMap::with_capacity(parsed.queue_running.len() + parsed.queue_pending.len());
        for i in parsed.queue_pending {
            items.insert(i.0, false);
        }
        for i in parsed.queue_running {
            items.insert(i.0, true);
        }
        let q = Arc::new(Queue { items });
        if let Ok(mut s) = self.snapshot.lock() {
            if s.as_ref().is_none_or(|(t, _)| *t <= started) {
                *s = Some((started, q.clone()));
            }
        }
        Ok(q)
    }

    fn cached(&self, since: Instant) -> Option<Arc<Queue>> {
        let s = self.snapshot.lock().ok()?;
        s.as_ref()
            .filter(|(t, _)| *t >= since)
            .map(|(_, q)| q.clone())
    }

    /// Where `id` is: the queue first, then the history.
    pub async fn lookup(&self, id: &str) -> Result<Presence, ApiError> {
        let q = self.queue_since(Instant::now()).await?;
        if let Some(p) = q.presence(id) {
            return Ok(p);
        }
        Ok(match self.history(id).await? {
            Some(entry) => Presence::Finished(entry),
            None => Presence::Absent,
        })
    }

    async fn post_empty(
        &self,
        what: &str,
        segments: &[&str],
        body: &Value,
    ) -> Result<(), ApiError> {
        let req = self.http.post(self.endpoint(segments)).json(body);
        let (status, _) = self.send(what, req).await?;
        if status == StatusCode::BAD_REQUEST {
            return Err(ApiError::Rejected(format!(
                "{what} on {}: HTTP 400",
                self.shown
            )));
        }
        Ok(())
    }

    /// Stops `id`: deleted from the queue while pending, interrupted (by prompt id) while
    /// running, nothing when it is neither. Returns what was done.
    pub async fn cancel(&self, id: &str) -> Result<&'static str, ApiError> {
        let body_delete = serde_json::json!({ "delete": [id] });
        let body_interrupt = serde_json::json!({ "prompt_id": id });
        match self.queue_since(Instant::now()).await?.presence(id) {
            Some(Presence::Pending) => {
                self.post_empty("POST /queue", &["queue"], &body_delete)
                    .await?;
                // It may have started between the snapshot and the delete.
                if self.queue_since(Instant::now()).await?.presence(id) == Some(Presence::Running) {
                    self.post_empty("POST /interrupt", &["interrupt"], &body_interrupt)
                        .await?;
                    return Ok("interrupted");
                }
                Ok("deleted from the queue")
            }
            Some(_) => {
                self.post_empty("POST /interrupt", &["interrupt"], &body_interrupt)
                    .await?;
                Ok("interrupted")
            }
            None => Ok("not queued"),
        }
    }
}

#[derive(Deserialize)]
struct QueueBody {
    #[serde(default)]
    queue_running: Vec<QueueItem>,
    #[serde(default)]
    queue_pending: Vec<QueueItem>,
}

/// `[number, prompt_id, prompt, extra_data, outputs, …]`: only the id is kept; the graph is
/// skipped without being built.
struct QueueItem(String);

impl<'de> Deserialize<'de> for QueueItem {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = QueueItem;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a queue item [number, prompt_id, …]")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<QueueItem, A::Error> {
                let _number: Option<IgnoredAny> = seq.next_element()?;
                let id: String = seq
                    .next_element()?
                    .ok_or_else(|| serde::de::Error::custom("queue item without a prompt id"))?;
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(QueueItem(id))
            }
        }
        d.deserialize_seq(V)
    }
}
