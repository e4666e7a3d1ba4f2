//! Camera language suggested from a shot's scene heading, action and mood words, in Chinese or
//! English.
//!
//! Rules are data: `data/camera_rules.toml` is built in, and a user file of the same shape adds
//! rules or replaces built-in ones by id. Invariants: suggestions are deterministic, at most one
//! per field, only for fields the shot leaves empty, and every proposed value is a term of the
//! vocabulary, written in the shot's language.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::vocab::{self, Kind};
use crate::model::{Lang, ShotSpec};

const BUILTIN: &str = include_str!("data/camera_rules.toml");

/// Shortest English word that takes an inflection when rules look for it ("runs", "chased").
const WORD_STEM: usize = 3;

/// Facts a heading can state; rules test them with `heading` and `not_heading`.
const FACTS: [&str; 6] = ["int", "ext", "night", "day", "dusk", "dawn"];

/// One proposed value for one empty field of a shot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Suggestion {
    /// `camera.size`, `camera.angle`, `camera.movement`, `camera.lens` or `lighting`.
    pub field: String,
    /// The value in the shot's language (`slow push in`, `缓慢推进`).
    pub value: String,
    /// Why, in one line of the same language.
    pub reason: String,
    /// Id of the rule that proposed it.
    pub rule: String,
}

/// The camera rules in force: built-in ones, then those of user files.
#[derive(Debug, Clone, Default)]
pub struct Rules {
    rules: Vec<Rule>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    #[serde(default)]
    rule: Vec<Rule>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Rule {
    id: String,
    priority: i32,
    #[serde(default)]
    words: Words,
    #[serde(default = "one")]
    min_hits: usize,
    #[serde(default)]
    heading: Vec<String>,
    #[serde(default)]
    not_heading: Vec<String>,
    propose: Vec<Proposal>,
    reason: Text,
}

fn one() -> usize {
    1
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Words {
    #[serde(default)]
    en: Vec<String>,
    #[serde(default)]
    zh: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Proposal {
    field: String,
    value: String,
    #[serde(default)]
    manner: Option<Text>,
}

/// A phrase in both languages; one may be missing, and the other stands in.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Text {
    #[serde(default)]
    en: String,
    #[serde(default)]
    zh: String,
}

impl Text {
    fn get(&self, lang: Lang) -> &str {
        let (first, other) = match lang {
            Lang::Zh => (&self.zh, &self.en),
            Lang::En => (&self.en, &self.zh),
        };
        if first.trim().is_empty() {
            other
        } else {
            first
        }
    }
}

impl Rule {
    fn words(&self) -> impl Iterator<Item = &String> {
        self.words.en.iter().chain(&self.words.zh)
    }

    /// Whether the rule applies to normalized `text` under a heading with `facts`.
    fn applies(&self, text: &str, facts: &[&str]) -> bool {
        let has = |f: &String| facts.contains(&f.as_str());
        if !self.heading.iter().all(has) || self.not_heading.iter().any(has) {
            return false;
        }
        let mut words: Vec<&String> = self.words().collect();
        if words.is_empty() {
            return true;
        }
        words.sort();
        words.dedup();
        let hits = words
            .into_iter()
            .filter(|w| vocab::contains(text, w, WORD_STEM))
            .count();
        hits >= self.min_hits
    }

    fn check(&mut self) -> Result<(), String> {
        if self.id.trim().is_empty() {
            return Err("a rule has an empty id. Fix: give it a unique id".into());
        }
        let at = format!("rule '{}'", self.id);
        for w in self.words.en.iter_mut().chain(self.words.zh.iter_mut()) {
            *w = vocab::normalize(w);
        }
        if self.words().any(String::is_empty) {
            return Err(format!("{at}: an empty word. Fix: remove it from words"));
        }
        if self.words().next().is_none() && self.heading.is_empty() {
            return Err(format!(
                "{at}: no condition. Fix: add words = {{ en = [...], zh = [...] }} or heading = [...]"
            ));
        }
        let count = self.words().count();
        if self.min_hits == 0 || (count > 0 && self.min_hits > count) {
            return Err(format!(
                "{at}: min_hits = {} but the rule has {count} words. Fix: use 1 to {count}",
                self.min_hits
            ));
        }
        for f in self.heading.iter().chain(&self.not_heading) {
            if !FACTS.contains(&f.as_str()) {
                return Err(format!(
                    "{at}: unknown heading fact '{f}'. Fix: use one of {}",
                    FACTS.join(", ")
                ));
            }
        }
        if self.propose.is_empty() {
            return Err(format!(
                "{at}: nothing proposed. Fix: add propose = [{{ field = \"camera.movement\", value = \"push_in\" }}]"
            ));
        }
        for p in &self.propose {
            let Some(kind) = Kind::from_field(&p.field) else {
                let fields: Vec<&str> = Kind::ALL.iter().map(|k| k.field()).collect();
                return Err(format!(
                    "{at}: unknown field '{}'. Fix: use one of {}",
                    p.field,
                    fields.join(", ")
                ));
            };
            if vocab::get(kind, &p.value).is_none() {
                let ids: Vec<&str> = vocab::terms(kind).map(|t| t.id).collect();
                return Err(format!(
                    "{at}: '{}' is not a {} term. Fix: use one of {}",
                    p.value,
                    p.field,
                    ids.join(", ")
                ));
            }
        }
        if self.reason.en.trim().is_empty() && self.reason.zh.trim().is_empty() {
            return Err(format!(
                "{at}: no reason. Fix: add reason = {{ en = \"...\", zh = \"...\" }}"
            ));
        }
        Ok(())
    }
}

/// Reads and checks a rules file; `source` names it in errors.
fn parse(text: &str, source: &str) -> Result<Vec<Rule>, String> {
    let file: RuleFile = toml::from_str(text).map_err(|e| {
        format!(
            "{source}: {}\nFix: each [[rule]] has id, priority, propose = [{{ field, value }}], \
             reason = {{ en, zh }} and words = {{ en = [...], zh = [...] }} or heading = [...], \
             as in the built-in camera_rules.toml",
            e.to_string().trim_end()
        )
    })?;
    let mut rules = file.rule;
    for i in 0..rules.len() {
        rules[i].check().map_err(|e| format!("{source}: {e}"))?;
        if rules[..i].iter().any(|r| r.id == rules[i].id) {
            return Err(format!(
                "{source}: rule '{}' appears twice. Fix: rename or remove one",
                rules[i].id
            ));
        }
    }
    Ok(rules)
}

impl Rules {
    /// The built-in rules.
    pub fn builtin() -> Rules {
        match parse(BUILTIN, "built-in camera_rules.toml") {
            Ok(rules) => Rules { rules },
            Err(e) => {
                tracing::error!("{e}");
                Rules::default()
            }
        }
    }

    /// These rules with those of a user file added; a user rule with the id of an existing
    /// one takes its place (and its order).
    pub fn with_file(mut self, path: &Path) -> Result<Rules, String> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| {
            format!(
                "{shown}: cannot read camera rules: {e}. Fix: check the path, or stop pointing \
                 at this file"
            )
        })?;
        for rule in parse(&text, &shown)? {
            match self.rules.iter_mut().find(|r| r.id == rule.id) {
                Some(slot) => *slot = rule,
                None => self.rules.push(rule),
            }
        }
        Ok(self)
    }

    pub fn len(&self) -> usize {
        self.rules.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Rule ids in order of precedence among equal priorities.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.rules.iter().map(|r| r.id.as_str())
    }

    /// Suggestions for the empty camera and lighting fields of `spec`, in field order.
    pub fn suggest(&self, heading: &str, spec: &ShotSpec, lang: Lang) -> Vec<Suggestion> {
        let text = vocab::normalize(
            &[
                heading,
                &spec.subject,
                &spec.action,
                &spec.environment,
                &spec.style,
            ]
            .join(" | "),
        );
        let facts = heading_facts(heading);
        let mut best: [Option<(i32, &Rule, &Proposal)>; 5] = [None; 5];
        for rule in &self.rules {
            if !rule.applies(&text, &facts) {
                continue;
            }
            for p in &rule.propose {
                let Some(kind) = Kind::from_field(&p.field) else {
                    continue;
                };
                let slot = &mut best[kind_index(kind)];
                let better = slot.is_none_or(|(prio, _, _)| rule.priority > prio);
                if field_is_empty(spec, kind) && better {
                    *slot = Some((rule.priority, rule, p));
                }
            }
        }
        Kind::ALL
            .into_iter()
            .zip(best)
            .filter_map(|(kind, slot)| {
                let (_, rule, p) = slot?;
                let term = vocab::get(kind, &p.value)?;
                let name = term.name(lang);
                let value = match p.manner.as_ref().map(|m| m.get(lang).trim()) {
                    Some(m) if !m.is_empty() && lang == Lang::Zh => format!("{m}{name}"),
                    Some(m) if !m.is_empty() => format!("{m} {name}"),
                    _ => name.to_string(),
                };
                Some(Suggestion {
                    field: kind.field().to_string(),
                    value,
                    reason: rule.reason.get(lang).trim().to_string(),
                    rule: rule.id.clone(),
                })
            })
            .collect()
    }
}

fn kind_index(kind: Kind) -> usize {
    Kind::ALL.iter().position(|k| *k == kind).unwrap_or(0)
}

fn field_is_empty(spec: &ShotSpec, kind: Kind) -> bool {
    let value = match kind {
        Kind::Size => &spec.camera.size,
        Kind::Angle => &spec.camera.angle,
        Kind::Movement => &spec.camera.movement,
        Kind::Lens => &spec.camera.lens,
        Kind::Lighting => &spec.lighting,
    };
    value.trim().is_empty()
}

/// What a scene heading states: interior or exterior (or both) and one time of day.
fn heading_facts(heading: &str) -> Vec<&'static str> {
    const PLACE: [(&str, &[&str]); 2] = [
        ("int", &["int", "interior", "i/e", "内景", "室内"]),
        ("ext", &["ext", "exterior", "est", "i/e", "外景", "室外"]),
    ];
    // Order matters: "日落" is dusk before it is day.
    const TIME: [(&str, &[&str]); 4] = [
        (
            "dusk",
            &[
                "dusk", "sunset", "evening", "twilight", "黄昏", "傍晚", "日落", "薄暮",
            ],
        ),
        (
            "dawn",
            &[
                "dawn", "sunrise", "daybreak", "黎明", "清晨", "日出", "破晓",
            ],
        ),
        ("night", &["night", "midnight", "夜", "晚上"]),
        (
            "day",
            &[
                "day",
                "morning",
                "afternoon",
                "noon",
                "日",
                "白天",
                "早上",
                "上午",
                "下午",
                "中午",
            ],
        ),
    ];
    let norm = vocab::normalize(heading);
    let said = |words: &[&str]| words.iter().any(|w| vocab::contains(&norm, w, 0));
    let mut facts: Vec<&'static str> = PLACE
        .iter()
        .filter(|(_, words)| said(words))
        .map(|(fact, _)| *fact)
        .collect();
    facts.extend(TIME.iter().find(|(_, words)| said(words)).map(|(f, _)| *f));
    facts
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::CameraSpec;
    use crate::prompt::vocab::messy_text;
    use proptest::prelude::*;

    fn action(text: &str) -> ShotSpec {
        ShotSpec {
            action: text.into(),
            ..ShotSpec::default()
        }
    }

    fn value<'a>(s: &'a [Suggestion], field: &str) -> Option<&'a str> {
        s.iter()
            .find(|x| x.field == field)
            .map(|x| x.value.as_str())
    }

    fn write(dir: &tempfile::TempDir, text: &str) -> std::path::PathBuf {
        let path = dir.path().join("rules.toml");
        std::fs::write(&path, text).expect("write rules");
        path
    }

    #[test]
    fn builtin_rules_load() {
        let rules = Rules::builtin();
        assert!(parse(BUILTIN, "built-in").is_ok());
        assert_eq!(rules.len(), 23);
        assert!(rules.ids().any(|id| id == "horror"));
    }

    #[test]
    fn horror_beat_in_both_languages() {
        let rules = Rules::builtin();
        let cases = [
            (
                "INT. BASEMENT - NIGHT",
                "She turns slowly toward the dark doorway",
                Lang::En,
                ["slow push in", "low angle", "practical light"],
            ),
            (
                "内景 地下室 夜",
                "她慢慢转身，望向漆黑的门口。",
                Lang::Zh,
                ["缓慢推进", "仰拍", "实景光源"],
            ),
        ];
        for (heading, text, lang, [movement, angle, lighting]) in cases {
            let s = rules.suggest(heading, &action(text), lang);
            assert_eq!(value(&s, "camera.movement"), Some(movement), "{s:?}");
            assert_eq!(value(&s, "camera.angle"), Some(angle), "{s:?}");
            assert_eq!(value(&s, "lighting"), Some(lighting), "{s:?}");
            assert!(
                s.iter()
                    .all(|x| !x.reason.is_empty() && !x.reason.contains('\n'))
            );
            assert_eq!(Lang::detect(&s[0].reason), lang);
        }
    }

    #[test]
    fn mood_tables_in_both_languages() {
        #[derive(Deserialize)]
        struct Examples {
            suggest: Vec<(String, String, Lang, String, String)>,
            suggest_more: Vec<(String, String, Lang, String, String)>,
        }
        let cases: Examples =
            toml::from_str(include_str!("data/examples.toml")).expect("examples.toml");
        assert!(cases.suggest.len() >= 14);
        let rules = Rules::builtin();
        for (heading, text, lang, field, want) in
            cases.suggest.into_iter().chain(cases.suggest_more)
        {
            let s = rules.suggest(&heading, &action(&text), lang);
            assert_eq!(value(&s, &field), Some(want.as_str()), "{text}: {s:?}");
        }
    }

    #[test]
    fn one_suggestion_per_field_and_deterministic() {
        let rules = Rules::builtin();
        let spec = action("They fight and then he runs, chased through the dark doorway, slowly");
        let a = rules.suggest("EXT. ALLEY - NIGHT", &spec, Lang::En);
        let b = rules.suggest("EXT. ALLEY - NIGHT", &spec, Lang::En);
        assert_eq!(a, b);
        for kind in Kind::ALL {
            assert!(a.iter().filter(|s| s.field == kind.field()).count() <= 1);
        }
        // The chase outranks the fight: one movement, tracking, not handheld as well.
        assert_eq!(value(&a, "camera.movement"), Some("tracking shot"));
    }

    #[test]
    fn only_empty_fields_get_suggestions() {
        let rules = Rules::builtin();
        let mut spec = action("She turns slowly toward the dark doorway");
        spec.camera = CameraSpec {
            movement: "static".into(),
            angle: " ".into(),
            ..CameraSpec::default()
        };
        spec.lighting = "candlelight".into();
        let s = rules.suggest("INT. BASEMENT - NIGHT", &spec, Lang::En);
        assert_eq!(value(&s, "camera.movement"), None);
        assert_eq!(value(&s, "lighting"), None);
        assert_eq!(value(&s, "camera.angle"), Some("low angle"));
    }

    #[test]
    fn heading_alone_lights_the_scene() {
        let rules = Rules::builtin();
        let cases = [
            ("INT. KITCHEN - NIGHT", "practical light"),
            ("EXT. FIELD - NIGHT", "moonlight"),
            ("EXT. CITY STREET - NIGHT", "streetlight"),
            ("EXT. FIELD - DUSK", "dusk"),
            ("EXT. FIELD - DAY", "daylight"),
            ("INT. OFFICE - DAY", "window light"),
        ];
        for (heading, want) in cases {
            let s = rules.suggest(heading, &action("Mara stands by the sink."), Lang::En);
            assert_eq!(value(&s, "lighting"), Some(want), "{heading}");
        }
        assert_eq!(heading_facts("内景 地下室 夜"), ["int", "night"]);
        assert_eq!(heading_facts("外景 海边 日落"), ["ext", "dusk"]);
        assert_eq!(heading_facts("INT./EXT. CAR - DAY"), ["int", "ext", "day"]);
        assert!(
            rules
                .suggest("", &action("Mara stands by the sink."), Lang::En)
                .is_empty()
        );
    }

    #[test]
    fn user_rules_add_and_replace() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = write(
            &dir,
            r#"
[[rule]]
id = "horror"
priority = 90
words.en = ["doorway"]
propose = [{ field = "camera.movement", value = "dolly_zoom" }]
reason = { en = "Vertigo at the door." }

[[rule]]
id = "rain"
priority = 5
words.zh = ["雨"]
propose = [{ field = "camera.lens", value = "telephoto" }]
reason.zh = "雨丝在长焦下更密。"
"#,
        );
        let builtin = Rules::builtin().len();
        let rules = Rules::builtin().with_file(&path).expect("valid user rules");
        assert_eq!(rules.len(), builtin + 1);
        let s = rules.suggest("", &action("He stands in the doorway"), Lang::En);
        assert_eq!(value(&s, "camera.movement"), Some("dolly zoom"));
        let s = rules.suggest("", &action("雨中的车站"), Lang::Zh);
        assert_eq!(value(&s, "camera.lens"), Some("长焦镜头"));
        // A reason in one language stands in for the other.
        let s = rules.suggest("", &action("in the doorway"), Lang::Zh);
        assert_eq!(s[0].reason, "Vertigo at the door.");
    }

    #[test]
    fn bad_user_files_name_the_path_and_the_fix() {
        let dir = tempfile::tempdir().expect("tempdir");
        let good = "id = \"x\"\npriority = 1\nwords.en = [\"rain\"]\nreason.en = \"r\"\n";
        let cases = [
            ("[[rule]]\nid = \"x\"\npriority = \"high\"\n", "priority"),
            ("[[rule]]\nid = \"x\"\npriority = 1\nwordz = []\n", "wordz"),
            (
                &*format!(
                    "[[rule]]\n{good}propose = [{{ field = \"camera.zoom\", value = \"zoom\" }}]\n"
                ),
                "camera.zoom",
            ),
            (
                &*format!(
                    "[[rule]]\n{good}propose = [{{ field = \"camera.movement\", value = \"moonwalk\" }}]\n"
                ),
                "moonwalk",
            ),
            (
                &*format!("[[rule]]\n{good}propose = []\n"),
                "nothing proposed",
            ),
            (
                "[[rule]]\nid = \"x\"\npriority = 1\nreason.en = \"r\"\npropose = [{ field = \"lighting\", value = \"neon\" }]\n",
                "no condition",
            ),
            (
                "[[rule]]\nid = \"x\"\npriority = 1\nheading = [\"noon\"]\nreason.en = \"r\"\npropose = [{ field = \"lighting\", value = \"neon\" }]\n",
                "noon",
            ),
            (
                "[[rule]]\nid = \"x\"\npriority = 1\nmin_hits = 3\nwords.en = [\"a\"]\nreason.en = \"r\"\npropose = [{ field = \"lighting\", value = \"neon\" }]\n",
                "min_hits",
            ),
            (
                "[[rule]]\nid = \"x\"\npriority = 1\nwords.en = [\"a\"]\npropose = [{ field = \"lighting\", value = \"neon\" }]\n",
                "reason",
            ),
            (
                &*format!(
                    "[[rule]]\n{good}propose = [{{ field = \"lighting\", value = \"neon\" }}]\n[[rule]]\n{good}propose = [{{ field = \"lighting\", value = \"neon\" }}]\n"
                ),
                "twice",
            ),
        ];
        for (text, names) in cases {
            let path = write(&dir, text);
            let err = Rules::builtin().with_file(&path).expect_err(text);
            assert!(err.contains(&path.display().to_string()), "{err}");
            assert!(err.contains(names), "{names}: {err}");
            assert!(err.contains("Fix:"), "{err}");
        }
        let missing = dir.path().join("nope.toml");
        let err = Rules::builtin().with_file(&missing).expect_err("missing");
        assert!(err.contains("nope.toml") && err.contains("Fix:"), "{err}");
    }

    proptest! {
        #[test]
        fn suggest_never_panics(heading in messy_text(), text in messy_text()) {
            let rules = Rules::builtin();
            for lang in [Lang::Zh, Lang::En] {
                let s = rules.suggest(&heading, &action(&text), lang);
                prop_assert!(s.len() <= 5);
            }
        }
    }
}
