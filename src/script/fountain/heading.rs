//! Scene headings: taking one apart into int/ext, location and time of day (shared with the
//! `heading` column of CSV shot lists), recognising a Fountain heading line, and reading its
//! `#12A#` scene number.
//!
//! Chinese headings without the forcing `.`: the spec knows only `INT`/`EXT`/`EST`/`I/E`, but
//! Chinese writers who never read it open their headings with `内景`, `外景`, `内外景`,
//! `内外`, `内/外`, `外/内` (or the same with `景`) followed by a space (ASCII or full-width),
//! `.` or `·`, or with `内.`/`外.`: `内景 客厅 - 夜`, `外景·老街·黄昏`, `内.客厅 - 夜`. These
//! words do not open ordinary Chinese prose before such a separator, so, standing alone between
//! blank lines like `INT`, such a line is a heading ([`zh_heading_prefix`]). A lone `内`/`外`
//! followed by a space (`内 茶馆 日`) is not: one character is too easily the start of a
//! sentence, so that form still needs the `.` force. `·` also separates the words of a heading
//! when it is taken apart, so `客厅·夜` ends in a time of day.
//!
//! Headings that open with a Chinese scene number (`第一场 日 外 乡间公路`) are recognised by
//! `zh_scene`; the number comes off the front as `#1#` comes off the end.
//!
//! Invariant: taking a heading apart never fails and keeps the heading as given (trimmed) next
//! to its parts; only a malformed scene number or an oversized heading is an error.

use super::zh_scene::zh_scene_prefix;
use super::{strip_emphasis, syntax};
use crate::model::{IntExt, Scene};
use crate::script::{ParsedScene, ScriptError, check_length};

/// A scene heading taken apart: `INT. KITCHEN - NIGHT` → interior, `KITCHEN`, `NIGHT`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Heading {
    /// The heading as given, trimmed.
    pub text: String,
    pub int_ext: Option<IntExt>,
    pub location: String,
    pub time_of_day: Option<String>,
}

impl Heading {
    /// The environment words a shot of this scene inherits: `interior, kitchen, night`
    /// (the rule of [`Scene::environment`]).
    pub fn environment(&self) -> String {
        Scene {
            number: String::new(),
            heading: self.text.clone(),
            int_ext: self.int_ext,
            location: self.location.clone(),
            time_of_day: self.time_of_day.clone(),
            line: 0,
            synopses: Vec::new(),
        }
        .environment()
    }
}

/// Takes a scene heading apart; shared by Fountain and the `heading` column of CSV shot lists.
///
/// English: `INT`, `EXT`, `EST`, `INT./EXT`, `INT/EXT`, `I/E` (followed by `.` or a space), then
/// the location, and the time of day after the last ` - ` (or ` – `, ` — `). Chinese: an opening
/// such as `内景·` or `内.` (see [`zh_heading_prefix`]), and the words 内/外/内景/外景/内外
/// and 日/夜/晨/黄昏/傍晚/清晨/黎明/白天/夜晚 (and a few more times of day) at either end of
/// the heading, in any order, separated by spaces or `·`: `夜 小巷`, `日 外 小巷`,
/// `内景 客厅 夜`, `内景·客厅·夜`. What is left is the location, as typed. Nothing here fails:
/// an unusual heading is all location.
pub fn parse_heading(text: &str) -> Heading {
    let text = text.trim();
    let (mut int_ext, rest) = match heading_prefix(text).or_else(|| zh_heading_prefix(text)) {
        Some((ie, rest)) => (Some(ie), rest),
        None => (None, text),
    };
    let mut time_of_day = None;
    let mut rest = rest.trim();
    let dash = [" - ", " – ", " — "]
        .iter()
        .filter_map(|sep| rest.rfind(sep).map(|p| (p, sep.len())))
        .max_by_key(|(p, _)| *p);
    if let Some((p, len)) = dash {
        let time = rest[p + len..].trim();
        if !time.is_empty() {
            time_of_day = Some(time.to_string());
            rest = rest[..p].trim();
        }
    }
    /// Takes `word` as the int/ext or the time of day if it is one and that part is still unset.
    fn take(word: &str, int_ext: &mut Option<IntExt>, time: &mut Option<String>) -> bool {
        if int_ext.is_none() {
            if let Some(ie) = zh_int_ext(word) {
                *int_ext = Some(ie);
                return true;
            }
        }
        if time.is_none() && ZH_TIMES.contains(&word) {
            *time = Some(word.to_string());
            return true;
        }
        false
    }
    let words = word_spans(rest);
    let word = |k: usize| &rest[words[k].0..words[k].1];
    let (mut lo, mut hi) = (0, words.len());
    while lo < hi && take(word(lo), &mut int_ext, &mut time_of_day) {
        lo += 1;
    }
    while hi > lo && take(word(hi - 1), &mut int_ext, &mut time_of_day) {
        hi -= 1;
    }
    let location = if lo == hi {
        String::new()
    } else {
        rest[words[lo].0..words[hi - 1].1].to_string()
    };
    Heading {
        text: text.to_string(),
        int_ext,
        location,
        time_of_day,
    }
}

/// Times of day a Chinese heading names at its start or end.
pub(super) const ZH_TIMES: &[&str] = &[
    "日", "夜", "晨", "黄昏", "傍晚", "清晨", "黎明", "白天", "夜晚", "凌晨", "深夜", "早晨",
    "上午", "中午", "下午", "晚上",
];

/// The byte ranges of the words of `text`, which are separated by whitespace (full-width
/// included) and `·`.
fn word_spans(text: &str) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        match (c.is_whitespace() || c == '·', start) {
            (true, Some(s)) => {
                spans.push((s, i));
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(s) = start {
        spans.push((s, text.len()));
    }
    spans
}

/// A Chinese int/ext word standing alone: `内`, `外景`, `内/外`, ….
pub(super) fn zh_int_ext(word: &str) -> Option<IntExt> {
    match word {
        "内" | "内景" => Some(IntExt::Int),
        "外" | "外景" => Some(IntExt::Ext),
        "内外" | "内外景" | "内/外" | "内/外景" | "外/内" | "外/内景" => {
            Some(IntExt::IntExt)
        }
        _ => None,
    }
}

/// The int/ext opening of a Chinese heading that needs no forcing `.`, and the text after it.
///
/// A word of at least two characters (`内景`, `外景`, `内外景`, `内外`, `内/外`, `外/内`, and
/// `内/外景`, `外/内景`) must be followed by a space, a full-width space, `.` or `·`; a single
/// `内`/`外` only by `.` (`内.客厅`), since `内 ` could begin a sentence.
pub(super) fn zh_heading_prefix(text: &str) -> Option<(IntExt, &str)> {
    // Longest first, so that `内外景 X` is not `内外` followed by `景 X`.
    const WORDS: [(&str, IntExt); 8] = [
        ("内/外景", IntExt::IntExt),
        ("外/内景", IntExt::IntExt),
        ("内外景", IntExt::IntExt),
        ("内/外", IntExt::IntExt),
        ("外/内", IntExt::IntExt),
        ("内外", IntExt::IntExt),
        ("内景", IntExt::Int),
        ("外景", IntExt::Ext),
    ];
    let word = WORDS.iter().find_map(|(word, ie)| {
        let mut rest = text.strip_prefix(word)?.chars();
        let separated = rest
            .next()
            .is_some_and(|c| matches!(c, ' ' | '\u{3000}' | '.' | '·'));
        separated.then_some((*ie, rest.as_str()))
    });
    let (ie, rest) = word.or_else(|| {
        [("内.", IntExt::Int), ("外.", IntExt::Ext)]
            .iter()
            .find_map(|(word, ie)| Some((*ie, text.strip_prefix(word)?)))
    })?;
    Some((
        ie,
        rest.trim_start_matches(|c: char| c.is_whitespace() || c == '·'),
    ))
}

/// The int/ext prefix of an English scene heading and the text after it.
pub(super) fn heading_prefix(text: &str) -> Option<(IntExt, &str)> {
    const PREFIXES: [(&str, IntExt); 6] = [
        ("INT./EXT", IntExt::IntExt),
        ("INT/EXT", IntExt::IntExt),
        ("I/E", IntExt::IntExt),
        ("INT", IntExt::Int),
        ("EXT", IntExt::Ext),
        ("EST", IntExt::Est),
    ];
    PREFIXES.iter().find_map(|(prefix, ie)| {
        let head = text.get(..prefix.len())?;
        if !head.eq_ignore_ascii_case(prefix) {
            return None;
        }
        let rest = &text[prefix.len()..];
        let rest = rest.strip_prefix('.').or_else(|| rest.strip_prefix(' '))?;
        Some((*ie, rest.trim_start()))
    })
}

/// `.夜 小巷`, `.FLASHBACK`: one period followed by a letter or digit of any script.
pub(super) fn is_forced_heading(t: &str) -> bool {
    t.strip_prefix('.')
        .and_then(|rest| rest.chars().next())
        .is_some_and(char::is_alphanumeric)
}

/// A heading line (`t` trimmed) to a scene: drops the forcing `.`, takes the `#12A#` scene
/// number off the end (or else a Chinese scene number such as `第十二场` off the front, which
/// then leaves the heading text unless nothing else is left), strips emphasis and takes the
/// heading apart.
pub(super) fn scene_heading(
    file: &str,
    no: u32,
    t: &str,
    forced: bool,
) -> Result<ParsedScene, ScriptError> {
    let mut text = if forced { &t[1..] } else { t };
    let mut number = None;
    if let Some(body) = text.strip_suffix('#') {
        if let Some(p) = body.rfind('#') {
            let candidate = &body[p + 1..];
            let valid = !candidate.is_empty()
                && candidate
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.'));
            if !valid {
                return Err(syntax(
                    file,
                    no,
                    format!(
                        "invalid scene number '#{candidate}#': use only letters, digits, '-' and '.' (e.g. #12A#)"
                    ),
                ));
            }
            number = Some(candidate.to_string());
            text = body[..p].trim_end();
        }
    }
    let heading = match zh_scene_prefix(text) {
        Some((zh_number, rest)) => {
            let mut heading = parse_heading(&strip_emphasis(rest));
            if zh_number.is_none() || rest.is_empty() {
                heading.text = strip_emphasis(text).trim().to_string();
            }
            number = number.or(zh_number);
            heading
        }
        None => parse_heading(&strip_emphasis(text)),
    };
    check_length(file, no, "heading", &heading.text)?;
    Ok(ParsedScene {
        number,
        heading: heading.text,
        int_ext: heading.int_ext,
        location: heading.location,
        time_of_day: heading.time_of_day,
        line: no,
        synopses: Vec::new(),
        shots: Vec::new(),
    })
}

/// The environment a shot inherits from the heading of `scene` (see [`Heading::environment`]).
pub fn scene_environment(scene: &ParsedScene) -> String {
    Heading {
        text: scene.heading.clone(),
        int_ext: scene.int_ext,
        location: scene.location.clone(),
        time_of_day: scene.time_of_day.clone(),
    }
    .environment()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headings_come_apart_in_english_and_chinese() {
        use IntExt::{Est, Ext, Int};
        let both = IntExt::IntExt;
        let cases: &[(&str, Option<IntExt>, &str, Option<&str>)] = &[
            ("INT. KITCHEN - NIGHT", Some(Int), "KITCHEN", Some("NIGHT")),
            (
                "EXT. BRICK'S PATIO - DAY",
                Some(Ext),
                "BRICK'S PATIO",
                Some("DAY"),
            ),
            ("int. kitchen - night", Some(Int), "kitchen", Some("night")),
            (
                "EST. CITY SKYLINE – DUSK",
                Some(Est),
                "CITY SKYLINE",
                Some("DUSK"),
            ),
            (
                "INT./EXT. CAR — MOMENTS LATER",
                Some(both),
                "CAR",
                Some("MOMENTS LATER"),
            ),
            (
                "INT/EXT CAR - CONTINUOUS",
                Some(both),
                "CAR",
                Some("CONTINUOUS"),
            ),
            ("I/E. CAR - DAY", Some(both), "CAR", Some("DAY")),
            ("INT HOUSE - LATER", Some(Int), "HOUSE", Some("LATER")),
            ("EXT.STREET", Some(Ext), "STREET", None),
            (
                "INT. HOUSE - KITCHEN - NIGHT",
                Some(Int),
                "HOUSE - KITCHEN",
                Some("NIGHT"),
            ),
            ("INTERIOR DESIGN", None, "INTERIOR DESIGN", None),
            ("FLASHBACK", None, "FLASHBACK", None),
            ("夜 小巷", None, "小巷", Some("夜")),
            ("日 外 小巷", Some(Ext), "小巷", Some("日")),
            ("内景 客厅 夜", Some(Int), "客厅", Some("夜")),
            ("外景 天台 - 黄昏", Some(Ext), "天台", Some("黄昏")),
            ("内外 出租车 清晨", Some(both), "出租车", Some("清晨")),
            ("夜 老街 菜市场", None, "老街 菜市场", Some("夜")),
            ("夜", None, "", Some("夜")),
        ];
        for (text, ie, location, time) in cases {
            let h = parse_heading(text);
            assert_eq!(
                (h.int_ext, h.location.as_str(), h.time_of_day.as_deref()),
                (*ie, *location, *time),
                "{text:?}"
            );
            assert_eq!(h.text, *text);
        }
        assert_eq!(
            parse_heading("INT. KITCHEN - NIGHT").environment(),
            "interior, kitchen, night"
        );
        assert_eq!(parse_heading("夜 小巷").environment(), "小巷，夜");
    }
}
