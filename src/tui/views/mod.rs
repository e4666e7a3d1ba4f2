//! The views and popups: each module holds the update of its keys and the drawing of its pane.
//! This file routes text input to whichever input has focus.

pub mod history;
pub mod palette;
pub mod popup;
pub mod queue;
pub mod script;
pub mod shots;
pub mod templates;
pub mod usage;

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use super::input::LineInput;
use super::msg::{Effect, Snapshot};
use super::state::{State, View};

/// The one-line input that has focus outside popups (a field being edited, a filter, the
/// script search), if any.
pub fn focused_input(st: &mut State) -> Option<&mut LineInput> {
    if st.popup.is_some() {
        return st.popup.as_mut().and_then(popup::input);
    }
    match st.view {
        View::Shots => match st.shots.editing {
            Some(_) => st.shots.editing.as_mut(),
            None => st.shots.filter_input.as_mut(),
        },
        View::History => history::filter_input(st),
        View::Script => st.script.search.as_mut(),
        _ => None,
    }
}

/// After the focused input changed: refilter what depends on it.
pub fn after_input(st: &mut State) {
    if let Some(p) = st.popup.as_mut() {
        popup::after_input(p, &st.workbench);
        return;
    }
    match st.view {
        View::History => history::refilter(st),
        View::Script => script::search_changed(st),
        View::Shots => shots::filter_changed(st),
        _ => {}
    }
}

/// A key the focused input does not handle: Enter commits, Esc cancels.
pub fn input_exit(st: &mut State, ev: KeyEvent) -> Vec<Effect> {
    match st.view {
        View::Shots => shots::input_exit(st, ev),
        View::History => history::input_exit(st, ev),
        View::Script => script::search_exit(st, ev),
        _ => Vec::new(),
    }
}

/// Installs a fresh snapshot of the store, keeping selections where the rows still exist; the
/// effect asks for the lint marks of new or changed shots.
pub fn load_snapshot(st: &mut State, snap: Snapshot) -> Option<Effect> {
    st.scenes = snap
        .scenes
        .iter()
        .map(|s| (s.number.clone(), s.heading.clone()))
        .collect();
    st.project = snap.project;
    st.queue.paused = snap.paused;
    let lint = shots::set_shots(st, snap.shots);
    queue::set_jobs(st, snap.jobs);
    if let Some((path, text)) = snap.script {
        if !st.script.dirty() || st.script.path.as_ref() != Some(&path) {
            script::load(&mut st.script, path, &text);
        }
    }
    lint
}

/// Moves a selection by an action (up/down/page/top/bottom); true when it was a move.
pub fn navigate(selected: &mut usize, len: usize, page: usize, a: super::keymap::Action) -> bool {
    use super::keymap::Action;
    let last = len.saturating_sub(1);
    *selected = match a {
        Action::Up => selected.saturating_sub(1),
        Action::Down => (*selected + 1).min(last),
        Action::PageUp => selected.saturating_sub(page.max(1)),
        Action::PageDown => (*selected + page.max(1)).min(last),
        Action::Top => 0,
        Action::Bottom => last,
        _ => return false,
    };
    true
}

/// Rows a list shows in the current terminal (for paging).
pub fn page(st: &State) -> usize {
    usize::from(st.height.saturating_sub(8)).max(1)
}

pub fn is_enter(ev: &KeyEvent) -> bool {
    ev.code == KeyCode::Enter
}

/// The first row to show so that `selected` stays visible in `rows` lines (kept near the
/// middle when scrolling, like k9s).
pub fn scroll_start(selected: usize, rows: usize, len: usize) -> usize {
    if rows == 0 || len <= rows {
        return 0;
    }
    selected.saturating_sub(rows / 2).min(len - rows)
}

/// A bordered pane whose border shows focus, titled (cut to fit).
pub fn panel<'a>(title: &str, focus: bool, width: u16, th: &super::theme::Theme) -> Block<'a> {
    Block::default()
        .borders(Borders::ALL)
        .border_style(th.style(if focus {
            "ui.border.focus"
        } else {
            "ui.border"
        }))
        .title(Span::styled(
            super::text::fit(title, usize::from(width.saturating_sub(4))),
            th.style("ui.title"),
        ))
}

/// A one-line `/` input on the first line of `area` with the terminal cursor in it; returns the
/// rest of the area.
pub fn filter_line(f: &mut Frame, area: Rect, input: &LineInput, th: &super::theme::Theme) -> Rect {
    let (shown, col) = input.visible(area.width.saturating_sub(2));
    f.render_widget(
        Paragraph::new(Line::from(vec![
            Span::styled("/", th.style("ui.help.key")),
            Span::styled(shown, th.style("ui.text.focus")),
        ])),
        Rect { height: 1, ..area },
    );
    f.set_cursor_position((area.x + 1 + col, area.y));
    Rect {
        y: area.y + 1,
        height: area.height.saturating_sub(1),
        ..area
    }
}
