//! Script: the project's Fountain screenplay (or CSV shot list) in an editor with soft wrap,
//! undo and search. Helix-style modes: keys are commands until `i` (or Enter) starts typing;
//! Esc stops. Ctrl-S saves the file and re-imports it, keeping takes of unchanged shots.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Frame;
use ratatui::layout::Rect;

use ratatui_textarea::{CursorMove, TextArea, WrapMode};

use crate::model::Level;

use super::super::input::LineInput;
use super::super::keymap::Action;
use super::super::msg::Effect;
use super::super::state::{ScriptState, ScriptStyles, State};
use super::super::theme::Theme;
use super::super::update::say;

/// Puts `text` (sanitised: no control characters but tabs) in a fresh editor.
pub fn load(s: &mut ScriptState, path: std::path::PathBuf, text: &str) {
    let clean = crate::sanitize::sanitize(text, true);
    let mut editor = TextArea::new(clean.lines().map(str::to_string).collect());
    editor.set_wrap_mode(WrapMode::WordOrGlyph);
    editor.set_max_histories(200);
    style(&mut editor, &s.styles);
    s.editor = editor;
    s.path = Some(path);
    s.saved = clean;
    s.insert = false;
}

/// Gives the editor the theme's styles (at load, and when the theme is set).
pub fn style(ed: &mut TextArea<'static>, styles: &ScriptStyles) {
    ed.set_style(styles.text);
    ed.set_cursor_line_style(ratatui::style::Style::default());
    ed.set_cursor_style(styles.cursor);
    ed.set_search_style(styles.search);
    ed.set_placeholder_text(
        "Write a Fountain screenplay here: INT. PLACE - DAY, action, dialogue… (i types, Esc stops, ctrl-s saves)",
    );
    ed.set_placeholder_style(styles.dim);
}

pub fn action(st: &mut State, a: Action) -> Vec<Effect> {
    let ed = &mut st.script.editor;
    match a {
        Action::Up => ed.move_cursor(CursorMove::Up),
        Action::Down => ed.move_cursor(CursorMove::Down),
        Action::Top => ed.move_cursor(CursorMove::Top),
        Action::Bottom => ed.move_cursor(CursorMove::Bottom),
        Action::PageUp => ed.scroll(ratatui_textarea::Scrolling::PageUp),
        Action::PageDown => ed.scroll(ratatui_textarea::Scrolling::PageDown),
        Action::Edit => st.script.insert = true,
        Action::Filter | Action::Search => st.script.search = Some(LineInput::default()),
        Action::SearchNext if !ed.search_forward(false) => say(st, Level::Info, "no match"),
        Action::Save => return save(st),
        _ => {}
    }
    Vec::new()
}

pub fn save(st: &mut State) -> Vec<Effect> {
    if !st.script.dirty() {
        say(st, Level::Info, "the script has no unsaved changes");
        return Vec::new();
    }
    st.script.insert = false;
    vec![Effect::SaveScript {
        text: st.script.text(),
    }]
}

/// Keys in command mode that the keymap does not bind: movement and editing commands.
pub fn normal_key(st: &mut State, ev: KeyEvent) -> Vec<Effect> {
    let ed = &mut st.script.editor;
    match ev.code {
        KeyCode::Char('i') | KeyCode::Enter => st.script.insert = true,
        KeyCode::Char('a') => {
            ed.move_cursor(CursorMove::Forward);
            st.script.insert = true;
        }
        KeyCode::Char('o') => {
            ed.move_cursor(CursorMove::End);
            ed.insert_newline();
            st.script.insert = true;
        }
        KeyCode::Char('h') | KeyCode::Left => ed.move_cursor(CursorMove::Back),
        KeyCode::Char('l') | KeyCode::Right => ed.move_cursor(CursorMove::Forward),
        KeyCode::Char('w') => ed.move_cursor(CursorMove::WordForward),
        KeyCode::Char('b') => ed.move_cursor(CursorMove::WordBack),
        KeyCode::Char('0') => ed.move_cursor(CursorMove::Head),
        KeyCode::Char('$') => ed.move_cursor(CursorMove::End),
        KeyCode::Char('u') => {
            ed.undo();
        }
        KeyCode::Char('U') => {
            ed.redo();
        }
        KeyCode::Char('r') if ev.modifiers.contains(KeyModifiers::CONTROL) => {
            ed.redo();
        }
        KeyCode::Char('n') if !ed.search_forward(false) => say(st, Level::Info, "no match"),
        KeyCode::Char('N') => {
            ed.search_back(false);
        }
        KeyCode::Char('x') => {
            ed.delete_next_char();
        }
        _ => {}
    }
    Vec::new()
}

/// Insert mode: everything types except Esc (back to commands) and Ctrl-S (save).
pub fn insert_key(st: &mut State, ev: KeyEvent) -> Vec<Effect> {
    let ctrl = ev.modifiers.contains(KeyModifiers::CONTROL);
    match ev.code {
        KeyCode::Esc => st.script.insert = false,
        KeyCode::Char('s') if ctrl => return save(st),
        KeyCode::Char('z') if ctrl => {
            st.script.editor.undo();
        }
        KeyCode::Char('y') if ctrl => {
            st.script.editor.redo();
        }
        _ => {
            st.script.editor.input(ev);
        }
    }
    Vec::new()
}

pub fn search_changed(st: &mut State) {
    if let Some(input) = &st.script.search {
        let text = input.text();
        let pattern = regex_escape(&text);
        if st.script.editor.set_search_pattern(pattern).is_ok() && !text.is_empty() {
            st.script.editor.search_forward(true);
        }
    }
}

/// The search is for literal text: regex metacharacters are escaped.
fn regex_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if "\\.+*?()|[]{}^$#&-~".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

pub fn search_exit(st: &mut State, ev: KeyEvent) -> Vec<Effect> {
    match ev.code {
        KeyCode::Enter => st.script.search = None,
        KeyCode::Esc => {
            st.script.search = None;
            let _ = st.script.editor.set_search_pattern("");
        }
        _ => {}
    }
    Vec::new()
}

pub fn draw(f: &mut Frame, area: Rect, st: &State, th: &Theme) {
    let s = &st.script;
    let name = s
        .path
        .as_ref()
        .and_then(|p| p.file_name())
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_else(|| "new script".into());
    let mode = if s.insert { "INSERT" } else { "NORMAL" };
    let ratatui_textarea::DataCursor(row, col) = s.editor.cursor();
    let title = format!(
        " {}{} · {mode} · {}:{} ",
        name,
        if s.dirty() { " [+]" } else { "" },
        row + 1,
        col + 1
    );
    let block = super::panel(&title, s.insert, area.width, th);
    let inner = block.inner(area);
    f.render_widget(block, area);
    let (editor_area, search_area) = if s.search.is_some() && inner.height > 2 {
        (
            Rect {
                height: inner.height - 1,
                ..inner
            },
            Some(Rect {
                y: inner.bottom() - 1,
                height: 1,
                ..inner
            }),
        )
    } else {
        (inner, None)
    };
    // The editor itself is drawn: it records its scroll position while drawing.
    f.render_widget(&s.editor, editor_area);
    if let (Some(area), Some(input)) = (search_area, s.search.as_ref()) {
        super::filter_line(f, area, input, th);
    }
}
