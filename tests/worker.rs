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
fn a_running_worker_owns_the_store_and_stops_cleanly_on_sigterm() {
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
    let err = h.fails(&["shots"], 1);
    assert!(err.starts_with("error: the store at"), "{err}");
    assert!(err.contains("is in use by another previs process"), "{err}");
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
