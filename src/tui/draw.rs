//! `draw(frame, &State, &Theme)`: the tab bar, the current view, the status line and the popup.
//! Reads the state, never changes it.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use crate::model::Level;

use super::keymap::Action;
use super::state::{State, View};
use super::text::fit;
use super::theme::Theme;
use super::views;

/// Smallest screen the workstation draws on; below it, a note asks for a larger terminal.
pub const MIN: (u16, u16) = (60, 20);

pub fn draw(f: &mut Frame, st: &State, th: &Theme) {
    let area = f.area();
    f.render_widget(Block::default().style(th.style("ui.background")), area);
    if area.width < MIN.0 || area.height < MIN.1 {
        let text = format!(
            "previs needs at least {}x{} cells (this terminal is {}x{}); enlarge it or press q to quit",
            MIN.0, MIN.1, area.width, area.height
        );
        f.render_widget(
            Paragraph::new(text)
                .style(th.style("ui.text"))
                .wrap(ratatui::widgets::Wrap { trim: true }),
            area,
        );
        return;
    }
    let [tabs, body, status] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(4),
        Constraint::Length(1),
    ])
    .areas(area);
    draw_tabs(f, tabs, st, th);
    match st.view {
        View::Script => views::script::draw(f, body, st, th),
        View::Shots => views::shots::draw(f, body, st, th),
        View::Queue => views::queue::draw(f, body, st, th),
        View::History => views::history::draw(f, body, st, th),
        View::Usage => views::usage::draw(f, body, st, th),
    }
    draw_status(f, status, st, th);
    views::popup::draw(f, body, st, th);
}

fn draw_tabs(f: &mut Frame, area: Rect, st: &State, th: &Theme) {
    let mut spans = vec![Span::styled(
        format!(" {} ", fit(&st.project.name, 16)),
        th.style("ui.title"),
    )];
    for (i, v) in View::ALL.iter().enumerate() {
        let style = if *v == st.view {
            th.style("ui.tab.active")
        } else {
            th.style("ui.tab")
        };
        let title = if area.width < 80 {
            format!(" {}{} ", i + 1, &v.title()[..2])
        } else {
            format!(" {} {} ", i + 1, v.title())
        };
        spans.push(Span::styled(title, style));
    }
    let running = st
        .queue
        .jobs
        .iter()
        .filter(|j| views::queue::is_running(j))
        .count();
    let waiting = st.queue.jobs.iter().filter(|j| j.state == "queued").count();
    let mut right = format!("▶{running} ·{waiting}");
    if st.queue.paused {
        right.push_str(" ⏸");
    }
    let used: usize = spans.iter().map(|s| s.width()).sum();
    let room = usize::from(area.width).saturating_sub(used + right.chars().count() + 1);
    spans.push(Span::raw(" ".repeat(room)));
    spans.push(Span::styled(
        right,
        th.style(if st.queue.paused {
            "queue.failed"
        } else {
            "queue.running"
        }),
    ));
    f.render_widget(
        Paragraph::new(Line::from(spans)).style(th.style("ui.statusbar")),
        area,
    );
}

fn draw_status(f: &mut Frame, area: Rect, st: &State, th: &Theme) {
    let w = usize::from(area.width);
    let hint = hint(st);
    let (text, style) = match &st.status {
        Some(s) => (
            s.text.clone(),
            th.style(match s.level {
                Level::Error => "ui.statusbar.error",
                Level::Warn => "lint.warning",
                Level::Info => "ui.statusbar",
            }),
        ),
        None => (String::new(), th.style("ui.statusbar")),
    };
    let hint_w = super::text::width(&hint).min(w / 2);
    let text_w = w.saturating_sub(hint_w + 1);
    let line = Line::from(vec![
        Span::styled(super::text::pad(&text, text_w), style),
        Span::raw(" "),
        Span::styled(fit(&hint, hint_w), th.style("ui.help.key")),
    ]);
    f.render_widget(Paragraph::new(line).style(th.style("ui.statusbar")), area);
}

/// The few keys worth showing in the status line for the current view.
fn hint(st: &State) -> String {
    let actions: &[Action] = match st.view {
        View::Script if st.script.insert => &[Action::Save],
        View::Script => &[Action::Save, Action::Search],
        View::Shots => &[
            Action::Generate,
            Action::Edit,
            Action::Accept,
            Action::Templates,
        ],
        View::Queue => &[Action::Cancel, Action::PauseQueue, Action::MoveDown],
        View::History => &[
            Action::Filter,
            Action::Reroll,
            Action::Mark,
            Action::Compare,
        ],
        View::Usage => &[],
    };
    let mut parts = Vec::new();
    if st.view == View::Script && st.script.insert {
        parts.push("Esc stop typing".to_string());
    }
    for a in actions {
        if let Some(k) = st.keymap.keys_for(st.view, *a).first() {
            parts.push(format!("{k} {}", a.name()));
        }
    }
    parts.push("? help".into());
    parts.join(" · ")
}
