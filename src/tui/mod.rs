//! The full-screen workstation.
//!
//! Module map: `state` (plain data), `msg` (messages and effects), `update` (the pure state
//! change), `keymap` (keys → actions, configurable), `views/` (per view: key handling and
//! drawing; popups), `draw` (the frame), `data` (projections of the store), `exec` (effects on
//! a worker thread), `editor` (`$EDITOR`), `run` (terminal, engine and the loop), `theme`,
//! `input` (one-line inputs), `text` (width-aware cutting, sanitised).
//!
//! Flow: terminal events and engine events become [`msg::Msg`]s; `update` turns each into
//! state changes and [`msg::Effect`]s; effects run outside and answer with messages; the frame
//! is drawn from the state at most every [`run::FRAME`].

pub mod data;
pub mod draw;
pub mod editor;
pub mod exec;
pub mod input;
pub mod keymap;
pub mod msg;
pub mod run;
pub mod state;
pub mod text;
pub mod theme;
pub mod update;
pub mod views;

use std::sync::Arc;

use crate::cli::Ctx;

pub use run::run;
use state::{HistoryState, QueueState, ScriptState, ScriptStyles, ShotsState, State, View};

/// The state the workstation opens with: the store's snapshot, no takes yet (they load after
/// the first frame), and the effects to run at once (lint marks, computed off the loop).
pub fn initial_state(ctx: &Ctx, theme: &theme::Theme) -> anyhow::Result<(State, Vec<msg::Effect>)> {
    let project = ctx.project()?;
    let keymap = keymap::Keymap::with_overrides(&ctx.config.ui.keys)
        .map_err(|e| anyhow::anyhow!("{}: {e}", ctx.paths.config_file.display()))?;
    let workbench = Arc::new(ctx.workbench()?);
    let backend = project
        .settings
        .backend
        .clone()
        .unwrap_or_else(|| ctx.registry.default_name().to_string());
    let prompt_limit = ctx
        .registry
        .get(&backend)
        .ok()
        .and_then(|b| b.prompt_limit());
    let snap = data::snapshot(&ctx.store, &project.name)?;
    let mut st = new_state(project, keymap, workbench, prompt_limit);
    st.script.styles = ScriptStyles {
        text: theme.style("ui.text"),
        cursor: theme.style("ui.selection"),
        search: theme.style("ui.mark"),
        dim: theme.style("ui.text.dim"),
    };
    let effects: Vec<msg::Effect> = views::load_snapshot(&mut st, snap).into_iter().collect();
    st.history.loading = true;
    st.view = if st.shots.rows.is_empty() {
        View::Script
    } else {
        View::Shots
    };
    Ok((st, effects))
}

/// A state with nothing loaded (tests build on it).
pub fn new_state(
    project: crate::model::Project,
    keymap: keymap::Keymap,
    workbench: Arc<crate::prompt::Workbench>,
    prompt_limit: Option<usize>,
) -> State {
    State {
        view: View::Shots,
        project,
        scenes: Default::default(),
        shots: ShotsState::default(),
        queue: QueueState::default(),
        history: HistoryState::default(),
        script: ScriptState::default(),
        popup: None,
        status: None,
        keymap,
        workbench,
        prompt_limit,
        pending_g: false,
        quit: false,
        height: 24,
        now: 0,
        batch_open: 0,
    }
}

/// Something on screen changes with time (elapsed times of running jobs).
pub fn animating(st: &State) -> bool {
    st.queue.jobs.iter().any(views::queue::is_running)
}

#[cfg(test)]
mod tests;
