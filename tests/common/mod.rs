//! Helpers shared by the integration tests.
#![allow(dead_code)]
#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

use std::path::PathBuf;
use std::process::Command;

/// Finds an external program a test needs (ffprobe, mpv). Under `CI=true` a missing program
/// fails the test; elsewhere the test is skipped with a note naming the install command.
pub fn require_tool(name: &str) -> Option<PathBuf> {
    let found = Command::new(name)
        .arg("-version")
        .output()
        .or_else(|_| Command::new(name).arg("--version").output())
        .is_ok();
    if found {
        return Some(PathBuf::from(name));
    }
    let hint = format!("{name} is missing: install it with `apt-get install -y ffmpeg mpv`");
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{hint} (CI=true: tests that need it fail instead of skipping)");
    }
    eprintln!("skipping: {hint}");
    None
}

/// Probes a media file with ffprobe and returns its JSON description.
pub fn ffprobe(path: &std::path::Path) -> serde_json::Value {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-print_format",
            "json",
            "-show_format",
            "-show_streams",
            "-count_frames",
        ])
        .arg(path)
        .output()
        .expect("run ffprobe");
    assert!(
        out.status.success(),
        "ffprobe failed on {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("ffprobe json")
}

/// A temporary `--home` and a way to run the real binary against it.
pub struct Home {
    pub dir: tempfile::TempDir,
}

/// What a run of the binary printed and returned.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }
}

impl Home {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    pub fn path(&self) -> &std::path::Path {
        self.dir.path()
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_previs"));
        cmd.arg("--home")
            .arg(self.dir.path())
            .args(args)
            .env_remove("PREVIS_HOME")
            .env("NO_COLOR", "1");
        cmd
    }

    pub fn run(&self, args: &[&str]) -> Run {
        let out = self.command(args).output().expect("run previs");
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Runs and insists on exit code 0.
    pub fn ok(&self, args: &[&str]) -> Run {
        let r = self.run(args);
        assert_eq!(
            r.code, 0,
            "previs {args:?} failed:\nstdout:\n{}\nstderr:\n{}",
            r.stdout, r.stderr
        );
        r
    }

    /// Runs and insists on a failure with exactly one `error: …` line on stderr.
    pub fn fails(&self, args: &[&str], code: i32) -> String {
        let r = self.run(args);
        assert_eq!(
            r.code, code,
            "previs {args:?}: expected exit {code}\nstdout:\n{}\nstderr:\n{}",
            r.stdout, r.stderr
        );
        r.stderr
    }

    pub fn write(&self, name: &str, text: &str) -> std::path::PathBuf {
        let p = self.dir.path().join(name);
        std::fs::write(&p, text).expect("write file");
        p
    }
}

/// The repository's fixtures folder.
pub fn fixture(rel: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(rel)
}

pub const SCRIPT: &str = "\
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
pub fn project() -> Home {
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
