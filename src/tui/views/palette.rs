//! The command palette (`:`) and the fuzzy picker it shares with the template popup: every
//! action by name, filtered as the user types.

use nucleo_matcher::pattern::{CaseMatching, Normalization, Pattern};
use nucleo_matcher::{Config, Matcher, Utf32Str};

use super::super::keymap::Action;
use super::super::state::{Picker, State};

/// A picker over every action, with its keys in the current view.
pub fn picker(st: &State) -> Picker {
    let entries = Action::ALL
        .iter()
        .map(|a| {
            let keys: Vec<String> = st
                .keymap
                .keys_for(st.view, *a)
                .iter()
                .map(ToString::to_string)
                .collect();
            (
                a.name().to_string(),
                a.describe().to_string(),
                keys.join(" "),
            )
        })
        .collect();
    let mut p = Picker {
        entries,
        ..Picker::default()
    };
    refilter(&mut p);
    p
}

/// Recomputes the matches of a picker: all entries in order when the input is empty, else
/// best fuzzy match (over name and description) first.
pub fn refilter(p: &mut Picker) {
    let q = p.input.text();
    if q.trim().is_empty() {
        p.matches = (0..p.entries.len()).collect();
    } else {
        let pattern = Pattern::parse(&q, CaseMatching::Smart, Normalization::Smart);
        let mut matcher = Matcher::new(Config::DEFAULT);
        let mut buf = Vec::new();
        let mut scored: Vec<(u32, usize)> = p
            .entries
            .iter()
            .enumerate()
            .filter_map(|(i, (name, desc, _))| {
                let by_name = pattern.score(Utf32Str::new(name, &mut buf), &mut matcher);
                let by_desc = pattern.score(Utf32Str::new(desc, &mut buf), &mut matcher);
                // The name counts double: `circle` should beat a description mentioning it.
                let s = by_name.map(|s| s * 2).max(by_desc)?;
                Some((s, i))
            })
            .collect();
        scored.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        p.matches = scored.into_iter().map(|(_, i)| i).collect();
    }
    p.selected = p.selected.min(p.matches.len().saturating_sub(1));
}

/// The chosen entry's name.
pub fn chosen(p: &Picker) -> Option<&str> {
    p.matches
        .get(p.selected)
        .and_then(|i| p.entries.get(*i))
        .map(|e| e.0.as_str())
}
