//! Plain data of previs: projects, scenes, shots, takes and render jobs.
//!
//! Invariant: nothing here does I/O or knows about the store, the engine or a terminal; every
//! other module depends on `model`, and `model` depends on no other module of previs.

pub mod codes;
pub mod job;
pub mod project;
pub mod shot;
pub mod take;

pub use codes::{CodeError, scene_code, shot_code, shot_letter, take_code};
pub use job::{ApplyError, Backoff, JobId, JobOut, JobRecord, JobState, Slate, Transition};
pub use project::{
    Lang, Project, ProjectError, ProjectSettings, ScriptSource, validate_project_name,
};
pub use shot::{
    CameraMove, CameraSpec, DialogueLine, IntExt, Resolved, Scene, Shot, ShotId, ShotSpec,
};
pub use take::{Cost, MediaInfo, Recipe, Take, TakeId, Timings, hex};

/// Milliseconds since the Unix epoch; every timestamp previs stores uses this unit.
pub type Millis = i64;

/// How much a notice matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Info,
    Warn,
    Error,
}
