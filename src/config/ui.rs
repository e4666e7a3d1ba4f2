//! `[ui]`, `[player]` and `[notify]`: how the workstation looks, plays takes and tells the user
//! that something finished. Every field has a default, so an empty config.toml is a full one.

use std::collections::BTreeMap;

use serde::Deserialize;

/// `[ui]`: the theme, the mouse, and key overrides (`[ui.keys]`, action name → key list).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UiConfig {
    /// A built-in theme name (`default`, `light`, `high-contrast`) or a path to a TOML theme.
    pub theme: String,
    /// Mouse capture: the wheel scrolls lists (off by default: terminal selection keeps working
    /// over SSH).
    pub mouse: bool,
    /// Action name → keys, e.g. `circle = ["c", "ctrl-o"]`; replaces that action's default keys.
    pub keys: BTreeMap<String, Vec<String>>,
}

impl Default for UiConfig {
    fn default() -> Self {
        Self {
            theme: "default".to_string(),
            mouse: false,
            keys: BTreeMap::new(),
        }
    }
}

/// `[player]`: the program that plays and compares takes.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PlayerConfig {
    /// The player and its leading arguments, run without a shell.
    pub command: Vec<String>,
    /// `auto`, `window`, `tct`, `kitty` or `sixel`: where video goes (auto: a window when a
    /// display exists, otherwise the terminal).
    pub output: String,
}

impl Default for PlayerConfig {
    fn default() -> Self {
        Self {
            command: vec!["mpv".to_string()],
            output: "auto".to_string(),
        }
    }
}

/// `[notify]`: what tells the user that a batch finished or a job failed.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NotifyConfig {
    /// Desktop notifications where a session bus and a display exist (not over SSH).
    pub desktop: bool,
    /// Terminal notifications (OSC 9 / OSC 777) that travel over SSH.
    pub terminal: bool,
    /// Which terminal notification to send: `auto`, `9`, `777` or `both` (a terminal that
    /// understands both shows two).
    #[serde(deserialize_with = "osc_choice")]
    pub osc: String,
    /// Ring the terminal bell with them.
    pub bell: bool,
    /// Tell when a batch of renders is finished.
    pub on_batch_done: bool,
    /// Tell when a job fails.
    pub on_failure: bool,
}

impl Default for NotifyConfig {
    fn default() -> Self {
        Self {
            desktop: true,
            terminal: true,
            osc: "auto".to_string(),
            bell: true,
            on_batch_done: true,
            on_failure: true,
        }
    }
}

/// The values of `[notify] osc`: `auto` chooses from TERM (OSC 9 for kitty, iTerm2, WezTerm and
/// Ghostty; OSC 777 for foot, urxvt and VTE; both when unknown).
const OSC_CHOICES: [&str; 4] = ["auto", "9", "777", "both"];

/// Rejects an unknown `[notify] osc` when config.toml is read, so the error names the line.
fn osc_choice<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let value = String::deserialize(d)?;
    if OSC_CHOICES.contains(&value.as_str()) {
        Ok(value)
    } else {
        Err(serde::de::Error::custom(format!(
            "osc = {value:?} is not one of auto, 9, 777, both"
        )))
    }
}
