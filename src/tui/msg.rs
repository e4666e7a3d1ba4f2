//! The messages `update` consumes and the effects it asks for. Effects are the only way the
//! workstation touches the world (store, engine, player, terminal); their outcomes come back as
//! messages.

use crossterm::event::KeyEvent;

use crate::engine::{Command, Event, JobView};
use crate::model::{Level, Project, Scene, Shot};

use super::state::TakeRow;

/// What the store holds for the open project (everything but the takes, which load after the
/// first frame).
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub project: Project,
    pub scenes: Vec<Scene>,
    pub shots: Vec<Shot>,
    /// Unfinished jobs, in queue order.
    pub jobs: Vec<JobView>,
    pub paused: bool,
    /// The script file and its text, when the project has one.
    pub script: Option<(std::path::PathBuf, String)>,
}

#[derive(Debug)]
pub enum Msg {
    Key(KeyEvent),
    Paste(String),
    Resize {
        width: u16,
        height: u16,
    },
    Engine(Event),
    Loaded(Box<Snapshot>),
    TakesLoaded(Vec<TakeRow>),
    /// A shot was written (edited, a suggestion accepted, a template applied, circled).
    ShotSaved(Box<Shot>),
    /// The script was saved and re-imported.
    ScriptSaved {
        text: String,
        summary: String,
    },
    /// A take was circled (its shot's previous circled take no longer is).
    Circled {
        take: String,
        shot: String,
    },
    /// The full recipe of a take, ready to show.
    Details {
        title: String,
        lines: Vec<String>,
    },
    Status(Level, String),
    /// Lint marks of shots, computed off the loop.
    Linted(Vec<(crate::model::ShotId, Vec<&'static str>)>),
    /// The clock, once a second while jobs run.
    Tick(i64),
    /// A batch was queued: how many new jobs.
    Queued {
        jobs: usize,
        text: String,
    },
}

/// A render request from the generate form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderRequest {
    pub shots: Vec<String>,
    pub takes: u32,
    pub vary: Vec<String>,
    pub style: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    Engine(Command),
    Reload,
    SaveShot(Box<Shot>),
    /// Apply a template or style preset to a shot (fills empty fields).
    ApplyTemplate {
        shot: String,
        name: String,
    },
    SaveScript {
        text: String,
    },
    Render(RenderRequest),
    Reroll {
        take: String,
        prompt: Option<String>,
    },
    Circle {
        take: String,
    },
    Retry {
        job: u64,
    },
    /// Play one take or compare 2–4 (`grid` for the 2x2 layout).
    Play {
        takes: Vec<String>,
        grid: bool,
    },
    /// Copy to the user's clipboard (OSC 52).
    Copy {
        text: String,
        what: String,
    },
    /// Edit a shot's field (or `None`: all fields as TOML) in $EDITOR.
    EditExternal {
        shot: String,
        field: Option<super::state::Field>,
    },
    LoadDetails {
        take: String,
    },
    /// Lint these shots (with their scene headings) for the list's marks.
    Lint {
        shots: Vec<(Shot, String)>,
    },
    Notify {
        title: String,
        body: String,
        failure: bool,
    },
}
