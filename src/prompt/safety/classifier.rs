//! The optional classifier hook: an outside program or HTTP service that judges a prompt after
//! the blocklist let it through.
//!
//! Protocol. A command is run directly from its argv (no shell) with the prompt on stdin and
//! `PREVIS_PROMPT_LANG` set to `zh` or `en`; it answers with JSON
//! `{"verdict": "allow"|"block", "rule"?: str, "reason"?: str}` on stdout, or by its exit status
//! alone: 0 = allow (stdout empty), 1 = block with the first stdout line as the reason. An HTTP
//! service receives `POST {"text": …, "lang": "zh"|"en"}` and answers 2xx with the same JSON.
//!
//! Invariant: anything but a clear verdict within the timeout (a crash, garbage, silence) is an
//! `Err` with one line naming the classifier and the fix; the caller fails closed and refuses
//! with it. A command that overruns its timeout is killed together with its process group.

use std::io::{Read, Write};
use std::process::{Child, ExitStatus, Stdio};
use std::time::Duration;

use serde::Deserialize;
use tokio::sync::oneshot;

use super::Blocked;
use super::message::{classifier_blocked, one_line};
use crate::prompt::is_chinese;

/// A reply larger than this is not a verdict.
const MAX_REPLY: usize = 64 * 1024;

/// How often a running command is looked at.
const POLL: Duration = Duration::from_millis(10);

/// Where the verdict comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClassifierSpec {
    Command {
        argv: Vec<String>,
        timeout: Duration,
    },
    Http {
        url: String,
        timeout: Duration,
    },
}

/// A configured classifier hook.
#[derive(Debug, Clone)]
pub struct Classifier {
    hook: Hook,
    /// The command line or the URL without query, as messages name it.
    source: String,
}

#[derive(Debug, Clone)]
enum Hook {
    Command {
        argv: Vec<String>,
        timeout: Duration,
    },
    Http {
        url: String,
        timeout: Duration,
        client: Result<reqwest::Client, String>,
    },
}

#[derive(Debug, Deserialize)]
struct Reply {
    verdict: Verdict,
    #[serde(default)]
    rule: Option<String>,
    #[serde(default)]
    reason: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Verdict {
    Allow,
    Block,
}

impl Reply {
    fn allow() -> Reply {
        Reply {
            verdict: Verdict::Allow,
            rule: None,
            reason: None,
        }
    }
}

impl Classifier {
    pub fn new(spec: ClassifierSpec) -> Classifier {
        match spec {
            ClassifierSpec::Command { argv, timeout } => Classifier {
                source: one_line(&argv.join(" "), 80),
                hook: Hook::Command { argv, timeout },
            },
            ClassifierSpec::Http { url, timeout } => Classifier {
                source: redact(&url),
                hook: Hook::Http {
                    client: http_client(timeout),
                    url,
                    timeout,
                },
            },
        }
    }

    /// Sends the text (command: on stdin; HTTP: POST JSON `{"text", "lang"}`) and reads the
    /// verdict. `Ok(None)` allows, `Ok(Some(_))` blocks; a timeout, crash or garbage output is
    /// `Err(one-line reason)` and the caller decides (fail closed: refuse with that reason).
    pub async fn classify(&self, text: &str) -> Result<Option<Blocked>, String> {
        let zh = is_chinese(text);
        let reply = match &self.hook {
            Hook::Command { argv, timeout } => run(argv, *timeout, text, zh, &self.source).await?,
            Hook::Http {
                url,
                timeout,
                client,
            } => post(client, url, *timeout, text, zh, &self.source).await?,
        };
        Ok(match reply.verdict {
            Verdict::Allow => None,
            Verdict::Block => Some(classifier_blocked(
                reply.rule.as_deref(),
                reply.reason.as_deref(),
                &self.source,
                zh,
            )),
        })
    }
}

fn lang(zh: bool) -> &'static str {
    if zh { "zh" } else { "en" }
}

async fn run(
    argv: &[String],
    timeout: Duration,
    text: &str,
    zh: bool,
    shown: &str,
) -> Result<Reply, String> {
    let Some((program, args)) = argv.split_first() else {
        return Err(
            "the classifier command is empty; give its argv, e.g. [\"/usr/local/bin/check-prompt\"]"
                .into(),
        );
    };
    let mut command = std::process::Command::new(program);
    command
        .args(args)
        .env("PREVIS_PROMPT_LANG", lang(zh))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // Its own process group, so a timeout also stops whatever it started.
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    let mut child = command
        .spawn()
        .map_err(|e| format!("classifier `{shown}` could not start ({e}); check the command"))?;
    if let Some(mut stdin) = child.stdin.take() {
        let bytes = text.as_bytes().to_vec();
        // A classifier that exits without reading its input closes the pipe: not an error.
        let _ = std::thread::Builder::new()
            .name("classifier-stdin".into())
            .spawn(move || {
                let _ = stdin.write_all(&bytes);
            });
    }
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let deadline = tokio::time::Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if tokio::time::Instant::now() < deadline => tokio::time::sleep(POLL).await,
            Ok(None) => {
                stop(&mut child);
                return Err(format!(
                    "classifier `{shown}` gave no verdict within {timeout:?} and was stopped; fix it or raise its timeout"
                ));
            }
            Err(e) => {
                stop(&mut child);
                return Err(format!(
                    "classifier `{shown}` could not be waited for ({e}); check the command"
                ));
            }
        }
    };
    let Ok(Ok(out)) = tokio::time::timeout_at(deadline, stdout).await else {
        stop(&mut child);
        return Err(format!(
            "classifier `{shown}` exited but kept its output open past {timeout:?}; make it close stdout when it is done"
        ));
    };
    let err = tokio::time::timeout(Duration::from_millis(100), stderr)
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or_default();
    interpret(status, &out, &err, shown)
}

/// Reads a pipe on its own thread (at most `MAX_REPLY` bytes kept, the rest discarded) so a
/// classifier never blocks on a full pipe.
fn drain<R: Read + Send + 'static>(pipe: Option<R>) -> oneshot::Receiver<Vec<u8>> {
    let (tx, rx) = oneshot::channel();
    let _ = std::thread::Builder::new()
        .name("classifier-output".into())
        .spawn(move || {
            let mut kept = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.by_ref().take(MAX_REPLY as u64).read_to_end(&mut kept);
                let _ = std::io::copy(&mut pipe, &mut std::io::sink());
            }
            let _ = tx.send(kept);
        });
    rx
}

/// Kills the command and its process group and reaps it.
fn stop(child: &mut Child) {
    #[cfg(unix)]
    {
        // `kill` the utility, not a shell: std can only signal the child itself.
        let _ = std::process::Command::new("kill")
            .args(["-s", "KILL", "--", &format!("-{}", child.id())])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
    let _ = child.kill();
    let _ = child.wait();
}

fn interpret(status: ExitStatus, out: &[u8], err: &[u8], shown: &str) -> Result<Reply, String> {
    let stderr = String::from_utf8_lossy(err);
    let said = stderr
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .map(|l| format!(": {}", one_line(l, 120)))
        .unwrap_or_default();
    let code = match status.code() {
        Some(code @ (0 | 1)) => code,
        Some(code) => {
            return Err(format!(
                "classifier `{shown}` failed with exit status {code}{said}; fix it (exit 0 = allow, 1 = block)"
            ));
        }
        None => {
            return Err(format!(
                "classifier `{shown}` was killed by a signal{said}; fix it"
            ));
        }
    };
    let stdout = String::from_utf8_lossy(out);
    let reply = stdout.trim();
    if reply.starts_with('{') {
        let parsed: Reply = serde_json::from_str(reply).map_err(|e| {
            format!(
                "classifier `{shown}` printed no verdict ({e}); print JSON {{\"verdict\": \"allow\"|\"block\"}}"
            )
        })?;
        if code == 1 && parsed.verdict == Verdict::Allow {
            return Err(format!(
                "classifier `{shown}` exited 1 (block) but printed the verdict allow; make the two agree"
            ));
        }
        return Ok(parsed);
    }
    match code {
        0 if reply.is_empty() || reply.eq_ignore_ascii_case("allow") => Ok(Reply::allow()),
        0 => Err(format!(
            "classifier `{shown}` exited 0 but printed \"{}\" instead of a verdict; print nothing, or JSON {{\"verdict\": \"allow\"|\"block\"}}",
            one_line(reply, 60)
        )),
        _ => Ok(Reply {
            verdict: Verdict::Block,
            rule: None,
            reason: reply
                .lines()
                .map(str::trim)
                .find(|l| !l.is_empty())
                .map(String::from),
        }),
    }
}

async fn post(
    client: &Result<reqwest::Client, String>,
    url: &str,
    timeout: Duration,
    text: &str,
    zh: bool,
    shown: &str,
) -> Result<Reply, String> {
    let client = client
        .as_ref()
        .map_err(|e| format!("classifier {shown}: {e}"))?;
    if let Err(e) = reqwest::Url::parse(url) {
        return Err(format!(
            "the classifier URL is not valid ({e}); write it as http://host:port/path"
        ));
    }
    let failed = |e: reqwest::Error| {
        if e.is_timeout() {
            format!(
                "classifier {shown} gave no verdict within {timeout:?}; check the service or raise its timeout"
            )
        } else if e.is_connect() {
            format!(
                "classifier {shown}: cannot connect ({}); check the URL and that the service is running",
                describe(e)
            )
        } else {
            format!("classifier {shown}: {}", describe(e))
        }
    };
    let body = serde_json::json!({ "text": text, "lang": lang(zh) });
    let mut resp = client
        .post(url)
        .timeout(timeout)
        .json(&body)
        .send()
        .await
        .map_err(failed)?;
    let status = resp.status();
    if !status.is_success() {
        return Err(format!(
            "classifier {shown}: HTTP {status}; check the service's log"
        ));
    }
    let mut bytes = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(failed)? {
        bytes.extend_from_slice(&chunk);
        if bytes.len() > MAX_REPLY {
            return Err(format!(
                "classifier {shown}: the reply is larger than {} KiB; send only the verdict JSON",
                MAX_REPLY / 1024
            ));
        }
    }
    serde_json::from_slice(&bytes).map_err(|e| {
        format!(
            "classifier {shown}: the reply is not a verdict ({e}); answer JSON {{\"verdict\": \"allow\"|\"block\"}}"
        )
    })
}

/// rustls with the ring provider (the crate is built without a default one).
fn http_client(connect_timeout: Duration) -> Result<reqwest::Client, String> {
    // Only the first installation counts; later calls find one installed.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .connect_timeout(connect_timeout)
        .user_agent(concat!("previs/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| format!("cannot set up an HTTP client ({e})"))
}

/// A reqwest error and its causes on one line, without the URL (its query may hold secrets).
fn describe(e: reqwest::Error) -> String {
    use std::error::Error as _;
    let e = e.without_url();
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let part = s.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = s.source();
    }
    one_line(&text, 200)
}

/// Scheme, host, port and path: no user info, no query.
fn redact(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(u) => format!(
            "{}://{}{}{}",
            u.scheme(),
            u.host_str().unwrap_or("?"),
            u.port().map(|p| format!(":{p}")).unwrap_or_default(),
            u.path()
        ),
        Err(_) => "<invalid classifier URL>".to_string(),
    }
}
