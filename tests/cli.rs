//! Drives the real `previs` binary with a temporary `--home`: the flow of the README, re-imports,
//! the cache, re-rolls, circling, pause/cancel, and the one-line errors of bad input.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

mod common;

use common::{Home, ffprobe, require_tool};

const SCRIPT: &str = "\
Title: Night Chase
Author: Test

EXT. MARKET STREET - NIGHT #1#

A courier in a yellow raincoat sprints between the stalls.

MEI (V.O.)
Faster.

INT. WAREHOUSE - DAY

Dust hangs in the light.

The door bursts open.
";

/// A project with the script above, rendering small and short so tests stay quick.
fn project() -> Home {
    let h = Home::new();
    h.ok(&[
        "init",
        "night-chase",
        "--size",
        "854x480",
        "--duration",
        "1",
        "--fps",
        "12",
    ]);
    let script = h.write("chase.fountain", SCRIPT);
    h.ok(&["import", script.to_str().unwrap()]);
    h
}

#[test]
fn readme_flow_renders_h264_takes_that_match_their_recipe() {
    let Some(_) = require_tool("ffprobe") else {
        return;
    };
    let h = project();
    let shots = h.ok(&["shots", "--json"]).json();
    let codes: Vec<&str> = shots
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["1A", "2A", "2B"]);
    assert_eq!(shots[0]["environment"], "exterior, market street, night");
    assert_eq!(shots[0]["dialogue"][0]["character"], "MEI");
    assert_eq!(shots[0]["width"], 854);

    h.ok(&[
        "shot",
        "edit",
        "2A",
        "--movement",
        "push in",
        "--size",
        "720x1280",
        "--fps",
        "24",
    ]);
    let r = h.ok(&["render", "--all", "--takes", "2", "--wait"]);
    assert!(
        r.stderr.contains("queued 6 takes on animatic"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("6 done, 0 failed"), "{}", r.stderr);

    let takes = h.ok(&["takes", "--json"]).json();
    let takes = takes.as_array().unwrap();
    assert_eq!(takes.len(), 6);
    let mut ids: Vec<&str> = takes.iter().map(|t| t["id"].as_str().unwrap()).collect();
    ids.sort_unstable();
    assert_eq!(
        ids,
        [
            "SC001_SH1A_TK01",
            "SC001_SH1A_TK02",
            "SC002_SH2A_TK01",
            "SC002_SH2A_TK02",
            "SC002_SH2B_TK01",
            "SC002_SH2B_TK02"
        ]
    );
    for t in takes {
        for key in [
            "id",
            "shot",
            "state",
            "backend",
            "path",
            "seed",
            "prompt",
            "duration_s",
            "width",
            "height",
            "fps",
            "cost",
        ] {
            assert!(!t[key].is_null(), "take lacks {key}: {t}");
        }
        let path = std::path::Path::new(t["path"].as_str().unwrap());
        let probe = ffprobe(path);
        let v = &probe["streams"][0];
        assert_eq!(v["codec_name"], "h264");
        assert_eq!(v["width"], t["width"]);
        assert_eq!(v["height"], t["height"]);
        let fps = t["fps"].as_u64().unwrap();
        assert_eq!(v["r_frame_rate"], format!("{fps}/1"));
        let duration: f64 = probe["format"]["duration"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        let want = t["duration_s"].as_f64().unwrap();
        assert!(
            (duration - want).abs() <= 1.0 / fps as f64 + 1e-6,
            "{path:?}: {duration} vs {want}"
        );
        assert_eq!(
            v["nb_read_frames"]
                .as_str()
                .unwrap()
                .parse::<u64>()
                .unwrap(),
            t["frames"].as_u64().unwrap()
        );
    }
    let portrait: Vec<_> = takes.iter().filter(|t| t["shot"] == "2A").collect();
    assert!(
        portrait
            .iter()
            .all(|t| t["width"] == 720 && t["height"] == 1280 && t["fps"] == 24)
    );
    // Seeds differ between takes of a shot, and no temporary file is left behind.
    assert_ne!(portrait[0]["seed"], portrait[1]["seed"]);
    let tmp = h.path().join("data/tmp");
    assert_eq!(std::fs::read_dir(&tmp).map(|d| d.count()).unwrap_or(0), 0);
}

#[test]
fn reimport_keeps_takes_of_unchanged_shots() {
    let h = project();
    h.ok(&["render", "1A", "2B", "--wait"]);
    let edited = SCRIPT
        .replace("Dust hangs in the light.", "Dust hangs in the cold light.")
        .replace(
            "The door bursts open.",
            "The door bursts open.\n\nA new beat: rain hammers the roof.",
        );
    let script = h.write("chase.fountain", &edited);
    let r = h.ok(&["import", script.to_str().unwrap(), "--json"]).json();
    assert_eq!(
        (
            r["added"].as_u64(),
            r["updated"].as_u64(),
            r["unchanged"].as_u64()
        ),
        (Some(1), Some(1), Some(2))
    );
    let shots = h.ok(&["shots", "--json"]).json();
    let by_code = |c: &str| {
        shots
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["id"] == c)
            .unwrap()
            .clone()
    };
    assert_eq!(by_code("1A")["takes"], 1);
    assert_eq!(by_code("2B")["takes"], 1, "unchanged text keeps its takes");
    assert_eq!(by_code("2A")["action"], "Dust hangs in the cold light.");
    assert_eq!(
        by_code("2C")["action"],
        "A new beat: rain hammers the roof."
    );

    // A shot with takes that leaves the script is omitted, never deleted.
    let cut = SCRIPT.replace("The door bursts open.\n", "");
    let script = h.write("chase.fountain", &cut);
    let r = h.ok(&["import", script.to_str().unwrap(), "--json"]).json();
    assert_eq!(r["omitted"], 1);
    assert_eq!(
        h.ok(&["takes", "--json"]).json().as_array().unwrap().len(),
        2
    );
    let all = h.ok(&["shots", "--all", "--json"]).json();
    assert!(
        all.as_array()
            .unwrap()
            .iter()
            .any(|s| s["id"] == "2B" && s["omitted"] == true)
    );
}

#[test]
fn identical_requests_reuse_the_take_unless_forced() {
    let h = project();
    // A shot named twice is rendered once.
    let jobs = h
        .ok(&["render", "1A", "1a", "--seed", "42", "--wait", "--json"])
        .json();
    assert_eq!(jobs.as_array().unwrap().len(), 1);
    let r = h.ok(&["render", "1A", "--seed", "42", "--wait", "--json"]);
    assert!(r.stderr.contains("1 reused from the cache"), "{}", r.stderr);
    let jobs = r.json();
    assert_eq!(jobs[0]["cache_hit"], true);
    assert_eq!(jobs[0]["cost"], 0.0);
    assert_eq!(jobs[0]["take"], "SC001_SH1A_TK01");
    assert_eq!(
        h.ok(&["takes", "--json"]).json().as_array().unwrap().len(),
        1
    );
    h.ok(&["render", "1A", "--seed", "42", "--force", "--wait"]);
    let takes = h.ok(&["takes", "1A", "--json"]).json();
    assert_eq!(takes.as_array().unwrap().len(), 2);
    assert_eq!(takes[1]["id"], "SC001_SH1A_TK02");
    assert_eq!(takes[1]["seed"], 42);
}

#[test]
fn reroll_records_its_parent_and_circle_marks_the_take() {
    let h = project();
    h.ok(&["render", "1A", "--seed", "7", "--wait"]);
    h.ok(&["reroll", "SC001_SH1A_TK01", "--wait"]);
    h.ok(&[
        "reroll",
        "SC001_SH1A_TK01",
        "--prompt",
        "A courier in red, dawn light",
        "--seed",
        "9",
        "--wait",
    ]);
    let takes = h.ok(&["takes", "1A", "--json"]).json();
    let t = takes.as_array().unwrap();
    assert_eq!(t.len(), 3);
    assert_eq!(t[1]["parent"], "SC001_SH1A_TK01");
    assert_ne!(t[1]["seed"], 7);
    assert_eq!(t[1]["prompt"], t[0]["prompt"]);
    assert_eq!(t[2]["prompt"], "A courier in red, dawn light");
    assert_eq!(t[2]["seed"], 9);
    h.ok(&["circle", "sc001_sh1a_tk02"]);
    let takes = h.ok(&["takes", "--json"]).json();
    let circled: Vec<_> = takes
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["circled"] == true)
        .map(|t| t["id"].clone())
        .collect();
    assert_eq!(circled, ["SC001_SH1A_TK02"]);
    assert_eq!(
        h.ok(&["shots", "--json"]).json()[0]["circled"],
        "SC001_SH1A_TK02"
    );
}

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
fn csv_export_then_import_is_lossless() {
    let h = project();
    h.ok(&[
        "shot",
        "edit",
        "1A",
        "--subject",
        "快递员, \"Mei\"",
        "--lighting",
        "neon\nrain",
        "--seed",
        "5",
        "--duration",
        "2.5",
    ]);
    let csv = h.ok(&["shots", "--csv"]).stdout;
    let file = h.write("list.csv", &csv);
    h.ok(&[
        "init",
        "copy",
        "--size",
        "854x480",
        "--duration",
        "1",
        "--fps",
        "12",
    ]);
    h.ok(&["import", file.to_str().unwrap()]);
    let a = h
        .ok(&["--project", "night-chase", "shots", "--json"])
        .json();
    let b = h.ok(&["--project", "copy", "shots", "--json"]).json();
    let strip = |v: &serde_json::Value| {
        v.as_array()
            .unwrap()
            .iter()
            .map(|s| {
                let mut s = s.clone();
                let o = s.as_object_mut().unwrap();
                // Where a shot came from differs by nature: the script line vs the CSV row.
                o.remove("line");
                s
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(strip(&a), strip(&b));
    assert_eq!(h.ok(&["--project", "copy", "shots", "--csv"]).stdout, csv);
}

#[test]
fn bad_input_gets_one_line_errors_and_changes_nothing() {
    let h = project();
    let before = h.ok(&["shots", "--json"]).stdout;
    let cases: [(&[&str], i32, &str); 13] = [
        (
            &["render", "9Z"],
            1,
            "error: no shot \"9Z\" in project night-chase",
        ),
        (
            &["circle", "SC009_SH9Z_TK01"],
            1,
            "error: no take \"SC009_SH9Z_TK01\"",
        ),
        (
            &["render", "1A", "--size", "100x100"],
            1,
            "error: shot 1A: unsupported size 100x100",
        ),
        (
            &["render", "1A", "--fps", "500"],
            1,
            "error: shot 1A: unsupported",
        ),
        (
            &["render", "1A", "--size", "wide"],
            1,
            "error: invalid size \"wide\"",
        ),
        (
            &["render", "1A", "--backend", "nope"],
            1,
            "error: unknown backend \"nope\"",
        ),
        (
            &["import", "/nonexistent/x.fountain"],
            1,
            "error: /nonexistent/x.fountain: No such file",
        ),
        (
            &["import", "notes.docx"],
            1,
            "error: notes.docx: unknown script format",
        ),
        (
            &["init", "night-chase"],
            1,
            "error: project \"night-chase\" already exists",
        ),
        (&["init", "a/b"], 1, "error: invalid project name \"a/b\""),
        (
            &["shot", "edit", "1A", "--duration=-3"],
            1,
            "error: invalid --duration",
        ),
        (&["cancel", "999"], 1, "error: no job 999"),
        (&["render", "--takes", "x"], 2, "error: invalid value 'x'"),
    ];
    for (args, code, want) in cases {
        let err = h.fails(args, code);
        assert!(
            err.starts_with(want),
            "previs {args:?}\n got: {err}\nwant: {want}"
        );
        if code == 1 {
            assert_eq!(err.trim_end().lines().count(), 1, "one line: {err:?}");
        }
    }
    // Malformed scripts name file and line; the stored shot list is untouched.
    let bad = h.write(
        "bad.fountain",
        "EXT. ROAD - DAY\n\nA car waits.\n\n/* never closed\n\nmore\n",
    );
    let err = h.fails(&["import", bad.to_str().unwrap()], 1);
    assert!(err.contains("bad.fountain:5:"), "{err}");
    let bytes = h.path().join("latin1.fountain");
    std::fs::write(&bytes, b"EXT. ROAD - DAY\n\nCaf\xe9 au lait.\n").unwrap();
    let err = h.fails(&["import", bytes.to_str().unwrap()], 1);
    assert!(err.contains("latin1.fountain:3: invalid UTF-8"), "{err}");
    assert_eq!(h.ok(&["shots", "--json"]).stdout, before);
}

#[test]
fn without_a_project_or_with_an_unwritable_home_the_error_says_what_to_do() {
    let h = Home::new();
    let err = h.fails(&["shots"], 1);
    assert!(
        err.starts_with("error: no current project; run `previs init NAME`"),
        "{err}"
    );
    let cfg = h.write("config.toml", "default_backnd = \"x\"\n");
    let err = h.fails(&["shots"], 1);
    assert!(
        err.starts_with(&format!(
            "error: {}: line 1, column 1: unknown field `default_backnd`",
            cfg.display()
        )),
        "{err}"
    );
    std::fs::remove_file(cfg).unwrap();
    // A home below a plain file can never be created, even as root.
    let file = h.write("plain", "");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_previs"))
        .args(["--home", file.join("home").to_str().unwrap(), "init", "x"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("error: cannot open the store at"), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1);
}

/// Mounts a tiny tmpfs over `dir` (root only); `None` where mounting is not allowed.
fn tiny_tmpfs(dir: &std::path::Path, size: &str) -> Option<()> {
    std::fs::create_dir_all(dir).ok()?;
    let ok = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
        .arg(dir)
        .output()
        .ok()?
        .status
        .success();
    ok.then_some(())
}

#[test]
fn a_disk_that_fills_mid_render_fails_cleanly_and_keeps_what_was_stored() {
    let h = project();
    h.write(
        "config.toml",
        "[engine]\nmax_attempts = 2\nretry_base_ms = 10\n",
    );
    h.ok(&["render", "1A", "--wait"]);
    let tmp = h.path().join("data/tmp");
    if tiny_tmpfs(&tmp, "24k").is_none() {
        eprintln!("skipping: mounting a tmpfs needs root");
        return;
    }
    let r = h.run(&["render", "2A", "--wait"]);
    let _ = std::process::Command::new("umount").arg(&tmp).status();
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("No space left on device"), "{}", r.stderr);
    assert!(r.stderr.contains("0 done, 1 failed"), "{}", r.stderr);
    let q = h.ok(&["queue", "--json"]).json();
    let failed = q
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["take"] == "SC002_SH2A_TK01")
        .unwrap()
        .clone();
    assert_eq!(failed["state"], "failed");
    assert_eq!(failed["attempts"], 2);
    // The take made before is intact and nothing half-written stayed behind.
    let takes = h.ok(&["takes", "--json"]).json();
    assert_eq!(takes.as_array().unwrap().len(), 1);
    let path = takes[0]["path"].as_str().unwrap();
    assert_eq!(
        std::fs::metadata(path).unwrap().len(),
        takes[0]["media"]["bytes"].as_u64().unwrap()
    );
    assert_eq!(std::fs::read_dir(&tmp).unwrap().count(), 0);
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

#[test]
fn shots_are_added_edited_and_removed_from_the_command_line() {
    let h = project();
    h.ok(&[
        "shot",
        "add",
        "--scene",
        "1",
        "--action",
        "Mei turns the corner.",
        "--movement",
        "pan left",
    ]);
    h.ok(&[
        "shot",
        "add",
        "--scene",
        "5",
        "--heading",
        "EXT. ROOFTOP - DAWN",
        "--subject",
        "两个人",
        "--action",
        "他们蹲在栏杆后。",
    ]);
    let shots = h.ok(&["shots", "--json"]).json();
    let order: Vec<&str> = shots
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        order,
        ["1A", "1B", "2A", "2B", "5A"],
        "a new shot sits at the end of its scene"
    );
    assert_eq!(shots[1]["camera"]["movement"], "pan left");
    assert_eq!(
        shots[1]["environment"], "exterior, market street, night",
        "inherits its scene"
    );
    assert_eq!(shots[4]["heading"], "EXT. ROOFTOP - DAWN");
    assert_eq!(
        shots[4]["prompt"],
        "两个人，exterior, rooftop, dawn，他们蹲在栏杆后。"
    );
    let err = h.fails(
        &[
            "shot", "add", "--scene", "1", "--code", "1a", "--action", "x",
        ],
        1,
    );
    assert!(err.starts_with("error: shot 1a already exists"), "{err}");

    h.ok(&["shot", "edit", "1B", "--movement", "", "--fps", "30"]);
    let s = &h.ok(&["shots", "--json"]).json()[1];
    assert_eq!(
        (s["camera"]["movement"].as_str(), s["fps"].as_u64()),
        (Some(""), Some(30))
    );
    h.ok(&["shot", "edit", "1B", "--fps", "default"]);
    assert_eq!(h.ok(&["shots", "--json"]).json()[1]["fps"], 12);

    h.ok(&["render", "5A", "--wait"]);
    let r = h.ok(&["shot", "rm", "5A"]);
    assert!(r.stdout.contains("marked omitted"), "{}", r.stdout);
    h.ok(&["shot", "rm", "1B"]);
    let codes: Vec<String> = h
        .ok(&["shots", "--all", "--json"])
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            format!(
                "{}{}",
                s["id"].as_str().unwrap(),
                if s["omitted"] == true { "*" } else { "" }
            )
        })
        .collect();
    assert_eq!(codes, ["1A", "2A", "2B", "5A*"]);
    assert_eq!(
        h.ok(&["takes", "--json"]).json().as_array().unwrap().len(),
        1,
        "the omitted shot keeps its take"
    );
}

#[test]
fn a_spreadsheet_shot_list_numbered_per_scene_imports_with_scene_codes() {
    let h = Home::new();
    h.ok(&["init", "sheet"]);
    let csv = "\u{feff}Scene #,Shot #,Shot Size,Camera Angle,Camera Movement,Lens,Description,Duration,Location\r\n\
               1,1,WS,Eye,Static,35mm,\"Ext. road, a car approaches\",4,Road\r\n\
               1,2,CU,Low,Push in,85mm,Driver looks up,2,\r\n\
               2,1,MS,High,Pan left,50mm,Kitchen,3s,\r\n";
    let file = h.write("sheet.csv", csv);
    h.ok(&["import", file.to_str().unwrap()]);
    let shots = h.ok(&["shots", "--json"]).json();
    let got: Vec<(&str, &str, &str, f64)> = shots
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["id"].as_str().unwrap(),
                s["camera"]["movement"].as_str().unwrap(),
                s["environment"].as_str().unwrap(),
                s["duration_s"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("1A", "Static", "Road", 4.0),
            ("1B", "Push in", "", 2.0),
            ("2A", "Pan left", "", 3.0)
        ]
    );
    // Importing the same sheet again changes nothing.
    let r = h.ok(&["import", file.to_str().unwrap(), "--json"]).json();
    assert_eq!(
        (r["unchanged"].as_u64(), r["added"].as_u64()),
        (Some(3), Some(0))
    );
}
