//! SIGKILLs `previs work` at random moments, several times, then lets it finish: every
//! requested take exists exactly once and plays, no temporary file remains, no job is stuck.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

mod common;

use std::time::Duration;

use common::{Home, ffprobe, require_tool};

const SCRIPT: &str = "\
EXT. HARBOUR - DUSK

Cranes swing over the containers.

INT. CABIN - NIGHT

A lamp swings; shadows slide across the wall.

EXT. PIER - NIGHT

Two figures run toward the boat.
";

#[test]
fn repeated_sigkill_of_the_worker_loses_and_duplicates_nothing() {
    let Some(_) = require_tool("ffprobe") else {
        return;
    };
    let h = Home::new();
    h.ok(&["init", "harbour", "--duration", "2"]);
    let script = h.write("harbour.fountain", SCRIPT);
    h.ok(&["import", script.to_str().unwrap()]);
    h.ok(&[
        "shot",
        "edit",
        "1A",
        "--movement",
        "crane up",
        "--lighting",
        "dusk",
    ]);
    h.ok(&["shot", "edit", "3A", "--movement", "handheld"]);
    h.ok(&["render", "--all", "--takes", "2"]);

    let seed = std::env::var("PREVIS_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| fastrand::u64(..));
    eprintln!("crash schedule seed {seed} (set PREVIS_CRASH_SEED to replay)");
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut interrupted = 0;
    let tmp = h.path().join("data/tmp");
    let takes_dir = h.path().join("data/takes/harbour");
    let count = |dir: &std::path::Path| std::fs::read_dir(dir).map(|d| d.count()).unwrap_or(0);
    for round in 0..8 {
        let takes_before = count(&takes_dir);
        let mut child = h
            .command(&["work", "--until-idle"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        // Kill at a random moment of a random phase: start-up and recovery, mid-render (a
        // temporary file is being written), or just as a take lands in place.
        let phase = round % 3;
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        let waited = |cond: &dyn Fn() -> bool| {
            while !cond() && std::time::Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(2));
            }
        };
        match phase {
            0 => std::thread::sleep(Duration::from_millis(rng.u64(0..150))),
            1 => {
                waited(&|| count(&tmp) > 0);
                std::thread::sleep(Duration::from_millis(rng.u64(0..120)));
            }
            _ => waited(&|| count(&takes_dir) > takes_before),
        }
        let finished = child.try_wait().unwrap().is_some();
        child.kill().ok(); // SIGKILL
        child.wait().unwrap();
        // After every kill the store opens, and no take exists twice.
        let jobs = h.ok(&["queue", "--all", "--json"]).json();
        let active = jobs
            .as_array()
            .unwrap()
            .iter()
            .filter(|j| j["state"] == "remote" || j["state"] == "submitting")
            .count();
        if active > 0 {
            interrupted += 1;
            // With no worker alive, the listing says what happened instead of "rendering".
            let listing = h.ok(&["queue"]).stdout;
            assert!(
                listing.contains("interrupted; `previs work` resumes it"),
                "{listing}"
            );
        }
        let takes = h.ok(&["takes", "--json"]).json();
        let mut codes: Vec<String> = takes
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["id"].as_str().unwrap().to_string())
            .collect();
        let n = codes.len();
        codes.dedup();
        assert_eq!(codes.len(), n, "a take was recorded twice: {codes:?}");
        let how = if finished {
            "worker had finished"
        } else {
            "killed"
        };
        eprintln!(
            "round {round} (phase {phase}): {how}, {active} render(s) cut off, {n} takes so far"
        );
    }
    assert!(
        interrupted > 0,
        "no kill landed mid-render; the schedule (seed {seed}) tested nothing"
    );
    let r = h.ok(&["work", "--until-idle"]);
    assert!(r.stderr.contains("0 failed"), "{}", r.stderr);

    let jobs = h.ok(&["queue", "--all", "--json"]).json();
    let jobs = jobs.as_array().unwrap();
    assert_eq!(jobs.len(), 6);
    assert!(jobs.iter().all(|j| j["state"] == "done"), "{jobs:#?}");
    let takes = h.ok(&["takes", "--json"]).json();
    let takes = takes.as_array().unwrap();
    let mut codes: Vec<&str> = takes.iter().map(|t| t["id"].as_str().unwrap()).collect();
    codes.sort_unstable();
    assert_eq!(
        codes,
        [
            "SC001_SH1A_TK01",
            "SC001_SH1A_TK02",
            "SC002_SH2A_TK01",
            "SC002_SH2A_TK02",
            "SC003_SH3A_TK01",
            "SC003_SH3A_TK02"
        ]
    );
    for t in takes {
        let path = std::path::Path::new(t["path"].as_str().unwrap());
        let probe = ffprobe(path);
        assert_eq!(probe["streams"][0]["codec_name"], "h264");
        assert_eq!(probe["streams"][0]["nb_read_frames"], "48");
        let decode = std::process::Command::new("ffmpeg")
            .args(["-v", "error", "-i"])
            .arg(path)
            .args(["-f", "null", "-"])
            .output()
            .unwrap();
        assert!(
            decode.status.success() && decode.stderr.is_empty(),
            "{path:?}: {}",
            String::from_utf8_lossy(&decode.stderr)
        );
    }
    let tmp = h.path().join("data/tmp");
    let left: Vec<_> = std::fs::read_dir(&tmp)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "temporary files left: {left:?}");
    let files = std::fs::read_dir(h.path().join("data/takes/harbour"))
        .unwrap()
        .count();
    assert_eq!(files, 6, "one file per take, no strays");
}
