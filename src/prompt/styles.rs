//! Style presets: prompt text, a negative prompt and parameters under one name (cinematic,
//! noir, ink-wash 水墨, cyberpunk 赛博朋克, period drama 古装 …).
//!
//! A preset is applied to a shot's spec before compilation: its prompt text becomes the style
//! field in the shot's language, its negative prompt is added to the shot's, and its parameters
//! go into the recipe (so they are recorded and part of the cache key). Built-in presets are
//! embedded TOML (`data/styles.toml`); a user file of the same shape adds or replaces presets.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::templates::{Bilingual, valid_name};
use crate::model::{Lang, ShotSpec};

const BUILTIN: &str = include_str!("data/styles.toml");

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Style {
    pub name: String,
    /// Other names, e.g. `水墨` for `ink-wash`.
    #[serde(default)]
    pub aliases: Vec<String>,
    pub description: Bilingual,
    pub prompt: Bilingual,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub negative: Option<Bilingual>,
    #[serde(default)]
    pub params: BTreeMap<String, serde_json::Value>,
    /// `built-in` or the file it came from.
    #[serde(default, skip_deserializing)]
    pub source: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    style: Vec<Style>,
}

impl Style {
    fn answers_to(&self, name: &str) -> bool {
        let name = name.trim();
        self.name.eq_ignore_ascii_case(name)
            || self.aliases.iter().any(|a| a.eq_ignore_ascii_case(name))
    }

    /// Puts the preset into `spec` for `lang`: the style field becomes the preset's text and its
    /// negative prompt is added to the shot's (without repeating it).
    pub fn apply(&self, spec: &mut ShotSpec, lang: Lang) {
        spec.style = self.prompt.get(lang).trim().to_string();
        if let Some(neg) = &self.negative {
            let add = neg.get(lang).trim();
            let have = spec.negative.trim();
            if !add.is_empty() && !have.contains(add) {
                spec.negative = if have.is_empty() {
                    add.to_string()
                } else {
                    let sep = if lang == Lang::Zh { "，" } else { ", " };
                    format!("{have}{sep}{add}")
                };
            }
        }
    }
}

/// The built-in presets and the user's.
#[derive(Debug, Clone)]
pub struct Styles {
    list: Vec<Style>,
}

fn parse(text: &str, source: &str) -> Result<Vec<Style>, String> {
    let file: File = super::userfile::parse_toml(text, source, "style")?;
    let mut out: Vec<Style> = Vec::new();
    for mut s in file.style {
        if !valid_name(&s.name) {
            return Err(format!(
                "{source}: style name {:?} must be 1 to 40 letters, digits, '-' or '_'; rename it",
                crate::sanitize::line(&s.name)
            ));
        }
        if s.prompt.en.trim().is_empty() || s.prompt.zh.trim().is_empty() {
            return Err(format!(
                "{source}: style {}: prompt needs both en and zh text",
                s.name
            ));
        }
        s.source = source.to_string();
        out.push(s);
    }
    Ok(out)
}

impl Styles {
    pub fn builtin() -> Self {
        // The embedded file is checked by a test; a parse failure here is a build defect.
        let list = parse(BUILTIN, "built-in").unwrap_or_default();
        Self { list }
    }

    /// Adds the user's presets from `path` (a missing file adds nothing); a preset with the name
    /// of a built-in one replaces it.
    pub fn with_file(mut self, path: &Path) -> Result<Self, String> {
        if let Some(text) = super::userfile::read(path)? {
            let new = parse(&text, &path.display().to_string())?;
            super::userfile::merge(&mut self.list, new, |s| &s.name);
        }
        Ok(self)
    }

    pub fn all(&self) -> &[Style] {
        &self.list
    }

    /// The preset called `name` or one of its aliases, if any.
    pub fn find(&self, name: &str) -> Option<&Style> {
        self.list.iter().find(|s| s.answers_to(name))
    }

    /// [`Styles::find`], with an error that lists the names there are.
    pub fn get(&self, name: &str) -> Result<&Style, String> {
        self.find(name).ok_or_else(|| {
            format!(
                "unknown style {:?}; there are: {} (`previs styles` describes them)",
                crate::sanitize::line(name),
                self.list
                    .iter()
                    .map(|s| s.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_presets_parse_and_answer_to_their_chinese_names() {
        let all = parse(BUILTIN, "built-in").expect("built-in styles parse");
        assert!(all.len() >= 7);
        let s = Styles::builtin();
        for (name, canonical) in [
            ("cinematic", "cinematic"),
            ("Documentary", "documentary"),
            ("noir", "noir"),
            ("anime", "anime"),
            ("水墨", "ink-wash"),
            ("赛博朋克", "cyberpunk"),
            ("古装", "period-drama"),
        ] {
            assert_eq!(s.get(name).unwrap().name, canonical, "{name}");
        }
        assert!(s.get("vaporwave").unwrap_err().contains("ink-wash"));
    }

    #[test]
    fn applying_sets_the_style_and_adds_the_negative_once() {
        let s = Styles::builtin();
        let noir = s.get("noir").unwrap();
        let mut spec = ShotSpec {
            style: "something else".into(),
            negative: "blurry".into(),
            ..ShotSpec::default()
        };
        noir.apply(&mut spec, Lang::En);
        assert!(spec.style.starts_with("film noir, black and white"));
        assert_eq!(
            spec.negative,
            "blurry, color, bright pastel tones, flat lighting"
        );
        noir.apply(&mut spec, Lang::En);
        assert_eq!(
            spec.negative,
            "blurry, color, bright pastel tones, flat lighting"
        );
        assert_eq!(noir.params["grade"], "mono");

        let mut zh = ShotSpec::default();
        s.get("水墨").unwrap().apply(&mut zh, Lang::Zh);
        assert!(zh.style.starts_with("中国水墨画风格"));
        assert!(zh.negative.starts_with("照片级写实"));
    }

    #[test]
    fn user_presets_extend_and_replace() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("styles.toml");
        std::fs::write(
            &path,
            "[[style]]\nname = \"noir\"\ndescription = { en = \"ours\", zh = \"我们的\" }\n\
             prompt = { en = \"our noir\", zh = \"我们的黑色电影\" }\n\n\
             [[style]]\nname = \"claymation\"\naliases = [\"黏土\"]\n\
             description = { en = \"clay\", zh = \"黏土\" }\nprompt = { en = \"claymation\", zh = \"黏土动画\" }\n\
             params = { grade = \"warm\", steps = 30 }\n",
        )
        .unwrap();
        let s = Styles::builtin().with_file(&path).unwrap();
        assert_eq!(s.get("noir").unwrap().prompt.en, "our noir");
        assert_eq!(s.get("黏土").unwrap().params["steps"], 30);
        std::fs::write(
            &path,
            "[[style]]\nname = \"x\"\ndescription = { en = \"a\", zh = \"b\" }\nprompt = { en = \"a\", zh = \"\" }\n",
        )
        .unwrap();
        let e = Styles::builtin().with_file(&path).unwrap_err();
        assert!(e.contains("both en and zh"), "{e}");
        std::fs::write(&path, "[[style]\n").unwrap();
        let e = Styles::builtin().with_file(&path).unwrap_err();
        assert!(e.contains("styles.toml:1"), "{e}");
    }
}
