//! The real binary in a pseudo-terminal at 80x24 with no display, driven by keys as a user
//! types them, the screen read back through a terminal emulator (vt100).

use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{CommandBuilder, PtySize, native_pty_system};

struct Session {
    screen: Arc<Mutex<vt100::Parser>>,
    raw: Arc<Mutex<Vec<u8>>>,
    writer: Box<dyn Write + Send>,
    child: Box<dyn portable_pty::Child + Send + Sync>,
}

impl Session {
    fn start(home: &std::path::Path, args: &[&str]) -> Self {
        let pty = native_pty_system();
        let pair = pty
            .openpty(PtySize {
                rows: 24,
                cols: 80,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("a pseudo-terminal");
        let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_previs"));
        cmd.arg("--home");
        cmd.arg(home);
        for a in args {
            cmd.arg(a);
        }
        cmd.env("TERM", "xterm-256color");
        cmd.env_remove("DISPLAY");
        cmd.env_remove("WAYLAND_DISPLAY");
        cmd.env_remove("DBUS_SESSION_BUS_ADDRESS");
        cmd.env_remove("NO_COLOR");
        cmd.env_remove("PREVIS_HOME");
        let child = pair.slave.spawn_command(cmd).expect("previs starts");
        drop(pair.slave);
        let mut reader = pair.master.try_clone_reader().expect("reader");
        let writer = pair.master.take_writer().expect("writer");
        let screen = Arc::new(Mutex::new(vt100::Parser::new(
            std::num::NonZeroU16::new(24).expect("rows"),
            std::num::NonZeroU16::new(80).expect("cols"),
            0,
        )));
        let raw = Arc::new(Mutex::new(Vec::new()));
        let (s, r) = (screen.clone(), raw.clone());
        std::thread::spawn(move || {
            let _master = pair.master;
            let mut buf = [0u8; 8192];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                s.lock().expect("screen").process(&buf[..n]);
                r.lock().expect("raw").extend_from_slice(&buf[..n]);
            }
        });
        Self {
            screen,
            raw,
            writer,
            child,
        }
    }

    fn text(&self) -> String {
        self.screen.lock().expect("screen").screen().contents()
    }

    fn keys(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).expect("typing");
        self.writer.flush().expect("typing");
        std::thread::sleep(Duration::from_millis(150));
    }

    /// Waits for previs to exit (at most 20 s); `why` names what should have made it.
    fn exit_status(&mut self, why: &str) -> portable_pty::ExitStatus {
        let start = Instant::now();
        loop {
            if let Some(st) = self.child.try_wait().expect("wait") {
                return st;
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "previs did not exit after {why}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits until the screen shows `what`; panics with the screen otherwise.
    fn wait_for(&self, what: &str, secs: u64) -> String {
        let start = Instant::now();
        loop {
            let t = self.text();
            if t.contains(what) {
                return t;
            }
            if start.elapsed() > Duration::from_secs(secs) {
                panic!("the screen never showed {what:?}; it shows:\n{t}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

fn previs(home: &std::path::Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_previs"))
        .arg("--home")
        .arg(home)
        .args(args)
        .output()
        .expect("previs runs")
}

#[test]
fn the_demo_renders_live_and_a_chinese_field_is_edited_with_the_keyboard() {
    let dir = tempfile::tempdir().expect("temp dir");
    let home = dir.path().join("home");
    let mut s = Session::start(&home, &["--demo"]);
    let first = s.wait_for("Shots 6", 60);
    assert!(
        first.contains("1 Script") && first.contains("5 Usage"),
        "{first}"
    );
    // The takes render while we watch.
    s.keys(b"3");
    s.wait_for("Queue", 10);
    let deadline = Instant::now() + Duration::from_secs(120);
    while s.text().matches(" done ").count() < 6 {
        assert!(
            Instant::now() < deadline,
            "renders did not finish:\n{}",
            s.text()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // History lists every take, newest first.
    s.keys(b"4");
    let history = s.wait_for("History 6", 10);
    assert!(history.contains("SC001_SH1A_TK01"), "{history}");
    // Shots: select 2A, open its fields, edit the subject in Chinese.
    s.keys(b"2");
    s.keys(b"jj");
    s.keys(b"\r");
    s.keys(b"\r");
    s.keys(b"\x15"); // ctrl-u clears the field
    s.keys("孤独的快递员".as_bytes());
    s.keys(b"\r");
    let shots = s.wait_for("孤独的快递员", 10);
    assert!(shots.contains("subject"), "{shots}");
    // Help shows the view's keys; Esc closes it.
    s.keys(b"?");
    s.wait_for("Help", 5);
    s.keys(b"\x1b");
    std::thread::sleep(Duration::from_millis(300));
    assert!(!s.text().contains("Help · Esc closes"));
    // q quits (nothing is running) and the terminal is given back.
    s.keys(b"q");
    let status = s.exit_status("q");
    assert!(status.success(), "{status:?}");
    let raw = s.raw.lock().expect("raw").clone();
    let raw = String::from_utf8_lossy(&raw);
    assert!(
        raw.contains("\u{1b}[?1049h") && raw.contains("\u{1b}[?1049l"),
        "alternate screen entered and left"
    );
    assert!(
        !raw.contains("\u{1b}[?1000h"),
        "mouse capture is off by default"
    );
    // The edit reached the store.
    let out = previs(&home, &["--project", "demo", "shots", "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("shots --json");
    let text = json.to_string();
    assert!(text.contains("孤独的快递员"), "{text}");
}

#[test]
fn a_chinese_script_typed_into_the_editor_is_saved_and_becomes_shots() {
    let dir = tempfile::tempdir().expect("temp dir");
    let home = dir.path().join("home");
    let init = previs(&home, &["init", "ye-xi"]);
    assert!(init.status.success(), "{init:?}");
    let mut s = Session::start(&home, &[]);
    // A project without shots opens on the Script view, with a hint in the empty editor.
    s.wait_for("NORMAL", 30);
    s.keys(b"i");
    s.wait_for("INSERT", 5);
    for line in [
        ".夜 小巷",
        "",
        "李雷冲进小巷，回头张望。",
        "",
        "韩梅梅从阴影中拉住他。",
    ] {
        s.keys(line.as_bytes());
        s.keys(b"\r");
    }
    let typed = s.wait_for("韩梅梅从阴影中拉住他。", 5);
    assert!(typed.contains("[+]"), "unsaved edits are marked:\n{typed}");
    s.keys(b"\x1b");
    s.keys(b"\x13"); // ctrl-s
    s.wait_for("saved and imported", 20);
    s.keys(b"2");
    let shots = s.wait_for("Shots 2", 10);
    assert!(shots.contains("李雷冲进小巷"), "{shots}");
    s.keys(b"q");
    assert!(s.exit_status("q").success());
    let file = home.join("data").join("scripts").join("ye-xi.fountain");
    let text = std::fs::read_to_string(&file).expect("the script file was written");
    assert!(text.starts_with(".夜 小巷\n\n李雷冲进小巷"), "{text}");
    let out = previs(&home, &["shots", "--json"]);
    let json = String::from_utf8_lossy(&out.stdout);
    assert!(json.contains("韩梅梅从阴影中拉住他"), "{json}");
}

#[test]
fn previs_without_a_terminal_says_so() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = previs(dir.path(), &[]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("needs a terminal"), "{err}");
}

#[test]
fn a_lost_ssh_link_puts_running_renders_back_in_the_queue() {
    let dir = tempfile::tempdir().expect("temp dir");
    let home = dir.path().join("home");
    let s = Session::start(&home, &["--demo"]);
    s.wait_for("▶2", 60);
    let pid = s.child.process_id().expect("a pid");
    let kill = std::process::Command::new("kill")
        .args(["-HUP", &pid.to_string()])
        .status()
        .expect("kill runs");
    assert!(kill.success());
    let mut s = s;
    let status = s.exit_status("SIGHUP");
    assert!(status.success(), "{status:?}");
    let out = previs(&home, &["--project", "demo", "queue", "--all", "--json"]);
    let jobs: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).expect("queue --json");
    assert_eq!(jobs.len(), 6);
    for j in &jobs {
        let state = j["state"].as_str().unwrap_or_default();
        assert!(
            state == "queued" || state == "done",
            "no job is left running: {j}"
        );
    }
    assert!(
        jobs.iter().any(|j| j["state"] == "queued"),
        "some were interrupted"
    );
}
