//! The engine from the command line: pause and cancel, a worker that owns the store while busy,
//! stops cleanly on SIGTERM, and picks up jobs queued from another shell when idle.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

mod common;

use common::project;

#[test]
fn pause_holds_the_queue_and_cancel_drops_a_job() {
    let h = project();
    h.ok(&["pause"]);
    h.ok(&["render", "1A", "2A"]);
    let r = h.ok(&["work", "--until-idle"]);
    assert!(r.stderr.contains("queue paused"), "{}", r.stderr);
    let q = h.ok(&["queue", "--json"]).json();
    assert!(q.as_array().unwrap().iter().all(|j| j["state"] == "queued"));
    h.ok(&["cancel", "SC002_SH2A_TK01"]);
    h.ok(&["resume"]);
    h.ok(&["work", "--until-idle"]);
    let q = h.ok(&["queue", "--json"]).json();
    let states: Vec<(&str, &str)> = q
        .as_array()
        .unwrap()
        .iter()
        .map(|j| (j["take"].as_str().unwrap(), j["state"].as_str().unwrap()))
        .collect();
    assert_eq!(
        states,
        [("SC001_SH1A_TK01", "done"), ("SC002_SH2A_TK01", "canceled")]
    );
    let err = h.fails(&["cancel", "1"], 1);
    assert!(
        err.starts_with("error: job 1 (SC001_SH1A_TK01) is already done"),
        "{err}"
    );
}

#[test]
fn a_running_worker_answers_commands_and_stops_cleanly_on_sigterm() {
    let h = project();
    h.ok(&[
        "render",
        "1A",
        "--size",
        "1920x1080",
        "--duration",
        "20",
        "--fps",
        "30",
    ]);
    let worker = h
        .command(&["work"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let tmp = h.path().join("data/tmp");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while std::fs::read_dir(&tmp).map(|d| d.count()).unwrap_or(0) == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the worker never started rendering"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    // Another command is answered by the worker instead of failing on its lock.
    let shots = h.ok(&["shots", "--json"]).json();
    assert_eq!(shots.as_array().unwrap().len(), 3);
    let pid = worker.id().to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let out = worker.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("stopping: running renders are put back in the queue"),
        "{stderr}"
    );
    let q = h.ok(&["queue", "--json"]).json();
    assert_eq!(q[0]["state"], "queued");
    assert_eq!(
        std::fs::read_dir(&tmp).unwrap().count(),
        0,
        "the interrupted render left no file"
    );
}

#[test]
fn an_idle_worker_picks_up_takes_queued_from_another_shell() {
    use std::io::BufRead as _;
    let h = project();
    let mut worker = h
        .command(&["work"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let stderr = worker.stderr.take().unwrap();
    std::thread::spawn(move || {
        for l in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            let _ = tx.send(l);
        }
    });
    let wait_for = |needle: &str| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match rx.recv_timeout(left) {
                Ok(l) if l.contains(needle) => return,
                Ok(_) => {}
                Err(e) => panic!("worker never printed {needle:?}: {e}"),
            }
        }
    };
    wait_for("idle: waiting for queued jobs");
    h.ok(&["render", "1A", "2A"]);
    wait_for("SC002_SH2A_TK01  done");
    wait_for("idle: waiting for queued jobs");
    // Idle again: the store is free for other commands.
    assert_eq!(
        h.ok(&["takes", "--json"]).json().as_array().unwrap().len(),
        2
    );
    let pid = worker.id().to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    assert_eq!(worker.wait().unwrap().code(), Some(0));
}

/// Starts `previs work` and returns it with a channel of its stderr lines.
fn spawn_worker(h: &common::Home) -> (std::process::Child, std::sync::mpsc::Receiver<String>) {
    use std::io::BufRead as _;
    let mut worker = h
        .command(&["work"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let stderr = worker.stderr.take().unwrap();
    std::thread::spawn(move || {
        for l in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            let _ = tx.send(l);
        }
    });
    (worker, rx)
}

fn wait_for(rx: &std::sync::mpsc::Receiver<String>, needle: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match rx.recv_timeout(left) {
            Ok(l) if l.contains(needle) => return,
            Ok(_) => {}
            Err(e) => panic!("worker never printed {needle:?}: {e}"),
        }
    }
}

#[test]
fn a_busy_worker_answers_other_commands_and_cancels_a_running_render() {
    let h = project();
    h.ok(&[
        "render",
        "1A",
        "--size",
        "1920x1080",
        "--duration",
        "30",
        "--fps",
        "30",
    ]);
    let (mut worker, rx) = spawn_worker(&h);
    // Wait until the long render runs: the worker now owns the store.
    let tmp = h.path().join("data/tmp");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while std::fs::read_dir(&tmp).map(|d| d.count()).unwrap_or(0) == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the worker never started rendering"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    // Reads are answered by the worker, with live state.
    let q = h.ok(&["queue", "--json"]).json();
    assert_eq!(q[0]["state"], "remote");
    // A render queued from this shell with --wait is rendered by the worker and followed here.
    let r = h.ok(&["render", "2A", "--wait"]);
    assert!(r.stderr.contains("SC002_SH2A_TK01  done"), "{}", r.stderr);
    assert!(r.stderr.contains("1 done, 0 failed"), "{}", r.stderr);
    // Cancel reaches the running render through the worker's engine.
    let c = h.ok(&["cancel", "1", "--json"]).json();
    assert_eq!(c[0]["take"], "SC001_SH1A_TK01");
    wait_for(&rx, "SC001_SH1A_TK01  canceled");
    wait_for(&rx, "idle: waiting for queued jobs");
    let q = h.ok(&["queue", "--json"]).json();
    let states: Vec<(&str, &str)> = q
        .as_array()
        .unwrap()
        .iter()
        .map(|j| (j["take"].as_str().unwrap(), j["state"].as_str().unwrap()))
        .collect();
    assert_eq!(
        states,
        [("SC001_SH1A_TK01", "canceled"), ("SC002_SH2A_TK01", "done")]
    );
    assert_eq!(
        std::fs::read_dir(&tmp).unwrap().count(),
        0,
        "the canceled render left no file"
    );
    assert!(
        !h.path().join("data/control.sock").exists(),
        "the socket goes with the busy engine"
    );
    let pid = worker.id().to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    assert_eq!(worker.wait().unwrap().code(), Some(0));
}

#[test]
fn a_paused_render_wait_says_why_it_returns() {
    let h = project();
    h.ok(&["pause"]);
    let r = h.run(&["render", "1A", "--wait"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr
            .contains("error: 1 takes did not start: the queue is paused; `previs resume`"),
        "{}",
        r.stderr
    );
    let q = h.ok(&["queue"]);
    assert!(q.stdout.contains("queue paused"), "{}", q.stdout);
}
