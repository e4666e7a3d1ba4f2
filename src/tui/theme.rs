//! Themes: semantic roles (`queue.failed`, `ui.selection` …) mapped to styles, never colours in
//! widgets.
//!
//! Invariants: `themes/default.toml` is complete and embedded; a user theme sets only some roles
//! and is merged over it; a role looked up falls back along its dots (`queue.failed.reason` →
//! `queue.failed` → `queue` → `ui.text`); colours are degraded to what the terminal shows
//! (truecolor, 256, 16) and dropped entirely under `NO_COLOR`, where modifiers still mark state.

use std::collections::BTreeMap;
use std::path::Path;

use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;

const DEFAULT: &str = include_str!("../../themes/default.toml");
const LIGHT: &str = include_str!("../../themes/light.toml");
const HIGH_CONTRAST: &str = include_str!("../../themes/high-contrast.toml");

/// The built-in theme names.
pub const BUILTIN: [&str; 3] = ["default", "light", "high-contrast"];

/// What the terminal can show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Depth {
    /// `NO_COLOR`: modifiers only.
    None,
    Ansi16,
    Ansi256,
    TrueColor,
}

impl Depth {
    /// From the environment: `NO_COLOR` (any value) wins; `COLORTERM=truecolor|24bit`;
    /// `TERM=*256color*`; else 16 colours (`TERM=dumb`: none).
    pub fn detect(var: impl Fn(&str) -> Option<String>) -> Depth {
        if var("NO_COLOR").is_some_and(|v| !v.is_empty()) {
            return Depth::None;
        }
        let colorterm = var("COLORTERM").unwrap_or_default().to_ascii_lowercase();
        if colorterm.contains("truecolor") || colorterm.contains("24bit") {
            return Depth::TrueColor;
        }
        let term = var("TERM").unwrap_or_default().to_ascii_lowercase();
        if term == "dumb" {
            Depth::None
        } else if term.contains("256color") {
            Depth::Ansi256
        } else {
            Depth::Ansi16
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
struct RoleSpec {
    #[serde(default)]
    fg: Option<String>,
    #[serde(default)]
    bg: Option<String>,
    #[serde(default)]
    modifiers: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    roles: BTreeMap<String, RoleSpec>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Theme {
    pub name: String,
    roles: BTreeMap<String, Style>,
    depth: Depth,
}

fn parse_color(s: &str) -> Option<Color> {
    let s = s.trim();
    if let Some(hex) = s.strip_prefix('#') {
        if hex.len() == 6 && hex.chars().all(|c| c.is_ascii_hexdigit()) {
            let v = u32::from_str_radix(hex, 16).ok()?;
            return Some(Color::Rgb((v >> 16) as u8, (v >> 8) as u8, v as u8));
        }
        return None;
    }
    if let Ok(i) = s.parse::<u8>() {
        return Some(Color::Indexed(i));
    }
    s.parse::<Color>().ok()
}

fn parse_modifier(s: &str) -> Option<Modifier> {
    Some(match s.trim().to_ascii_lowercase().as_str() {
        "bold" => Modifier::BOLD,
        "dim" => Modifier::DIM,
        "italic" => Modifier::ITALIC,
        "underlined" | "underline" => Modifier::UNDERLINED,
        "reversed" | "reverse" => Modifier::REVERSED,
        "crossed_out" | "strikethrough" => Modifier::CROSSED_OUT,
        _ => return None,
    })
}

fn parse(text: &str, source: &str) -> Result<(Option<String>, BTreeMap<String, Style>), String> {
    let file: File = toml::from_str(text).map_err(|e| {
        let line = e
            .span()
            .map(|s| text[..s.start.min(text.len())].lines().count().max(1));
        format!(
            "{source}{}: {}; see themes/default.toml for the format",
            line.map(|l| format!(":{l}")).unwrap_or_default(),
            e.message().lines().next().unwrap_or("invalid TOML")
        )
    })?;
    let mut roles = BTreeMap::new();
    for (role, spec) in file.roles {
        let color = |what: &str, v: &Option<String>| -> Result<Option<Color>, String> {
            v.as_deref()
                .map(|c| {
                    parse_color(c).ok_or_else(|| {
                        format!(
                            "{source}: role {role:?}: {what} colour {c:?} is not \"#rrggbb\", a colour name or 0–255"
                        )
                    })
                })
                .transpose()
        };
        let mut style = Style::default();
        if let Some(c) = color("fg", &spec.fg)? {
            style = style.fg(c);
        }
        if let Some(c) = color("bg", &spec.bg)? {
            style = style.bg(c);
        }
        for m in &spec.modifiers {
            let m = parse_modifier(m).ok_or_else(|| {
                format!(
                    "{source}: role {role:?}: unknown modifier {m:?}; use bold, dim, italic, underlined or reversed"
                )
            })?;
            style = style.add_modifier(m);
        }
        roles.insert(role, style);
    }
    Ok((file.name, roles))
}

/// The nearest of the 16 ANSI colours (xterm's default palette).
fn nearest_16(r: u8, g: u8, b: u8) -> Color {
    const ANSI: [(Color, (u8, u8, u8)); 16] = [
        (Color::Black, (0, 0, 0)),
        (Color::Red, (205, 0, 0)),
        (Color::Green, (0, 205, 0)),
        (Color::Yellow, (205, 205, 0)),
        (Color::Blue, (0, 0, 238)),
        (Color::Magenta, (205, 0, 205)),
        (Color::Cyan, (0, 205, 205)),
        (Color::Gray, (229, 229, 229)),
        (Color::DarkGray, (127, 127, 127)),
        (Color::LightRed, (255, 0, 0)),
        (Color::LightGreen, (0, 255, 0)),
        (Color::LightYellow, (255, 255, 0)),
        (Color::LightBlue, (92, 92, 255)),
        (Color::LightMagenta, (255, 0, 255)),
        (Color::LightCyan, (0, 255, 255)),
        (Color::White, (255, 255, 255)),
    ];
    let d = |(x, y, z): (u8, u8, u8)| {
        let f = |a: u8, b: u8| (i32::from(a) - i32::from(b)).pow(2);
        f(x, r) + f(y, g) + f(z, b)
    };
    ANSI.iter()
        .min_by_key(|(_, rgb)| d(*rgb))
        .map_or(Color::Reset, |(c, _)| *c)
}

/// The nearest xterm-256 colour: the 6×6×6 cube or the grey ramp.
fn nearest_256(r: u8, g: u8, b: u8) -> Color {
    let level = |v: u8| -> u8 {
        let v = u16::from(v);
        if v < 48 {
            0
        } else if v < 115 {
            1
        } else {
            ((v - 35) / 40).min(5) as u8
        }
    };
    let value = |l: u8| if l == 0 { 0 } else { 55 + 40 * l };
    let (lr, lg, lb) = (level(r), level(g), level(b));
    let cube = (value(lr), value(lg), value(lb));
    let avg = (u16::from(r) + u16::from(g) + u16::from(b)) / 3;
    let grey_i = if avg > 238 {
        23
    } else {
        avg.saturating_sub(3) / 10
    } as u8;
    let grey = 8 + 10 * grey_i;
    let dist = |(x, y, z): (u8, u8, u8)| {
        let f = |a: u8, b: u8| (i32::from(a) - i32::from(b)).pow(2);
        f(x, r) + f(y, g) + f(z, b)
    };
    if dist((grey, grey, grey)) < dist(cube) {
        Color::Indexed(232 + grey_i.min(23))
    } else {
        Color::Indexed(16 + 36 * lr + 6 * lg + lb)
    }
}

fn degrade(c: Color, depth: Depth) -> Option<Color> {
    match (depth, c) {
        (Depth::None, _) => None,
        (Depth::TrueColor, c) => Some(c),
        (Depth::Ansi256, Color::Rgb(r, g, b)) => Some(nearest_256(r, g, b)),
        (Depth::Ansi16, Color::Rgb(r, g, b)) => Some(nearest_16(r, g, b)),
        (Depth::Ansi16, Color::Indexed(i)) if i >= 16 => Some(Color::Gray),
        (_, c) => Some(c),
    }
}

impl Theme {
    /// A built-in theme (`default`, `light`, `high-contrast`) or a TOML file, merged over the
    /// default, for a terminal of `depth`.
    pub fn load(name_or_path: &str, depth: Depth) -> Result<Theme, String> {
        let (_, mut roles) = parse(DEFAULT, "themes/default.toml")?;
        let (name, text, source) = match name_or_path {
            "default" | "" => ("default".to_string(), None, String::new()),
            "light" => (
                "light".to_string(),
                Some(LIGHT.to_string()),
                "themes/light.toml".into(),
            ),
            "high-contrast" => (
                "high-contrast".to_string(),
                Some(HIGH_CONTRAST.to_string()),
                "themes/high-contrast.toml".into(),
            ),
            path => {
                let p = Path::new(path);
                let bytes = std::fs::read(p).map_err(|e| {
                    format!(
                        "theme {path}: {e}; give a built-in theme ({}) or the path of a theme file",
                        BUILTIN.join(", ")
                    )
                })?;
                let text = String::from_utf8(bytes)
                    .map_err(|_| format!("theme {path} is not valid UTF-8; save it as UTF-8"))?;
                (
                    p.file_stem()
                        .map_or_else(|| path.to_string(), |s| s.to_string_lossy().into_owned()),
                    Some(text),
                    path.to_string(),
                )
            }
        };
        let mut name = name;
        if let Some(text) = text {
            let (declared, over) = parse(&text, &source)?;
            if let Some(d) = declared {
                name = d;
            }
            roles.extend(over);
        }
        Ok(Theme { name, roles, depth })
    }

    /// The style of `role`, falling back along its dots, then to `ui.text`; colours degraded to
    /// the terminal's depth.
    pub fn style(&self, role: &str) -> Style {
        let mut key = role;
        let found = loop {
            if let Some(s) = self.roles.get(key) {
                break *s;
            }
            match key.rfind('.') {
                Some(i) => key = &key[..i],
                None => break self.roles.get("ui.text").copied().unwrap_or_default(),
            }
        };
        Style {
            fg: found.fg.and_then(|c| degrade(c, self.depth)),
            bg: found.bg.and_then(|c| degrade(c, self.depth)),
            ..found
        }
    }

    pub fn depth(&self) -> Depth {
        self.depth
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_fall_back_along_their_dots() {
        let t = Theme::load("default", Depth::TrueColor).unwrap();
        assert_eq!(t.style("queue.failed.reason"), t.style("queue.failed"));
        assert_eq!(t.style("no.such.role"), t.style("ui.text"));
        assert!(
            t.style("queue.failed")
                .add_modifier
                .contains(Modifier::BOLD)
        );
        assert_eq!(
            t.style("queue.failed").fg,
            Some(Color::Rgb(0xff, 0x5f, 0x5f))
        );
    }

    #[test]
    fn builtin_themes_load_and_differ() {
        let d = Theme::load("default", Depth::TrueColor).unwrap();
        let l = Theme::load("light", Depth::TrueColor).unwrap();
        let h = Theme::load("high-contrast", Depth::TrueColor).unwrap();
        assert_eq!(
            (l.name.as_str(), h.name.as_str()),
            ("light", "high-contrast")
        );
        assert_ne!(d.style("ui.text"), l.style("ui.text"));
        assert_ne!(l.style("ui.selection"), h.style("ui.selection"));
        // A role the light theme leaves out comes from the default.
        assert_eq!(l.style("shot.omitted"), d.style("shot.omitted"));
    }

    #[test]
    fn colours_degrade_to_the_terminal_and_vanish_under_no_color() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| (*v).to_string())
            }
        };
        assert_eq!(
            Depth::detect(env(&[("NO_COLOR", "1"), ("COLORTERM", "truecolor")])),
            Depth::None
        );
        assert_eq!(
            Depth::detect(env(&[("COLORTERM", "24bit")])),
            Depth::TrueColor
        );
        assert_eq!(
            Depth::detect(env(&[("TERM", "xterm-256color")])),
            Depth::Ansi256
        );
        assert_eq!(Depth::detect(env(&[("TERM", "screen")])), Depth::Ansi16);
        assert_eq!(Depth::detect(env(&[("TERM", "dumb")])), Depth::None);

        let t256 = Theme::load("default", Depth::Ansi256).unwrap();
        assert!(matches!(
            t256.style("queue.failed").fg,
            Some(Color::Indexed(_))
        ));
        assert_eq!(nearest_256(255, 95, 95), Color::Indexed(203));
        assert_eq!(nearest_256(0x30, 0x30, 0x30), Color::Indexed(236));
        let t16 = Theme::load("default", Depth::Ansi16).unwrap();
        assert_eq!(t16.style("queue.failed").fg, Some(Color::LightRed));
        let none = Theme::load("high-contrast", Depth::None).unwrap();
        let failed = none.style("queue.failed");
        assert_eq!((failed.fg, failed.bg), (None, None));
        assert!(
            failed.add_modifier.contains(Modifier::UNDERLINED),
            "state still shows"
        );
    }

    #[test]
    fn user_themes_merge_over_the_default_with_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("mine.toml");
        std::fs::write(&p, "[roles]\n\"queue.failed\" = { fg = \"magenta\" }\n").unwrap();
        let t = Theme::load(p.to_str().unwrap(), Depth::TrueColor).unwrap();
        assert_eq!(t.name, "mine");
        assert_eq!(t.style("queue.failed").fg, Some(Color::Magenta));
        let d = Theme::load("default", Depth::TrueColor).unwrap();
        assert_eq!(t.style("queue.done"), d.style("queue.done"));
        for (text, needle) in [
            ("[roles]\n\"a\" = { fg = \"#12\" }\n", "is not \"#rrggbb\""),
            (
                "[roles]\n\"a\" = { modifiers = [\"blink\"] }\n",
                "unknown modifier",
            ),
            ("[roles]\n\"a\" = { colour = \"red\" }\n", "mine.toml:2"),
        ] {
            std::fs::write(&p, text).unwrap();
            let e = Theme::load(p.to_str().unwrap(), Depth::TrueColor).unwrap_err();
            assert!(e.contains(needle), "{text}: {e}");
        }
        let e = Theme::load("/nonexistent/solarized.toml", Depth::TrueColor).unwrap_err();
        assert!(e.contains("high-contrast"), "{e}");
    }
}
