//! Helpers shared by the integration tests.
#![allow(dead_code)]

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
        .args(["-v", "error", "-print_format", "json", "-show_format", "-show_streams", "-count_frames"])
        .arg(path)
        .output()
        .expect("run ffprobe");
    assert!(out.status.success(), "ffprobe failed on {}: {}", path.display(), String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("ffprobe json")
}
