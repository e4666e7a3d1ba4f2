//! The command line, as clap parses it.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "previs", version, about = "AI film previsualization: scripts to shots to takes", long_about = None)]
pub struct Cli {
    /// Keep config, data and logs under DIR instead of the platform directories.
    #[arg(long, global = true, env = "PREVIS_HOME", value_name = "DIR")]
    pub home: Option<PathBuf>,
    /// Work on this project instead of the current one.
    #[arg(long, global = true, value_name = "NAME")]
    pub project: Option<String>,
    /// Print listings as one JSON document.
    #[arg(long, global = true)]
    pub json: bool,
    /// Build a demo project (Chinese and English shots, built-in animatic backend) and render it.
    #[arg(long)]
    pub demo: bool,
    #[command(subcommand)]
    pub cmd: Option<Cmd>,
}

#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Create a project and make it current.
    Init(InitArgs),
    /// Import a Fountain screenplay (.fountain) or a CSV shot list (.csv).
    Import { file: PathBuf },
    /// List shots.
    Shots(ShotsArgs),
    /// Add, edit or remove a shot.
    #[command(subcommand)]
    Shot(Box<ShotCmd>),
    /// Queue takes of shots (and with --wait, render them now).
    Render(Box<RenderArgs>),
    /// Queue a new take from an existing one: a new seed, or an edited prompt.
    Reroll(RerollArgs),
    /// Jobs and their states.
    Queue(QueueArgs),
    /// Run the engine on the persisted queue (a render box under tmux or systemd).
    Work {
        /// Return when nothing is left to run.
        #[arg(long)]
        until_idle: bool,
    },
    /// Cancel a job (by job id or take code).
    Cancel { job: String },
    /// Pause the queue: running jobs finish, no new ones start.
    Pause,
    /// Resume the queue.
    Resume,
    /// Takes of a shot, or of the whole project.
    Takes { shot: Option<String> },
    /// Circle a take: the chosen take of its shot.
    Circle { take: String },
    /// Send a failed or unconfirmed job again (by job id or take code).
    Retry { job: String },
    /// The configured backends; with --check, their health.
    Backends {
        /// Ask each backend: reachability, authentication, model files, queue, GPUs.
        #[arg(long)]
        check: bool,
    },
    /// Shot templates (built-in and from templates.toml).
    Templates,
    /// Style presets (built-in and from styles.toml).
    Styles,
    /// Lint a prompt, or the shots, and suggest camera language.
    Lint(LintArgs),
    /// Requests the safety filter refused.
    Refusals,
    /// Play one take, or compare 2 to 4 side by side in one player (in sync, looping).
    Compare(CompareArgs),
}

#[derive(Debug, Args)]
pub struct CompareArgs {
    /// Take codes (1 plays it; 2 to 4 are compared).
    #[arg(required = true, num_args = 1..=4)]
    pub takes: Vec<String>,
    /// `side` (one row) or `grid` (2x2).
    #[arg(long, default_value = "side")]
    pub layout: String,
    /// Print the player command instead of running it.
    #[arg(long)]
    pub print: bool,
}

#[derive(Debug, Args)]
pub struct LintArgs {
    /// The prompt text to lint; without it, the shots of the project.
    #[arg(conflicts_with = "shots")]
    pub text: Option<String>,
    /// Lint these shots (default: every shot).
    #[arg(long = "shot", value_name = "SHOT")]
    pub shots: Vec<String>,
    /// Check the text against this backend's prompt limits (default: the project's backend).
    #[arg(long)]
    pub backend: Option<String>,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    pub name: String,
    /// Default frame size, e.g. 1280x720.
    #[arg(long, value_name = "WxH")]
    pub size: Option<String>,
    #[arg(long)]
    pub fps: Option<u32>,
    /// Default take duration in seconds.
    #[arg(long)]
    pub duration: Option<f64>,
    /// Default backend of the project.
    #[arg(long)]
    pub backend: Option<String>,
    /// Language of compiled prompts: zh or en (default: each shot's own).
    #[arg(long, value_name = "zh|en")]
    pub language: Option<String>,
}

#[derive(Debug, Args)]
pub struct ShotsArgs {
    /// Print the shot list as CSV (the import format).
    #[arg(long, conflicts_with = "json")]
    pub csv: bool,
    /// Include omitted shots (no longer in the script, kept for their takes).
    #[arg(long)]
    pub all: bool,
}

#[derive(Debug, Subcommand)]
pub enum ShotCmd {
    /// Add a shot to a scene.
    Add(ShotAddArgs),
    /// Change fields of a shot; an empty value clears a text field, `default` a number.
    Edit(ShotEditArgs),
    /// Remove a shot (kept as omitted when it has takes).
    Rm { shot: String },
}

#[derive(Debug, Args)]
pub struct ShotAddArgs {
    /// Scene number (an existing or a new scene).
    #[arg(long)]
    pub scene: String,
    /// Shot code; the next free letter of the scene when omitted.
    #[arg(long)]
    pub code: Option<String>,
    /// Heading of a new scene, e.g. "EXT. ROOFTOP - NIGHT".
    #[arg(long)]
    pub heading: Option<String>,
    #[command(flatten)]
    pub fields: SpecFields,
}

#[derive(Debug, Args)]
pub struct ShotEditArgs {
    pub shot: String,
    #[command(flatten)]
    pub fields: SpecFields,
}

/// Fields of a shot's structured prompt.
#[derive(Debug, Args, Default, PartialEq, Eq)]
pub struct SpecFields {
    #[arg(long)]
    pub subject: Option<String>,
    #[arg(long)]
    pub action: Option<String>,
    #[arg(long)]
    pub environment: Option<String>,
    /// Shot size: wide, medium, close-up …
    #[arg(long = "shot-size", value_name = "SIZE")]
    pub shot_size: Option<String>,
    #[arg(long)]
    pub angle: Option<String>,
    /// Camera movement: static, push in, pan left, crane up, orbit, handheld …
    #[arg(long)]
    pub movement: Option<String>,
    #[arg(long)]
    pub lens: Option<String>,
    #[arg(long)]
    pub lighting: Option<String>,
    #[arg(long)]
    pub style: Option<String>,
    #[arg(long)]
    pub negative: Option<String>,
    #[arg(long, value_name = "SECONDS|default")]
    pub duration: Option<String>,
    #[arg(long, value_name = "WxH|default")]
    pub size: Option<String>,
    #[arg(long, value_name = "N|default")]
    pub fps: Option<String>,
    #[arg(long, value_name = "N|default")]
    pub seed: Option<String>,
    /// Fill the empty fields from a template (`previs templates` lists them).
    #[arg(long, value_name = "NAME")]
    pub template: Option<String>,
    /// Fill empty camera and lighting fields with the camera-language suggestions.
    #[arg(long)]
    pub suggest: bool,
}

#[derive(Debug, Args)]
pub struct RenderArgs {
    /// Shot codes (e.g. 12A 12B).
    pub shots: Vec<String>,
    /// Every shot of the project.
    #[arg(long, conflicts_with = "shots")]
    pub all: bool,
    /// Takes per shot.
    #[arg(long, default_value_t = 1)]
    pub takes: u32,
    #[arg(long)]
    pub backend: Option<String>,
    /// Seed of the first take; the next takes count up from it.
    #[arg(long)]
    pub seed: Option<u64>,
    #[arg(long, value_name = "WxH")]
    pub size: Option<String>,
    /// Seconds.
    #[arg(long)]
    pub duration: Option<f64>,
    #[arg(long)]
    pub fps: Option<u32>,
    /// Render even when an identical take exists.
    #[arg(long)]
    pub force: bool,
    /// Run the queued jobs now and return when they end (exit 1 if any failed).
    #[arg(long, conflicts_with = "estimate")]
    pub wait: bool,
    /// Print what the batch would cost and queue nothing.
    #[arg(long)]
    pub estimate: bool,
    /// A style preset for every take (`previs styles` lists them).
    #[arg(long, value_name = "NAME")]
    pub style: Option<String>,
    /// A variation axis, e.g. `lighting=night,dusk`; several axes make every combination.
    #[arg(long, value_name = "AXIS=A,B")]
    pub vary: Vec<String>,
}

#[derive(Debug, Args)]
pub struct RerollArgs {
    pub take: String,
    #[arg(long)]
    pub seed: Option<u64>,
    /// The edited prompt text.
    #[arg(long)]
    pub prompt: Option<String>,
    #[arg(long)]
    pub wait: bool,
}

#[derive(Debug, Args)]
pub struct QueueArgs {
    /// Every job, not only the unfinished and the last 20 finished.
    #[arg(long)]
    pub all: bool,
}

impl SpecFields {
    /// No field given.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}
