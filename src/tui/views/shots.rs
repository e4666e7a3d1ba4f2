//! Shots: the shot list (code, size/move, takes, circled take, lint marks) and the selected
//! shot's structured prompt, editable in place, with lint findings and camera suggestions beside
//! the fields (`a` accepts one) and the compiled prompt below.

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use crate::model::{Shot, ShotId, ShotSpec};
use crate::prompt::lint::{Report, lint_spec};

use super::super::input::LineInput;
use super::super::keymap::Action;
use super::super::msg::{Effect, RenderRequest};
use super::super::state::{Field, GenerateForm, Popup, ShotRow, State};
use super::super::text::{fit, pad, wrap};
use super::super::theme::Theme;
use super::super::update::say;
use super::{navigate, page};

pub fn heading_of(st: &State, shot: &Shot) -> String {
    st.scenes.get(&shot.scene).cloned().unwrap_or_default()
}

fn report(st: &State, row: &ShotRow) -> Report {
    lint_spec(
        &row.shot.spec,
        &row.heading,
        &st.workbench.rules,
        st.prompt_limit,
    )
}

/// Installs the shots; lint marks of unchanged shots are kept, the others are computed off the
/// loop (the answer is `Msg::Linted`): the returned effect asks for them.
pub fn set_shots(st: &mut State, shots: Vec<Shot>) -> Option<Effect> {
    let keep = st.shots.rows.get(st.shots.selected).map(|r| r.shot.id);
    let old: std::collections::HashMap<ShotId, (ShotSpec, Option<Vec<&'static str>>)> = st
        .shots
        .rows
        .drain(..)
        .map(|r| (r.shot.id, (r.shot.spec, r.lint)))
        .collect();
    st.shots.rows = shots
        .into_iter()
        .filter(|s| !s.omitted)
        .map(|shot| {
            let heading = heading_of(st, &shot);
            let lint = old
                .get(&shot.id)
                .filter(|(spec, _)| *spec == shot.spec)
                .and_then(|(_, lint)| lint.clone());
            ShotRow {
                shot,
                heading,
                lint,
            }
        })
        .collect();
    st.shots.selected = keep
        .and_then(|id| st.shots.rows.iter().position(|r| r.shot.id == id))
        .unwrap_or(0)
        .min(st.shots.rows.len().saturating_sub(1));
    let pending: Vec<(Shot, String)> = st
        .shots
        .rows
        .iter()
        .filter(|r| r.lint.is_none())
        .map(|r| (r.shot.clone(), r.heading.clone()))
        .collect();
    (!pending.is_empty()).then_some(Effect::Lint { shots: pending })
}

/// Lint codes of shots (with their scene headings), as the Shots list marks them.
pub fn lint_codes(
    rules: &crate::prompt::suggest::Rules,
    limit: Option<usize>,
    shots: &[(Shot, String)],
) -> Vec<(ShotId, Vec<&'static str>)> {
    shots
        .iter()
        .map(|(s, heading)| (s.id, lint_spec(&s.spec, heading, rules, limit).codes()))
        .collect()
}

/// Lint marks computed off the loop arrive.
pub fn linted(st: &mut State, marks: Vec<(ShotId, Vec<&'static str>)>) {
    for (id, codes) in marks {
        if let Some(r) = st.shots.rows.iter_mut().find(|r| r.shot.id == id) {
            r.lint = Some(codes);
        }
    }
}

fn row(st: &State, shot: Shot) -> ShotRow {
    let heading = heading_of(st, &shot);
    let mut r = ShotRow {
        shot,
        heading,
        lint: None,
    };
    r.lint = Some(report(st, &r).codes());
    r
}

pub fn shot_saved(st: &mut State, shot: Shot) {
    let fresh = row(st, shot);
    match st
        .shots
        .rows
        .iter_mut()
        .find(|r| r.shot.id == fresh.shot.id)
    {
        Some(r) => *r = fresh,
        None => st.shots.rows.push(fresh),
    }
}

pub fn selected(st: &State) -> Option<&ShotRow> {
    st.shots.rows.get(st.shots.selected)
}

/// Opens the generate form for the selected shot (or `shots`).
pub fn generate_form(shots: Vec<String>) -> Popup {
    Popup::Generate(GenerateForm {
        shots,
        takes: LineInput::new("2"),
        vary: LineInput::default(),
        style: LineInput::default(),
        focus: 0,
        pristine: true,
    })
}

/// Indices of the rows the filter lets through.
pub fn visible(st: &State) -> Vec<usize> {
    let needle = st.shots.filter.trim().to_lowercase();
    (0..st.shots.rows.len())
        .filter(|i| needle.is_empty() || matches(&st.shots.rows[*i], &needle))
        .collect()
}

fn matches(r: &ShotRow, needle: &str) -> bool {
    r.shot.code.to_lowercase().contains(needle)
        || r.heading.to_lowercase().contains(needle)
        || Field::ALL
            .iter()
            .any(|f| f.get(&r.shot.spec).to_lowercase().contains(needle))
}

/// After the filter changed: keep the selection on a listed shot.
pub fn filter_changed(st: &mut State) {
    if let Some(input) = &st.shots.filter_input {
        st.shots.filter = input.text();
    }
    let vis = visible(st);
    if !vis.contains(&st.shots.selected) {
        st.shots.selected = vis.first().copied().unwrap_or(0);
    }
}

pub fn action(st: &mut State, a: Action) -> Vec<Effect> {
    let pg = page(st);
    if let Some(f) = st.shots.field.as_mut() {
        if navigate(f, Field::ALL.len(), 5, a) {
            return Vec::new();
        }
    } else {
        let vis = visible(st);
        let mut pos = vis
            .iter()
            .position(|i| *i == st.shots.selected)
            .unwrap_or(0);
        if navigate(&mut pos, vis.len(), pg, a) {
            st.shots.selected = vis.get(pos).copied().unwrap_or(0);
            return Vec::new();
        }
    }
    match a {
        Action::Filter if st.shots.field.is_none() => {
            st.shots.filter_input = Some(LineInput::new(&st.shots.filter));
            return Vec::new();
        }
        Action::Back if st.shots.field.is_none() && !st.shots.filter.is_empty() => {
            st.shots.filter.clear();
            return Vec::new();
        }
        _ => {}
    }
    let Some(row) = selected(st).cloned() else {
        if a == Action::Generate || a == Action::Edit {
            say(
                st,
                crate::model::Level::Warn,
                "no shots yet: write the script (1) and save it with ctrl-s, or `previs import FILE`",
            );
        }
        return Vec::new();
    };
    match a {
        Action::Edit => match st.shots.field {
            None => st.shots.field = Some(0),
            Some(i) => {
                let value = Field::ALL[i].get(&row.shot.spec).to_string();
                st.shots.editing = Some(LineInput::new(&value));
            }
        },
        Action::Back => {
            st.shots.field = None;
        }
        Action::Accept => return accept(st, &row, false),
        Action::AcceptAll => return accept(st, &row, true),
        Action::Generate => {
            st.popup = Some(generate_form(vec![row.shot.code.clone()]));
        }
        Action::Copy => {
            let c = st
                .workbench
                .compile_shot(&row.shot.spec, st.project.settings.language);
            return vec![Effect::Copy {
                text: c.prompt,
                what: format!("the prompt of shot {}", row.shot.code),
            }];
        }
        Action::EditExternal => {
            return vec![Effect::EditExternal {
                shot: row.shot.code.clone(),
                field: st.shots.field.map(|i| Field::ALL[i]),
            }];
        }
        Action::Play => {
            let take = st
                .history
                .rows
                .iter()
                .filter(|r| r.shot_code == row.shot.code && r.is_take)
                .max_by_key(|r| (r.circled, r.created_at))
                .map(|r| r.code.clone());
            match take {
                Some(t) => {
                    return vec![Effect::Play {
                        takes: vec![t],
                        grid: false,
                    }];
                }
                None => say(
                    st,
                    crate::model::Level::Warn,
                    format!("shot {} has no takes yet; g queues some", row.shot.code),
                ),
            }
        }
        _ => {}
    }
    Vec::new()
}

/// Accepts the suggestion for the selected field (or the first one, or all).
fn accept(st: &mut State, row: &ShotRow, all: bool) -> Vec<Effect> {
    let rep = report(st, row);
    let field = st.shots.field.map(|i| Field::ALL[i]);
    let chosen: Vec<_> = rep
        .suggestions
        .iter()
        .filter(|s| all || field.is_none_or(|f| f.suggestion_key() == s.field))
        .take(if all { usize::MAX } else { 1 })
        .collect();
    if chosen.is_empty() {
        say(
            st,
            crate::model::Level::Info,
            "no suggestion for this field: suggestions fill empty camera and lighting fields",
        );
        return Vec::new();
    }
    let mut shot = row.shot.clone();
    for s in &chosen {
        if let Some(f) = Field::ALL.iter().find(|f| f.suggestion_key() == s.field) {
            f.set(&mut shot.spec, s.value.clone());
        }
    }
    say(
        st,
        crate::model::Level::Info,
        format!(
            "accepted {} suggestion(s) for shot {}",
            chosen.len(),
            shot.code
        ),
    );
    shot_saved(st, shot.clone());
    vec![Effect::SaveShot(Box::new(shot))]
}

/// Enter commits the field being edited, Esc drops the edit.
pub fn input_exit(st: &mut State, ev: KeyEvent) -> Vec<Effect> {
    if st.shots.editing.is_none() && st.shots.filter_input.is_some() {
        match ev.code {
            KeyCode::Enter => st.shots.filter_input = None,
            KeyCode::Esc => {
                st.shots.filter_input = None;
                st.shots.filter.clear();
            }
            KeyCode::Up | KeyCode::Down => {
                let a = if ev.code == KeyCode::Up {
                    Action::Up
                } else {
                    Action::Down
                };
                let vis = visible(st);
                let mut pos = vis
                    .iter()
                    .position(|i| *i == st.shots.selected)
                    .unwrap_or(0);
                navigate(&mut pos, vis.len(), 1, a);
                st.shots.selected = vis.get(pos).copied().unwrap_or(0);
            }
            _ => {}
        }
        return Vec::new();
    }
    match ev.code {
        KeyCode::Esc => {
            st.shots.editing = None;
            Vec::new()
        }
        KeyCode::Enter => {
            let Some(input) = st.shots.editing.take() else {
                return Vec::new();
            };
            let (Some(i), Some(row)) = (st.shots.field, selected(st).cloned()) else {
                return Vec::new();
            };
            let mut shot = row.shot;
            let value = input.text().trim().to_string();
            if Field::ALL[i].get(&shot.spec) == value {
                return Vec::new();
            }
            Field::ALL[i].set(&mut shot.spec, value);
            shot_saved(st, shot.clone());
            vec![Effect::SaveShot(Box::new(shot))]
        }
        _ => Vec::new(),
    }
}

/// A render request for the form's values, or the error to show.
pub fn request(form: &GenerateForm) -> Result<RenderRequest, String> {
    let takes: u32 = form
        .takes
        .text()
        .trim()
        .parse()
        .ok()
        .filter(|n| (1..=100).contains(n))
        .ok_or("takes: give a number from 1 to 100")?;
    let vary = form
        .vary
        .text()
        .split(';')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    let style = Some(form.style.text().trim().to_string()).filter(|s| !s.is_empty());
    Ok(RenderRequest {
        shots: form.shots.clone(),
        takes,
        vary,
        style,
    })
}

pub fn draw(f: &mut Frame, area: Rect, st: &State, th: &Theme) {
    let list_w = (area.width * 2 / 5).clamp(22, 40);
    let [list, detail] =
        Layout::horizontal([Constraint::Length(list_w), Constraint::Min(20)]).areas(area);
    draw_list(f, list, st, th);
    draw_detail(f, detail, st, th);
}

fn draw_list(f: &mut Frame, area: Rect, st: &State, th: &Theme) {
    let focus = st.shots.field.is_none();
    let vis = visible(st);
    let title = if st.shots.filter.is_empty() {
        format!(" Shots {} ", st.shots.rows.len())
    } else {
        format!(" Shots {}/{} ", vis.len(), st.shots.rows.len())
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(th.style(if focus {
            "ui.border.focus"
        } else {
            "ui.border"
        }))
        .title(Span::styled(title, th.style("ui.title")));
    let mut inner = block.inner(area);
    f.render_widget(block, area);
    if let Some(input) = &st.shots.filter_input {
        inner = super::filter_line(f, inner, input, th);
    }
    if st.shots.rows.is_empty() {
        let p = Paragraph::new(wrap(
            "No shots. Write the script in view 1 and save it (ctrl-s), or import one with `previs import FILE`.",
            usize::from(inner.width),
        )
        .into_iter()
        .map(Line::from)
        .collect::<Vec<_>>())
        .style(th.style("ui.text.dim"));
        f.render_widget(p, inner);
        return;
    }
    let w = usize::from(inner.width);
    let rows = usize::from(inner.height);
    let pos = vis
        .iter()
        .position(|i| *i == st.shots.selected)
        .unwrap_or(0);
    let first = super::scroll_start(pos, rows, vis.len());
    let mut lines = Vec::new();
    for i in vis.iter().copied().skip(first).take(rows) {
        let r = &st.shots.rows[i];
        let (takes, circled) = st
            .history
            .per_shot
            .get(&r.shot.code)
            .cloned()
            .unwrap_or_default();
        let circled = circled.map(|c| c.rsplit('_').next().unwrap_or_default().to_string());
        let cam = format!(
            "{}/{}",
            r.shot.spec.camera.size, r.shot.spec.camera.movement
        );
        let code_w = 5;
        let tail_w = 11;
        let cam_w = w.saturating_sub(code_w + tail_w + 1);
        let mut spans = vec![
            Span::raw(pad(&r.shot.code, code_w)),
            Span::styled(pad(&cam, cam_w), th.style("ui.text.dim")),
            Span::raw(format!("{takes:>3} ")),
            Span::styled(
                pad(&circled.map(|c| format!("●{c}")).unwrap_or_default(), 5),
                th.style("take.circled"),
            ),
        ];
        if let Some(lint) = r.lint.as_ref().filter(|l| !l.is_empty()) {
            spans.push(Span::styled(
                format!("!{}", lint.len()),
                th.style("lint.warning"),
            ));
        }
        let mut line = Line::from(spans);
        if i == st.shots.selected {
            line = line.style(th.style(if focus { "ui.selection" } else { "ui.mark" }));
        }
        lines.push(line);
    }
    f.render_widget(Paragraph::new(lines), inner);
}

fn draw_detail(f: &mut Frame, area: Rect, st: &State, th: &Theme) {
    let Some(row) = selected(st) else {
        f.render_widget(
            Block::default()
                .borders(Borders::ALL)
                .border_style(th.style("ui.border")),
            area,
        );
        return;
    };
    let focus = st.shots.field.is_some();
    let title = format!(" {} {} ", row.shot.code, row.heading);
    let block = super::panel(&title, focus, area.width, th);
    let inner = block.inner(area);
    f.render_widget(block, area);
    let rep = report(st, row);
    let w = usize::from(inner.width);
    let label_w = 12;
    let value_w = w.saturating_sub(label_w);
    let mut lines: Vec<Line> = Vec::new();
    let mut cursor = None;
    for (i, field) in Field::ALL.iter().enumerate() {
        let value = field.get(&row.shot.spec);
        let sel = st.shots.field == Some(i);
        let label = Span::styled(pad(field.label(), label_w), th.style("ui.text.dim"));
        let line = if let (true, Some(input)) = (sel, st.shots.editing.as_ref()) {
            let (shown, col) = input.visible(u16::try_from(value_w.saturating_sub(1)).unwrap_or(1));
            cursor = Some((col, i));
            Line::from(vec![label, Span::styled(shown, th.style("ui.text.focus"))])
        } else if value.trim().is_empty() {
            match rep
                .suggestions
                .iter()
                .find(|s| s.field == field.suggestion_key())
            {
                Some(s) => Line::from(vec![
                    label,
                    Span::styled(
                        fit(&format!("· {}  (a)", s.value), value_w),
                        th.style("lint.suggestion"),
                    ),
                ]),
                None => Line::from(vec![label, Span::styled("—", th.style("ui.text.dim"))]),
            }
        } else {
            Line::from(vec![label, Span::raw(fit(value, value_w))])
        };
        lines.push(if sel && st.shots.editing.is_none() {
            line.style(th.style("ui.selection"))
        } else {
            line
        });
    }
    let fixed = lines.len();
    let room = usize::from(inner.height).saturating_sub(fixed);
    let mut extra: Vec<Line> = Vec::new();
    for l in &rep.lints {
        let style = if l.code == "blocked" || l.code == "over_limit" {
            th.style("lint.blocked")
        } else {
            th.style("lint.warning")
        };
        extra.push(Line::styled(
            fit(&format!("! {}: {}", l.code, l.message), w),
            style,
        ));
    }
    if let Some(s) = rep.suggestions.iter().find(|s| {
        st.shots
            .field
            .is_none_or(|i| Field::ALL[i].suggestion_key() == s.field)
    }) {
        extra.push(Line::styled(
            fit(&format!("why {}: {}", s.value, s.reason), w),
            th.style("lint.suggestion"),
        ));
    }
    let compiled = st
        .workbench
        .compile_shot(&row.shot.spec, st.project.settings.language);
    extra.push(Line::styled("prompt", th.style("ui.title")));
    for l in wrap(&compiled.prompt, w) {
        extra.push(Line::raw(l));
    }
    lines.extend(extra.into_iter().take(room));
    f.render_widget(Paragraph::new(lines), inner);
    if let Some((col, i)) = cursor {
        let x = inner.x + u16::try_from(label_w).unwrap_or(0) + col;
        let y = inner.y + u16::try_from(i).unwrap_or(0);
        if x < inner.right() && y < inner.bottom() {
            f.set_cursor_position((x, y));
        }
    }
}
