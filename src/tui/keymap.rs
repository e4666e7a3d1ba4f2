//! Keys to actions, in the conventions of k9s, lazygit and helix, overridable in config.toml
//! (`[ui.keys]`, action name → keys).
//!
//! Invariant: every [`Action`] has a stable kebab-case name (the command palette and the config
//! use it) and a one-line description (Help shows it); a key resolves in the current view first,
//! then globally.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::state::View;

macro_rules! actions {
    ($($variant:ident $name:literal $desc:literal;)*) => {
        /// Everything a user can do by name.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Action { $($variant,)* }

        impl Action {
            pub const ALL: &'static [Action] = &[$(Action::$variant,)*];

            pub fn name(self) -> &'static str {
                match self { $(Action::$variant => $name,)* }
            }

            pub fn describe(self) -> &'static str {
                match self { $(Action::$variant => $desc,)* }
            }

            pub fn from_name(name: &str) -> Option<Action> {
                match name { $($name => Some(Action::$variant),)* _ => None }
            }
        }
    };
}

actions! {
    Quit "quit" "quit previs (asks first while jobs run)";
    Help "help" "every key of this view";
    Palette "palette" "run any action by name";
    Filter "filter" "filter the list (fuzzy search in History)";
    Back "back" "close the popup, clear the filter, leave the field";
    Up "up" "previous row";
    Down "down" "next row";
    Top "top" "first row";
    Bottom "bottom" "last row";
    PageUp "page-up" "a page up";
    PageDown "page-down" "a page down";
    NextView "next-view" "next view";
    PrevView "prev-view" "previous view";
    ViewScript "view-script" "the Script view";
    ViewShots "view-shots" "the Shots view";
    ViewQueue "view-queue" "the Queue view";
    ViewHistory "view-history" "the History view";
    ViewUsage "view-usage" "the Usage view";
    Templates "templates" "pick a template or style preset for the shot";
    Generate "generate" "queue takes of the shot (takes, variations, style)";
    Reroll "reroll" "re-roll the take with a new seed";
    EditReroll "edit-reroll" "edit the take's prompt and re-roll it";
    Circle "circle" "circle the take: the chosen take of its shot";
    Mark "mark" "mark the take for compare";
    Compare "compare" "compare the marked takes side by side in the player";
    CompareGrid "compare-grid" "compare the marked takes in a 2x2 grid";
    Play "play" "play the take";
    Cancel "cancel" "cancel the job";
    PauseQueue "pause-queue" "pause or resume the queue";
    MoveUp "move-up" "move the job earlier in the queue";
    MoveDown "move-down" "move the job later in the queue";
    Copy "copy" "copy the prompt to the clipboard (OSC 52, works over SSH)";
    CopyPath "copy-path" "copy the take's file path to the clipboard";
    EditExternal "edit-external" "edit the field (or the prompt) in $EDITOR";
    Edit "edit" "edit the selected field in place";
    Accept "accept" "accept the camera suggestion for the field";
    AcceptAll "accept-all" "accept every camera suggestion of the shot";
    Save "save" "save the script and re-import it (takes of unchanged shots stay)";
    Diff "diff" "prompt diff between the two marked takes (or the take and its parent)";
    Details "details" "the full recipe of the take";
    Retry "retry" "send a failed or unconfirmed job again";
    Search "search" "search the script";
    SearchNext "search-next" "next match";
    Refresh "refresh" "reload everything from the store";
    ClearFilters "clear-filters" "clear the filters of the history";
}

/// One key with its modifiers, as written in config.toml: `c`, `G`, `ctrl-s`, `enter`, `f5`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key {
    pub code: KeyCode,
    pub ctrl: bool,
    pub alt: bool,
}

impl Key {
    pub const fn char(c: char) -> Self {
        Self {
            code: KeyCode::Char(c),
            ctrl: false,
            alt: false,
        }
    }

    pub const fn code(code: KeyCode) -> Self {
        Self {
            code,
            ctrl: false,
            alt: false,
        }
    }

    pub const fn ctrl(c: char) -> Self {
        Self {
            code: KeyCode::Char(c),
            ctrl: true,
            alt: false,
        }
    }

    /// The key of a terminal event: shift is folded into the character (`G`, `J`), a shifted
    /// Tab is BackTab.
    pub fn from_event(ev: &KeyEvent) -> Self {
        let code = match ev.code {
            KeyCode::Char(c) if ev.modifiers.contains(KeyModifiers::SHIFT) => {
                KeyCode::Char(c.to_uppercase().next().unwrap_or(c))
            }
            KeyCode::Tab if ev.modifiers.contains(KeyModifiers::SHIFT) => KeyCode::BackTab,
            other => other,
        };
        Self {
            code,
            ctrl: ev.modifiers.contains(KeyModifiers::CONTROL),
            alt: ev.modifiers.contains(KeyModifiers::ALT),
        }
    }

    pub fn parse(text: &str) -> Result<Self, String> {
        let mut rest = text.trim();
        let (mut ctrl, mut alt) = (false, false);
        loop {
            let lower = rest.to_ascii_lowercase();
            if rest.len() > 1 && (lower.starts_with("ctrl-") || lower.starts_with("ctrl+")) {
                ctrl = true;
                rest = &rest[5..];
            } else if rest.len() > 1 && (lower.starts_with("alt-") || lower.starts_with("alt+")) {
                alt = true;
                rest = &rest[4..];
            } else {
                break;
            }
        }
        let mut chars = rest.chars();
        let code = match (chars.next(), chars.next()) {
            (Some(c), None) => KeyCode::Char(if ctrl { c.to_ascii_lowercase() } else { c }),
            _ => match rest.to_ascii_lowercase().as_str() {
                "enter" | "return" => KeyCode::Enter,
                "esc" | "escape" => KeyCode::Esc,
                "tab" => KeyCode::Tab,
                "backtab" | "shift-tab" => KeyCode::BackTab,
                "space" => KeyCode::Char(' '),
                "up" => KeyCode::Up,
                "down" => KeyCode::Down,
                "left" => KeyCode::Left,
                "right" => KeyCode::Right,
                "home" => KeyCode::Home,
                "end" => KeyCode::End,
                "pageup" | "pgup" => KeyCode::PageUp,
                "pagedown" | "pgdn" => KeyCode::PageDown,
                "backspace" => KeyCode::Backspace,
                "delete" | "del" => KeyCode::Delete,
                f if f.starts_with('f')
                    && f[1..].parse::<u8>().is_ok_and(|n| (1..=12).contains(&n)) =>
                {
                    KeyCode::F(f[1..].parse().unwrap_or(1))
                }
                _ => {
                    return Err(format!(
                        "unknown key {text:?}; write a character (c, G, ?), ctrl-X, alt-X, or one of enter, esc, tab, space, up, down, left, right, home, end, pageup, pagedown, backspace, delete, f1…f12"
                    ));
                }
            },
        };
        Ok(Self { code, ctrl, alt })
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.ctrl {
            f.write_str("ctrl-")?;
        }
        if self.alt {
            f.write_str("alt-")?;
        }
        match self.code {
            KeyCode::Char(' ') => f.write_str("Space"),
            KeyCode::Char(c) => write!(f, "{c}"),
            KeyCode::Enter => f.write_str("Enter"),
            KeyCode::Esc => f.write_str("Esc"),
            KeyCode::Tab => f.write_str("Tab"),
            KeyCode::BackTab => f.write_str("S-Tab"),
            KeyCode::Up => f.write_str("↑"),
            KeyCode::Down => f.write_str("↓"),
            KeyCode::Left => f.write_str("←"),
            KeyCode::Right => f.write_str("→"),
            KeyCode::Home => f.write_str("Home"),
            KeyCode::End => f.write_str("End"),
            KeyCode::PageUp => f.write_str("PgUp"),
            KeyCode::PageDown => f.write_str("PgDn"),
            KeyCode::Backspace => f.write_str("Bksp"),
            KeyCode::Delete => f.write_str("Del"),
            KeyCode::F(n) => write!(f, "F{n}"),
            _ => f.write_str("?"),
        }
    }
}

/// Where a binding applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    Global,
    In(View),
}

/// The bindings in force.
#[derive(Debug, Clone)]
pub struct Keymap {
    bindings: HashMap<(Scope, Key), Action>,
}

const GLOBAL: &[(Key, Action)] = &[
    (Key::char('q'), Action::Quit),
    (Key::ctrl('c'), Action::Quit),
    (Key::char('?'), Action::Help),
    (Key::char(':'), Action::Palette),
    (Key::char('/'), Action::Filter),
    (Key::code(KeyCode::Esc), Action::Back),
    (Key::char('k'), Action::Up),
    (Key::code(KeyCode::Up), Action::Up),
    (Key::char('j'), Action::Down),
    (Key::code(KeyCode::Down), Action::Down),
    (Key::char('G'), Action::Bottom),
    (Key::code(KeyCode::Home), Action::Top),
    (Key::code(KeyCode::End), Action::Bottom),
    (Key::code(KeyCode::PageUp), Action::PageUp),
    (Key::ctrl('b'), Action::PageUp),
    (Key::code(KeyCode::PageDown), Action::PageDown),
    (Key::ctrl('f'), Action::PageDown),
    (Key::code(KeyCode::Tab), Action::NextView),
    (Key::code(KeyCode::BackTab), Action::PrevView),
    (Key::char('1'), Action::ViewScript),
    (Key::char('2'), Action::ViewShots),
    (Key::char('3'), Action::ViewQueue),
    (Key::char('4'), Action::ViewHistory),
    (Key::char('5'), Action::ViewUsage),
    (Key::char('P'), Action::PauseQueue),
    (Key::ctrl('r'), Action::Refresh),
];

const SHOTS: &[(Key, Action)] = &[
    (Key::char('g'), Action::Generate),
    (Key::char('t'), Action::Templates),
    (Key::code(KeyCode::Enter), Action::Edit),
    (Key::char('i'), Action::Edit),
    (Key::char('e'), Action::EditExternal),
    (Key::char('a'), Action::Accept),
    (Key::char('A'), Action::AcceptAll),
    (Key::char('y'), Action::Copy),
    (Key::char('p'), Action::Play),
];

const QUEUE: &[(Key, Action)] = &[
    (Key::char('x'), Action::Cancel),
    (Key::char('J'), Action::MoveDown),
    (Key::char('K'), Action::MoveUp),
    (Key::char('R'), Action::Retry),
    (Key::char('p'), Action::Play),
    (Key::char('y'), Action::Copy),
];

const HISTORY: &[(Key, Action)] = &[
    (Key::char('r'), Action::Reroll),
    (Key::char('E'), Action::EditReroll),
    (Key::char('e'), Action::EditReroll),
    (Key::char('c'), Action::Circle),
    (Key::char(' '), Action::Mark),
    (Key::char('v'), Action::Compare),
    (Key::char('V'), Action::CompareGrid),
    (Key::char('p'), Action::Play),
    (Key::char('d'), Action::Diff),
    (Key::code(KeyCode::Enter), Action::Details),
    (Key::char('y'), Action::Copy),
    (Key::char('Y'), Action::CopyPath),
    (Key::char('g'), Action::Generate),
    (Key::char('C'), Action::ClearFilters),
];

const SCRIPT: &[(Key, Action)] = &[
    (Key::ctrl('s'), Action::Save),
    (Key::ctrl('n'), Action::SearchNext),
];

impl Default for Keymap {
    fn default() -> Self {
        let mut bindings = HashMap::new();
        for (k, a) in GLOBAL {
            bindings.insert((Scope::Global, *k), *a);
        }
        for (view, table) in [
            (View::Shots, SHOTS),
            (View::Queue, QUEUE),
            (View::History, HISTORY),
            (View::Script, SCRIPT),
        ] {
            for (k, a) in table {
                bindings.insert((Scope::In(view), *k), *a);
            }
        }
        Self { bindings }
    }
}

impl Keymap {
    /// The defaults with `overrides` (action name → keys) applied: an overridden action loses its
    /// default keys everywhere and gets the new ones in every scope it had (globally when it had
    /// none). Errors name the action or key and the fix.
    pub fn with_overrides(overrides: &BTreeMap<String, Vec<String>>) -> Result<Self, String> {
        let mut map = Self::default();
        for (name, keys) in overrides {
            let action = Action::from_name(name).ok_or_else(|| {
                format!(
                    "[ui.keys]: unknown action {name:?}; the palette (:) lists the names, e.g. circle, reroll, generate"
                )
            })?;
            let mut scopes: Vec<Scope> = map
                .bindings
                .iter()
                .filter(|(_, a)| **a == action)
                .map(|((s, _), _)| *s)
                .collect();
            scopes.sort();
            scopes.dedup();
            if scopes.is_empty() {
                scopes.push(Scope::Global);
            }
            map.bindings.retain(|_, a| *a != action);
            for text in keys {
                let key = Key::parse(text).map_err(|e| format!("[ui.keys] {name}: {e}"))?;
                for s in &scopes {
                    map.bindings.insert((*s, key), action);
                }
            }
        }
        Ok(map)
    }

    /// The action of `key` in `view`: the view's own binding first, then the global one.
    pub fn resolve(&self, view: View, key: Key) -> Option<Action> {
        self.bindings
            .get(&(Scope::In(view), key))
            .or_else(|| self.bindings.get(&(Scope::Global, key)))
            .copied()
    }

    /// The keys bound to `action` in `view` (its own, then global), for help and hints.
    pub fn keys_for(&self, view: View, action: Action) -> Vec<Key> {
        let mut own: Vec<(Scope, String, Key)> = Vec::new();
        for ((scope, key), a) in &self.bindings {
            if *a == action
                && (*scope == Scope::In(view)
                    || (*scope == Scope::Global && self.resolve(view, *key) == Some(action)))
            {
                // The view's keys first; letters before named keys, for stable listings.
                let named = !matches!(key.code, KeyCode::Char(_)) || key.ctrl || key.alt;
                own.push((*scope, format!("{}{key}", u8::from(named)), *key));
            }
        }
        own.sort_by(|a, b| (a.0 == Scope::Global, &a.1).cmp(&(b.0 == Scope::Global, &b.1)));
        own.into_iter().map(|(_, _, k)| k).collect()
    }

    /// Every action reachable in `view` with its keys, view-specific first (for Help).
    pub fn help(&self, view: View) -> Vec<(Action, Vec<Key>)> {
        let mut seen = Vec::new();
        let mut out = Vec::new();
        for scope in [Scope::In(view), Scope::Global] {
            let mut actions: Vec<Action> = self
                .bindings
                .iter()
                .filter(|((s, _), _)| *s == scope)
                .map(|(_, a)| *a)
                .collect();
            actions.sort();
            actions.dedup();
            for a in actions {
                if !seen.contains(&a) {
                    let keys = self.keys_for(view, a);
                    if !keys.is_empty() {
                        seen.push(a);
                        out.push((a, keys));
                    }
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(code: KeyCode, mods: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, mods)
    }

    #[test]
    fn keys_resolve_in_the_view_before_the_global_table() {
        let m = Keymap::default();
        let table = [
            (View::History, Key::char('c'), Some(Action::Circle)),
            (View::Shots, Key::char('c'), None),
            (View::Queue, Key::char('x'), Some(Action::Cancel)),
            (View::Queue, Key::char('J'), Some(Action::MoveDown)),
            (View::Queue, Key::char('j'), Some(Action::Down)),
            (View::Shots, Key::char('g'), Some(Action::Generate)),
            (View::Usage, Key::char('G'), Some(Action::Bottom)),
            (View::Script, Key::ctrl('s'), Some(Action::Save)),
            (View::History, Key::char(' '), Some(Action::Mark)),
            (View::History, Key::char('v'), Some(Action::Compare)),
            (View::Shots, Key::char('?'), Some(Action::Help)),
            (View::Shots, Key::char(':'), Some(Action::Palette)),
            (View::Queue, Key::char('P'), Some(Action::PauseQueue)),
            (View::Shots, Key::char('3'), Some(Action::ViewQueue)),
        ];
        for (view, key, want) in table {
            assert_eq!(m.resolve(view, key), want, "{view:?} {key}");
        }
    }

    #[test]
    fn shift_folds_into_the_character_and_tab() {
        assert_eq!(
            Key::from_event(&ev(KeyCode::Char('g'), KeyModifiers::SHIFT)),
            Key::char('G')
        );
        assert_eq!(
            Key::from_event(&ev(KeyCode::Char('G'), KeyModifiers::SHIFT)),
            Key::char('G')
        );
        assert_eq!(
            Key::from_event(&ev(KeyCode::Tab, KeyModifiers::SHIFT)),
            Key::code(KeyCode::BackTab)
        );
        assert_eq!(
            Key::from_event(&ev(KeyCode::Char('s'), KeyModifiers::CONTROL)),
            Key::ctrl('s')
        );
    }

    #[test]
    fn keys_parse_and_print() {
        for (text, key) in [
            ("c", Key::char('c')),
            ("G", Key::char('G')),
            ("ctrl-s", Key::ctrl('s')),
            ("Ctrl+S", Key::ctrl('s')),
            ("space", Key::char(' ')),
            ("enter", Key::code(KeyCode::Enter)),
            ("f5", Key::code(KeyCode::F(5))),
            ("-", Key::char('-')),
        ] {
            assert_eq!(Key::parse(text), Ok(key), "{text}");
        }
        assert!(Key::parse("hyper-x").unwrap_err().contains("unknown key"));
        assert_eq!(Key::ctrl('s').to_string(), "ctrl-s");
        assert_eq!(Key::char(' ').to_string(), "Space");
    }

    #[test]
    fn overrides_replace_an_actions_keys_in_its_scopes() {
        let mut o = BTreeMap::new();
        o.insert(
            "circle".to_string(),
            vec!["o".to_string(), "ctrl-o".to_string()],
        );
        o.insert("quit".to_string(), vec!["ctrl-q".to_string()]);
        let m = Keymap::with_overrides(&o).expect("valid overrides");
        assert_eq!(m.resolve(View::History, Key::char('c')), None);
        assert_eq!(
            m.resolve(View::History, Key::char('o')),
            Some(Action::Circle)
        );
        assert_eq!(
            m.resolve(View::History, Key::ctrl('o')),
            Some(Action::Circle)
        );
        assert_eq!(m.resolve(View::Shots, Key::char('o')), None);
        assert_eq!(m.resolve(View::Queue, Key::char('q')), None);
        assert_eq!(m.resolve(View::Queue, Key::ctrl('q')), Some(Action::Quit));
        let mut bad = BTreeMap::new();
        bad.insert("explode".to_string(), vec!["x".to_string()]);
        assert!(
            Keymap::with_overrides(&bad)
                .unwrap_err()
                .contains("unknown action \"explode\"")
        );
        let mut bad = BTreeMap::new();
        bad.insert("circle".to_string(), vec!["meta-x".to_string()]);
        assert!(
            Keymap::with_overrides(&bad)
                .unwrap_err()
                .contains("[ui.keys] circle")
        );
    }

    #[test]
    fn every_action_has_a_unique_name_and_help_lists_view_keys_first() {
        let mut names: Vec<&str> = Action::ALL.iter().map(|a| a.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Action::ALL.len());
        for a in Action::ALL {
            assert_eq!(Action::from_name(a.name()), Some(*a));
        }
        let help = Keymap::default().help(View::Queue);
        let cancel = help.iter().position(|(a, _)| *a == Action::Cancel);
        let quit = help.iter().position(|(a, _)| *a == Action::Quit);
        assert!(
            cancel.is_some() && quit.is_some() && cancel < quit,
            "{help:?}"
        );
        // A global key the view overrides is not listed under the global action.
        let shots = Keymap::default().help(View::Shots);
        let edit = shots.iter().position(|(a, _)| *a == Action::Edit);
        let quit = shots.iter().position(|(a, _)| *a == Action::Quit);
        assert!(edit < quit);
    }
}
