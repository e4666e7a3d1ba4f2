//! What makes a prompt vague or contradictory, read against Wan's guidance: a described
//! subject, a scene and a motion first, then camera and light; one camera move per short clip;
//! concrete visual words over judgements; what must not appear goes to the negative prompt.
//!
//! Invariants: linting is pure and deterministic, messages and fixes are in the prompt's
//! language, and nothing is rewritten here: a prompt over its limit is reported, never cut.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use super::compile;
use super::suggest::{Rules, Suggestion};
use super::vocab::{self, Kind, Mention, Term};
use crate::model::{CameraSpec, Lang, ShotSpec};

const WORDS: &str = include_str!("../data/lint_words.toml");
const MESSAGES: &str = include_str!("../data/lint_messages.toml");

/// Shortest English word that takes an inflection ("runs", "walked", "streets").
const WORD_STEM: usize = 3;
/// Clips up to this long hold one camera move.
const SHORT_CLIP_S: f64 = 10.0;
/// Length of a clip when nothing says otherwise: the project default.
const DEFAULT_CLIP_S: f64 = 5.0;
const CLAUSE_SEP: &[char] = &[
    ',', '，', '、', ';', '；', '.', '。', ':', '：', '!', '！', '?', '？', '|', '\n',
];

/// One problem found in a prompt, with what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Lint {
    /// Stable code: `vague_subject`, `no_camera`, … (see [`CODES`]).
    pub code: &'static str,
    pub message: String,
    pub fix: String,
}

/// Lints and camera suggestions for one prompt, in its language.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub lang: Lang,
    pub lints: Vec<Lint>,
    pub suggestions: Vec<Suggestion>,
}

impl Report {
    pub fn has(&self, code: &str) -> bool {
        self.lints.iter().any(|l| l.code == code)
    }

    pub fn codes(&self) -> Vec<&'static str> {
        self.lints.iter().map(|l| l.code).collect()
    }
}

/// Every code the lint reports, in report order.
pub const CODES: [&str; 11] = [
    "empty",
    "vague_subject",
    "no_environment",
    "no_motion",
    "no_camera",
    "camera_conflict",
    "lighting_conflict",
    "too_many_moves",
    "abstract_adjective",
    "negative_in_prompt",
    "over_limit",
];

/// Lints a shot's fields as `compile` will join them; `heading` feeds the suggestions and the
/// environment fix; `limit` is the backend's prompt length in characters.
pub fn lint_spec(spec: &ShotSpec, heading: &str, rules: &Rules, limit: Option<usize>) -> Report {
    let prompt = compile(spec).prompt;
    let lang = if has_text(&prompt) {
        Lang::detect(&prompt)
    } else {
        Lang::detect(heading)
    };
    let suggestions = rules.suggest(heading, spec, lang);
    let mut out = Vec::new();
    if !has_text(&prompt) {
        out.push(empty(lang));
        return report(lang, out, suggestions);
    }
    let w = words();
    let body = blank(&vocab::normalize(&format!(
        "{} | {}",
        spec.subject, spec.action
    )));
    let subject = if spec.subject.trim().is_empty() {
        subject_in(&blank(&vocab::normalize(&spec.action)), w)
    } else {
        subject_in(&blank(&vocab::normalize(&spec.subject)), w)
    };
    out.extend(vague_subject(&subject, lang));
    if spec.environment.trim().is_empty() && !has_place(&body, w) {
        out.push(no_environment(lang, heading));
    }
    if !has_motion(&body, w) {
        out.push(lint("no_motion", lang, "message", &[]));
    }
    let cam = &spec.camera;
    if [&cam.size, &cam.angle, &cam.movement]
        .iter()
        .all(|f| f.trim().is_empty())
    {
        out.push(no_camera(lang, &suggestions));
    }
    let fields = [
        &cam.size,
        &cam.angle,
        &cam.movement,
        &cam.lens,
        &spec.lighting,
    ];
    let joined: Vec<&str> = fields.iter().map(|f| f.as_str()).collect();
    let terms = distinct(&vocab::mentions(&vocab::normalize(&joined.join(" | "))));
    out.extend(conflicts(&terms, lang));
    out.extend(too_many_moves(
        &terms,
        spec.duration_s.unwrap_or(DEFAULT_CLIP_S),
        lang,
    ));
    let norm = vocab::normalize(&prompt);
    out.extend(abstract_words(&norm, w, lang));
    out.extend(negatives(&norm, w, lang));
    out.extend(over_limit(&prompt, limit, lang));
    report(lang, out, suggestions)
}

/// Lints free prompt text: subject, scene, motion and camera are read from it with the
/// vocabulary and word lists of both languages.
pub fn lint_text(text: &str, rules: &Rules, limit: Option<usize>) -> Report {
    let lang = Lang::detect(text);
    let norm = vocab::normalize(text);
    if !has_text(&norm) {
        return report(lang, vec![empty(lang)], Vec::new());
    }
    let w = words();
    let mentions = vocab::mentions(&norm);
    let terms = distinct(&mentions);
    let name = |kind: Kind| {
        terms
            .iter()
            .find(|t| t.kind == kind)
            .map_or(String::new(), |t| t.name(lang).to_string())
    };
    let read = ShotSpec {
        action: text.to_string(),
        camera: CameraSpec {
            size: name(Kind::Size),
            angle: name(Kind::Angle),
            movement: name(Kind::Movement),
            lens: name(Kind::Lens),
        },
        lighting: name(Kind::Lighting),
        ..ShotSpec::default()
    };
    let suggestions = rules.suggest("", &read, lang);
    let rest = blank_mentions(&norm, &mentions);
    let mut out = Vec::new();
    out.extend(vague_subject(&subject_in(&rest, w), lang));
    if !has_place(&rest, w) {
        out.push(no_environment(lang, ""));
    }
    if !has_motion(&rest, w) {
        out.push(lint("no_motion", lang, "message", &[]));
    }
    let camera = [Kind::Size, Kind::Angle, Kind::Movement];
    if !terms.iter().any(|t| camera.contains(&t.kind)) {
        out.push(no_camera(lang, &suggestions));
    }
    out.extend(conflicts(&terms, lang));
    out.extend(too_many_moves(&terms, DEFAULT_CLIP_S, lang));
    out.extend(abstract_words(&norm, w, lang));
    out.extend(negatives(&norm, w, lang));
    out.extend(over_limit(text.trim(), limit, lang));
    report(lang, out, suggestions)
}

fn report(lang: Lang, mut lints: Vec<Lint>, suggestions: Vec<Suggestion>) -> Report {
    lints.sort_by_key(|l| CODES.iter().position(|c| *c == l.code));
    Report {
        lang,
        lints,
        suggestions,
    }
}

fn has_text(text: &str) -> bool {
    text.chars().any(char::is_alphanumeric)
}

/// A lint whose message and fix are the `message_part` and `fix` texts of its code.
fn lint(code: &'static str, lang: Lang, message_part: &str, args: &[(&str, &str)]) -> Lint {
    lint_with(code, lang, message_part, "fix", args)
}

fn lint_with(
    code: &'static str,
    lang: Lang,
    message_part: &str,
    fix_part: &str,
    args: &[(&str, &str)],
) -> Lint {
    Lint {
        code,
        message: say(code, message_part, lang, args),
        fix: say(code, fix_part, lang, args),
    }
}

fn empty(lang: Lang) -> Lint {
    lint("empty", lang, "message", &[])
}

/// Who the prompt is about, as far as its words tell.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Subject {
    Missing,
    Generic(String),
    Described,
}

fn vague_subject(subject: &Subject, lang: Lang) -> Option<Lint> {
    match subject {
        Subject::Described => None,
        Subject::Missing => Some(lint("vague_subject", lang, "missing", &[])),
        Subject::Generic(s) => Some(lint("vague_subject", lang, "message", &[("subject", s)])),
    }
}

fn no_environment(lang: Lang, heading: &str) -> Lint {
    let heading = heading.trim();
    let fix = if heading.is_empty() { "fix" } else { "heading" };
    lint_with(
        "no_environment",
        lang,
        "message",
        fix,
        &[("heading", heading)],
    )
}

fn no_camera(lang: Lang, suggestions: &[Suggestion]) -> Lint {
    let camera: Vec<&str> = suggestions
        .iter()
        .filter(|s| s.field.starts_with("camera.") && s.field != "camera.lens")
        .map(|s| s.value.as_str())
        .collect();
    if camera.is_empty() {
        return lint("no_camera", lang, "message", &[]);
    }
    let sep = if lang == Lang::Zh { "，" } else { ", " };
    let example = camera.join(sep);
    lint_with(
        "no_camera",
        lang,
        "message",
        "suggested",
        &[("example", &example)],
    )
}

fn conflicts(terms: &[&'static Term], lang: Lang) -> Vec<Lint> {
    let mut out = Vec::new();
    for (i, a) in terms.iter().enumerate() {
        for b in terms[i + 1..].iter().filter(|b| a.conflicts(b)) {
            let code = if a.kind == Kind::Lighting {
                "lighting_conflict"
            } else {
                "camera_conflict"
            };
            let args = [("a", a.name(lang)), ("b", b.name(lang))];
            out.push(lint(code, lang, "message", &args));
        }
    }
    out
}

fn too_many_moves(terms: &[&'static Term], duration_s: f64, lang: Lang) -> Option<Lint> {
    let moves: Vec<&str> = terms
        .iter()
        .filter(|t| t.kind == Kind::Movement && !t.rig && t.id != "static")
        .map(|t| t.name(lang))
        .collect();
    if moves.len() < 2 || duration_s > SHORT_CLIP_S {
        return None;
    }
    let sep = if lang == Lang::Zh { "、" } else { ", " };
    let args = [
        ("n", moves.len().to_string()),
        ("seconds", duration_s.to_string()),
        ("moves", moves.join(sep)),
    ];
    let args: Vec<(&str, &str)> = args.iter().map(|(k, v)| (*k, v.as_str())).collect();
    Some(lint("too_many_moves", lang, "message", &args))
}

fn abstract_words(norm: &str, w: &Words, lang: Lang) -> Vec<Lint> {
    let mut found: Vec<&str> = Vec::new();
    for clause in norm.split(CLAUSE_SEP) {
        if w.any(clause, "concrete", WORD_STEM).is_some() || !vocab::mentions(clause).is_empty() {
            continue;
        }
        for a in w.list("abstract") {
            if vocab::contains(clause, a, 0) && !found.contains(&a.as_str()) {
                found.push(a);
            }
        }
    }
    found
        .into_iter()
        .map(|a| lint("abstract_adjective", lang, "message", &[("word", a)]))
        .collect()
}

/// Phrases that say what must not appear: a clause opening with a negation, or a negation
/// before an artefact word ("no text", "没有水印").
fn negatives(norm: &str, w: &Words, lang: Lang) -> Vec<Lint> {
    let starts = |text: &str, word: &str, stem: usize| {
        let first = vocab::find_all(text, word, stem).first().copied();
        first.filter(|(s, _)| *s == 0).map(|(_, e)| e)
    };
    let mut found: Vec<String> = Vec::new();
    for clause in norm.split(CLAUSE_SEP).map(str::trim) {
        if w.list("negative_lead")
            .iter()
            .any(|l| starts(clause, l, 0).is_some())
        {
            found.push(clause.chars().take(40).collect());
            continue;
        }
        for b in w.list("negative_before") {
            for (start, end) in vocab::find_all(clause, b, 0) {
                let mut after = clause[end..].trim_start();
                for filler in ["any ", "a ", "the "] {
                    after = after.strip_prefix(filler).unwrap_or(after);
                }
                let offset = clause.len() - after.len();
                let art = w
                    .list("artifact")
                    .iter()
                    .find_map(|a| starts(after, a, WORD_STEM));
                if let Some(a_end) = art {
                    found.push(clause[start..offset + a_end].to_string());
                }
            }
        }
    }
    found.dedup();
    found
        .iter()
        .map(|p| lint("negative_in_prompt", lang, "message", &[("phrase", p)]))
        .collect()
}

fn over_limit(prompt: &str, limit: Option<usize>, lang: Lang) -> Option<Lint> {
    let limit = limit?;
    let len = prompt.chars().count();
    (len > limit).then(|| {
        let (l, m, o) = (
            len.to_string(),
            limit.to_string(),
            (len - limit).to_string(),
        );
        let args = [
            ("len", l.as_str()),
            ("limit", m.as_str()),
            ("over", o.as_str()),
        ];
        lint("over_limit", lang, "message", &args)
    })
}

/// Terms mentioned, each once, in order.
fn distinct(mentions: &[Mention]) -> Vec<&'static Term> {
    let mut out: Vec<&'static Term> = Vec::new();
    for m in mentions {
        if !out.iter().any(|t| t.id == m.term.id) {
            out.push(m.term);
        }
    }
    out
}

/// Normalized text with camera and lighting terms taken out, so that "push in" is not a push
/// and "window light" is not a window.
fn blank(norm: &str) -> String {
    blank_mentions(norm, &vocab::mentions(norm))
}

fn blank_mentions(norm: &str, mentions: &[Mention]) -> String {
    let mut out = String::with_capacity(norm.len());
    let mut at = 0;
    for m in mentions {
        out.push_str(&norm[at..m.start]);
        out.push(' ');
        at = m.end;
    }
    out.push_str(&norm[at..]);
    out
}

fn has_motion(text: &str, w: &Words) -> bool {
    w.any(text, "motion", WORD_STEM).is_some()
}

fn has_place(text: &str, w: &Words) -> bool {
    if w.any(text, "place", WORD_STEM).is_some() {
        return true;
    }
    // 在 … 里: a place named by its position.
    let markers = w.list("place_marker");
    text.match_indices('在').any(|(i, _)| {
        text[i + '在'.len_utf8()..]
            .chars()
            .take_while(|c| c.is_alphanumeric())
            .take(10)
            .skip(1)
            .any(|c| markers.iter().any(|m| m.starts_with(c)))
    })
}

/// The subject of the first clause that is more than camera words and adverbs.
fn subject_in(text: &str, w: &Words) -> Subject {
    for clause in text.split(CLAUSE_SEP) {
        let cuts = cuts(clause, w);
        if cuts.is_empty() {
            match judge(clause, w) {
                Subject::Missing => continue,
                found => return found,
            }
        }
        return cuts
            .into_iter()
            .map(|c| judge(&clause[..c], w))
            .find(|s| *s != Subject::Missing)
            .unwrap_or(Subject::Missing);
    }
    Subject::Missing
}

/// Where a subject may end: before each verb, or before 在/从/… in Chinese.
fn cuts(clause: &str, w: &Words) -> Vec<usize> {
    let ends = w.list("motion").iter().chain(w.list("subject_end"));
    let mut cuts: Vec<usize> = ends
        .flat_map(|v| vocab::find_all(clause, v, WORD_STEM))
        .map(|(s, _)| s)
        .collect();
    cuts.sort_unstable();
    cuts.dedup();
    cuts
}

/// Described as soon as one word is neither generic nor skipped; generic if some word is
/// generic; missing if there is no word at all.
fn judge(phrase: &str, w: &Words) -> Subject {
    let mut generic = false;
    for token in phrase
        .split(|c: char| !(c.is_alphanumeric() || c == '\''))
        .filter(|t| !t.is_empty())
    {
        let core = if token.is_ascii() {
            token
        } else {
            strip_zh(token, w)
        };
        let skip = core.is_empty()
            || w.list("skip").iter().any(|x| x == core)
            || core.chars().all(|c| c.is_ascii_digit());
        if skip {
            continue;
        }
        if !w.list("generic_subject").iter().any(|x| x == core) {
            return Subject::Described;
        }
        generic = true;
    }
    if generic {
        Subject::Generic(phrase.trim().to_string())
    } else {
        Subject::Missing
    }
}

/// A Chinese token without its measure words and trailing adverbs: "一个男人慢慢" → "男人".
fn strip_zh<'a>(mut token: &'a str, w: &Words) -> &'a str {
    loop {
        let before = token;
        if let Some(p) = w
            .list("measure")
            .iter()
            .find(|p| token.starts_with(p.as_str()))
        {
            token = &token[p.len()..];
        }
        if let Some(x) = w
            .list("adverb")
            .iter()
            .find(|x| token.ends_with(x.as_str()))
        {
            token = &token[..token.len() - x.len()];
        }
        if token == before {
            return token;
        }
    }
}

/// The lists the lint reads text with; `data/lint_words.toml` has each and no other.
const LISTS: [&str; 13] = [
    "motion",
    "place",
    "place_marker",
    "generic_subject",
    "skip",
    "measure",
    "adverb",
    "subject_end",
    "abstract",
    "concrete",
    "negative_lead",
    "negative_before",
    "artifact",
];

/// Word lists by name, English and Chinese together, normalized, longest first (so affixes
/// strip greedily).
#[derive(Debug, Default)]
struct Words(BTreeMap<String, Vec<String>>);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WordPair {
    #[serde(default)]
    en: Vec<String>,
    #[serde(default)]
    zh: Vec<String>,
}

impl Words {
    fn list(&self, name: &str) -> &[String] {
        self.0.get(name).map_or(&[], Vec::as_slice)
    }

    /// The first word of the list that `text` contains.
    fn any(&self, text: &str, name: &str, stem: usize) -> Option<&str> {
        let mut words = self.list(name).iter();
        words
            .find(|x| vocab::contains(text, x, stem))
            .map(String::as_str)
    }
}

fn words() -> &'static Words {
    static TABLE: OnceLock<Words> = OnceLock::new();
    TABLE.get_or_init(|| {
        load(WORDS).unwrap_or_else(|e| {
            tracing::error!("{e}");
            Words::default()
        })
    })
}

fn load(data: &str) -> Result<Words, String> {
    let file: BTreeMap<String, WordPair> =
        toml::from_str(data).map_err(|e| format!("data/lint_words.toml: {e}"))?;
    let mut lists = BTreeMap::new();
    for (name, pair) in file {
        if !LISTS.contains(&name.as_str()) {
            return Err(format!("data/lint_words.toml: unknown list [{name}]"));
        }
        let all = pair.en.iter().chain(&pair.zh);
        let mut words: Vec<String> = all.map(|x| vocab::normalize(x)).collect();
        if words.iter().any(String::is_empty) {
            return Err(format!("data/lint_words.toml: an empty word in [{name}]"));
        }
        words.sort_by_key(|x| std::cmp::Reverse(x.len()));
        lists.insert(name, words);
    }
    match LISTS.iter().find(|n| !lists.contains_key(**n)) {
        Some(n) => Err(format!("data/lint_words.toml: list [{n}] is missing")),
        None => Ok(Words(lists)),
    }
}

/// Texts by code, then by part (`message`, `fix`, …).
type Messages = BTreeMap<String, BTreeMap<String, Bilingual>>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Bilingual {
    en: String,
    zh: String,
}

fn messages() -> &'static Messages {
    static TABLE: OnceLock<Messages> = OnceLock::new();
    TABLE.get_or_init(|| {
        toml::from_str(MESSAGES).unwrap_or_else(|e| {
            tracing::error!("data/lint_messages.toml: {e}");
            Messages::new()
        })
    })
}

/// The `part` text of `code` in `lang`, `{name}` placeholders filled from `args` in one pass
/// (values are never read as placeholders).
fn say(code: &str, part: &str, lang: Lang, args: &[(&str, &str)]) -> String {
    let Some(text) = messages().get(code).and_then(|m| m.get(part)) else {
        return format!("{code}.{part}");
    };
    let mut rest = match lang {
        Lang::En => text.en.as_str(),
        Lang::Zh => text.zh.as_str(),
    };
    let mut out = String::with_capacity(rest.len());
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let arg = after.find('}').and_then(|close| {
            let value = args.iter().find(|(k, _)| *k == &after[..close])?.1;
            Some((close, value))
        });
        match arg {
            Some((close, value)) => {
                out.push_str(value);
                rest = &after[close + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests;
