//! The `dashscope` backend against a loopback stand-in for DashScope's task API
//! (tests/support/dashscope_server.rs): through the real binary where the default waits allow,
//! and through the library (`from_config_with` + `Backend::run`) where a test needs short waits
//! or to watch every report.
//!
//! Every binary test ends by searching its whole home (store, logs, takes) and everything the
//! binary printed for the API key and for the result link's signature.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

mod common;
#[path = "support/dashscope_server.rs"]
mod dashscope_server;

use std::cell::RefCell;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use common::{Home, Run, ffprobe, require_tool};
use dashscope_server::{Cut, CutKind, DashScopeDouble, LINK_SIGNATURE, Seen};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use previs::backend::dashscope::{self, Timing};
use previs::backend::{Backend, BackendMsg, Failure, Finished, RenderJob, Reporter};
use previs::config::DashScopeConfig;
use previs::model::{JobId, JobOut, Recipe, ShotSpec, Slate};

/// The variable that holds the key, for the binary (set on each child) and for the library
/// tests (which run in a copy of this test binary that has it; see [`in_child`]).
const KEY_ENV: &str = "PREVIS_TEST_DASHSCOPE_KEY";
/// The account's key as the stand-in knows it.
const KEY: &str = "sk-9c41e7d2b05a4f3e8a6d1c0b7e2f5a93";
/// A key the stand-in refuses.
const WRONG_KEY: &str = "sk-0f8e7d6c5b4a39281706f5e4d3c2b1a0";

const SCRIPT: &str = "\
EXT. ROOFTOP - NIGHT

A lantern sways in the rain.

INT. STAIRWELL - NIGHT

Water drips down the concrete steps.
";

/// A real MP4 (832x480, 5 s, 30 fps, H.264), rendered once per run by the animatic backend:
/// what the stand-in serves as every task's video.
fn video() -> Vec<u8> {
    static VIDEO: OnceLock<Vec<u8>> = OnceLock::new();
    VIDEO
        .get_or_init(|| {
            let h = Home::new();
            h.ok(&[
                "init",
                "clip",
                "--size",
                "832x480",
                "--duration",
                "5",
                "--fps",
                "30",
            ]);
            let script = h.write("clip.fountain", SCRIPT);
            h.ok(&["import", script.to_str().unwrap()]);
            h.ok(&["render", "1A", "--wait"]);
            let takes = h.ok(&["takes", "--json"]).json();
            std::fs::read(takes[0]["path"].as_str().unwrap()).unwrap()
        })
        .clone()
}

// ---------------------------------------------------------------------------------------------
// Through the binary.

/// A project whose backend `cloud` is DashScope (the stand-in), with the binary's output kept
/// for the final search for secrets.
struct Cloud {
    home: Home,
    ds: DashScopeDouble,
    /// The key the binary is given.
    key: Option<String>,
    /// Extra environment for the binary.
    env: Vec<(String, String)>,
    printed: RefCell<Vec<String>>,
}

impl Cloud {
    /// wan2.2-t2v-plus at the stand-in's address.
    fn new() -> Self {
        Self::with(|base| backend_toml("cloud", "wan2.2-t2v-plus", base))
    }

    /// A project rendering 832x480, 5 s, 30 fps on `cloud`, with the config `config(base)`.
    fn with(config: impl Fn(&str) -> String) -> Self {
        let ds = DashScopeDouble::start(KEY, video());
        // Quick by default: a task runs on its first query and ends on its second.
        ds.faults(|f| f.pending_polls = 0);
        let home = Home::new();
        home.write("config.toml", &config(ds.base()));
        let c = Self {
            home,
            ds,
            key: Some(KEY.to_string()),
            env: Vec::new(),
            printed: RefCell::new(Vec::new()),
        };
        c.ok(&[
            "init",
            "rooftop",
            "--size",
            "832x480",
            "--duration",
            "5",
            "--fps",
            "30",
            "--backend",
            "cloud",
        ]);
        let script = c.home.write("rooftop.fountain", SCRIPT);
        c.ok(&["import", script.to_str().unwrap()]);
        c
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = self.home.command(args);
        cmd.env_remove(KEY_ENV)
            .env_remove("HTTP_PROXY")
            .env_remove("http_proxy")
            .env_remove("ALL_PROXY")
            .env_remove("all_proxy")
            // As much logging as there is: none of it may hold the key.
            .env("PREVIS_LOG", "trace");
        if let Some(k) = &self.key {
            cmd.env(KEY_ENV, k);
        }
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd
    }

    fn keep(&self, r: &Run) {
        let mut p = self.printed.borrow_mut();
        p.push(r.stdout.clone());
        p.push(r.stderr.clone());
    }

    fn run(&self, args: &[&str]) -> Run {
        let out = self.command(args).output().unwrap();
        let r = Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        };
        self.keep(&r);
        r
    }

    fn ok(&self, args: &[&str]) -> Run {
        let r = self.run(args);
        assert_eq!(
            r.code, 0,
            "previs {args:?} failed:\nstdout:\n{}\nstderr:\n{}",
            r.stdout, r.stderr
        );
        r
    }

    /// Runs and insists on exit code `code`.
    fn fails(&self, args: &[&str], code: i32) -> Run {
        let r = self.run(args);
        assert_eq!(
            r.code, code,
            "previs {args:?}: expected exit {code}\nstdout:\n{}\nstderr:\n{}",
            r.stdout, r.stderr
        );
        r
    }

    /// `previs work --until-idle` in the background.
    fn spawn_work(&self) -> Child {
        self.command(&["work", "--until-idle"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }

    /// SIGKILLs a child and keeps what it printed.
    fn kill(&self, mut child: Child) {
        child.kill().unwrap();
        let out = child.wait_with_output().unwrap();
        self.keep(&Run {
            code: -1,
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        });
    }

    fn jobs(&self) -> Vec<Value> {
        let v = self.ok(&["queue", "--all", "--json"]).json();
        v.as_array().unwrap().clone()
    }

    fn job(&self) -> Value {
        let jobs = self.jobs();
        assert_eq!(jobs.len(), 1, "{jobs:#?}");
        jobs[0].clone()
    }

    fn takes(&self) -> Vec<Value> {
        let v = self.ok(&["takes", "--json"]).json();
        v.as_array().unwrap().clone()
    }

    /// Ends a test: the account's limits held, the key went only into `Authorization`
    /// headers, and no secret is anywhere in the home or in what the binary printed.
    fn finish(&self) {
        let (submits, queries) = (
            self.ds.max_creates_per_second(),
            self.ds.max_queries_per_second(),
        );
        eprintln!(
            "measured: at most {submits} submissions and {queries} queries in any one second"
        );
        assert!(
            submits <= 2 && queries <= 20,
            "{submits} submissions, {queries} queries in one second"
        );
        for s in self.ds.requests() {
            let elsewhere = format!(
                "{} {:?} {:?}",
                s.path,
                s.query,
                s.headers
                    .iter()
                    .filter(|(n, _)| n != "authorization")
                    .collect::<Vec<_>>()
            );
            assert!(
                !elsewhere.contains(KEY),
                "the key was sent outside Authorization: {s:#?}"
            );
        }
        for t in self.ds.tasks() {
            assert!(!t.body.to_string().contains(KEY), "{:#}", t.body);
        }
        self.assert_no_secrets();
    }

    /// Neither key, nor the result link's signature, is in any file of the home or anywhere
    /// the binary printed.
    fn assert_no_secrets(&self) {
        let secrets = [KEY, WRONG_KEY, LINK_SIGNATURE];
        let mut files = 0;
        let mut stack = vec![self.home.path().to_path_buf()];
        while let Some(dir) = stack.pop() {
            for e in std::fs::read_dir(&dir).unwrap().flatten() {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                    continue;
                }
                let Ok(bytes) = std::fs::read(&p) else {
                    continue;
                };
                files += 1;
                for s in secrets {
                    assert!(
                        !contains(&bytes, s.as_bytes()),
                        "{} holds the secret {s}",
                        p.display()
                    );
                }
            }
        }
        assert!(files > 3, "the home was searched ({files} files)");
        for text in self.printed.borrow().iter() {
            for s in secrets {
                assert!(
                    !text.contains(s),
                    "the binary printed the secret {s}:\n{text}"
                );
            }
        }
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

fn backend_toml(name: &str, model: &str, base: &str) -> String {
    format!(
        "[[backend]]\nname = \"{name}\"\nkind = \"dashscope\"\nmodel = \"{model}\"\nbase_url = \"{base}\"\napi_key_env = \"{KEY_ENV}\"\n\n"
    )
}

fn creates(ds: &DashScopeDouble) -> Vec<Seen> {
    ds.requests().into_iter().filter(Seen::is_create).collect()
}

#[test]
fn a_take_renders_in_beijing_with_the_model_the_yuan_price_and_the_real_file() {
    let Some(_) = require_tool("ffprobe") else {
        return;
    };
    // Beijing's host, reached through an HTTP proxy that is the stand-in: prices are in yuan.
    let mut c =
        Cloud::with(|_| backend_toml("cloud", "wan2.2-t2v-plus", "http://dashscope.aliyuncs.com"));
    c.env.push(("HTTP_PROXY".into(), c.ds.base().to_string()));
    c.env.push(("NO_PROXY".into(), String::new()));
    let r = c.ok(&["render", "1A", "--seed", "1234", "--wait"]);
    assert!(
        r.stderr
            .contains("queued 1 take on cloud (estimated cost 0.70 CNY)"),
        "{}",
        r.stderr
    );
    let takes = c.takes();
    assert_eq!(takes.len(), 1, "{takes:#?}");
    let t = &takes[0];
    assert_eq!(t["id"], "SC001_SH1A_TK01");
    assert_eq!(
        (t["backend"].as_str(), t["model"].as_str()),
        (Some("cloud"), Some("wan2.2-t2v-plus"))
    );
    // 5 s of 480P at ¥0.14/s, as DashScope billed it (usage.video_duration).
    assert_eq!(
        (t["cost"].as_f64(), t["currency"].as_str()),
        (Some(0.7), Some("CNY"))
    );
    assert_eq!(t["seed"], 1234);
    // The file on disk is the one DashScope served, and ffprobe agrees with what was recorded.
    let path = std::path::Path::new(t["path"].as_str().unwrap());
    assert_eq!(
        std::fs::read(path).unwrap(),
        c.ds.video(),
        "the served MP4, byte for byte"
    );
    let probe = ffprobe(path);
    let v = &probe["streams"][0];
    assert_eq!(v["codec_name"], "h264");
    assert_eq!(
        (v["width"].as_u64(), v["height"].as_u64()),
        (Some(832), Some(480))
    );
    assert_eq!(v["r_frame_rate"], "30/1");
    assert_eq!(v["nb_read_frames"], "150");
    let m = &t["media"];
    assert_eq!(
        (m["fps"].as_f64(), m["frames"].as_u64()),
        (Some(30.0), Some(150))
    );
    assert_eq!(
        (m["width"].as_u64(), m["height"].as_u64()),
        (Some(832), Some(480))
    );
    assert_eq!(m["duration_s"].as_f64(), Some(5.0));

    // One task, created as the protocol says.
    let tasks = c.ds.tasks();
    assert_eq!(tasks.len(), 1);
    let task = &tasks[0];
    assert_eq!(task.answered, ["RUNNING", "SUCCEEDED"]);
    assert_eq!(task.body["model"], "wan2.2-t2v-plus");
    assert_eq!(task.body["parameters"]["size"], "832*480");
    assert_eq!(task.body["parameters"]["seed"], 1234);
    assert_eq!(task.body["parameters"]["prompt_extend"], false);
    assert!(
        task.body["parameters"].get("duration").is_none(),
        "wan2.2 is always 5 s"
    );
    assert_eq!(task.body["input"]["prompt"], t["prompt"]);
    assert!(!task.truncated);
    let create = &creates(&c.ds)[0];
    assert_eq!(create.header("x-dashscope-async"), Some("enable"));
    assert_eq!(
        create.header("authorization"),
        Some(format!("Bearer {KEY}").as_str())
    );
    assert!(
        create
            .header("content-type")
            .unwrap()
            .starts_with("application/json")
    );
    assert_eq!(
        create.header("host"),
        Some("dashscope.aliyuncs.com"),
        "the request went to Beijing's host (through the proxy)"
    );
    // The result link is plain GET: the key never goes to the storage service.
    for f in c.ds.file_requests() {
        assert_eq!(f.header("authorization"), None);
    }
    // Health: reachable, the key works, yuan prices are known for every tier of the model.
    let check = c.ok(&["backends", "--check", "--json"]).json();
    let cloud = check
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["name"] == "cloud")
        .unwrap()
        .clone();
    assert_eq!(cloud["ok"], true, "{cloud:#}");
    assert_eq!(cloud["health"]["authenticated"], true);
    assert!(
        c.ds.requests()
            .iter()
            .any(|s| s.path == "/api/v1/tasks"
                && s.query.as_deref() == Some("page_no=1&page_size=1"))
    );
    c.finish();
}

#[test]
fn sizes_and_durations_a_model_cannot_render_are_refused_before_any_request() {
    let c = Cloud::with(|base| {
        backend_toml("cloud", "wan2.2-t2v-plus", base)
            + &backend_toml("cloud26", "wan2.6-t2v", base)
    });
    let r = c.fails(&["render", "1A", "--size", "1280x720"], 1);
    assert!(
        r.stderr.contains("wan2.2-t2v-plus renders 832x480, 480x832, 624x624, 1920x1080, 1080x1920, 1440x1440, 1632x1248, 1248x1632; not 1280x720"),
        "{}",
        r.stderr
    );
    let r = c.fails(&["render", "1A", "--duration", "3"], 1);
    assert!(
        r.stderr
            .contains("wan2.2-t2v-plus renders 5 s clips only; not 3 s"),
        "{}",
        r.stderr
    );
    let r = c.fails(
        &[
            "render",
            "1A",
            "--backend",
            "cloud26",
            "--size",
            "1280x720",
            "--duration",
            "16",
        ],
        1,
    );
    assert!(
        r.stderr
            .contains("wan2.6-t2v renders whole seconds from 2 to 15; not 16 s"),
        "{}",
        r.stderr
    );
    let r = c.fails(
        &["render", "1A", "--backend", "cloud26", "--duration", "5"],
        1,
    );
    assert!(r.stderr.contains("; not 832x480"), "{}", r.stderr);
    for r in c.printed.borrow().iter().filter(|t| t.contains("error:")) {
        assert_eq!(
            r.lines().filter(|l| l.starts_with("error:")).count(),
            1,
            "{r}"
        );
    }
    assert!(c.jobs().is_empty(), "nothing was queued");
    assert!(
        c.ds.requests().is_empty(),
        "nothing reached DashScope: {:#?}",
        c.ds.requests()
    );
    // Health at an international address: wan2.6 has dollar prices, wan2.2 has none published.
    let check = c.fails(&["backends", "--check", "--json"], 1).json();
    let by = |name: &str| {
        check
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["name"] == name)
            .unwrap()
            .clone()
    };
    assert_eq!(by("cloud26")["ok"], true, "{check:#}");
    let cloud = by("cloud");
    assert_eq!(cloud["ok"], false);
    assert_eq!(cloud["health"]["authenticated"], true);
    let problems = cloud["health"]["problems"].to_string();
    assert!(
        problems.contains("previs knows no USD price for wan2.2-t2v-plus at 480P, 1080P"),
        "{problems}"
    );
    c.finish();
}

#[test]
fn an_over_long_prompt_is_refused_never_cut() {
    let c = Cloud::new();
    // 801 Han characters in the action alone: DashScope counts characters, not bytes.
    let long = "灯".repeat(801);
    c.ok(&["shot", "edit", "1A", "--action", &long]);
    let r = c.fails(&["render", "1A"], 1);
    assert!(
        r.stderr.contains("characters and wan2.2-t2v-plus takes at most 800 (DashScope would cut the rest silently); shorten it"),
        "{}",
        r.stderr
    );
    assert!(c.ds.requests().is_empty());
    // The compiled prompt adds the scene's words to the action.
    let total: usize = r
        .stderr
        .split("the prompt is ")
        .nth(1)
        .and_then(|t| t.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap();
    // The negative prompt has its own limit.
    c.ok(&[
        "shot",
        "edit",
        "1A",
        "--action",
        "灯",
        "--negative",
        &"糊".repeat(501),
    ]);
    let r = c.fails(&["render", "1A"], 1);
    assert!(
        r.stderr
            .contains("the negative prompt is 501 characters and DashScope takes at most 500"),
        "{}",
        r.stderr
    );
    c.ok(&["shot", "edit", "1A", "--negative", ""]);
    assert!(c.ds.requests().is_empty());
    // Exactly 800 is sent whole.
    let fits = "灯".repeat(800 - (total - 801));
    c.ok(&["shot", "edit", "1A", "--action", &fits]);
    c.ok(&["render", "1A", "--wait"]);
    let tasks = c.ds.tasks();
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0].prompt_chars, 800);
    assert!(!tasks[0].truncated, "DashScope cut nothing");
    assert_eq!(c.takes()[0]["prompt"], tasks[0].prompt);
    c.finish();
}

#[test]
fn moderation_is_a_content_safety_refusal_and_is_not_retried() {
    let c = Cloud::new();
    // Refused at submission: the prompt itself.
    c.ds.faults(|f| f.moderate_input = Some("lantern".into()));
    let r = c.fails(&["render", "1A", "--wait"], 1);
    let j = c.job();
    assert_eq!(j["state"], "failed");
    let reason = j["error"].as_str().unwrap();
    assert_eq!(
        reason,
        "DashScope refused the prompt on content-safety grounds (DataInspectionFailed); rephrase it"
    );
    assert!(r.stderr.contains("content-safety"), "{}", r.stderr);
    assert_eq!(j["attempts"], 1);
    assert_eq!((c.ds.create_requests(), c.ds.creations()), (1, 0));
    // Refused after rendering: the task ends FAILED.
    c.ds.faults(|f| {
        f.moderate_input = None;
        f.fail_tasks = Some((
            "DataInspectionFailed".into(),
            "Output data may contain inappropriate content.".into(),
        ));
    });
    c.fails(&["render", "2A", "--wait"], 1);
    let jobs = c.jobs();
    let j = jobs.iter().find(|j| j["shot"] == "2A").unwrap();
    assert_eq!(j["state"], "failed");
    assert!(
        j["error"]
            .as_str()
            .unwrap()
            .contains("content-safety grounds (DataInspectionFailed)"),
        "{j:#}"
    );
    assert_eq!(c.ds.creations(), 1);
    // Nothing is tried again later.
    c.ok(&["work", "--until-idle"]);
    assert_eq!((c.ds.create_requests(), c.ds.creations()), (2, 1));
    c.finish();
}

#[test]
fn a_refused_key_is_not_retried_and_never_shown() {
    let mut c = Cloud::new();
    // A careless server repeats the key it was given in its error messages: a server error
    // (tried again, and said so on the terminal) shows it scrubbed.
    c.ds.faults(|f| {
        f.echo_key = true;
        f.server_errors = 1;
    });
    let r = c.ok(&["render", "1A", "--wait"]);
    assert!(
        r.stderr.contains("(request signed with <key>)"),
        "{}",
        r.stderr
    );
    assert_eq!((c.ds.create_requests(), c.ds.creations()), (2, 1));
    // A key DashScope refuses.
    c.key = Some(WRONG_KEY.into());
    let r = c.fails(&["render", "2A", "--wait"], 1);
    let jobs = c.jobs();
    let j = jobs.iter().find(|j| j["shot"] == "2A").unwrap();
    assert_eq!(j["state"], "failed");
    assert_eq!(
        j["error"],
        format!("the key in ${KEY_ENV} was refused (InvalidApiKey)")
    );
    assert!(
        r.stderr.contains("was refused (InvalidApiKey)"),
        "{}",
        r.stderr
    );
    assert_eq!(
        c.ds.create_requests(),
        3,
        "a refused key is not tried again"
    );
    c.ok(&["work", "--until-idle"]);
    assert_eq!(c.ds.create_requests(), 3);
    let check = c.fails(&["backends", "--check", "--json"], 1).json();
    let cloud = check
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["name"] == "cloud")
        .unwrap()
        .clone();
    assert_eq!(cloud["health"]["authenticated"], false, "{cloud:#}");
    // No key at all: refused before anything is sent, naming the variable.
    c.key = None;
    let before = c.ds.requests().len();
    c.fails(&["render", "2A", "--wait"], 1);
    let jobs = c.jobs();
    let j = jobs.iter().rev().find(|j| j["shot"] == "2A").unwrap();
    assert!(
        j["error"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{KEY_ENV} is not set; export it")),
        "{j:#}"
    );
    assert_eq!(c.ds.requests().len(), before);
    c.finish();
}

#[test]
fn an_unknown_task_is_final() {
    let c = Cloud::new();
    c.ds.faults(|f| f.forget = true);
    c.fails(&["render", "1A", "--wait"], 1);
    let j = c.job();
    assert_eq!(j["state"], "failed");
    let id = c.ds.tasks()[0].id.clone();
    assert!(
        j["error"]
            .as_str()
            .unwrap()
            .contains(&format!("DashScope does not know task {id}")),
        "{j:#}"
    );
    assert_eq!(c.ds.queries_of(&id), 1, "UNKNOWN is not asked about again");
    c.ok(&["work", "--until-idle"]);
    assert_eq!((c.ds.creations(), c.ds.queries_of(&id)), (1, 1));
    c.finish();
}

#[test]
fn an_expired_link_fails_without_a_new_submission() {
    let c = Cloud::new();
    c.ds.faults(|f| f.expired = Some(403));
    c.fails(&["render", "1A", "--wait"], 1);
    let j = c.job();
    assert_eq!(j["state"], "failed");
    let reason = j["error"].as_str().unwrap();
    assert!(
        reason.contains("has expired (result links last 24 h)") && reason.contains("HTTP 403"),
        "{reason}"
    );
    assert!(
        !reason.contains("Signature") && !reason.contains("OSSAccessKeyId"),
        "{reason}"
    );
    // Deleted from storage (404): the same.
    c.ds.faults(|f| f.expired = Some(404));
    c.fails(&["render", "2A", "--wait"], 1);
    let jobs = c.jobs();
    let j = jobs.iter().find(|j| j["shot"] == "2A").unwrap();
    assert!(
        j["error"].as_str().unwrap().contains("has expired")
            && j["error"].as_str().unwrap().contains("HTTP 404"),
        "{j:#}"
    );
    c.ok(&["work", "--until-idle"]);
    assert_eq!(c.ds.creations(), 2, "a new task would be billed again");
    assert_eq!(c.ds.file_requests().len(), 2);
    assert!(c.takes().is_empty());
    assert_eq!(
        std::fs::read_dir(c.home.path().join("data/tmp"))
            .map(|d| d.count())
            .unwrap_or(0),
        0
    );
    c.finish();
}

#[test]
fn a_cut_download_resumes_with_range() {
    let c = Cloud::new();
    c.ds.faults(|f| {
        f.cuts.push_back(Cut {
            at: 20_000,
            kind: CutKind::Reset,
        });
        f.cuts.push_back(Cut {
            at: 15_000,
            kind: CutKind::Truncate,
        });
    });
    c.ok(&["render", "1A", "--wait"]);
    let files = c.ds.file_requests();
    assert_eq!(files.len(), 3, "{files:#?}");
    assert_eq!(files[0].header("range"), None);
    for f in &files[1..] {
        let start: u64 = f
            .header("range")
            .and_then(|r| r.strip_prefix("bytes="))
            .and_then(|r| r.strip_suffix('-'))
            .and_then(|r| r.parse().ok())
            .unwrap_or_else(|| panic!("resumed without a Range: {f:#?}"));
        assert!(start > 0);
        assert_eq!(f.status, Some(206));
    }
    let t = &c.takes()[0];
    assert_eq!(
        std::fs::read(t["path"].as_str().unwrap()).unwrap(),
        c.ds.video()
    );
    assert_eq!(c.ds.creations(), 1);
    c.finish();
}

#[test]
fn a_lost_answer_leaves_the_job_unconfirmed_until_retry() {
    let c = Cloud::new();
    // DashScope creates the task, and the connection breaks before its answer arrives.
    c.ds.faults(|f| f.drop_after_create = 1);
    let r = c.fails(&["render", "1A", "--wait"], 1);
    assert!(r.stderr.contains("1 unconfirmed"), "{}", r.stderr);
    assert!(
        r.stderr
            .contains("not resubmitted (`previs retry 1` sends it again"),
        "{}",
        r.stderr
    );
    let j = c.job();
    assert_eq!(j["state"], "unconfirmed");
    assert!(
        j["error"]
            .as_str()
            .unwrap()
            .contains("DashScope may have created the task"),
        "{j:#}"
    );
    assert_eq!(c.ds.creations(), 1);
    // Workers leave it alone.
    c.ok(&["work", "--until-idle"]);
    assert_eq!(c.job()["state"], "unconfirmed");
    assert_eq!(c.ds.create_requests(), 1);
    // Only the user sends it again.
    let r = c.ok(&["retry", "1"]);
    assert!(
        r.stderr
            .contains("may already exist on cloud; if it does, it will run (and be billed) twice"),
        "{}",
        r.stderr
    );
    c.ok(&["work", "--until-idle"]);
    assert_eq!(c.job()["state"], "done");
    assert_eq!(c.ds.creations(), 2);
    c.finish();
}

#[test]
fn kill_9_after_the_task_id_is_recorded_polls_the_same_task() {
    let c = Cloud::new();
    c.ds.faults(|f| f.hold = true);
    c.ok(&["render", "1A"]);
    let worker = c.spawn_work();
    // The first status query comes after the id was handed to the engine to record.
    assert!(c.ds.wait_for(Duration::from_secs(20), |d| {
        d.tasks().first().is_some_and(|t| d.queries_of(&t.id) >= 1)
    }));
    c.kill(worker);
    let id = c.ds.tasks()[0].id.clone();
    let j = c.job();
    assert_eq!(
        (j["state"].as_str(), j["remote_id"].as_str()),
        (Some("remote"), Some(id.as_str())),
        "{j:#}"
    );
    let polled = c.ds.queries_of(&id);
    c.ds.faults(|f| f.hold = false);
    c.ok(&["work", "--until-idle"]);
    assert_eq!(c.job()["state"], "done");
    assert_eq!(
        c.ds.creations(),
        1,
        "the task was polled, not created again"
    );
    assert!(c.ds.queries_of(&id) > polled);
    assert_eq!(c.takes().len(), 1);
    c.finish();
}

#[test]
fn kill_9_between_sending_and_recording_leaves_the_job_unconfirmed() {
    let c = Cloud::new();
    // DashScope creates the task; the worker dies before the answer arrives.
    c.ds.faults(|f| f.create_hang = true);
    c.ok(&["render", "1A"]);
    let worker = c.spawn_work();
    assert!(c.ds.wait_for(Duration::from_secs(20), |d| d.creations() == 1));
    c.kill(worker);
    assert_eq!(c.job()["state"], "submitting");
    c.ds.faults(|f| f.create_hang = false);
    let r = c.ok(&["work", "--until-idle"]);
    assert!(
        r.stderr.contains("submission unconfirmed, not resubmitted"),
        "{}",
        r.stderr
    );
    let j = c.job();
    assert_eq!(j["state"], "unconfirmed");
    assert_eq!((c.ds.create_requests(), c.ds.creations()), (1, 1));
    c.ok(&["work", "--until-idle"]);
    assert_eq!(c.ds.create_requests(), 1);
    c.finish();
}

#[test]
fn kill_9_mid_download_resumes_the_same_video_with_range() {
    let c = Cloud::new();
    // 4 KB every 100 ms: the video takes about two seconds to arrive.
    c.ds.faults(|f| f.trickle = Some((4096, Duration::from_millis(100))));
    c.ok(&["render", "1A"]);
    let worker = c.spawn_work();
    let tmp = c.home.path().join("data/tmp");
    let partial = || {
        std::fs::read_dir(&tmp)
            .map(|d| {
                d.flatten()
                    .any(|e| e.metadata().is_ok_and(|m| m.len() >= 8192))
            })
            .unwrap_or(false)
    };
    assert!(c.ds.wait_for(Duration::from_secs(20), |_| partial()));
    c.kill(worker);
    assert_eq!(c.job()["state"], "downloading");
    c.ds.faults(|f| f.trickle = None);
    c.ok(&["work", "--until-idle"]);
    let j = c.job();
    assert_eq!(j["state"], "done", "{j:#}");
    assert_eq!(c.ds.creations(), 1);
    let files = c.ds.file_requests();
    assert_eq!(files.len(), 2, "{files:#?}");
    assert!(
        files[1].header("range").is_some_and(|r| r != "bytes=0-"),
        "{files:#?}"
    );
    let t = &c.takes()[0];
    assert_eq!(
        std::fs::read(t["path"].as_str().unwrap()).unwrap(),
        c.ds.video()
    );
    c.finish();
}

// ---------------------------------------------------------------------------------------------
// Through the library.

/// A test of the library reads the key from its own environment, which a test cannot set (that
/// takes `unsafe`): it runs in a copy of this test binary started with the key. True in the
/// parent (whose work is then done); false in the copy, which runs the test's body.
fn in_child(test: &str) -> bool {
    if std::env::var_os(KEY_ENV).is_some() {
        return false;
    }
    let out = Command::new(std::env::current_exe().unwrap())
        .args([test, "--exact", "--nocapture", "--test-threads", "1"])
        .env(KEY_ENV, KEY)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // Shown with --nocapture (the measured request rates, say).
    eprint!("{text}");
    assert!(out.status.success(), "{test} failed:\n{text}");
    assert!(text.contains("1 passed"), "{test} did not run:\n{text}");
    for s in [KEY, LINK_SIGNATURE] {
        assert!(!text.contains(s), "{test} printed a secret:\n{text}");
    }
    true
}

/// The key of a library test: the one its copy was started with.
fn lib_key() -> String {
    std::env::var(KEY_ENV).unwrap()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Short waits: the stand-in answers at once.
fn quick() -> Timing {
    Timing {
        poll: vec![Duration::from_millis(20)],
        backoff: Duration::from_millis(20),
        submit_timeout: Duration::from_secs(10),
        query_timeout: Duration::from_secs(10),
    }
}

fn backend(ds: &DashScopeDouble, model: &str, timing: Timing) -> Arc<dyn Backend> {
    let c = DashScopeConfig {
        name: "cloud".into(),
        model: model.into(),
        base_url: ds.base().to_string(),
        api_key_env: KEY_ENV.into(),
        max_in_flight: Some(4),
        prompt_extend: false,
        watermark: false,
        price: None,
    };
    dashscope::from_config_with(&c, timing).unwrap()
}

fn recipe(prompt: &str) -> Recipe {
    Recipe {
        prompt: prompt.into(),
        negative: "blurry, low quality".into(),
        seed: 7,
        backend: "cloud".into(),
        model: "wanx2.1-t2v-turbo".into(),
        width: 832,
        height: 480,
        fps: 30,
        duration_s: 5.0,
        frames: 150,
        style: None,
        variant: Default::default(),
        spec: ShotSpec::default(),
        params: Default::default(),
    }
}

/// What one job's run returned and reported.
struct Ran {
    result: Result<Finished, Failure>,
    msgs: Vec<BackendMsg>,
    file: Option<Vec<u8>>,
}

impl Ran {
    fn notices(&self) -> Vec<&str> {
        self.msgs
            .iter()
            .filter_map(|m| match m {
                BackendMsg::Notice(_, t) => Some(t.as_str()),
                BackendMsg::Out(_) => None,
            })
            .collect()
    }

    fn outs(&self) -> Vec<&JobOut> {
        self.msgs
            .iter()
            .filter_map(|m| match m {
                BackendMsg::Out(o) => Some(o),
                BackendMsg::Notice(..) => None,
            })
            .collect()
    }

    /// Nothing it returned or reported holds a secret.
    fn assert_no_secrets(&self) {
        let text = format!("{:?} {:?}", self.result, self.msgs);
        for s in [lib_key().as_str(), LINK_SIGNATURE] {
            assert!(!text.contains(s), "{text}");
        }
    }
}

async fn run_job(b: Arc<dyn Backend>, n: u64, dir: &std::path::Path, prompt: &str) -> Ran {
    run_job_until(b, n, dir, prompt, CancellationToken::new()).await
}

async fn run_job_until(
    b: Arc<dyn Backend>,
    n: u64,
    dir: &std::path::Path,
    prompt: &str,
    cancel: CancellationToken,
) -> Ran {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let out = dir.join(format!("{n}.mp4.part"));
    let job = RenderJob {
        job: JobId(n),
        recipe: recipe(prompt),
        slate: Slate::default(),
        submission_key: uuid::Uuid::new_v4().to_string(),
        out: out.clone(),
        remote_id: None,
    };
    let result = b.run(job, Reporter::new(JobId(n), tx), cancel).await;
    let mut msgs = Vec::new();
    while let Ok((_, m)) = rx.try_recv() {
        msgs.push(m);
    }
    Ran {
        result,
        msgs,
        file: std::fs::read(&out).ok(),
    }
}

#[test]
fn library_a_task_goes_pending_running_succeeded_and_is_priced_in_dollars() {
    if in_child("library_a_task_goes_pending_running_succeeded_and_is_priced_in_dollars") {
        return;
    }
    let ds = DashScopeDouble::start(&lib_key(), video());
    ds.faults(|f| {
        f.pending_polls = 2;
        f.running_polls = 2;
    });
    let dir = tempfile::tempdir().unwrap();
    let b = backend(&ds, "wanx2.1-t2v-turbo", quick());
    let ran = runtime().block_on(run_job(b, 1, dir.path(), "a lantern sways in the rain"));
    let finished = ran.result.clone().unwrap();
    // An international account (not Beijing's host): wanx2.1-turbo at $0.036/s for 5 s.
    assert_eq!(
        (finished.cost.amount, finished.cost.currency.as_str()),
        (0.18, "USD")
    );
    assert_eq!(ran.file.as_deref(), Some(ds.video()));
    let task = &ds.tasks()[0];
    assert_eq!(
        task.answered,
        ["PENDING", "PENDING", "RUNNING", "RUNNING", "SUCCEEDED"]
    );
    assert_eq!(task.negative.as_deref(), Some("blurry, low quality"));
    let outs = ran.outs();
    assert_eq!(
        outs[0],
        &JobOut::Accepted {
            remote_id: task.id.clone()
        }
    );
    let progress = outs
        .iter()
        .filter(|o| matches!(o, JobOut::Progress { .. }))
        .count();
    assert_eq!(progress, 4, "one per PENDING or RUNNING answer: {outs:?}");
    assert!(
        matches!(outs.last().unwrap(), JobOut::Bytes { done, total: Some(t) } if *done == *t && *t == ds.video().len() as u64)
    );
    ran.assert_no_secrets();
}

#[test]
fn library_throttling_and_server_errors_are_retried_within_the_account_limits() {
    if in_child("library_throttling_and_server_errors_are_retried_within_the_account_limits") {
        return;
    }
    let ds = DashScopeDouble::start(&lib_key(), video());
    ds.faults(|f| {
        f.throttle = 3;
        f.retry_after_s = 2;
        f.server_errors = 1;
        f.query_errors = 2;
        f.query_garbage = 2;
        f.pending_polls = 4;
        f.running_polls = 8;
    });
    let dir = tempfile::tempdir().unwrap();
    // Queries as fast as previs allows itself: only its pacing holds them back.
    let timing = Timing {
        poll: vec![Duration::ZERO],
        ..quick()
    };
    let b = backend(&ds, "wanx2.1-t2v-turbo", timing);
    let rans = runtime().block_on(async {
        let jobs = (1..=4).map(|n| {
            let b = b.clone();
            let dir = dir.path().to_path_buf();
            async move { run_job(b, n, &dir, &format!("take {n}: a lantern sways")).await }
        });
        futures_util::future::join_all(jobs).await
    });
    for r in &rans {
        assert!(r.result.is_ok(), "{:?}", r.result);
        assert_eq!(r.file.as_deref(), Some(ds.video()));
        r.assert_no_secrets();
    }
    // Four tasks, each created once; eight create requests (three throttled, one server error).
    assert_eq!((ds.creations(), ds.create_requests()), (4, 8));
    let notices: Vec<&str> = rans.iter().flat_map(|r| r.notices()).collect();
    assert!(
        notices.iter().any(|n| n
            .contains("DashScope is throttling requests (Throttling.RateQuota")
            && n.contains("nothing was submitted, trying again")),
        "{notices:#?}"
    );
    assert!(
        notices.iter().any(|n| n.contains("server error (HTTP 500")),
        "{notices:#?}"
    );
    // Retry-After (2 s) is honoured over previs's own, much shorter, backoff: a job sends
    // nothing for 2 s after being told to wait.
    assert!(
        notices
            .iter()
            .any(|n| n.contains("Throttling.RateQuota") && n.ends_with("trying again in 2 s")),
        "{notices:#?}"
    );
    let creates = creates(&ds);
    let prompt = |s: &Seen| s.body.as_ref().unwrap()["input"]["prompt"].clone();
    for (i, throttled) in creates
        .iter()
        .enumerate()
        .filter(|(_, s)| s.status == Some(429))
    {
        let next = creates[i + 1..]
            .iter()
            .find(|s| prompt(s) == prompt(throttled))
            .unwrap();
        assert!(
            next.at.duration_since(throttled.at) >= Duration::from_secs(2),
            "{:?} after a 429",
            next.at.duration_since(throttled.at)
        );
    }
    let submits = ds.max_creates_per_second();
    let queries = ds.max_queries_per_second();
    eprintln!("measured: at most {submits} submissions and {queries} queries in any one second");
    assert!(submits <= 2, "{submits} submissions in one second");
    assert!(queries <= 20, "{queries} queries in one second");
    assert!(
        queries >= 10,
        "the test did press the query limit ({queries}/s)"
    );
}

#[test]
fn library_an_answer_later_than_the_timeout_leaves_the_job_unconfirmed() {
    if in_child("library_an_answer_later_than_the_timeout_leaves_the_job_unconfirmed") {
        return;
    }
    let ds = DashScopeDouble::start(&lib_key(), video());
    ds.faults(|f| f.create_delay = Some(Duration::from_secs(2)));
    let dir = tempfile::tempdir().unwrap();
    let timing = Timing {
        submit_timeout: Duration::from_millis(300),
        ..quick()
    };
    let b = backend(&ds, "wanx2.1-t2v-turbo", timing);
    let ran = runtime().block_on(async {
        let ran = run_job(b, 1, dir.path(), "a lantern sways").await;
        // Long enough for the late answer to have come, had anyone waited.
        tokio::time::sleep(Duration::from_secs(2)).await;
        ran
    });
    match &ran.result {
        Err(Failure::Unconfirmed { reason }) => assert!(
            reason.contains("the submission was sent but no answer within 0.3 s; DashScope may have created the task"),
            "{reason}"
        ),
        other => panic!("{other:?}"),
    }
    assert!(ran.outs().is_empty(), "no id was reported: {:?}", ran.msgs);
    assert_eq!((ds.create_requests(), ds.creations()), (1, 1));
    ran.assert_no_secrets();
    // A garbled answer to a create is as unknown as a missing one.
    ds.faults(|f| {
        f.create_delay = None;
        f.create_garbage = 1;
    });
    let b = backend(&ds, "wanx2.1-t2v-turbo", quick());
    let ran = runtime().block_on(run_job(b, 2, dir.path(), "a lantern sways"));
    assert!(
        matches!(&ran.result, Err(Failure::Unconfirmed { reason }) if reason.contains("without a readable task id")),
        "{:?}",
        ran.result
    );
    assert_eq!((ds.create_requests(), ds.creations()), (2, 2));
}

#[test]
fn library_a_canceled_job_cancels_its_task_while_it_waits() {
    if in_child("library_a_canceled_job_cancels_its_task_while_it_waits") {
        return;
    }
    let ds = Arc::new(DashScopeDouble::start(&lib_key(), video()));
    ds.faults(|f| f.pending_polls = u32::MAX);
    let dir = tempfile::tempdir().unwrap();
    let b = backend(&ds, "wanx2.1-t2v-turbo", quick());
    let token = CancellationToken::new();
    let ran = runtime().block_on(async {
        let (t, d) = (token.clone(), ds.clone());
        tokio::task::spawn_blocking(move || {
            d.wait_for(Duration::from_secs(10), |d| {
                d.tasks().first().is_some_and(|t| d.queries_of(&t.id) >= 2)
            });
            t.cancel();
        });
        run_job_until(b, 1, dir.path(), "a lantern sways", token).await
    });
    assert_eq!(ran.result, Err(Failure::Canceled));
    let task = &ds.tasks()[0];
    assert_eq!(task.status(), "CANCELED");
    let cancels: Vec<Seen> = ds
        .requests()
        .into_iter()
        .filter(|s| s.method == "POST" && s.path == format!("/api/v1/tasks/{}/cancel", task.id))
        .collect();
    assert_eq!(cancels.len(), 1);
    assert_eq!(
        cancels[0].header("authorization"),
        Some(format!("Bearer {}", lib_key()).as_str())
    );
    assert!(
        ran.notices().contains(
            &format!(
                "canceled DashScope task {} before it started (not billed)",
                task.id
            )
            .as_str()
        ),
        "{:?}",
        ran.notices()
    );
    assert!(ran.file.is_none());
    ran.assert_no_secrets();
}
