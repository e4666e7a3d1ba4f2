//! `previs compare` through the real binary and the real mpv: the printed command, the filter
//! graph mpv really builds (its output size), looping, and the errors that name their fix.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

mod common;

use common::{Home, Run, require_tool};
use serde_json::Value;

/// Quits mpv once playback has started a second time (so the file looped), and gives up with
/// exit code 9 (a failure) if that never happens.
const QUIT_LUA: &str = r#"
local restarts = 0
mp.register_event("playback-restart", function()
  restarts = restarts + 1
  mp.msg.info("playback restart " .. restarts)
  if restarts >= 2 then mp.command("quit 0") end
end)
mp.add_timeout(30, function() mp.msg.error("never looped"); mp.command("quit 9") end)
"#;

/// A project whose shot 1A renders 854x480 and shot 2A 480x640 (portrait), two takes each, with mpv
/// configured to show nothing and to quit after the first loop.
fn rendered() -> Option<Home> {
    require_tool("mpv")?;
    require_tool("ffprobe")?;
    let h = Home::new();
    let quit = h.write("quit.lua", QUIT_LUA);
    player_config(
        &h,
        &format!(
            r#""mpv", "--no-config", "--vo=null", "--ao=null", "--script={}""#,
            quit.display()
        ),
    );
    h.ok(&[
        "init",
        "compare",
        "--size",
        "854x480",
        "--duration",
        "1",
        "--fps",
        "12",
    ]);
    let script = h.write("chase.fountain", common::SCRIPT);
    h.ok(&["import", script.to_str().unwrap()]);
    h.ok(&["shot", "edit", "2A", "--size", "480x640"]);
    h.ok(&["render", "--all", "--takes", "2", "--wait"]);
    Some(h)
}

/// Writes config.toml with `[player] command = [ARGV]` and a window output (no display needed:
/// the command itself says `--vo=null`).
fn player_config(h: &Home, argv: &str) {
    h.write(
        "config.toml",
        &format!("[player]\ncommand = [{argv}]\noutput = \"window\"\n"),
    );
}

/// The file of take `code`.
fn path(h: &Home, code: &str) -> String {
    let takes = h.ok(&["takes", "--json"]).json();
    let take = takes
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == code)
        .unwrap_or_else(|| panic!("no take {code} in {takes}"));
    take["path"].as_str().unwrap().to_string()
}

/// `compare … --print --json`: the argv.
fn argv(h: &Home, args: &[&str]) -> (String, Vec<String>) {
    let mut all = vec!["compare"];
    all.extend(args);
    all.extend(["--print", "--json"]);
    let v: Value = h.ok(&all).json();
    let args = v["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_string())
        .collect();
    (v["program"].as_str().unwrap().to_string(), args)
}

/// mpv's combined output size, from its `VO: [null] WxH` line.
fn vo_size(r: &Run) -> String {
    let all = format!("{}\n{}", r.stdout, r.stderr);
    let line = all
        .lines()
        .find(|l| l.contains("VO: [null]"))
        .unwrap_or_else(|| panic!("mpv printed no VO line:\n{all}"));
    line.split_whitespace()
        .nth(2)
        .unwrap_or_default()
        .to_string()
}

const A1: &str = "SC001_SH1A_TK01";
const A2: &str = "SC001_SH1A_TK02";
const B1: &str = "SC002_SH2A_TK01";
const B2: &str = "SC002_SH2A_TK02";

#[test]
fn print_shows_one_player_with_every_file_as_its_own_argument() {
    let Some(h) = rendered() else { return };
    let (program, args) = argv(&h, &[A1, B1]);
    assert_eq!(program, "mpv");
    let n = args.len();
    assert_eq!(args[n - 2], "--", "{args:?}");
    assert_eq!(args[n - 1], path(&h, A1));
    assert!(
        args.contains(&format!("--external-file={}", path(&h, B1))),
        "{args:?}"
    );
    assert!(args.contains(&"--loop-file=inf".to_string()), "{args:?}");
    let graph = args
        .iter()
        .find(|a| a.starts_with("--lavfi-complex="))
        .unwrap();
    assert!(graph.contains("hstack=inputs=2[vo]"), "{graph}");
    assert!(graph.contains(&format!("drawtext=text={B1}:")), "{graph}");

    for takes in [&[A1, A2, B1][..], &[A1, A2, B1, B2][..]] {
        let mut args = takes.to_vec();
        args.extend(["--layout", "grid"]);
        let (_, argv) = argv(&h, &args);
        let graph = argv
            .iter()
            .find(|a| a.starts_with("--lavfi-complex="))
            .unwrap();
        assert!(
            graph.contains(&format!("xstack=inputs={}:", takes.len())),
            "{graph}"
        );
        let externals = argv
            .iter()
            .filter(|a| a.starts_with("--external-file="))
            .count();
        assert_eq!(externals, takes.len() - 1, "{argv:?}");
    }

    let (_, one) = argv(&h, &[A2]);
    assert_eq!(one.last().unwrap(), &path(&h, A2));
    assert!(
        !one.iter().any(|a| a.starts_with("--lavfi-complex")),
        "{one:?}"
    );

    let text = h.ok(&["compare", A1, A2, "--print"]).stdout;
    assert!(text.starts_with("mpv --no-config --vo=null"), "{text}");
    assert!(text.contains(&format!(" -- {}", path(&h, A1))), "{text}");
    assert_eq!(text.lines().count(), 1, "{text}");
}

/// Whether mpv runs Lua scripts (the quit script above); without it a looping player would
/// never end. Under `CI=true` a missing Lua fails the test.
fn mpv_runs_lua() -> bool {
    let out = std::process::Command::new("mpv")
        .args(["--no-config", "-v", "--version"])
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if text.contains(" lua") || text.contains(" luajit") {
        return true;
    }
    let hint = "this mpv runs no Lua scripts: install a full build with `apt-get install -y mpv`";
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{hint} (CI=true: tests that need it fail instead of skipping)");
    }
    eprintln!("skipping: {hint}");
    false
}

#[test]
fn mpv_builds_the_combined_picture_and_loops() {
    let Some(h) = rendered() else { return };
    if !mpv_runs_lua() {
        return;
    }
    let cases: [(&[&str], &str); 6] = [
        (&[A1, A2], "1708x480"),
        // One row at the tallest height (640): 854x480 becomes 1138x640.
        (&[A1, B1], "1618x640"),
        // Grid cells of 854x640, two columns; a 4th cell is left black.
        (&[A1, B1, "--layout", "grid"], "1708x640"),
        (&[A1, A2, B1, "--layout", "grid"], "1708x1280"),
        (&[A1, A2, B1, B2, "--layout", "grid"], "1708x1280"),
        (&[B2], "480x640"),
    ];
    for (args, size) in cases {
        let mut all = vec!["compare"];
        all.extend(args);
        let r = h.run(&all);
        assert_eq!(
            r.code, 0,
            "previs {all:?}\nstdout:\n{}\nstderr:\n{}",
            r.stdout, r.stderr
        );
        assert_eq!(vo_size(&r), size, "{args:?}");
        let out = format!("{}{}", r.stdout, r.stderr);
        assert!(
            out.contains("playback restart 2"),
            "{args:?} never looped:\n{out}"
        );
    }
}

/// The error line of a failed run: exactly one `error: …` line on stderr.
fn error_line(h: &Home, args: &[&str]) -> String {
    let stderr = h.fails(args, 1);
    let errors: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("error: "))
        .collect();
    assert_eq!(errors.len(), 1, "{args:?}: {stderr}");
    errors[0].to_string()
}

#[test]
fn errors_name_the_take_and_the_fix() {
    let Some(h) = rendered() else { return };
    let e = error_line(&h, &["compare", A1, "SC009_SH9A_TK01"]);
    assert!(
        e.contains("SC009_SH9A_TK01") && e.contains("`previs takes` lists them"),
        "{e}"
    );
    let e = error_line(&h, &["compare", A1, A2, "--layout", "row"]);
    assert!(
        e.contains("\"row\"") && e.contains("side") && e.contains("grid"),
        "{e}"
    );

    // Five takes: a usage error from the argument parser (exit 2), or the command's own check
    // (exit 1); either way it names the surplus.
    let r = h.run(&["compare", A1, A2, B1, B2, A1]);
    let usage = r.code == 2 && r.stderr.contains("unexpected value");
    let own = r.code == 1 && r.stderr.contains("pick at most 4");
    assert!(usage || own, "exit {}: {}", r.code, r.stderr);

    std::fs::remove_file(path(&h, B2)).unwrap();
    let e = error_line(&h, &["compare", A1, B2]);
    assert!(
        e.contains(B2) && e.contains("is missing") && e.contains("render"),
        "{e}"
    );

    player_config(&h, r#""/nonexistent/mpv", "--vo=null""#);
    let e = error_line(&h, &["compare", A1, A2]);
    assert!(
        e.contains("/nonexistent/mpv")
            && e.contains("sudo apt-get install -y mpv")
            && e.contains("[player] command"),
        "{e}"
    );
    // Printing runs nothing, so it still works.
    let text = h.ok(&["compare", A1, A2, "--print"]).stdout;
    assert!(text.starts_with("/nonexistent/mpv --vo=null "), "{text}");

    player_config(&h, r#""false""#);
    let e = error_line(&h, &["compare", A1]);
    assert!(e.contains("the player exited with"), "{e}");
}
