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
pub use take::{Cost, MediaInfo, Recipe, Take, TakeId, Timings, hex, variant_label};

/// Milliseconds since the Unix epoch; every timestamp previs stores uses this unit.
pub type Millis = i64;

/// The UTC calendar date (year, month, day) of a time, proleptic Gregorian (the civil-from-days
/// algorithm of H. Hinnant), and the seconds since that midnight.
pub fn utc_date(ms: Millis) -> ((i64, i64, i64), i64) {
    let secs = ms.div_euclid(1000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    ((y, m, d), rem)
}

/// How much a notice matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Info,
    Warn,
    Error,
}
