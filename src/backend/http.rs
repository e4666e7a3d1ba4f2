//! HTTP shared by the network backends: one client setup and a download that survives cuts.
//!
//! Invariants: a download writes only its temporary file; a cut connection is resumed with an
//! HTTP Range request from the bytes already on disk (a server that ignores Range starts the
//! file over); the body must match the announced length; nothing is announced as finished
//! before the file is synced. Errors are one line and never contain credentials.

use std::path::Path;
use std::time::Duration;

use futures_util::StreamExt as _;
use tokio::io::AsyncWriteExt as _;
use tokio_util::sync::CancellationToken;

use super::Reporter;
use crate::model::JobOut;

/// A client for a backend: rustls with the ring provider, sane timeouts, no proxies from the
/// environment interfering with loopback test servers.
pub fn client(connect_timeout: Duration) -> Result<reqwest::Client, String> {
    // Only the first installation counts; later calls find one installed.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .connect_timeout(connect_timeout)
        .pool_idle_timeout(Duration::from_secs(30))
        .user_agent(concat!("previs/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| format!("HTTP client: {e}"))
}

/// Why a download did not finish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DownloadError {
    Canceled,
    /// The URL is gone (403/404/410): a result link that expired, or a file the server lost.
    Gone(String),
    /// Worth trying again later: cuts beyond the resume budget, 5xx, timeouts.
    Retryable(String),
    /// Will not get better by trying again (disk full, a 4xx other than gone).
    Fatal(String),
}

impl std::fmt::Display for DownloadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Canceled => write!(f, "download canceled"),
            Self::Gone(m) | Self::Retryable(m) | Self::Fatal(m) => write!(f, "{m}"),
        }
    }
}

/// How often a cut download is resumed before it is given up (as retryable).
pub const RESUMES: u32 = 5;

/// The URL as it may appear in messages: scheme, host and path, without a query string
/// (signed URLs carry credentials there) or user info.
pub fn redact(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(u) => format!(
            "{}://{}{}",
            u.scheme(),
            u.host_str().unwrap_or("?"),
            match u.port() {
                Some(p) => format!(":{p}{}", u.path()),
                None => u.path().to_string(),
            }
        ),
        Err(_) => "<unparsable url>".to_string(),
    }
}

/// Downloads `url` into `out`, resuming after cuts, reporting `Bytes` progress. Returns the
/// file size.
pub async fn download(
    client: &reqwest::Client,
    url: &str,
    out: &Path,
    report: &Reporter,
    cancel: &CancellationToken,
) -> Result<u64, DownloadError> {
    let shown = redact(url);
    let mut resumes = 0;
    loop {
        let have = tokio::fs::metadata(out).await.map_or(0, |m| m.len());
        match attempt(client, url, &shown, out, have, report, cancel).await {
            Ok(n) => return Ok(n),
            Err(Attempt::Cut(why)) if resumes < RESUMES => {
                resumes += 1;
                tracing::info!(url = %shown, resumes, %why, "download cut; resuming");
                tokio::select! {
                    () = cancel.cancelled() => return Err(DownloadError::Canceled),
                    () = tokio::time::sleep(Duration::from_millis(200 * u64::from(resumes))) => {}
                }
            }
            Err(Attempt::Cut(why)) => {
                return Err(DownloadError::Retryable(format!(
                    "downloading {shown}: {why} ({RESUMES} resumes tried)"
                )));
            }
            Err(Attempt::Done(e)) => return Err(e),
        }
    }
}

enum Attempt {
    /// The connection broke or the body was short: resume.
    Cut(String),
    Done(DownloadError),
}

async fn attempt(
    client: &reqwest::Client,
    url: &str,
    shown: &str,
    out: &Path,
    have: u64,
    report: &Reporter,
    cancel: &CancellationToken,
) -> Result<u64, Attempt> {
    let mut req = client.get(url).timeout(Duration::from_secs(600));
    if have > 0 {
        req = req.header(reqwest::header::RANGE, format!("bytes={have}-"));
    }
    let resp = tokio::select! {
        () = cancel.cancelled() => return Err(Attempt::Done(DownloadError::Canceled)),
        r = req.send() => r,
    };
    let resp = match resp {
        Ok(r) => r,
        Err(e) if e.is_connect() || e.is_timeout() || e.is_request() || e.is_body() => {
            return Err(Attempt::Cut(one_line(&e)));
        }
        Err(e) => {
            return Err(Attempt::Done(DownloadError::Retryable(format!(
                "downloading {shown}: {}",
                one_line(&e)
            ))));
        }
    };
    let status = resp.status();
    let (mut done, total, append) = match status.as_u16() {
        206 => {
            let total = content_range_total(resp.headers());
            (have, total, true)
        }
        200 => (0, resp.content_length(), false),
        416 if have > 0 => {
            // We already have everything the server has.
            return finish(out, have).await.map_err(Attempt::Done);
        }
        403 | 404 | 410 => {
            return Err(Attempt::Done(DownloadError::Gone(format!(
                "downloading {shown}: HTTP {status} (the file is gone; result links expire, render it again)"
            ))));
        }
        408 | 429 | 500..=599 => return Err(Attempt::Cut(format!("HTTP {status}"))),
        _ => {
            return Err(Attempt::Done(DownloadError::Fatal(format!(
                "downloading {shown}: HTTP {status}"
            ))));
        }
    };
    let mut file = match tokio::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .append(append)
        .truncate(!append)
        .open(out)
        .await
    {
        Ok(f) => f,
        Err(e) => {
            return Err(Attempt::Done(DownloadError::Fatal(format!(
                "writing {}: {e}",
                out.display()
            ))));
        }
    };
    report.send(JobOut::Bytes { done, total });
    let mut last_report = std::time::Instant::now();
    let mut body = resp.bytes_stream();
    loop {
        let chunk = tokio::select! {
            () = cancel.cancelled() => return Err(Attempt::Done(DownloadError::Canceled)),
            c = body.next() => c,
        };
        match chunk {
            None => break,
            Some(Ok(bytes)) => {
                if let Err(e) = file.write_all(&bytes).await {
                    let kind = if e.raw_os_error() == Some(28) {
                        "the disk is full"
                    } else {
                        "write failed"
                    };
                    return Err(Attempt::Done(DownloadError::Fatal(format!(
                        "writing {}: {kind} ({e})",
                        out.display()
                    ))));
                }
                done += bytes.len() as u64;
                if last_report.elapsed() >= Duration::from_millis(100) {
                    last_report = std::time::Instant::now();
                    report.send(JobOut::Bytes { done, total });
                }
            }
            Some(Err(e)) => {
                let _ = file.flush().await;
                return Err(Attempt::Cut(one_line(&e)));
            }
        }
    }
    if let Err(e) = file.flush().await {
        return Err(Attempt::Done(DownloadError::Fatal(format!(
            "writing {}: {e}",
            out.display()
        ))));
    }
    drop(file);
    if let Some(t) = total {
        if done < t {
            return Err(Attempt::Cut(format!("body ended at {done} of {t} bytes")));
        }
        if done > t {
            return Err(Attempt::Done(DownloadError::Retryable(format!(
                "downloading {shown}: got {done} bytes, {t} announced"
            ))));
        }
    }
    report.send(JobOut::Bytes {
        done,
        total: Some(done),
    });
    finish(out, done).await.map_err(Attempt::Done)
}

async fn finish(out: &Path, size: u64) -> Result<u64, DownloadError> {
    let f = tokio::fs::File::open(out)
        .await
        .map_err(|e| DownloadError::Fatal(format!("reading {}: {e}", out.display())))?;
    f.sync_all()
        .await
        .map_err(|e| DownloadError::Fatal(format!("syncing {}: {e}", out.display())))?;
    Ok(size)
}

/// `Content-Range: bytes 100-999/1000` → 1000.
fn content_range_total(headers: &reqwest::header::HeaderMap) -> Option<u64> {
    let v = headers.get(reqwest::header::CONTENT_RANGE)?.to_str().ok()?;
    v.rsplit('/').next()?.trim().parse().ok()
}

/// reqwest errors chain their causes; one line, with the URL's query (signatures) removed.
pub fn one_line(e: &reqwest::Error) -> String {
    use std::error::Error as _;
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
    if let Some(url) = e.url() {
        text = text.replace(url.as_str(), &redact(url.as_str()));
    }
    crate::sanitize::line(&text)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use axum::body::Body;
    use axum::http::{HeaderMap, StatusCode, header};
    use axum::response::Response;
    use tokio::sync::mpsc;

    use super::*;
    use crate::model::JobId;

    /// Serves `data` at /file; the first `cuts` responses stop after `cut_at` bytes.
    async fn server(
        data: Vec<u8>,
        cuts: usize,
        cut_at: usize,
        honour_range: bool,
    ) -> (String, Arc<AtomicUsize>) {
        let hits = Arc::new(AtomicUsize::new(0));
        let h = hits.clone();
        let data = Arc::new(data);
        let app = axum::Router::new()
            .route(
                "/file",
                axum::routing::get(move |headers: HeaderMap| {
                    let (data, h) = (data.clone(), h.clone());
                    async move {
                        let n = h.fetch_add(1, Ordering::SeqCst);
                        let start = headers
                            .get(header::RANGE)
                            .and_then(|v| v.to_str().ok())
                            .and_then(|v| v.strip_prefix("bytes="))
                            .and_then(|v| v.trim_end_matches('-').parse::<usize>().ok())
                            .filter(|_| honour_range)
                            .unwrap_or(0);
                        let body = data[start..].to_vec();
                        let len = body.len();
                        let status = if start > 0 {
                            StatusCode::PARTIAL_CONTENT
                        } else {
                            StatusCode::OK
                        };
                        let mut b = Response::builder()
                            .status(status)
                            .header(header::CONTENT_LENGTH, len);
                        if start > 0 {
                            b = b.header(
                                header::CONTENT_RANGE,
                                format!("bytes {start}-{}/{}", data.len() - 1, data.len()),
                            );
                        }
                        if n < cuts {
                            // Announce the whole length, send part of it, then drop the connection.
                            let part = body[..cut_at.min(len)].to_vec();
                            let stream = futures_util::stream::iter(vec![
                                Ok::<_, std::io::Error>(part),
                                Err(std::io::Error::other("cut")),
                            ]);
                            return b.body(Body::from_stream(stream)).unwrap();
                        }
                        b.body(Body::from(body)).unwrap()
                    }
                }),
            )
            .route(
                "/gone",
                axum::routing::get(|| async { StatusCode::FORBIDDEN }),
            );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (format!("http://{addr}"), hits)
    }

    fn reporter() -> (
        Reporter,
        mpsc::UnboundedReceiver<(JobId, crate::backend::BackendMsg)>,
    ) {
        let (tx, rx) = mpsc::unbounded_channel();
        (Reporter::new(JobId(1), tx), rx)
    }

    fn data() -> Vec<u8> {
        (0..200_000u32).map(|i| (i % 251) as u8).collect()
    }

    #[tokio::test]
    async fn a_cut_download_resumes_with_range_and_ends_complete() {
        let (base, hits) = server(data(), 2, 70_000, true).await;
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("f.part");
        let (rep, mut rx) = reporter();
        let c = client(Duration::from_secs(5)).unwrap();
        let n = download(
            &c,
            &format!("{base}/file?Signature=secret"),
            &out,
            &rep,
            &CancellationToken::new(),
        )
        .await
        .unwrap();
        assert_eq!(n, 200_000);
        assert_eq!(std::fs::read(&out).unwrap(), data());
        assert_eq!(hits.load(Ordering::SeqCst), 3, "two cuts, two resumes");
        let mut last = None;
        while let Ok((_, msg)) = rx.try_recv() {
            if let crate::backend::BackendMsg::Out(JobOut::Bytes { done, total }) = msg {
                last = Some((done, total));
            }
        }
        assert_eq!(last, Some((200_000, Some(200_000))));
    }

    #[tokio::test]
    async fn a_server_that_ignores_range_restarts_the_file() {
        let (base, _) = server(data(), 1, 50_000, false).await;
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("f.part");
        let (rep, _rx) = reporter();
        let c = client(Duration::from_secs(5)).unwrap();
        download(
            &c,
            &format!("{base}/file"),
            &out,
            &rep,
            &CancellationToken::new(),
        )
        .await
        .unwrap();
        assert_eq!(std::fs::read(&out).unwrap(), data());
    }

    #[tokio::test]
    async fn endless_cuts_give_up_as_retryable_and_gone_urls_say_so_without_secrets() {
        let (base, _) = server(data(), 100, 10, true).await;
        let dir = tempfile::tempdir().unwrap();
        let (rep, _rx) = reporter();
        let c = client(Duration::from_secs(5)).unwrap();
        let err = download(
            &c,
            &format!("{base}/file"),
            &dir.path().join("a"),
            &rep,
            &CancellationToken::new(),
        )
        .await
        .unwrap_err();
        assert!(matches!(err, DownloadError::Retryable(_)), "{err:?}");
        let err = download(
            &c,
            &format!("{base}/gone?OSSAccessKeyId=AK&Signature=SIG"),
            &dir.path().join("b"),
            &rep,
            &CancellationToken::new(),
        )
        .await
        .unwrap_err();
        assert!(matches!(err, DownloadError::Gone(_)), "{err:?}");
        let text = err.to_string();
        assert!(
            text.contains("HTTP 403") && !text.contains("SIG") && !text.contains("AK"),
            "{text}"
        );
    }

    #[tokio::test]
    async fn cancel_stops_a_download() {
        let (base, _) = server(data(), 0, 0, true).await;
        let dir = tempfile::tempdir().unwrap();
        let (rep, _rx) = reporter();
        let c = client(Duration::from_secs(5)).unwrap();
        let token = CancellationToken::new();
        token.cancel();
        let err = download(
            &c,
            &format!("{base}/file"),
            &dir.path().join("a"),
            &rep,
            &token,
        )
        .await
        .unwrap_err();
        assert_eq!(err, DownloadError::Canceled);
    }

    #[test]
    fn redact_keeps_host_and_path_only() {
        assert_eq!(
            redact(
                "https://user:pw@dashscope-result-sh.oss-cn-shanghai.aliyuncs.com/x/y.mp4?Expires=1&Signature=abc"
            ),
            "https://dashscope-result-sh.oss-cn-shanghai.aliyuncs.com/x/y.mp4"
        );
        assert_eq!(
            redact("http://127.0.0.1:8188/view?filename=a.mp4"),
            "http://127.0.0.1:8188/view"
        );
    }
}
