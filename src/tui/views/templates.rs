//! The template picker (`t`): shot templates and style presets in one fuzzy list; Enter applies
//! the chosen one to the selected shot (a template fills empty fields, a preset sets the style).

use crate::model::Level;

use super::super::msg::Effect;
use super::super::state::{Picker, Popup, State, View};
use super::super::update::say;

pub fn open(st: &mut State) -> Vec<Effect> {
    if st.view != View::Shots || super::shots::selected(st).is_none() {
        say(
            st,
            Level::Warn,
            "select a shot in Shots (2) first; t picks its template",
        );
        return Vec::new();
    }
    let lang = st
        .project
        .settings
        .language
        .unwrap_or(crate::model::Lang::En);
    let mut entries: Vec<(String, String, String)> = st
        .workbench
        .templates
        .all()
        .iter()
        .map(|t| {
            (
                t.name.clone(),
                t.description.get(lang).to_string(),
                "template".to_string(),
            )
        })
        .collect();
    entries.extend(st.workbench.styles.all().iter().map(|s| {
        (
            s.name.clone(),
            s.description.get(lang).to_string(),
            "style".to_string(),
        )
    }));
    let mut p = Picker {
        entries,
        ..Picker::default()
    };
    super::palette::refilter(&mut p);
    st.popup = Some(Popup::Templates(p));
    Vec::new()
}

/// Applies the chosen entry to the selected shot.
pub fn apply(st: &mut State, name: &str) -> Vec<Effect> {
    let Some(row) = super::shots::selected(st) else {
        return Vec::new();
    };
    vec![Effect::ApplyTemplate {
        shot: row.shot.code.clone(),
        name: name.to_string(),
    }]
}
