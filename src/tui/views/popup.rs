//! Popups over the current view: help, the command palette, the template picker, the generate
//! form, confirmations, the edit-and-re-roll input, a take's recipe and a prompt diff. A popup
//! takes every key until it closes (Esc).

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use crate::engine::Command;
use crate::prompt::Workbench;

use super::super::input::{Edit, LineInput};
use super::super::keymap::Action;
use super::super::msg::Effect;
use super::super::state::{Ask, Confirm, DiffLine, Picker, Popup, State};
use super::super::text::{fit, pad, wrap};
use super::super::theme::Theme;
use super::super::update::{action, say};

/// The popup's focused input, if it has one.
pub fn input(p: &mut Popup) -> Option<&mut LineInput> {
    match p {
        Popup::Palette(pk) | Popup::Templates(pk) => Some(&mut pk.input),
        Popup::Generate(g) => Some(match g.focus {
            0 => &mut g.takes,
            1 => &mut g.vary,
            _ => &mut g.style,
        }),
        Popup::Input { input, .. } => Some(input),
        _ => None,
    }
}

pub fn after_input(p: &mut Popup, _bench: &Workbench) {
    match p {
        Popup::Palette(pk) | Popup::Templates(pk) => super::palette::refilter(pk),
        Popup::Generate(g) => g.pristine = false,
        _ => {}
    }
}

fn scroll_by(scroll: &mut u16, code: KeyCode) {
    match code {
        KeyCode::Char('j') | KeyCode::Down => *scroll = scroll.saturating_add(1),
        KeyCode::Char('k') | KeyCode::Up => *scroll = scroll.saturating_sub(1),
        KeyCode::PageDown | KeyCode::Char(' ') => *scroll = scroll.saturating_add(10),
        KeyCode::PageUp => *scroll = scroll.saturating_sub(10),
        _ => {}
    }
}

fn picker_move(pk: &mut Picker, code: KeyCode, ctrl: bool) -> bool {
    let len = pk.matches.len();
    match code {
        KeyCode::Up => pk.selected = pk.selected.saturating_sub(1),
        KeyCode::Char('p') if ctrl => pk.selected = pk.selected.saturating_sub(1),
        KeyCode::Down | KeyCode::Tab => pk.selected = (pk.selected + 1).min(len.saturating_sub(1)),
        KeyCode::Char('n') if ctrl => pk.selected = (pk.selected + 1).min(len.saturating_sub(1)),
        _ => return false,
    }
    true
}

pub fn key(st: &mut State, ev: KeyEvent, pending_g: bool) -> Vec<Effect> {
    let Some(mut popup) = st.popup.take() else {
        return Vec::new();
    };
    let ctrl = ev.modifiers.contains(KeyModifiers::CONTROL);
    if ev.code == KeyCode::Esc || (ctrl && ev.code == KeyCode::Char('c')) {
        return Vec::new(); // closed
    }
    if let Popup::Palette(pk) | Popup::Templates(pk) = &mut popup {
        if picker_move(pk, ev.code, ctrl) {
            st.popup = Some(popup);
            return Vec::new();
        }
    }
    let mut keep = true;
    let mut fx = Vec::new();
    match &mut popup {
        Popup::Help { scroll } | Popup::Details { scroll, .. } | Popup::Diff { scroll, .. } => {
            if matches!(
                ev.code,
                KeyCode::Char('q') | KeyCode::Char('?') | KeyCode::Enter
            ) {
                keep = false;
            }
            scroll_by(scroll, ev.code);
        }
        Popup::Confirm(c) => match ev.code {
            KeyCode::Char('y') | KeyCode::Char('Y') | KeyCode::Enter => {
                keep = false;
                if matches!(c, Confirm::Quit { .. }) {
                    fx.push(Effect::Engine(Command::Shutdown));
                }
                st.quit = true;
            }
            KeyCode::Char('n') | KeyCode::Char('N') | KeyCode::Char('q') => keep = false,
            _ => {}
        },
        Popup::Palette(pk) if ev.code == KeyCode::Enter => {
            keep = false;
            if let Some(a) = super::palette::chosen(pk).and_then(Action::from_name) {
                st.popup = None;
                return action(st, a);
            }
        }
        Popup::Templates(pk) if ev.code == KeyCode::Enter => {
            keep = false;
            if let Some(name) = super::palette::chosen(pk).map(str::to_string) {
                fx = super::templates::apply(st, &name);
            }
        }
        Popup::Generate(g) => {
            if g.pristine && ev.code == KeyCode::Char('g') && pending_g {
                // `g` `g`: first row, not a batch.
                st.popup = None;
                return action(st, Action::Top);
            }
            match ev.code {
                KeyCode::Tab | KeyCode::Down => g.focus = (g.focus + 1) % 3,
                KeyCode::BackTab | KeyCode::Up => g.focus = (g.focus + 2) % 3,
                KeyCode::Enter => match super::shots::request(g) {
                    Ok(req) => {
                        keep = false;
                        fx.push(Effect::Render(req));
                    }
                    Err(e) => say(st, crate::model::Level::Warn, e),
                },
                _ => {
                    if let Some(i) = input(&mut popup) {
                        if i.key(&ev) == Edit::Changed {
                            after_input(&mut popup, &st.workbench);
                        }
                    }
                }
            }
        }
        Popup::Input { ask, input } if ev.code == KeyCode::Enter => {
            keep = false;
            match ask {
                Ask::RerollPrompt { take } => fx.push(Effect::Reroll {
                    take: take.clone(),
                    prompt: Some(input.text()),
                }),
            }
        }
        _ => {
            if let Some(i) = input(&mut popup) {
                if i.key(&ev) == Edit::Changed {
                    after_input(&mut popup, &st.workbench);
                }
            }
        }
    }
    if keep && st.popup.is_none() {
        st.popup = Some(popup);
    }
    fx
}

/// A word-level diff of two prompts (Chinese compared character by character), as lines.
pub fn word_diff(a: &str, b: &str) -> Vec<DiffLine> {
    let ta = tokens(a);
    let tb = tokens(b);
    let (n, m) = (ta.len(), tb.len());
    // Longest common subsequence table (prompts are short: at most a few hundred tokens).
    let mut l = vec![vec![0u16; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            l[i][j] = if ta[i] == tb[j] {
                l[i + 1][j + 1] + 1
            } else {
                l[i + 1][j].max(l[i][j + 1])
            };
        }
    }
    let mut runs: Vec<(char, String)> = Vec::new();
    let mut push = |tag: char, t: &str| match runs.last_mut() {
        Some((last, s)) if *last == tag => s.push_str(t),
        _ => runs.push((tag, t.to_string())),
    };
    let (mut i, mut j) = (0, 0);
    while i < n || j < m {
        if i < n && j < m && ta[i] == tb[j] {
            push(' ', &ta[i]);
            i += 1;
            j += 1;
        } else if i < n && (j == m || l[i + 1][j] >= l[i][j + 1]) {
            push('-', &ta[i]);
            i += 1;
        } else {
            push('+', &tb[j]);
            j += 1;
        }
    }
    vec![runs]
}

fn tokens(s: &str) -> Vec<String> {
    let s = crate::sanitize::line(s);
    let mut out: Vec<String> = Vec::new();
    let mut word = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() || c == '-' || c == '\'' {
            word.push(c);
        } else {
            if !word.is_empty() {
                out.push(std::mem::take(&mut word));
            }
            out.push(c.to_string());
        }
    }
    if !word.is_empty() {
        out.push(word);
    }
    out.truncate(2000);
    out
}

/// A centred rectangle of at most `w` x `h` cells inside `area`.
pub fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width.saturating_sub(2)).max(10.min(area.width));
    let h = h.min(area.height.saturating_sub(2)).max(3.min(area.height));
    Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    }
}

fn frame<'a>(title: &str, th: &Theme) -> Block<'a> {
    Block::default()
        .borders(Borders::ALL)
        .border_style(th.style("ui.border.focus"))
        .title(Span::styled(format!(" {title} "), th.style("ui.title")))
        .style(th.style("ui.background"))
}

pub fn draw(f: &mut Frame, area: Rect, st: &State, th: &Theme) {
    let Some(p) = &st.popup else { return };
    match p {
        Popup::Help { scroll } => {
            let r = centered(area, 70, 40);
            let mut lines = Vec::new();
            lines.push(Line::styled(
                format!("{} view", st.view.title()),
                th.style("ui.title"),
            ));
            for (a, keys) in st.keymap.help(st.view) {
                let keys: Vec<String> = keys.iter().map(ToString::to_string).collect();
                lines.push(Line::from(vec![
                    Span::styled(pad(&keys.join(" "), 14), th.style("ui.help.key")),
                    Span::raw(fit(a.describe(), usize::from(r.width.saturating_sub(17)))),
                ]));
            }
            if st.view == super::super::state::View::Script {
                for (k, d) in [
                    ("i Enter", "start typing (INSERT); Esc stops"),
                    ("h l w b 0 $", "move by character, word, line end"),
                    ("u U", "undo, redo"),
                    ("n N", "next, previous match"),
                ] {
                    lines.push(Line::from(vec![
                        Span::styled(pad(k, 14), th.style("ui.help.key")),
                        Span::raw(d),
                    ]));
                }
            }
            scrolled(f, r, lines, *scroll, "Help · Esc closes", th);
        }
        Popup::Palette(pk) => picker(f, area, pk, "Command palette · Enter runs", th),
        Popup::Templates(pk) => picker(f, area, pk, "Templates and styles · Enter applies", th),
        Popup::Generate(g) => {
            let r = centered(area, 64, 9);
            let block = frame(&format!("Generate takes of {}", g.shots.join(" ")), th);
            let inner = block.inner(r);
            f.render_widget(Clear, r);
            f.render_widget(block, r);
            let fields = [
                ("takes", &g.takes, "1-100 per shot (and per variation)"),
                ("vary", &g.vary, "lighting=dawn,night; pacing=slow,fast"),
                (
                    "style",
                    &g.style,
                    "a preset: noir, anime, 水墨… (empty: the shot's)",
                ),
            ];
            let mut lines = Vec::new();
            for (i, (label, input, hint)) in fields.iter().enumerate() {
                let w = inner.width.saturating_sub(9);
                let (shown, col) = input.visible(w);
                let focus = g.focus == i;
                lines.push(Line::from(vec![
                    Span::styled(
                        pad(label, 8),
                        th.style(if focus { "ui.help.key" } else { "ui.text.dim" }),
                    ),
                    Span::styled(
                        shown,
                        th.style(if focus { "ui.text.focus" } else { "ui.text" }),
                    ),
                ]));
                lines.push(Line::styled(
                    format!("        {}", fit(hint, usize::from(w))),
                    th.style("ui.text.dim"),
                ));
                if focus {
                    f.set_cursor_position((
                        inner.x + 8 + col,
                        inner.y + u16::try_from(i * 2).unwrap_or(0),
                    ));
                }
            }
            lines.push(Line::styled(
                "Tab next field · Enter queues · Esc cancels",
                th.style("ui.text.dim"),
            ));
            f.render_widget(Paragraph::new(lines), inner);
        }
        Popup::Confirm(c) => {
            let text = match c {
                Confirm::Quit { running } => format!(
                    "{running} job(s) are rendering. Quit anyway? Local renders go back in the queue and resume at the next start (or in `previs work`); remote ones keep running on their backend.  y quit · n stay"
                ),
                Confirm::DiscardScript => "The script has unsaved changes. Quit and lose them?  y quit · n stay (ctrl-s saves)".to_string(),
            };
            let r = centered(area, 60, 8);
            let lines: Vec<Line> = wrap(&text, usize::from(r.width.saturating_sub(2)))
                .into_iter()
                .map(Line::raw)
                .collect();
            f.render_widget(Clear, r);
            f.render_widget(Paragraph::new(lines).block(frame("Quit?", th)), r);
        }
        Popup::Input { ask, input } => {
            let r = centered(area, 76, 3);
            let title = match ask {
                Ask::RerollPrompt { take } => {
                    format!("Edit the prompt and re-roll {take} · Enter queues")
                }
            };
            let block = frame(&title, th);
            let inner = block.inner(r);
            let (shown, col) = input.visible(inner.width.saturating_sub(1));
            f.render_widget(Clear, r);
            f.render_widget(Paragraph::new(shown).block(block), r);
            f.set_cursor_position((inner.x + col, inner.y));
        }
        Popup::Details {
            title,
            lines,
            scroll,
        } => {
            let r = centered(area, 90, 40);
            let w = usize::from(r.width.saturating_sub(2));
            let lines: Vec<Line> = lines
                .iter()
                .flat_map(|l| wrap(l, w))
                .map(Line::raw)
                .collect();
            scrolled(f, r, lines, *scroll, title, th);
        }
        Popup::Diff {
            a,
            b,
            lines,
            scroll,
        } => {
            let r = centered(area, 90, 20);
            let mut out = vec![Line::from(vec![
                Span::styled(format!("- {a}  "), th.style("diff.removed")),
                Span::styled(format!("+ {b}"), th.style("diff.added")),
            ])];
            let w = usize::from(r.width.saturating_sub(2));
            for runs in lines {
                let mut spans = Vec::new();
                let mut used = 0;
                for (tag, text) in runs {
                    let style = match tag {
                        '+' => th.style("diff.added"),
                        '-' => th.style("diff.removed"),
                        _ => th.style("ui.text"),
                    };
                    // Marked like `git diff --word-diff`, so the diff reads without colour.
                    let marked = match tag {
                        '+' => format!("{{+{text}+}}"),
                        '-' => format!("[-{text}-]"),
                        _ => text.clone(),
                    };
                    for c in marked.chars() {
                        let cw = unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
                        if used + cw > w {
                            out.push(Line::from(std::mem::take(&mut spans)));
                            used = 0;
                        }
                        used += cw;
                        spans.push(Span::styled(c.to_string(), style));
                    }
                }
                out.push(Line::from(spans));
            }
            scrolled(f, r, out, *scroll, "Prompt diff · Esc closes", th);
        }
    }
}

fn scrolled(f: &mut Frame, r: Rect, lines: Vec<Line>, scroll: u16, title: &str, th: &Theme) {
    let max = u16::try_from(lines.len())
        .unwrap_or(u16::MAX)
        .saturating_sub(r.height.saturating_sub(2));
    f.render_widget(Clear, r);
    f.render_widget(
        Paragraph::new(lines)
            .block(frame(title, th))
            .scroll((scroll.min(max), 0)),
        r,
    );
}

fn picker(f: &mut Frame, area: Rect, pk: &Picker, title: &str, th: &Theme) {
    let r = centered(area, 70, 18);
    let block = frame(title, th);
    let inner = block.inner(r);
    f.render_widget(Clear, r);
    f.render_widget(block, r);
    let w = usize::from(inner.width);
    let (shown, col) = pk.input.visible(inner.width.saturating_sub(2));
    let mut lines = vec![Line::from(vec![
        Span::styled("> ", th.style("ui.help.key")),
        Span::styled(shown, th.style("ui.text.focus")),
    ])];
    f.set_cursor_position((inner.x + 2 + col, inner.y));
    let rows = usize::from(inner.height.saturating_sub(1));
    let first = super::scroll_start(pk.selected, rows, pk.matches.len());
    for (n, i) in pk.matches.iter().enumerate().skip(first).take(rows) {
        let (name, desc, kind) = &pk.entries[*i];
        let kind_w = 12.min(w / 4);
        let name_w = 20.min(w / 3);
        let mut line = Line::from(vec![
            Span::raw(pad(name, name_w)),
            Span::styled(
                pad(desc, w.saturating_sub(name_w + kind_w)),
                th.style("ui.text.dim"),
            ),
            Span::styled(pad(kind, kind_w), th.style("ui.help.key")),
        ]);
        if n == pk.selected {
            line = line.style(th.style("ui.selection"));
        }
        lines.push(line);
    }
    if pk.matches.is_empty() {
        lines.push(Line::styled("no match", th.style("ui.text.dim")));
    }
    f.render_widget(Paragraph::new(lines), inner);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_marks_changed_words_and_han_characters() {
        let d = word_diff("a man walks in rain", "a woman walks in snow");
        let added: String = d[0]
            .iter()
            .filter(|r| r.0 == '+')
            .map(|r| r.1.as_str())
            .collect();
        let removed: String = d[0]
            .iter()
            .filter(|r| r.0 == '-')
            .map(|r| r.1.as_str())
            .collect();
        assert_eq!(added, "womansnow");
        assert_eq!(removed, "manrain");
        let d = word_diff("雨夜小巷", "雪夜小巷");
        assert_eq!(d[0][0], ('-', "雨".to_string()));
        assert_eq!(d[0][1], ('+', "雪".to_string()));
    }
}
