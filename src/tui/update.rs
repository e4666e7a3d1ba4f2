//! `update(&mut State, Msg) -> Vec<Effect>`: the one function that changes the workstation's
//! state. Pure: no IO, no awaiting, no clock; what must happen outside comes back as effects.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::engine::{Command, Event};
use crate::model::Level;

use super::input::Edit;
use super::keymap::{Action, Key};
use super::msg::{Effect, Msg};
use super::state::{Confirm, Popup, State, Status, View};
use super::views;

/// Applies one message.
pub fn update(st: &mut State, msg: Msg) -> Vec<Effect> {
    match msg {
        Msg::Key(ev) => key(st, ev),
        Msg::Paste(text) => paste(st, &text),
        Msg::Resize { height, .. } => {
            st.height = height;
            Vec::new()
        }
        Msg::Engine(ev) => engine(st, ev),
        Msg::Loaded(snap) => views::load_snapshot(st, *snap).into_iter().collect(),
        Msg::Linted(marks) => {
            views::shots::linted(st, marks);
            Vec::new()
        }
        Msg::TakesLoaded(rows) => {
            views::history::set_rows(st, rows);
            Vec::new()
        }
        Msg::ShotSaved(shot) => {
            views::shots::shot_saved(st, *shot);
            Vec::new()
        }
        Msg::ScriptSaved { text, summary } => {
            st.script.saved = text;
            say(st, Level::Info, summary);
            vec![Effect::Reload]
        }
        Msg::Details { title, lines } => {
            st.popup = Some(Popup::Details {
                title,
                lines,
                scroll: 0,
            });
            Vec::new()
        }
        Msg::Circled { take, shot } => {
            views::history::circled(st, &take, &shot);
            say(st, Level::Info, format!("circled {take} for shot {shot}"));
            Vec::new()
        }
        Msg::Tick(now) => {
            st.now = now;
            views::queue::tick(st);
            Vec::new()
        }
        Msg::Status(level, text) => {
            say(st, level, text);
            Vec::new()
        }
        Msg::Queued { jobs, text } => {
            st.batch_open += jobs;
            say(st, Level::Info, text);
            vec![Effect::Engine(Command::Wake)]
        }
    }
}

pub fn say(st: &mut State, level: Level, text: impl Into<String>) {
    st.status = Some(Status {
        level,
        text: crate::sanitize::line(&text.into()),
    });
}

fn engine(st: &mut State, ev: Event) -> Vec<Effect> {
    match ev {
        Event::JobUpdated { job } => views::queue::job_updated(st, *job),
        Event::TakeReady { take } => {
            views::history::add_row(st, views::history::row_of_view(&take));
            Vec::new()
        }
        Event::Notice { level, text } => {
            if text.starts_with("queue paused") {
                st.queue.paused = true;
            } else if text.starts_with("queue resumed") {
                st.queue.paused = false;
            }
            say(st, level, text);
            Vec::new()
        }
        Event::Idle { paused } => {
            st.queue.paused = paused;
            Vec::new()
        }
    }
}

fn paste(st: &mut State, text: &str) -> Vec<Effect> {
    if let Some(input) = views::focused_input(st) {
        input.insert_str(text);
        views::after_input(st);
    } else if st.view == View::Script && st.popup.is_none() {
        st.script.editor.insert_str(text);
    }
    Vec::new()
}

fn key(st: &mut State, ev: KeyEvent) -> Vec<Effect> {
    if ev.kind == crossterm::event::KeyEventKind::Release {
        return Vec::new();
    }
    let pending_g = std::mem::take(&mut st.pending_g);
    if st.popup.is_some() {
        return views::popup::key(st, ev, pending_g);
    }
    if ev.code == KeyCode::Char('c') && ev.modifiers.contains(KeyModifiers::CONTROL) {
        return action(st, Action::Quit);
    }
    // Text inputs take every key but their own exits.
    if let Some(input) = views::focused_input(st) {
        match input.key(&ev) {
            Edit::Changed => {
                views::after_input(st);
                return Vec::new();
            }
            Edit::Moved => return Vec::new(),
            Edit::Ignored => return views::input_exit(st, ev),
        }
    }
    if st.view == View::Script && st.script.insert {
        return views::script::insert_key(st, ev);
    }
    let k = Key::from_event(&ev);
    if k == Key::char('g') {
        if pending_g {
            return action(st, Action::Top);
        }
        st.pending_g = true;
    }
    match st.keymap.resolve(st.view, k) {
        Some(a) => action(st, a),
        None if st.view == View::Script => views::script::normal_key(st, ev),
        None => Vec::new(),
    }
}

/// Runs an action by name or key.
pub fn action(st: &mut State, a: Action) -> Vec<Effect> {
    match a {
        Action::Quit => quit(st),
        Action::Help => {
            st.popup = Some(Popup::Help { scroll: 0 });
            Vec::new()
        }
        Action::Palette => {
            st.popup = Some(Popup::Palette(views::palette::picker(st)));
            Vec::new()
        }
        Action::NextView | Action::PrevView => {
            let n = View::ALL.len();
            let i = st.view.index();
            let next = if a == Action::NextView {
                (i + 1) % n
            } else {
                (i + n - 1) % n
            };
            switch(st, View::ALL[next])
        }
        Action::ViewScript => switch(st, View::Script),
        Action::ViewShots => switch(st, View::Shots),
        Action::ViewQueue => switch(st, View::Queue),
        Action::ViewHistory => switch(st, View::History),
        Action::ViewUsage => switch(st, View::Usage),
        Action::PauseQueue => {
            st.queue.paused = !st.queue.paused;
            vec![Effect::Engine(if st.queue.paused {
                Command::Pause
            } else {
                Command::Resume
            })]
        }
        Action::Refresh => vec![Effect::Reload],
        Action::Templates => views::templates::open(st),
        _ => match st.view {
            View::Shots => views::shots::action(st, a),
            View::Queue => views::queue::action(st, a),
            View::History => views::history::action(st, a),
            View::Script => views::script::action(st, a),
            View::Usage => views::usage::action(st, a),
        },
    }
}

fn switch(st: &mut State, view: View) -> Vec<Effect> {
    st.view = view;
    st.script.insert = false;
    Vec::new()
}

fn quit(st: &mut State) -> Vec<Effect> {
    let running = st
        .queue
        .jobs
        .iter()
        .filter(|j| matches!(j.state.as_str(), "submitting" | "remote" | "downloading"))
        .count();
    if running > 0 {
        st.popup = Some(Popup::Confirm(Confirm::Quit { running }));
    } else if st.script.dirty() {
        st.popup = Some(Popup::Confirm(Confirm::DiscardScript));
    } else {
        st.quit = true;
    }
    Vec::new()
}

/// A key event for tests and the palette.
pub fn key_event(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}
