//! DashScope's task API over HTTP: create a task, query it, cancel it, list tasks (for
//! `health`), and what every answer means for the caller ([`ApiError`]).
//!
//! Invariants: the API key is read from the environment just before a request ([`Key`]), goes
//! only into that request's `Authorization` header (marked sensitive), and is scrubbed from any
//! text a server sends back; every message is one sanitised line without the key or a URL's
//! query. A create request whose answer was lost is reported as [`ApiError::Lost`], never as
//! something to retry: the task may exist.

use std::fmt;
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, HeaderValue};
use serde_json::Value;

use super::limit;
use crate::backend::http::one_line;
use crate::sanitize::line;

/// How long a create request may take before its fate is unknown (DashScope answers in well
/// under a second; the work happens afterwards).
pub const SUBMIT_TIMEOUT: Duration = Duration::from_secs(20);
/// How long a query, cancel or list request may take.
pub const QUERY_TIMEOUT: Duration = Duration::from_secs(30);

/// The API key, for the length of one request.
pub struct Key {
    value: String,
    var: String,
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Key(${}, <redacted>)", self.var)
    }
}

impl Key {
    /// Reads the key from the environment variable `var`.
    pub fn from_env(var: &str) -> Result<Self, String> {
        match std::env::var(var) {
            Ok(v) if !v.trim().is_empty() => Ok(Self {
                value: v.trim().to_string(),
                var: var.to_string(),
            }),
            Ok(_) | Err(std::env::VarError::NotPresent) => Err(format!(
                "{var} is not set; export it (the key never goes into config.toml)"
            )),
            Err(std::env::VarError::NotUnicode(_)) => Err(format!(
                "{var} does not hold a valid key (it is not text); export the key from Model Studio"
            )),
        }
    }

    fn header(&self) -> Result<HeaderValue, String> {
        let mut v = HeaderValue::from_str(&format!("Bearer {}", self.value)).map_err(|_| {
            format!(
                "{} does not hold a valid key (it has characters a key cannot have)",
                self.var
            )
        })?;
        v.set_sensitive(true);
        Ok(v)
    }

    /// `text` from a server, one line, without the key even if the server echoed it.
    pub fn scrub(&self, text: &str) -> String {
        let mut t = line(text);
        if self.value.len() >= 4 {
            t = t.replace(&self.value, "<key>");
        }
        clip(&t)
    }

    pub fn var(&self) -> &str {
        &self.var
    }
}

/// Server text cut to a readable length.
fn clip(text: &str) -> String {
    const MAX: usize = 240;
    if text.chars().count() <= MAX {
        return text.to_string();
    }
    let mut s: String = text.chars().take(MAX).collect();
    s.push('…');
    s
}

/// Why a request did not give an answer to act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    /// Nothing happened on DashScope and trying again later may work: throttling, a server
    /// error with its error body, a connection that never opened.
    Retry {
        reason: String,
        after: Option<Duration>,
    },
    /// DashScope refused, and will again: a bad key, parameters, moderation, quota.
    Refused { reason: String },
    /// The request was sent but its answer is missing or unreadable: DashScope may have acted.
    Lost { reason: String },
}

impl ApiError {
    pub fn reason(&self) -> &str {
        match self {
            Self::Retry { reason, .. } | Self::Refused { reason } | Self::Lost { reason } => reason,
        }
    }
}

/// A task's state, from a status query.
#[derive(Debug, Clone, PartialEq)]
pub enum TaskStatus {
    Pending,
    Running,
    Succeeded {
        url: String,
        /// Billed seconds from `usage`, when DashScope said.
        seconds: Option<f64>,
    },
    Failed {
        code: String,
        message: String,
    },
    Canceled,
    /// Expired (tasks are kept 24 h), or unknown to this key or region.
    Unknown,
    /// A state not documented for video (`SUSPENDED`): keep waiting.
    Other(String),
}

/// The task API of one account and region.
#[derive(Debug, Clone)]
pub struct Api {
    pub http: reqwest::Client,
    /// `https://dashscope-intl.aliyuncs.com`, without a trailing slash.
    base: String,
    submit_timeout: Duration,
    query_timeout: Duration,
}

/// `20 s`, `0.25 s`: a timeout as messages show it.
fn secs(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{} s", d.as_secs_f64())
    }
}

impl Api {
    pub fn new(
        base: &str,
        submit_timeout: Duration,
        query_timeout: Duration,
    ) -> Result<Self, String> {
        let base = base.trim_end_matches('/');
        let base = base.strip_suffix("/api/v1").unwrap_or(base).to_string();
        reqwest::Url::parse(&base).map_err(|e| format!("base_url {base:?}: {e}"))?;
        Ok(Self {
            http: crate::backend::http::client(Duration::from_secs(10))?,
            base,
            submit_timeout,
            query_timeout,
        })
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    fn url(&self, path: &str) -> String {
        format!("{}/api/v1/{path}", self.base)
    }

    /// Creates a task; its id on success.
    pub async fn submit(&self, key: &Key, body: &Value) -> Result<(String, String), ApiError> {
        let auth = key
            .header()
            .map_err(|reason| ApiError::Refused { reason })?;
        let sent = self
            .http
            .post(self.url("services/aigc/video-generation/video-synthesis"))
            .header(AUTHORIZATION, auth)
            .header("X-DashScope-Async", "enable")
            .json(body)
            .timeout(self.submit_timeout)
            .send()
            .await;
        let resp = match sent {
            Ok(r) => r,
            // No connection, so nothing was sent.
            Err(e) if e.is_connect() => {
                return Err(ApiError::Retry {
                    reason: format!("cannot reach DashScope at {}: {}", self.base, one_line(&e)),
                    after: None,
                });
            }
            Err(e) => {
                let what = if e.is_timeout() {
                    format!("no answer within {}", secs(self.submit_timeout))
                } else {
                    format!("the connection broke ({})", one_line(&e))
                };
                return Err(ApiError::Lost {
                    reason: format!("the submission was sent but {what}"),
                });
            }
        };
        let status = resp.status();
        let after = limit::retry_after(resp.headers());
        let body = match resp.bytes().await {
            Ok(b) => b,
            Err(e) if status.is_success() => {
                return Err(ApiError::Lost {
                    reason: format!(
                        "DashScope accepted the submission but its answer was cut off ({})",
                        one_line(&e)
                    ),
                });
            }
            Err(_) => Default::default(),
        };
        if !status.is_success() {
            return Err(classify(status, &body, after, key, true));
        }
        let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let id = v["output"]["task_id"].as_str().unwrap_or_default();
        if !valid_id(id) {
            return Err(ApiError::Lost {
                reason: "DashScope answered the submission without a readable task id".into(),
            });
        }
        let request = v["request_id"].as_str().unwrap_or_default();
        Ok((id.to_string(), line(request)))
    }

    /// The state of task `id`.
    pub async fn query(&self, key: &Key, id: &str) -> Result<TaskStatus, ApiError> {
        let auth = key
            .header()
            .map_err(|reason| ApiError::Refused { reason })?;
        let resp = self
            .http
            .get(self.url(&format!("tasks/{id}")))
            .header(AUTHORIZATION, auth)
            .timeout(self.query_timeout)
            .send()
            .await
            .map_err(|e| self.transport(&e))?;
        let status = resp.status();
        let after = limit::retry_after(resp.headers());
        let body = resp.bytes().await.map_err(|e| self.transport(&e))?;
        if !status.is_success() {
            return Err(classify(status, &body, after, key, false));
        }
        let garbage = || ApiError::Lost {
            reason: format!("DashScope sent an unreadable status for task {id}"),
        };
        let v: Value = serde_json::from_slice(&body).map_err(|_| garbage())?;
        let out = &v["output"];
        let state = out["task_status"].as_str().ok_or_else(garbage)?;
        Ok(match state {
            "PENDING" => TaskStatus::Pending,
            "RUNNING" => TaskStatus::Running,
            "SUCCEEDED" => match out["video_url"].as_str().filter(|u| !u.is_empty()) {
                Some(url) => TaskStatus::Succeeded {
                    url: url.to_string(),
                    seconds: billed_seconds(&v),
                },
                None => {
                    return Err(ApiError::Lost {
                        reason: format!(
                            "DashScope says task {id} succeeded but gives no video URL"
                        ),
                    });
                }
            },
            "FAILED" => TaskStatus::Failed {
                code: key.scrub(out["code"].as_str().unwrap_or("Unknown")),
                message: key.scrub(out["message"].as_str().unwrap_or("")),
            },
            "CANCELED" => TaskStatus::Canceled,
            "UNKNOWN" => TaskStatus::Unknown,
            other => TaskStatus::Other(line(other)),
        })
    }

    /// Cancels task `id` (DashScope cancels only tasks still waiting to start).
    pub async fn cancel(&self, key: &Key, id: &str) -> Result<(), ApiError> {
        let auth = key
            .header()
            .map_err(|reason| ApiError::Refused { reason })?;
        let resp = self
            .http
            .post(self.url(&format!("tasks/{id}/cancel")))
            .header(AUTHORIZATION, auth)
            .timeout(self.query_timeout)
            .send()
            .await
            .map_err(|e| self.transport(&e))?;
        let status = resp.status();
        let after = limit::retry_after(resp.headers());
        if status.is_success() {
            return Ok(());
        }
        let body = resp.bytes().await.unwrap_or_default();
        Err(classify(status, &body, after, key, false))
    }

    /// Lists one task: proves the key works without creating anything. The HTTP status and
    /// the error, if any.
    pub async fn probe(&self, key: Option<&Key>) -> Result<(StatusCode, Option<ApiError>), String> {
        let mut req = self
            .http
            .get(format!("{}?page_no=1&page_size=1", self.url("tasks")))
            .timeout(self.query_timeout);
        if let Some(k) = key {
            req = req.header(AUTHORIZATION, k.header()?);
        }
        let resp = req
            .send()
            .await
            .map_err(|e| self.transport(&e).reason().to_string())?;
        let status = resp.status();
        if status.is_success() {
            return Ok((status, None));
        }
        let after = limit::retry_after(resp.headers());
        let body = resp.bytes().await.unwrap_or_default();
        let err = match key {
            Some(k) => classify(status, &body, after, k, false),
            None => ApiError::Refused {
                reason: format!("HTTP {status}"),
            },
        };
        Ok((status, Some(err)))
    }

    /// A request that failed without an HTTP answer, when nothing it does can be harmed by a
    /// retry.
    fn transport(&self, e: &reqwest::Error) -> ApiError {
        let reason = if e.is_connect() {
            format!("cannot reach DashScope at {}: {}", self.base, one_line(e))
        } else if e.is_timeout() {
            format!(
                "DashScope did not answer within {}",
                secs(self.query_timeout)
            )
        } else {
            format!("talking to DashScope: {}", one_line(e))
        };
        ApiError::Retry {
            reason,
            after: None,
        }
    }
}

/// Task ids are UUIDs; anything else is not put into a URL.
pub fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// `usage` differs by model generation: wan2.5 and older bill `video_duration`, wan2.6
/// `duration`; numbers or numeric strings.
fn billed_seconds(v: &Value) -> Option<f64> {
    let u = &v["usage"];
    let num = |x: &Value| match x {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    };
    [
        &u["video_duration"],
        &u["duration"],
        &u["output_video_duration"],
        &v["output"]["output_video_duration"],
    ]
    .into_iter()
    .filter_map(num)
    .find(|s| s.is_finite() && *s > 0.0)
}

/// What an HTTP error answer means. `submitting`: for a create request, an answer that does not
/// prove DashScope refused before creating a task counts as lost.
pub fn classify(
    status: StatusCode,
    body: &[u8],
    after: Option<Duration>,
    key: &Key,
    submitting: bool,
) -> ApiError {
    let v: Option<Value> = serde_json::from_slice(body).ok();
    let field = |name: &str| {
        v.as_ref()
            .and_then(|v| v[name].as_str())
            .map(|s| key.scrub(s))
    };
    let code = field("code").filter(|c| !c.is_empty());
    let message = field("message")
        .or_else(|| field("msg"))
        .unwrap_or_default();
    let detail = match (&code, message.is_empty()) {
        (Some(c), false) => format!("{c}: {message}"),
        (Some(c), true) => c.clone(),
        (None, _) => format!("HTTP {status}"),
    };
    let c = code.as_deref().unwrap_or("");
    let s = status.as_u16();
    if s == 429 || c.starts_with("Throttling") {
        return ApiError::Retry {
            reason: format!("DashScope is throttling requests ({detail})"),
            after,
        };
    }
    if s == 408 || s >= 500 {
        let reason = format!("DashScope had a server error (HTTP {s}, {detail})");
        // A gateway timeout, or an answer that is not DashScope's own error body, does not
        // prove that the task was not created.
        if submitting && (s == 504 || code.is_none()) {
            return ApiError::Lost { reason };
        }
        return ApiError::Retry { reason, after };
    }
    let reason = match c {
        "DataInspectionFailed" => {
            "DashScope refused the prompt on content-safety grounds (DataInspectionFailed); rephrase it".to_string()
        }
        "IPInfringementSuspect" => {
            "DashScope refused the prompt as a suspected infringement of intellectual property (IPInfringementSuspect); rephrase it".to_string()
        }
        "InvalidApiKey" => format!("the key in ${} was refused (InvalidApiKey)", key.var()),
        "Arrearage" => {
            "DashScope refused: the account has overdue payments (Arrearage); settle them in the Alibaba Cloud console".to_string()
        }
        c if c.starts_with("AccessDenied") => format!(
            "DashScope denied access ({detail}); enable the model for this key's workspace and region"
        ),
        "Model.NotExist" => format!(
            "DashScope does not have this model in this region ({detail}); check model and base_url"
        ),
        _ if s == 401 => format!("the key in ${} was refused ({detail})", key.var()),
        _ => format!("DashScope refused the request (HTTP {s}, {detail})"),
    };
    ApiError::Refused { reason }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> Key {
        Key {
            value: "sk-test-secret-123".into(),
            var: "MY_KEY".into(),
        }
    }

    fn err(status: u16, body: &str, submitting: bool) -> ApiError {
        classify(
            StatusCode::from_u16(status).unwrap(),
            body.as_bytes(),
            None,
            &key(),
            submitting,
        )
    }

    #[test]
    fn error_answers_map_to_what_the_caller_does() {
        let j = |code: &str| format!(r#"{{"code":"{code}","message":"m","request_id":"r"}}"#);
        let cases: Vec<(u16, String, bool, &str, &str)> = vec![
            (
                400,
                j("InvalidParameter"),
                true,
                "refused",
                "InvalidParameter: m",
            ),
            (
                400,
                j("DataInspectionFailed"),
                true,
                "refused",
                "DashScope refused the prompt on content-safety grounds (DataInspectionFailed); rephrase it",
            ),
            (
                400,
                j("IPInfringementSuspect"),
                true,
                "refused",
                "(IPInfringementSuspect)",
            ),
            (
                401,
                j("InvalidApiKey"),
                true,
                "refused",
                "the key in $MY_KEY was refused (InvalidApiKey)",
            ),
            (400, j("Arrearage"), true, "refused", "(Arrearage)"),
            (
                403,
                j("AccessDenied.Unpurchased"),
                true,
                "refused",
                "AccessDenied.Unpurchased",
            ),
            (404, j("Model.NotExist"), true, "refused", "Model.NotExist"),
            (
                429,
                j("Throttling.RateQuota"),
                true,
                "retry",
                "Throttling.RateQuota",
            ),
            (500, j("InternalError"), true, "retry", "InternalError"),
            (
                503,
                j("ServiceUnavailable"),
                false,
                "retry",
                "ServiceUnavailable",
            ),
            (504, j("GatewayTimeout"), true, "lost", "GatewayTimeout"),
            (504, j("GatewayTimeout"), false, "retry", "GatewayTimeout"),
            (
                502,
                "<html>bad gateway</html>".into(),
                true,
                "lost",
                "HTTP 502",
            ),
            (
                502,
                "<html>bad gateway</html>".into(),
                false,
                "retry",
                "HTTP 502",
            ),
        ];
        for (status, body, submitting, kind, text) in cases {
            let e = err(status, &body, submitting);
            let got = match &e {
                ApiError::Retry { .. } => "retry",
                ApiError::Refused { .. } => "refused",
                ApiError::Lost { .. } => "lost",
            };
            assert_eq!(got, kind, "{status} {body}: {e:?}");
            assert!(e.reason().contains(text), "{status} {body}: {e:?}");
        }
    }

    #[test]
    fn server_text_is_one_clean_line_without_the_key() {
        let body = r#"{"code":"InvalidParameter","message":"bad key sk-test-secret-123\n\u001b[31mred\u001b[0m"}"#;
        let e = err(400, body, true);
        let r = e.reason();
        assert!(!r.contains("sk-test-secret-123"), "{r}");
        assert!(
            r.contains("<key>") && !r.contains('\n') && !r.contains('\u{1b}'),
            "{r}"
        );
        let long = format!(
            r#"{{"code":"InvalidParameter","message":"{}"}}"#,
            "x".repeat(5000)
        );
        assert!(err(400, &long, true).reason().chars().count() < 400);
        assert_eq!(format!("{:?}", key()), "Key($MY_KEY, <redacted>)");
    }

    #[test]
    fn usage_is_read_leniently() {
        let cases = [
            (
                r#"{"usage":{"video_duration":5,"video_ratio":"832*480","SR":480}}"#,
                Some(5.0),
            ),
            (
                r#"{"usage":{"duration":10.0,"output_video_duration":10}}"#,
                Some(10.0),
            ),
            (r#"{"usage":{"duration":"7"}}"#, Some(7.0)),
            (r#"{"usage":{"output_video_duration":4}}"#, Some(4.0)),
            (r#"{"output":{"task_status":"SUCCEEDED"}}"#, None),
            (r#"{"usage":{"video_duration":"five"}}"#, None),
        ];
        for (json, want) in cases {
            let v: Value = serde_json::from_str(json).unwrap();
            assert_eq!(billed_seconds(&v), want, "{json}");
        }
        assert!(valid_id("0385dc79-5ff8-4d82-bcb6-abc"));
        assert!(!valid_id("../x") && !valid_id("") && !valid_id("a?b"));
    }
}
