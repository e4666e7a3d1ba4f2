//! Everything the workstation shows, as plain data: the projections of the store (shots, jobs,
//! takes), what each view has selected, the popup and the status line. `update` changes it,
//! `draw` reads it; nothing in here does IO.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use crate::engine::JobView;
use crate::model::{Level, Project, Shot};
use crate::prompt::Workbench;

use super::input::LineInput;
use super::keymap::Keymap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum View {
    Script,
    Shots,
    Queue,
    History,
    Usage,
}

impl View {
    pub const ALL: [View; 5] = [
        View::Script,
        View::Shots,
        View::Queue,
        View::History,
        View::Usage,
    ];

    pub fn title(self) -> &'static str {
        match self {
            View::Script => "Script",
            View::Shots => "Shots",
            View::Queue => "Queue",
            View::History => "History",
            View::Usage => "Usage",
        }
    }

    pub fn index(self) -> usize {
        View::ALL.iter().position(|v| *v == self).unwrap_or(0)
    }
}

/// A shot with what the Shots list shows beside it.
#[derive(Debug, Clone, PartialEq)]
pub struct ShotRow {
    pub shot: Shot,
    /// The scene heading the shot belongs to.
    pub heading: String,
    /// Lint codes of the shot as it stands (None until computed).
    pub lint: Option<Vec<&'static str>>,
}

/// How a history row ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowState {
    Done,
    Failed(String),
    Canceled,
}

impl RowState {
    pub fn name(&self) -> &'static str {
        match self {
            RowState::Done => "done",
            RowState::Failed(_) => "failed",
            RowState::Canceled => "canceled",
        }
    }
}

/// One row of the history: a take, or a job that ended without one. Lean on purpose (100k of
/// them stay in memory); the full recipe is read from the store when asked for.
#[derive(Debug, Clone, PartialEq)]
pub struct TakeRow {
    /// A take (true) or a job that ended without one.
    pub is_take: bool,
    pub job: u64,
    pub code: String,
    pub shot_code: String,
    pub state: RowState,
    pub prompt: String,
    pub seed: u64,
    pub backend: String,
    pub model: String,
    pub style: String,
    pub variant: String,
    pub cost: f64,
    pub currency: String,
    /// Render time (ms), the GPU time of the take on render boxes.
    pub render_ms: u64,
    pub created_at: i64,
    /// Absolute path of the MP4.
    pub path: String,
    pub width: u32,
    pub height: u32,
    pub duration_s: f64,
    /// The code of the take this one re-rolls.
    pub parent: Option<String>,
    pub circled: bool,
}

/// The history's filters (`/` fuzzy search plus field filters from the palette or `:filter`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HistoryFilter {
    pub query: String,
    pub shot: Option<String>,
    pub state: Option<String>,
    pub backend: Option<String>,
    pub style: Option<String>,
    pub circled: bool,
}

impl HistoryFilter {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

#[derive(Debug, Clone, Default)]
pub struct HistoryState {
    pub rows: Vec<TakeRow>,
    /// The takes are still being read from the store.
    pub loading: bool,
    pub filter: HistoryFilter,
    /// Indices into `rows` that pass the filter, best match first when searching, else newest
    /// first.
    pub visible: Vec<usize>,
    pub selected: usize,
    /// Marked rows (indices into `rows`), in marking order.
    pub marked: Vec<usize>,
    /// The `/` input while it has focus.
    pub input: Option<LineInput>,
    /// Per shot code: how many takes, and the circled take's code.
    pub per_shot: HashMap<String, (usize, Option<String>)>,
    /// The query `visible` was last computed for (typing more narrows within it).
    pub searched: HistoryFilter,
    /// The rows' text packed for search.
    pub hay: super::views::history::Haystack,
}

#[derive(Debug, Clone, Default)]
pub struct QueueState {
    /// Jobs not finished, plus those that ended while previs runs, in queue order.
    pub jobs: Vec<JobView>,
    pub selected: usize,
    pub paused: bool,
    /// Estimated time left per running job (ms), made at the last tick.
    pub etas: HashMap<u64, u64>,
}

/// The structured prompt fields of a shot, in the order the Shots view lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Subject,
    Action,
    Environment,
    Size,
    Angle,
    Movement,
    Lens,
    Lighting,
    Style,
    Negative,
}

impl Field {
    pub const ALL: [Field; 10] = [
        Field::Subject,
        Field::Action,
        Field::Environment,
        Field::Size,
        Field::Angle,
        Field::Movement,
        Field::Lens,
        Field::Lighting,
        Field::Style,
        Field::Negative,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Field::Subject => "subject",
            Field::Action => "action",
            Field::Environment => "environment",
            Field::Size => "size",
            Field::Angle => "angle",
            Field::Movement => "movement",
            Field::Lens => "lens",
            Field::Lighting => "lighting",
            Field::Style => "style",
            Field::Negative => "negative",
        }
    }

    /// The name suggestions use (`camera.size`, `lighting`).
    pub fn suggestion_key(self) -> &'static str {
        match self {
            Field::Size => "camera.size",
            Field::Angle => "camera.angle",
            Field::Movement => "camera.movement",
            Field::Lens => "camera.lens",
            other => other.label(),
        }
    }

    pub fn get(self, spec: &crate::model::ShotSpec) -> &str {
        match self {
            Field::Subject => &spec.subject,
            Field::Action => &spec.action,
            Field::Environment => &spec.environment,
            Field::Size => &spec.camera.size,
            Field::Angle => &spec.camera.angle,
            Field::Movement => &spec.camera.movement,
            Field::Lens => &spec.camera.lens,
            Field::Lighting => &spec.lighting,
            Field::Style => &spec.style,
            Field::Negative => &spec.negative,
        }
    }

    pub fn set(self, spec: &mut crate::model::ShotSpec, value: String) {
        let slot = match self {
            Field::Subject => &mut spec.subject,
            Field::Action => &mut spec.action,
            Field::Environment => &mut spec.environment,
            Field::Size => &mut spec.camera.size,
            Field::Angle => &mut spec.camera.angle,
            Field::Movement => &mut spec.camera.movement,
            Field::Lens => &mut spec.camera.lens,
            Field::Lighting => &mut spec.lighting,
            Field::Style => &mut spec.style,
            Field::Negative => &mut spec.negative,
        };
        *slot = value;
    }
}

#[derive(Debug, Clone, Default)]
pub struct ShotsState {
    pub rows: Vec<ShotRow>,
    pub selected: usize,
    /// The field list has focus (Enter from the list), with this field selected.
    pub field: Option<usize>,
    /// The field being edited in place.
    pub editing: Option<LineInput>,
    /// Only shots whose code, heading or fields contain this (case-insensitive) are listed.
    pub filter: String,
    /// The `/` input while it has focus.
    pub filter_input: Option<LineInput>,
}

/// The script editor. `text` is what was loaded or last saved; the editor holds the edits.
#[derive(Default)]
pub struct ScriptState {
    pub editor: ratatui_textarea::TextArea<'static>,
    pub path: Option<std::path::PathBuf>,
    /// Typing goes to the editor (helix insert mode); otherwise keys are commands.
    pub insert: bool,
    pub saved: String,
    pub search: Option<LineInput>,
    pub styles: ScriptStyles,
}

/// The theme's styles for the editor, kept so a reloaded script gets them too.
#[derive(Debug, Clone, Copy, Default)]
pub struct ScriptStyles {
    pub text: ratatui::style::Style,
    pub cursor: ratatui::style::Style,
    pub search: ratatui::style::Style,
    pub dim: ratatui::style::Style,
}

impl std::fmt::Debug for ScriptState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScriptState")
            .field("path", &self.path)
            .field("insert", &self.insert)
            .finish_non_exhaustive()
    }
}

impl ScriptState {
    pub fn text(&self) -> String {
        self.editor.lines().join("\n")
    }

    pub fn dirty(&self) -> bool {
        self.editor.lines().join("\n").trim_end() != self.saved.trim_end()
    }
}

/// A fuzzy picker over named entries (the palette, templates and styles).
#[derive(Debug, Clone, Default)]
pub struct Picker {
    pub input: LineInput,
    /// (name, description, kind) of every entry.
    pub entries: Vec<(String, String, String)>,
    /// Indices into `entries` that match, best first.
    pub matches: Vec<usize>,
    pub selected: usize,
}

/// The small form behind `g`: how many takes, which variations, which style.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenerateForm {
    /// Shot codes the batch is for.
    pub shots: Vec<String>,
    pub takes: LineInput,
    /// `axis=a,b; axis=c,d`
    pub vary: LineInput,
    pub style: LineInput,
    /// Which of the three has focus.
    pub focus: usize,
    /// No key typed yet (`g` `g` is "first row", not "generate").
    pub pristine: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Confirm {
    /// Quit while jobs run.
    Quit { running: usize },
    /// Leave the script with unsaved edits.
    DiscardScript,
}

/// What an input popup is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ask {
    /// Edit the prompt of a take and re-roll it.
    RerollPrompt { take: String },
}

#[derive(Debug, Clone)]
pub enum Popup {
    Help {
        scroll: u16,
    },
    Palette(Picker),
    Templates(Picker),
    Generate(GenerateForm),
    Confirm(Confirm),
    Input {
        ask: Ask,
        input: LineInput,
    },
    /// The full recipe of a take, as lines.
    Details {
        title: String,
        lines: Vec<String>,
        scroll: u16,
    },
    /// A word diff of two prompts.
    Diff {
        a: String,
        b: String,
        lines: Vec<DiffLine>,
        scroll: u16,
    },
}

/// One line of a prompt diff: (tag, text) runs; tag is ' ' same, '+' added, '-' removed.
pub type DiffLine = Vec<(char, String)>;

/// The last thing worth telling the user.
#[derive(Debug, Clone, PartialEq)]
pub struct Status {
    pub level: Level,
    pub text: String,
}

/// The whole state of the workstation.
pub struct State {
    pub view: View,
    pub project: Project,
    pub scenes: BTreeMap<String, String>,
    pub shots: ShotsState,
    pub queue: QueueState,
    pub history: HistoryState,
    pub script: ScriptState,
    pub popup: Option<Popup>,
    pub status: Option<Status>,
    pub keymap: Keymap,
    pub workbench: Arc<Workbench>,
    /// Prompt length limit of the default backend, for lint.
    pub prompt_limit: Option<usize>,
    /// The previous key was `g` (for `gg`).
    pub pending_g: bool,
    /// Set when the loop should end.
    pub quit: bool,
    /// Screen size, for paging.
    pub height: u16,
    /// The time of the last tick (ms since the epoch), for elapsed times and ages.
    pub now: i64,
    /// Jobs queued in the last batch that have not ended yet (for "batch done" notifications).
    pub batch_open: usize,
}
