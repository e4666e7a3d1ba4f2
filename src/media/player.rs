//! The player: mpv command lines that play one take, or compare 2 to 4 takes in one process
//! (so they stay in sync), and the two ways of running them (a detached window, or video in
//! the terminal in the foreground).
//!
//! Invariant: the player is an argv, never a shell line. Every file path is exactly one argv
//! item: the first clip after `--`, the others as `--external-file=PATH` (one path each, no list
//! separator). Labels reach the ffmpeg filter graph only sanitised and escaped for both of its
//! parsing levels, with drawtext expansion off.

use std::ffi::{OsStr, OsString};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::str::FromStr;

use thiserror::Error;

use crate::config::PlayerConfig;

/// The fix printed whenever the player program cannot be started.
const INSTALL_HINT: &str =
    "install mpv (`sudo apt-get install -y mpv`) or set [player] command in config.toml";

#[derive(Debug, Error)]
pub enum PlayerError {
    #[error("[player] command is empty; set it in config.toml, e.g. command = [\"mpv\"]")]
    NoCommand,
    #[error("player {program:?} not found; {INSTALL_HINT}")]
    NotFound { program: String },
    #[error("player {program:?} could not start: {source}")]
    Spawn {
        program: String,
        source: std::io::Error,
    },
    #[error("player log {path}: {source}")]
    Log {
        path: String,
        source: std::io::Error,
    },
    #[error("compare takes 2 to 4 takes, got {0}; pass 1 take to play it")]
    ClipCount(usize),
    #[error(
        "take {label}: its file {path} is missing; render the shot again or pick another take (`previs takes`)"
    )]
    MissingFile { label: String, path: String },
    #[error("take {label}: unknown frame size; render it again")]
    NoSize { label: String },
    #[error("unknown layout {0:?}; use side (one row) or grid (2x2)")]
    Layout(String),
    #[error("[player] output = {0:?} is not one of auto, window, tct, kitty, sixel")]
    Output(String),
}

/// One take to show: its file, the label drawn on it (the take code) and its frame size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clip {
    pub path: PathBuf,
    pub label: String,
    pub width: u32,
    pub height: u32,
}

/// How compared takes are arranged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// One row, every take scaled to a common height.
    Side,
    /// Two columns, every take fitted into a common cell; a missing 4th cell is black.
    Grid,
}

impl FromStr for Layout {
    type Err = PlayerError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "side" => Ok(Self::Side),
            "grid" => Ok(Self::Grid),
            other => Err(PlayerError::Layout(crate::sanitize::line(other))),
        }
    }
}

/// Where the video goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    /// A window on the display; the player runs detached.
    Window,
    /// Video drawn in the terminal (over SSH); the player runs in the foreground.
    Terminal(TermVo),
}

/// mpv's terminal video outputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TermVo {
    /// True-colour half blocks: works in any modern terminal.
    Tct,
    /// The kitty graphics protocol (mpv 0.36 and later; older mpv falls back to tct).
    Kitty,
    /// Sixel graphics, only on request: few terminals draw them.
    Sixel,
}

impl TermVo {
    /// The `--vo` argument; each falls back to tct where mpv lacks the driver.
    fn arg(self) -> &'static str {
        match self {
            Self::Tct => "--vo=tct",
            Self::Kitty => "--vo=kitty,tct",
            Self::Sixel => "--vo=sixel,tct",
        }
    }
}

/// Decides the output from `[player] output` and the environment (`env` reads a variable):
/// `auto` means a window when DISPLAY or WAYLAND_DISPLAY is set, else kitty graphics in kitty,
/// else tct.
pub fn detect_output(
    cfg: &PlayerConfig,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Output, PlayerError> {
    let set = |name: &str| env(name).is_some_and(|v| !v.is_empty());
    match cfg.output.as_str() {
        "window" => Ok(Output::Window),
        "tct" => Ok(Output::Terminal(TermVo::Tct)),
        "kitty" => Ok(Output::Terminal(TermVo::Kitty)),
        "sixel" => Ok(Output::Terminal(TermVo::Sixel)),
        "auto" if set("DISPLAY") || set("WAYLAND_DISPLAY") => Ok(Output::Window),
        "auto" if set("KITTY_WINDOW_ID") || env("TERM").as_deref() == Some("xterm-kitty") => {
            Ok(Output::Terminal(TermVo::Kitty))
        }
        "auto" => Ok(Output::Terminal(TermVo::Tct)),
        other => Err(PlayerError::Output(crate::sanitize::line(other))),
    }
}

/// A player command line, ready to print or run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlayerCommand {
    pub program: String,
    pub args: Vec<OsString>,
    pub output: Output,
}

/// Plays one take, looping.
pub fn play(cfg: &PlayerConfig, clip: &Clip, output: Output) -> Result<PlayerCommand, PlayerError> {
    check(clip)?;
    let mut cmd = start(cfg, output)?;
    cmd.args
        .push(format!("--force-media-title={}", title(&[clip])).into());
    cmd.args.push("--".into());
    cmd.args.push(file_arg(&clip.path));
    Ok(cmd)
}

/// Compares 2 to 4 takes in one player, looping together: the longest take sets the loop and
/// shorter ones hold their last frame until everything restarts at once.
pub fn compare(
    cfg: &PlayerConfig,
    clips: &[Clip],
    layout: Layout,
    output: Output,
) -> Result<PlayerCommand, PlayerError> {
    if !(2..=4).contains(&clips.len()) {
        return Err(PlayerError::ClipCount(clips.len()));
    }
    for clip in clips {
        check(clip)?;
    }
    let mut cmd = start(cfg, output)?;
    let refs: Vec<&Clip> = clips.iter().collect();
    cmd.args
        .push(format!("--force-media-title={}", title(&refs)).into());
    for clip in &clips[1..] {
        let mut arg = OsString::from("--external-file=");
        arg.push(file_arg(&clip.path));
        cmd.args.push(arg);
    }
    let (graph, _) = graph(clips, layout);
    cmd.args.push(format!("--lavfi-complex={graph}").into());
    cmd.args.push("--".into());
    cmd.args.push(file_arg(&clips[0].path));
    Ok(cmd)
}

impl PlayerCommand {
    /// The command as one shell-quoted line, for `--print` and for showing users; control
    /// characters are written as `$'\xNN'` escapes, never raw.
    pub fn printable(&self) -> String {
        std::iter::once(OsStr::new(&self.program))
            .chain(self.args.iter().map(OsString::as_os_str))
            .map(|a| shell_quote(&a.to_string_lossy()))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Terminal video runs in the foreground: the caller gives it the terminal and waits.
    pub fn foreground(&self) -> bool {
        matches!(self.output, Output::Terminal(_))
    }

    /// Starts the player in its own process group (a Ctrl-C for the caller does not reach
    /// it), stdin and stdout closed, stderr appended to `log`. A thread reaps it on exit.
    pub fn spawn_detached(&self, log: &Path) -> Result<(), PlayerError> {
        use std::os::unix::process::CommandExt as _;
        let log_err = |source| PlayerError::Log {
            path: log.display().to_string(),
            source,
        };
        if let Some(dir) = log.parent() {
            std::fs::create_dir_all(dir).map_err(log_err)?;
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .map_err(log_err)?;
        let mut child = self
            .command()
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .map_err(|e| self.spawn_error(e))?;
        let program = self.program.clone();
        std::thread::spawn(move || match child.wait() {
            Ok(status) => tracing::info!(%program, %status, "player exited"),
            Err(e) => tracing::warn!(%program, error = %e, "waiting for the player failed"),
        });
        Ok(())
    }

    /// Runs the player on the caller's terminal and waits for it.
    pub fn run(&self) -> Result<ExitStatus, PlayerError> {
        self.command().status().map_err(|e| self.spawn_error(e))
    }

    fn command(&self) -> Command {
        let mut cmd = Command::new(&self.program);
        cmd.args(&self.args);
        cmd
    }

    fn spawn_error(&self, source: std::io::Error) -> PlayerError {
        let program = crate::sanitize::line(&self.program);
        match source.kind() {
            std::io::ErrorKind::NotFound => PlayerError::NotFound { program },
            _ => PlayerError::Spawn { program, source },
        }
    }
}

/// The configured program and its arguments, the video output and looping.
fn start(cfg: &PlayerConfig, output: Output) -> Result<PlayerCommand, PlayerError> {
    let (program, prefix) = cfg.command.split_first().ok_or(PlayerError::NoCommand)?;
    if program.is_empty() {
        return Err(PlayerError::NoCommand);
    }
    let mut args: Vec<OsString> = prefix.iter().map(OsString::from).collect();
    if let Output::Terminal(vo) = output {
        args.push(vo.arg().into());
    }
    args.push("--loop-file=inf".into());
    Ok(PlayerCommand {
        program: program.clone(),
        args,
        output,
    })
}

fn check(clip: &Clip) -> Result<(), PlayerError> {
    let label = crate::sanitize::line(&clip.label);
    if !clip.path.is_file() {
        return Err(PlayerError::MissingFile {
            label,
            path: crate::sanitize::line(&clip.path.display().to_string()),
        });
    }
    if clip.width == 0 || clip.height == 0 {
        return Err(PlayerError::NoSize { label });
    }
    Ok(())
}

/// A relative path gets `./` so mpv never reads it as an option, a protocol (`x://`) or `~`.
fn file_arg(path: &Path) -> OsString {
    if path.is_absolute() {
        path.as_os_str().to_owned()
    } else {
        Path::new(".").join(path).into_os_string()
    }
}

/// The window title: the take codes.
fn title(clips: &[&Clip]) -> String {
    clips
        .iter()
        .map(|c| crate::sanitize::line(&c.label))
        .collect::<Vec<_>>()
        .join(" | ")
}

/// The nearest even number, at least 2 (yuv420p needs even sizes).
fn even(x: f64) -> u32 {
    ((x / 2.0).round().max(1.0) as u32) * 2
}

/// The `--lavfi-complex` graph for `clips` (`[vid1]` is the main file, `[vid2]`… the external
/// files, in order) and the size of the picture it makes.
fn graph(clips: &[Clip], layout: Layout) -> (String, (u32, u32)) {
    let max_w = clips.iter().map(|c| c.width).max().unwrap_or(2);
    let max_h = clips.iter().map(|c| c.height).max().unwrap_or(2);
    let mut g = String::new();
    let inputs: String = (0..clips.len()).map(|i| format!("[v{i}]")).collect();
    match layout {
        Layout::Side => {
            let h = even(f64::from(max_h));
            let mut total = 0;
            for (i, c) in clips.iter().enumerate() {
                let w = even(f64::from(c.width) * f64::from(h) / f64::from(c.height));
                total += w;
                let _ = write!(
                    g,
                    "[vid{}]scale={w}:{h},setsar=1,format=yuv420p,{}[v{i}];",
                    i + 1,
                    label(&c.label, h)
                );
            }
            let _ = write!(g, "{inputs}hstack=inputs={}[vo]", clips.len());
            (g, (total, h))
        }
        Layout::Grid => {
            let (cw, ch) = (even(f64::from(max_w)), even(f64::from(max_h)));
            let mut places = Vec::new();
            for (i, c) in clips.iter().enumerate() {
                let s =
                    (f64::from(cw) / f64::from(c.width)).min(f64::from(ch) / f64::from(c.height));
                let w = even(f64::from(c.width) * s).min(cw);
                let h = even(f64::from(c.height) * s).min(ch);
                let (x, y) = (((cw - w) / 2) & !1, ((ch - h) / 2) & !1);
                let _ = write!(
                    g,
                    "[vid{}]scale={w}:{h},setsar=1,format=yuv420p,pad={cw}:{ch}:{x}:{y}:color=black,{}[v{i}];",
                    i + 1,
                    label(&c.label, ch)
                );
                let i = i as u32;
                places.push(format!("{}_{}", (i % 2) * cw, (i / 2) * ch));
            }
            let _ = write!(
                g,
                "{inputs}xstack=inputs={}:layout={}:fill=black[vo]",
                clips.len(),
                places.join("|")
            );
            let rows = clips.len().div_ceil(2) as u32;
            (g, (2 * cw, rows * ch))
        }
    }
}

/// A drawtext filter writing `text` in the top-left corner of a picture `height` pixels high.
fn label(text: &str, height: u32) -> String {
    let size = (height / 18).max(12);
    let text = escape_filter(&escape_filter(&crate::sanitize::line(text)));
    format!(
        "drawtext=text={text}:expansion=none:x={size}/2:y={size}/2:fontsize={size}:fontcolor=white:box=1:boxcolor=black@0.6:boxborderw=4"
    )
}

/// One level of ffmpeg escaping (an option value, then the filter graph): every character
/// either level treats specially gets a backslash, so the text arrives as written.
fn escape_filter(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '\\' | '\'' | ':' | '=' | ',' | ';' | '[' | ']' | '%') || c.is_whitespace() {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// POSIX shell quoting: safe words as they are, others in single quotes, control characters
/// as `$'…'` escapes.
fn shell_quote(arg: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "_-+=/.,:@%".contains(c);
    let hidden =
        |c: char| c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
    if !arg.is_empty() && arg.chars().all(safe) {
        return arg.to_string();
    }
    if !arg.chars().any(hidden) {
        return format!("'{}'", arg.replace('\'', r"'\''"));
    }
    let mut out = String::from("$'");
    for c in arg.chars() {
        match c {
            '\\' | '\'' => {
                out.push('\\');
                out.push(c);
            }
            c if hidden(c) && (c as u32) < 0x80 => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if hidden(c) => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

#[cfg(test)]
mod tests;
