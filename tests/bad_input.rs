//! Bad input through the real binary: one-line errors that name the place and the fix, and
//! nothing stored before lost or half-written (malformed scripts, unknown shots and takes,
//! unsupported sizes, an unwritable home, a disk that fills mid-render).

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

mod common;

use common::{Home, project};

#[test]
fn bad_input_gets_one_line_errors_and_changes_nothing() {
    let h = project();
    let before = h.ok(&["shots", "--json"]).stdout;
    let cases: [(&[&str], i32, &str); 18] = [
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
            "error: /nonexistent/x.fountain: no such file; check the path",
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
        (
            &["render", "1A", "--seed", "18446744073709551615"],
            1,
            "error: invalid --seed 18446744073709551615: seeds go from 0 to 2147483647",
        ),
        (
            &["render", "--all", "--takes", "100", "--size", "4000x4000"],
            1,
            "error: shot 1A: unsupported size 4000x4000",
        ),
        (
            &["init", "x", "--fps", "7000"],
            1,
            "error: invalid --fps 7000",
        ),
        (
            &["shot", "edit", "1A"],
            1,
            "error: nothing to change for shot 1A",
        ),
        (
            &["shot", "add", "--scene", "第一场", "--action", "x"],
            1,
            "error: invalid --scene \"第一场\"",
        ),
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
