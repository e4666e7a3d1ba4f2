//! The classifier hook against real processes and a loopback HTTP server.

use std::time::Duration;

use axum::Json;
use axum::http::StatusCode;
use axum::routing::post;
use serde_json::{Value, json};

use super::*;

const PATIENT: Duration = Duration::from_secs(10);

/// A classifier that runs `script` with `sh`, passing the path as an argument.
fn script(dir: &tempfile::TempDir, body: &str, timeout: Duration) -> Classifier {
    let path = dir.path().join(format!("hook{}.sh", fastrand::u32(..)));
    std::fs::write(&path, body).unwrap();
    Classifier::new(ClassifierSpec::Command {
        argv: vec!["sh".into(), path.display().to_string()],
        timeout,
    })
}

#[tokio::test]
async fn command_allows_by_exit_status_or_json() {
    let dir = tempfile::tempdir().unwrap();
    for body in [
        "cat >/dev/null; exit 0\n",
        "cat >/dev/null; echo allow\n",
        "cat >/dev/null; echo '{\"verdict\": \"allow\", \"score\": 0.1}'\n",
        // Exits without reading a large prompt: the closed pipe is not an error.
        "exit 0\n",
    ] {
        let hook = script(&dir, body, PATIENT);
        let long = "a quiet street at dawn ".repeat(20_000);
        assert_eq!(hook.classify(&long).await, Ok(None), "{body}");
    }
}

#[tokio::test]
async fn command_blocks_with_json_naming_rule_and_reason() {
    let dir = tempfile::tempdir().unwrap();
    let hook = script(
        &dir,
        r#"text=$(cat)
case "$text" in
  *forbidden*) echo '{"verdict": "block", "rule": "studio/forbidden", "reason": "the studio forbids it"}' ;;
  *) echo '{"verdict": "allow"}' ;;
esac
"#,
        PATIENT,
    );
    assert_eq!(hook.classify("a calm lake").await, Ok(None));
    let b = hook
        .classify("a forbidden ritual in the cellar")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(b.kind, BlockKind::Classifier);
    assert_eq!(b.rule.id, "studio/forbidden");
    assert_eq!(b.rule.category, "studio");
    assert!(b.rule.source.starts_with("sh "), "{}", b.rule.source);
    assert!(
        b.message
            .starts_with("blocked by classifier rule studio/forbidden (sh ")
            && b.message
                .ends_with("): the studio forbids it; rephrase the shot"),
        "{}",
        b.message
    );
    assert!(!b.message.contains("ritual"), "{}", b.message);
}

#[tokio::test]
async fn command_learns_the_language_and_answers_in_it() {
    let dir = tempfile::tempdir().unwrap();
    let hook = script(
        &dir,
        "cat >/dev/null; echo \"{\\\"verdict\\\": \\\"block\\\", \\\"reason\\\": \\\"lang $PREVIS_PROMPT_LANG\\\"}\"\n",
        PATIENT,
    );
    let b = hook.classify("雨夜的小巷").await.unwrap().unwrap();
    assert_eq!(
        b.message,
        format!(
            "被分类器规则 classifier/block（{}）拦截：lang zh；请改写镜头描述",
            b.rule.source
        )
    );
    let b = hook.classify("a rainy alley").await.unwrap().unwrap();
    assert!(b.message.contains(": lang en;"), "{}", b.message);
}

#[tokio::test]
async fn command_exit_one_blocks_with_the_first_line_as_reason() {
    let dir = tempfile::tempdir().unwrap();
    let hook = script(
        &dir,
        "cat >/dev/null; echo; echo 'too much skin'; echo 'second line'; exit 1\n",
        PATIENT,
    );
    let b = hook.classify("a beach").await.unwrap().unwrap();
    assert_eq!(b.rule.id, "classifier/block");
    assert!(
        b.message.contains(": too much skin; rephrase the shot"),
        "{}",
        b.message
    );
    assert!(!b.message.contains("second"));
    let hook = script(&dir, "exit 1\n", PATIENT);
    let b = hook.classify("a beach").await.unwrap().unwrap();
    assert!(
        b.message.contains("the classifier refused the prompt"),
        "{}",
        b.message
    );
}

#[tokio::test]
async fn command_failures_are_one_line_errors() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "cat >/dev/null; echo 'not json at all'\n",
            "instead of a verdict",
        ),
        (
            "cat >/dev/null; echo '{\"verdict\": \"maybe\"}'\n",
            "printed no verdict",
        ),
        (
            "cat >/dev/null; echo '{\"verdict\": \"allow\"}'; exit 1\n",
            "make the two agree",
        ),
        ("echo boom >&2; exit 3\n", "exit status 3: boom"),
        ("kill -9 $$\n", "killed by a signal"),
    ];
    for (body, says) in cases {
        let err = script(&dir, body, PATIENT)
            .classify("a beach")
            .await
            .unwrap_err();
        assert!(err.starts_with("classifier `sh "), "{err}");
        assert!(err.contains(says), "{body}: {err}");
        assert!(!err.contains('\n'), "{err}");
    }
    let missing = Classifier::new(ClassifierSpec::Command {
        argv: vec![dir.path().join("no-such-hook").display().to_string()],
        timeout: PATIENT,
    });
    let err = missing.classify("a beach").await.unwrap_err();
    assert!(
        err.contains("could not start") && err.contains("check the command"),
        "{err}"
    );
    let empty = Classifier::new(ClassifierSpec::Command {
        argv: vec![],
        timeout: PATIENT,
    });
    let err = empty.classify("a beach").await.unwrap_err();
    assert!(err.contains("command is empty"), "{err}");
}

/// Whether process `pid` is gone (or a zombie waiting to be reaped).
#[cfg(target_os = "linux")]
fn gone(pid: &str) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
    }
}

#[tokio::test]
async fn a_hanging_command_is_killed_at_the_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("sleeper.pid");
    let hook = script(
        &dir,
        &format!("sleep 30 &\necho $! > '{}'\nwait\n", pidfile.display()),
        Duration::from_millis(300),
    );
    let err = hook.classify("a beach").await.unwrap_err();
    assert!(
        err.contains("no verdict within 300ms") && err.contains("raise its timeout"),
        "{err}"
    );
    // The whole process group went with it, including what the script started.
    #[cfg(target_os = "linux")]
    {
        let pid = std::fs::read_to_string(&pidfile).unwrap();
        let pid = pid.trim();
        let mut waited = 0;
        while !gone(pid) && waited < 100 {
            tokio::time::sleep(Duration::from_millis(20)).await;
            waited += 1;
        }
        assert!(gone(pid), "sleep {pid} outlived the classifier");
    }
}

/// A loopback classifier service; returns its base URL.
async fn service() -> String {
    let app = axum::Router::new()
        .route(
            "/allow",
            post(|| async { Json(json!({"verdict": "allow"})) }),
        )
        .route(
            "/block",
            post(|Json(body): Json<Value>| async move {
                let text = body["text"].as_str().unwrap_or_default().to_string();
                if text.contains("forbidden") {
                    Json(json!({
                        "verdict": "block",
                        "rule": "nsfw",
                        "reason": format!("lang {}", body["lang"].as_str().unwrap_or("?")),
                    }))
                } else {
                    Json(json!({"verdict": "allow"}))
                }
            }),
        )
        .route(
            "/fail",
            post(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "model crashed") }),
        )
        .route("/garbage", post(|| async { "<html>oops</html>" }))
        .route(
            "/maybe",
            post(|| async { Json(json!({"verdict": "perhaps"})) }),
        )
        .route(
            "/slow",
            post(|| async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                Json(json!({"verdict": "allow"}))
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

fn http(url: String, timeout: Duration) -> Classifier {
    Classifier::new(ClassifierSpec::Http { url, timeout })
}

#[tokio::test]
async fn http_allows_and_blocks() {
    let base = service().await;
    assert_eq!(
        http(format!("{base}/allow"), PATIENT)
            .classify("a beach")
            .await,
        Ok(None)
    );
    let hook = http(format!("{base}/block?token=secret"), PATIENT);
    assert_eq!(hook.classify("a beach").await, Ok(None));
    let b = hook.classify("一个forbidden的镜头").await.unwrap().unwrap();
    assert_eq!(b.rule.id, "classifier/nsfw");
    assert_eq!(b.kind, BlockKind::Classifier);
    assert_eq!(b.rule.source, format!("{base}/block"));
    assert_eq!(
        b.message,
        format!("被分类器规则 classifier/nsfw（{base}/block）拦截：lang zh；请改写镜头描述")
    );
    let b = hook.classify("a forbidden shot").await.unwrap().unwrap();
    assert!(
        b.message.ends_with(": lang en; rephrase the shot"),
        "{}",
        b.message
    );
}

#[tokio::test]
async fn http_failures_are_one_line_errors_without_secrets() {
    let base = service().await;
    let cases = [
        (
            "/fail",
            "HTTP 500 Internal Server Error; check the service's log",
        ),
        ("/garbage", "the reply is not a verdict"),
        ("/maybe", "the reply is not a verdict"),
    ];
    for (path, says) in cases {
        let err = http(format!("{base}{path}?token=secret"), PATIENT)
            .classify("a beach")
            .await
            .unwrap_err();
        assert!(
            err.starts_with(&format!("classifier {base}{path}")),
            "{err}"
        );
        assert!(err.contains(says), "{path}: {err}");
        assert!(!err.contains("secret") && !err.contains('\n'), "{err}");
    }
}

#[tokio::test]
async fn http_times_out() {
    let base = service().await;
    let err = http(format!("{base}/slow"), Duration::from_millis(300))
        .classify("a beach")
        .await
        .unwrap_err();
    assert_eq!(
        err,
        format!(
            "classifier {base}/slow gave no verdict within 300ms; check the service or raise its timeout"
        )
    );
}

#[tokio::test]
async fn http_without_a_service_says_it_cannot_connect() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let err = http(format!("http://{addr}/verdict"), PATIENT)
        .classify("a beach")
        .await
        .unwrap_err();
    assert!(
        err.contains("cannot connect") && err.contains("is running"),
        "{err}"
    );
    let err = http("not a url".into(), PATIENT)
        .classify("a beach")
        .await
        .unwrap_err();
    assert!(err.contains("URL is not valid"), "{err}");
}
