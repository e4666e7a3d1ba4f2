//! The control socket: how previs commands reach a store that a busy process owns.
//!
//! sled admits one process per store. While a process runs an engine on a home (`previs work`,
//! `render --wait`, later the TUI), it listens on `data/control.sock`; another `previs` command
//! on that home sends its arguments there, the owner runs the command on its own store and
//! engine (job changes go through the engine, never around it) and sends back the output and
//! exit code. `render --wait` sent this way queues through the owner and then follows the jobs.
//!
//! Invariants: the socket exists only while its owner holds the store (it is removed when the
//! engine run ends; a stale file is replaced); one request per connection, one JSON line each
//! way; nothing a client sends can run `work` or the demo in the owner.

use std::collections::BTreeSet;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context as _, Result, anyhow};
use clap::Parser as _;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _};

use super::output::{Captured, capture, errln, outln};
use super::{Cli, Cmd, Ctx, dispatch};
use crate::config::Paths;
use crate::engine::{EngineHandle, JobView};
use crate::sanitize::line;

/// Largest request accepted (arguments of one command).
const MAX_REQUEST: u64 = 1 << 20;

#[derive(Debug, Serialize, Deserialize)]
struct Request {
    args: Vec<String>,
    /// The client's working directory: relative paths in `args` are relative to it.
    cwd: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct Response {
    code: i32,
    #[serde(flatten)]
    output: Captured,
}

pub fn socket_path(paths: &Paths) -> PathBuf {
    paths.data_dir.join("control.sock")
}

/// Whether a process owning this home answers on its control socket.
pub fn reachable(paths: &Paths) -> bool {
    UnixStream::connect(socket_path(paths)).is_ok()
}

/// Removes the socket when the owner's engine run ends.
pub struct Serving {
    path: PathBuf,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Serving {
    fn drop(&mut self) {
        self.task.abort();
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Starts answering commands for other processes while `engine` runs on `host`'s store.
/// `None` when the socket cannot be made (the reason is logged; commands then wait for the
/// store instead).
pub fn serve(host: &Ctx, engine: EngineHandle) -> Option<Serving> {
    let path = socket_path(&host.paths);
    // We hold the store, so a socket file left here belongs to a process that is gone.
    let _ = std::fs::remove_file(&path);
    let listener = match tokio::net::UnixListener::bind(&path) {
        Ok(l) => l,
        Err(e) => {
            tracing::warn!(path = %path.display(), %e, "no control socket");
            return None;
        }
    };
    let host = host.clone();
    let task = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let (host, engine) = (host.clone(), engine.clone());
            tokio::spawn(async move {
                if let Err(e) = answer(stream, host, engine).await {
                    tracing::warn!(%e, "control request failed");
                }
            });
        }
    });
    Some(Serving { path, task })
}

async fn answer(stream: tokio::net::UnixStream, host: Ctx, engine: EngineHandle) -> Result<()> {
    let (read, mut write) = stream.into_split();
    let mut text = String::new();
    tokio::io::BufReader::new(tokio::io::AsyncReadExt::take(read, MAX_REQUEST))
        .read_line(&mut text)
        .await?;
    let response = match serde_json::from_str::<Request>(&text) {
        Ok(req) => tokio::task::spawn_blocking(move || run_for_client(&host, engine, req)).await?,
        Err(e) => Response {
            code: 2,
            output: Captured {
                stdout: String::new(),
                stderr: format!("error: unreadable control request: {e}\n"),
            },
        },
    };
    let mut out = serde_json::to_vec(&response)?;
    out.push(b'\n');
    write.write_all(&out).await?;
    write.shutdown().await?;
    Ok(())
}

fn run_for_client(host: &Ctx, engine: EngineHandle, req: Request) -> Response {
    let argv = std::iter::once("previs".to_string()).chain(req.args);
    let cli = match Cli::try_parse_from(argv) {
        Ok(cli) => cli,
        Err(e) => {
            return Response {
                code: 2,
                output: Captured {
                    stdout: String::new(),
                    stderr: e.to_string(),
                },
            };
        }
    };
    let Some(cmd) = cli.cmd.filter(|_| !cli.demo) else {
        return Response {
            code: 2,
            output: Captured {
                stdout: String::new(),
                stderr: "error: a previs process is busy on this home; run the demo elsewhere\n"
                    .into(),
            },
        };
    };
    let ctx = host.for_client(cli.project, cli.json, engine);
    let cwd = PathBuf::from(req.cwd);
    let (result, mut output) = capture(|| dispatch(&ctx, cmd, Some(&cwd)));
    let code = match result {
        Ok(code) => code,
        Err(e) => {
            output
                .stderr
                .push_str(&format!("error: {}\n", line(&e.to_string())));
            1
        }
    };
    Response { code, output }
}

/// Sends one command to the owner and returns its answer.
fn call(paths: &Paths, args: &[String]) -> Result<Response> {
    let path = socket_path(paths);
    let mut stream = UnixStream::connect(&path).with_context(|| {
        format!(
            "the previs process busy on {} stopped answering",
            paths.data_dir.display()
        )
    })?;
    stream.set_read_timeout(Some(Duration::from_secs(600)))?;
    let cwd = std::env::current_dir()
        .map(|d| d.display().to_string())
        .unwrap_or_default();
    let mut req = serde_json::to_vec(&Request {
        args: args.to_vec(),
        cwd,
    })?;
    req.push(b'\n');
    stream.write_all(&req)?;
    stream.shutdown(std::net::Shutdown::Write)?;
    let mut text = String::new();
    BufReader::new(stream.take(64 << 20)).read_line(&mut text)?;
    serde_json::from_str(&text)
        .map_err(|e| anyhow!("unreadable answer from the busy previs process: {e}"))
}

fn print(output: &Captured) {
    if !output.stdout.is_empty() {
        outln!("{}", output.stdout.trim_end_matches('\n'));
    }
    if !output.stderr.is_empty() {
        errln!("{}", output.stderr.trim_end_matches('\n'));
    }
}

/// Runs `cmd` (given as `args`) in the process that owns the store.
/// `compare` while another process holds the store: that process builds the player command,
/// this one runs it in the user's terminal (no shell).
fn forward_compare(paths: &Paths, mut args: Vec<String>) -> Result<i32> {
    #[derive(serde::Deserialize)]
    struct Argv {
        program: String,
        args: Vec<String>,
    }
    args.push("--print".into());
    if !args.iter().any(|a| a == "--json") {
        args.push("--json".into());
    }
    let r = call(paths, &args)?;
    if r.code != 0 {
        print(&r.output);
        return Ok(r.code);
    }
    let argv: Argv = serde_json::from_str(&r.output.stdout)?;
    let status = std::process::Command::new(&argv.program)
        .args(&argv.args)
        .status()
        .map_err(|e| {
            anyhow::anyhow!(
                "running the player {:?}: {e}; install mpv (`sudo apt-get install -y mpv`) or set [player] command in config.toml",
                argv.program
            )
        })?;
    if !status.success() {
        errln!("error: the player exited with {status}");
        return Ok(1);
    }
    Ok(0)
}

pub fn forward(paths: &Paths, cmd: &Cmd, args: Vec<String>, project: Option<&str>) -> Result<i32> {
    if let Cmd::Compare(a) = cmd {
        if !a.print {
            return forward_compare(paths, args);
        }
    }
    let wait = match cmd {
        Cmd::Render(a) => a.wait,
        Cmd::Reroll(a) => a.wait,
        _ => false,
    };
    if !wait {
        let r = call(paths, &args)?;
        print(&r.output);
        return Ok(r.code);
    }
    // Queue through the owner (it renders them), then follow the jobs until they end.
    let user_json = args.iter().any(|a| a == "--json");
    let mut queue_args: Vec<String> = args.into_iter().filter(|a| a != "--wait").collect();
    if !user_json {
        queue_args.push("--json".into());
    }
    let r = call(paths, &queue_args)?;
    if !r.output.stderr.is_empty() {
        errln!("{}", r.output.stderr.trim_end_matches('\n'));
    }
    if r.code != 0 {
        return Ok(r.code);
    }
    let queued: Vec<JobView> = serde_json::from_str(&r.output.stdout)?;
    let ids: BTreeSet<u64> = queued.iter().map(|j| j.id).collect();
    errln!(
        "the previs process busy on this home renders them; following (Ctrl-C stops following, not the renders)"
    );
    let mut follow = vec!["queue".to_string(), "--all".into(), "--json".into()];
    if let Some(p) = project {
        follow.splice(0..0, ["--project".to_string(), p.to_string()]);
    }
    let mut seen: std::collections::HashMap<u64, (String, u32)> = std::collections::HashMap::new();
    let final_views = loop {
        let views = match call(paths, &follow) {
            Ok(r) if r.code == 0 => serde_json::from_str::<Vec<JobView>>(&r.output.stdout)?,
            // The owner went idle (and let go of the store) or stopped: read the store.
            _ => read_directly(paths, &follow)?,
        };
        let mine: Vec<JobView> = views.into_iter().filter(|v| ids.contains(&v.id)).collect();
        for v in &mine {
            let quarter = (v.progress * 4.0).floor() as u32;
            let now = (v.state.clone(), quarter);
            if seen.get(&v.id) != Some(&now) {
                seen.insert(v.id, now);
                let detail = match v.state.as_str() {
                    "done" => format!("→ {}", v.path.as_deref().map(line).unwrap_or_default()),
                    "remote" | "downloading" => format!("{:>3}%", quarter * 25),
                    _ => v.error.as_deref().map(line).unwrap_or_default(),
                };
                errln!(
                    "{}  {:<11} {detail}",
                    v.take,
                    super::worker::state_label(&v.state)
                );
            }
        }
        if mine.len() == ids.len()
            && mine
                .iter()
                .all(|v| matches!(v.state.as_str(), "done" | "failed" | "canceled"))
        {
            break mine;
        }
        if !reachable(paths)
            && mine
                .iter()
                .any(|v| v.state != "done" && v.state != "failed" && v.state != "canceled")
            && !worker_may_return(paths)
        {
            let left = mine
                .iter()
                .filter(|v| !matches!(v.state.as_str(), "done" | "failed" | "canceled"))
                .count();
            return Err(anyhow!(
                "the previs process that was rendering stopped; {left} takes are still queued (`previs work` renders them)"
            ));
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    let failed = final_views.iter().filter(|v| v.state == "failed").count();
    let done = final_views.iter().filter(|v| v.state == "done").count();
    let canceled = final_views.iter().filter(|v| v.state == "canceled").count();
    errln!("{done} done, {failed} failed, {canceled} canceled");
    if user_json {
        super::output::print_json(&final_views)?;
    }
    Ok(i32::from(failed > 0))
}

/// An idle `previs work` polls the store and picks queued jobs up again; give it a moment.
fn worker_may_return(paths: &Paths) -> bool {
    for _ in 0..(super::worker::IDLE_POLL.as_millis() / 100 + 10) {
        std::thread::sleep(Duration::from_millis(100));
        if reachable(paths) {
            return true;
        }
    }
    false
}

/// Reads the job list from the store when no process owns it.
fn read_directly(paths: &Paths, args: &[String]) -> Result<Vec<JobView>> {
    let store = crate::store::Store::open_waiting(&paths.data_dir, Duration::from_secs(5))?;
    let cli =
        Cli::try_parse_from(std::iter::once("previs".to_string()).chain(args.iter().cloned()))?;
    let ctx = Ctx::with_store(paths.clone(), store, cli.project, true)?;
    let (r, out) =
        capture(|| dispatch(&ctx, Cmd::Queue(super::args::QueueArgs { all: true }), None));
    r?;
    Ok(serde_json::from_str(&out.stdout)?)
}
