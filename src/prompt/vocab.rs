//! Bilingual camera language: shot sizes, angles, camera moves, lenses and lighting, each term
//! with an English and a Chinese name and the other ways a crew writes it.
//!
//! The table is data (`data/vocab.toml`), read once. Invariants: ids are unique across kinds,
//! every term has both names, conflicts hold between terms of one kind and are symmetric, and
//! moves name the animatic's `CameraMove` where one exists. Matching runs on normalized text
//! (lowercase, `-` and `_` as spaces, single spaces), so "Push-In", "push in" and "PUSH IN" are
//! one term; English words match whole, with -s/-ed/-ing endings on longer last words.

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use crate::model::{CameraMove, Lang};

const DATA: &str = include_str!("data/vocab.toml");

/// Shortest last word that takes an inflection when scanning for terms ("pans" is not "pan").
const SCAN_STEM: usize = 4;

/// What part of the camera language a term belongs to; each kind fills one shot-spec field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Size,
    Angle,
    Movement,
    Lens,
    Lighting,
}

impl Kind {
    pub const ALL: [Kind; 5] = [
        Kind::Size,
        Kind::Angle,
        Kind::Movement,
        Kind::Lens,
        Kind::Lighting,
    ];

    /// The shot-spec field the kind fills, as suggestions and the CLI name it.
    pub fn field(self) -> &'static str {
        match self {
            Kind::Size => "camera.size",
            Kind::Angle => "camera.angle",
            Kind::Movement => "camera.movement",
            Kind::Lens => "camera.lens",
            Kind::Lighting => "lighting",
        }
    }

    pub fn from_field(field: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.field() == field.trim())
    }
}

/// One term of the camera language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Term {
    pub kind: Kind,
    /// Stable id, referenced by camera rules and templates (`push_in`, `low_angle`).
    pub id: &'static str,
    /// English name, as written into an English prompt.
    pub en: &'static str,
    /// Chinese name, as written into a Chinese prompt.
    pub zh: &'static str,
    /// Other spellings recognised anywhere in text, in either language.
    pub synonyms: &'static [&'static str],
    /// Words recognised only as a whole field value or a whole comma-separated part of one:
    /// too ambiguous in prose ("wide", "crane").
    pub exact: &'static [&'static str],
    /// Ids of terms of the same kind that contradict this one; `*` stands for all of them.
    pub conflicts_with: &'static [&'static str],
    /// The move the animatic shows for this term, when it has one.
    pub camera_move: Option<CameraMove>,
    /// A way of carrying the camera (handheld, steadicam) that goes with one move rather than
    /// being a second one.
    pub rig: bool,
}

impl Term {
    pub fn name(&self, lang: Lang) -> &'static str {
        match lang {
            Lang::Zh => self.zh,
            Lang::En => self.en,
        }
    }

    /// Whether the two terms cannot both hold in one shot (push in and pull out).
    pub fn conflicts(&self, other: &Term) -> bool {
        let names = |a: &Term, b: &Term| a.conflicts_with.iter().any(|c| *c == "*" || *c == b.id);
        self.kind == other.kind && self.id != other.id && (names(self, other) || names(other, self))
    }
}

/// Every term, in table order.
pub fn all() -> &'static [Term] {
    table().terms
}

/// The terms of one kind, in table order (for pickers).
pub fn terms(kind: Kind) -> impl Iterator<Item = &'static Term> {
    all().iter().filter(move |t| t.kind == kind)
}

/// The term with this id, if it is of this kind.
pub fn get(kind: Kind, id: &str) -> Option<&'static Term> {
    terms(kind).find(|t| t.id == id)
}

/// The term a field value names: its name, a synonym or exact word in either language, case
/// and hyphens aside; or a single term with only manner and filler words around it
/// ("slow push-in shot" → push in). Callers that write the term's name in place of the value
/// would drop those words: they want [`find_exact`].
pub fn find(kind: Kind, text: &str) -> Option<&'static Term> {
    if let Some(t) = find_exact(kind, text) {
        return Some(t);
    }
    let norm = normalize(text);
    let norm = norm.trim_matches(|c: char| !c.is_alphanumeric());
    match mentions(norm).as_slice() {
        [m] if m.term.kind == kind => {
            let rest = format!("{} {}", &norm[..m.start], &norm[m.end..]);
            only_filler(&rest).then_some(m.term)
        }
        _ => None,
    }
}

/// The term whose name, synonym or exact word the whole value is (case, hyphens and
/// surrounding punctuation aside), and nothing more.
pub fn find_exact(kind: Kind, text: &str) -> Option<&'static Term> {
    let norm = normalize(text);
    let norm = norm.trim_matches(|c: char| !c.is_alphanumeric());
    let t = table();
    let p = t
        .patterns
        .iter()
        .find(|p| p.text == norm && t.terms[p.term].kind == kind)?;
    Some(&t.terms[p.term])
}

/// Every term of `kind` that `text` mentions, in order of first mention, each once. Longer
/// phrases win over the shorter ones inside them, across kinds: "dutch tilt" is an angle, not a
/// tilt; "wide-angle lens" is a lens, not a wide shot.
pub fn scan(kind: Kind, text: &str) -> Vec<&'static Term> {
    let mut out: Vec<&'static Term> = Vec::new();
    for m in mentions(&normalize(text)) {
        if m.term.kind == kind && !out.iter().any(|t| t.id == m.term.id) {
            out.push(m.term);
        }
    }
    out
}

/// A term found in normalized text, with its byte span in that text.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Mention {
    pub start: usize,
    pub end: usize,
    pub term: &'static Term,
}

/// Mentions of every kind in normalized text: longest first, never overlapping, then in text
/// order.
pub(crate) fn mentions(norm: &str) -> Vec<Mention> {
    let t = table();
    let mut found: Vec<(usize, Mention)> = Vec::new();
    for p in &t.patterns {
        for (start, end) in find_all(norm, &p.text, SCAN_STEM) {
            if p.exact && !is_segment(norm, start, end) {
                continue;
            }
            let len = norm[start..end].chars().count();
            let term = &t.terms[p.term];
            found.push((len, Mention { start, end, term }));
        }
    }
    found.sort_by(|(la, a), (lb, b)| lb.cmp(la).then(a.start.cmp(&b.start)));
    let mut chosen: Vec<Mention> = Vec::new();
    for (_, m) in found {
        if chosen.iter().all(|c| m.end <= c.start || m.start >= c.end) {
            chosen.push(m);
        }
    }
    chosen.sort_by_key(|m| m.start);
    chosen
}

/// Lowercase, `-`/`_`/dashes as spaces, curly apostrophes straight, whitespace runs as one
/// space, no space at either end. Every matcher of the prompt workbench works on this form.
pub(crate) fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut space = true;
    for c in text.chars() {
        let c = match c {
            '-' | '_' | '\u{2010}' | '\u{2011}' | '\u{2013}' | '\u{2014}' => ' ',
            '\u{2018}' | '\u{2019}' | '`' => '\'',
            c => c,
        };
        if c.is_whitespace() {
            if !space {
                out.push(' ');
                space = true;
            }
            continue;
        }
        out.extend(c.to_lowercase());
        space = false;
    }
    if out.ends_with(' ') {
        out.pop();
    }
    out
}

/// Whether normalized `text` contains the normalized word or phrase `word`; English words match
/// whole, with an inflection when the last word has at least `min_stem` letters (0: never).
pub(crate) fn contains(text: &str, word: &str, min_stem: usize) -> bool {
    !find_all(text, word, min_stem).is_empty()
}

/// Byte spans of every match of `pattern` in normalized `text` (see [`contains`]).
pub(crate) fn find_all(text: &str, pattern: &str, min_stem: usize) -> Vec<(usize, usize)> {
    let key = search_key(pattern, min_stem);
    if key.is_empty() {
        return Vec::new();
    }
    text.match_indices(key)
        .filter_map(|(pos, _)| match_at(text, pos, pattern, min_stem).map(|end| (pos, end)))
        .collect()
}

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric()
}

fn inflects(pattern: &str, min_stem: usize) -> bool {
    let last = pattern
        .rsplit(|c: char| !c.is_ascii_alphabetic())
        .next()
        .unwrap_or("");
    min_stem > 0 && last.len() >= min_stem
}

/// What to look for first: the pattern, less a final `e` or `y` that an inflection replaces.
fn search_key(pattern: &str, min_stem: usize) -> &str {
    if inflects(pattern, min_stem) && (pattern.ends_with('e') || pattern.ends_with('y')) {
        &pattern[..pattern.len() - 1]
    } else {
        pattern
    }
}

/// End of the match of `pattern` at byte `pos` of `text`, if it matches there.
fn match_at(text: &str, pos: usize, pattern: &str, min_stem: usize) -> Option<usize> {
    let before = text.get(..pos)?;
    let rest = text.get(pos..)?;
    if pattern.starts_with(is_word_char) && before.ends_with(is_word_char) {
        return None;
    }
    let inflect = inflects(pattern, min_stem);
    if let Some(tail) = rest.strip_prefix(pattern) {
        let end = pos + pattern.len();
        if !pattern.ends_with(is_word_char) {
            return Some(end);
        }
        let run = word_run(tail);
        if run.is_empty() {
            return Some(end);
        }
        return (inflect && suffix_ok(pattern, run)).then_some(end + run.len());
    }
    if !inflect {
        return None;
    }
    let stem = search_key(pattern, min_stem);
    let tail = rest.strip_prefix(stem)?;
    let run = word_run(tail);
    let ok = if pattern.ends_with('e') {
        run == "ing"
    } else {
        run == "ies" || run == "ied"
    };
    ok.then_some(pos + stem.len() + run.len())
}

fn word_run(text: &str) -> &str {
    let end = text.find(|c: char| !is_word_char(c)).unwrap_or(text.len());
    &text[..end]
}

fn suffix_ok(pattern: &str, run: &str) -> bool {
    let last = pattern.chars().next_back().unwrap_or(' ');
    let vowel = "aeiouy".contains(last);
    match run {
        "s" | "es" | "ed" | "ing" => true,
        "d" => last == 'e',
        _ => {
            !vowel
                && run.len() > 1
                && run.starts_with(last)
                && matches!(&run[1..], "ing" | "ed" | "er")
        }
    }
}

/// Whether the span is a whole comma-separated part of the text.
fn is_segment(norm: &str, start: usize, end: usize) -> bool {
    const SEP: &[char] = &[
        ',', '，', '、', ';', '；', '.', '。', ':', '：', '/', '|', '!', '！', '?', '？', '(', ')',
        '（', '）', '+',
    ];
    let before = norm[..start].trim_end();
    let after = norm[end..].trim_start();
    (before.is_empty() || before.ends_with(SEP)) && (after.is_empty() || after.starts_with(SEP))
}

/// Whether what is left of a field value after its term is only manner and filler words.
fn only_filler(rest: &str) -> bool {
    const EN: &[&str] = &[
        "a", "an", "the", "shot", "shots", "camera", "slow", "slowly", "fast", "quick", "quickly",
        "smooth", "smoothly", "gentle", "gently", "subtle", "subtly", "very", "lens", "view",
        "move", "movement", "light", "lighting", "angle", "then", "and",
    ];
    const ZH: &[&str] = &[
        "镜头", "缓慢", "缓缓", "慢慢", "快速", "平稳", "轻微", "拍摄", "机位", "视角", "运镜",
        "角度", "景别", "光线", "的", "地",
    ];
    let mut rest = rest.to_string();
    for w in ZH {
        rest = rest.replace(w, " ");
    }
    rest.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .all(|w| EN.contains(&w))
}

struct Table {
    terms: &'static [Term],
    patterns: Vec<Pattern>,
}

/// A normalized spelling of a term.
struct Pattern {
    text: String,
    term: usize,
    exact: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TermFile {
    term: Vec<TermData>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TermData {
    kind: Kind,
    id: String,
    en: String,
    zh: String,
    #[serde(default)]
    synonyms: Vec<String>,
    #[serde(default)]
    exact: Vec<String>,
    #[serde(default)]
    conflicts_with: Vec<String>,
    #[serde(default, rename = "move")]
    camera_move: Option<CameraMove>,
    #[serde(default)]
    rig: bool,
}

fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(|| match load(DATA) {
        Ok(t) => t,
        Err(e) => {
            tracing::error!("camera vocabulary: {e}");
            Table {
                terms: &[],
                patterns: Vec::new(),
            }
        }
    })
}

/// Reads and checks the table; the strings live for the whole run.
fn load(data: &str) -> Result<Table, String> {
    let mut file: TermFile = toml::from_str(data).map_err(|e| format!("data/vocab.toml: {e}"))?;
    check(&file.term)?;
    // Conflicts are symmetric: a term lists every term that lists it.
    let pairs: Vec<(String, String)> = file
        .term
        .iter()
        .flat_map(|t| t.conflicts_with.iter().map(|c| (c.clone(), t.id.clone())))
        .filter(|(c, _)| c != "*")
        .collect();
    for (target, id) in pairs {
        if let Some(t) = file.term.iter_mut().find(|t| t.id == target)
            && !t.conflicts_with.contains(&id)
        {
            t.conflicts_with.push(id);
        }
    }
    let leak = |v: Vec<String>| -> &'static [&'static str] {
        v.into_iter().map(|s| &*s.leak()).collect::<Vec<_>>().leak()
    };
    let mut patterns: Vec<Pattern> = Vec::new();
    let mut terms: Vec<Term> = Vec::new();
    for (i, d) in file.term.into_iter().enumerate() {
        // Exact words first: a name that is also an exact word ("pan") stays exact.
        let spellings = [&d.en, &d.zh].into_iter().chain(&d.synonyms);
        for (text, exact) in d
            .exact
            .iter()
            .map(|s| (s, true))
            .chain(spellings.map(|s| (s, false)))
        {
            let text = normalize(text);
            if !patterns.iter().any(|p| p.term == i && p.text == text) {
                patterns.push(Pattern {
                    text,
                    term: i,
                    exact,
                });
            }
        }
        terms.push(Term {
            kind: d.kind,
            id: d.id.leak(),
            en: d.en.leak(),
            zh: d.zh.leak(),
            synonyms: leak(d.synonyms),
            exact: leak(d.exact),
            conflicts_with: leak(d.conflicts_with),
            camera_move: d.camera_move,
            rig: d.rig,
        });
    }
    Ok(Table {
        terms: terms.leak(),
        patterns,
    })
}

fn check(terms: &[TermData]) -> Result<(), String> {
    let mut spellings: Vec<(Kind, String, &str)> = Vec::new();
    for (i, t) in terms.iter().enumerate() {
        let at = format!("data/vocab.toml: term '{}'", t.id);
        if t.id.is_empty() || t.en.trim().is_empty() || t.zh.trim().is_empty() {
            return Err(format!("{at}: id, en and zh must not be empty"));
        }
        if terms[..i].iter().any(|o| o.id == t.id) {
            return Err(format!("{at}: the id is used twice"));
        }
        for c in &t.conflicts_with {
            if c != "*" && !terms.iter().any(|o| &o.id == c && o.kind == t.kind) {
                return Err(format!(
                    "{at}: conflicts_with names '{c}', not a term of its kind"
                ));
            }
        }
        let all = [&t.en, &t.zh]
            .into_iter()
            .chain(&t.synonyms)
            .chain(&t.exact);
        for s in all {
            let n = normalize(s);
            if n.is_empty() {
                return Err(format!("{at}: an empty spelling"));
            }
            if let Some((_, _, other)) = spellings
                .iter()
                .find(|(k, o, id)| *k == t.kind && *o == n && *id != t.id)
            {
                return Err(format!("{at}: '{s}' also names '{other}'"));
            }
            spellings.push((t.kind, n, &t.id));
        }
    }
    Ok(())
}

/// Arbitrary text for the workbench's property tests: any character, Han, zero-width and
/// combining marks, case-folding oddities, and fragments of the words the matchers look for.
#[cfg(test)]
pub(crate) fn messy_text() -> impl proptest::strategy::Strategy<Value = String> {
    use proptest::prelude::*;
    const FRAGMENTS: &str = "\u{200b}|\u{200d}|\u{feff}|\u{0301}|\u{20dd}|İ|ß|ﬁ|Σ| |-|'|\n|，|,|在|\
        一个|man|no|不要|push in|推进|pan|wide|e|ing|ies|beautiful|美丽|runs|INT.|夜|chase|追|dark|\
        slowly|漆黑";
    let piece = prop_oneof![
        any::<char>().prop_map(String::from),
        proptest::char::range('\u{4e00}', '\u{9fff}').prop_map(String::from),
        proptest::sample::select(FRAGMENTS.split('|').collect::<Vec<_>>()).prop_map(String::from),
    ];
    proptest::collection::vec(piece, 0..48).prop_map(|v| v.concat())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ids(terms: &[&Term]) -> Vec<&'static str> {
        terms.iter().map(|t| t.id).collect()
    }

    #[test]
    fn embedded_table_loads_and_checks() {
        let t = load(DATA).expect("vocab.toml is valid");
        assert!(t.terms.len() > 80, "{}", t.terms.len());
        for kind in Kind::ALL {
            assert!(t.terms.iter().filter(|x| x.kind == kind).count() >= 7);
        }
    }

    /// The worked examples shared by the workbench's tests.
    #[derive(Deserialize)]
    struct Examples {
        find: Vec<(Kind, String, String)>,
        scan: Vec<(Kind, String, Vec<String>)>,
    }

    fn examples() -> Examples {
        toml::from_str(include_str!("data/examples.toml")).expect("examples.toml")
    }

    #[test]
    fn find_field_values_in_both_languages() {
        let cases = examples().find;
        assert!(cases.len() >= 80);
        for (kind, text, want) in cases {
            assert_eq!(
                find(kind, &text).map(|t| t.id),
                Some(want.as_str()),
                "{kind:?} {text:?}"
            );
        }
    }

    #[test]
    fn find_rejects_other_kinds_and_mixed_values() {
        assert_eq!(find(Kind::Movement, "low angle").map(|t| t.id), None);
        assert_eq!(
            find(Kind::Movement, "push in, pull out").map(|t| t.id),
            None
        );
        assert_eq!(
            find(Kind::Movement, "push in on the villain").map(|t| t.id),
            None
        );
        assert_eq!(find(Kind::Size, "").map(|t| t.id), None);
        assert_eq!(
            find_exact(Kind::Movement, " Push-In. ").map(|t| t.id),
            Some("push_in")
        );
        assert_eq!(
            find_exact(Kind::Movement, "slow push in").map(|t| t.id),
            None
        );
        assert_eq!(find(Kind::Size, "  ，。 ").map(|t| t.id), None);
    }

    #[test]
    fn scan_free_text_longest_first_in_order() {
        let cases = examples().scan;
        assert!(cases.len() >= 14);
        for (kind, text, want) in cases {
            assert_eq!(ids(&scan(kind, &text)), want, "{kind:?} {text:?}");
        }
    }

    #[test]
    fn scan_accepts_inflections_of_long_words_only() {
        assert_eq!(
            ids(&scan(Kind::Movement, "The camera orbits her")),
            ["orbit"]
        );
        assert_eq!(ids(&scan(Kind::Movement, "ORBITING slowly")), ["orbit"]);
        assert_eq!(ids(&scan(Kind::Movement, "panning shot")), ["pan"]);
        assert_eq!(ids(&scan(Kind::Size, "two close-ups")), Vec::<&str>::new());
        assert_eq!(ids(&scan(Kind::Movement, "orbital")), Vec::<&str>::new());
    }

    #[test]
    fn names_follow_the_language() {
        let t = find(Kind::Movement, "push in").expect("push in");
        assert_eq!(t.name(Lang::En), "push in");
        assert_eq!(t.name(Lang::Zh), "推进");
        assert_eq!(Kind::from_field("camera.lens"), Some(Kind::Lens));
        assert_eq!(Kind::from_field("camera.zoom"), None);
    }

    #[test]
    fn moves_conflict_symmetrically() {
        let m = |id| get(Kind::Movement, id).expect(id);
        let pairs = [
            ("push_in", "pull_out", true),
            ("pull_out", "push_in", true),
            ("tilt_up", "tilt_down", true),
            ("tilt_down", "tilt_up", true),
            ("pan_left", "pan_right", true),
            ("pan_right", "pan_left", true),
            ("crane_down", "crane_up", true),
            ("static", "tracking", true),
            ("tracking", "static", true),
            ("handheld", "static", true),
            ("push_in", "push_in", false),
            ("handheld", "tracking", false),
            ("push_in", "pan_left", false),
        ];
        for (a, b, want) in pairs {
            assert_eq!(m(a).conflicts(m(b)), want, "{a} vs {b}");
        }
        let low = get(Kind::Angle, "low_angle").expect("low");
        assert!(!low.conflicts(m("push_in")), "kinds never conflict");
        assert!(
            get(Kind::Movement, "pull_out")
                .expect("pull out")
                .conflicts_with
                .contains(&"push_in")
        );
    }

    #[test]
    fn animatic_moves_have_terms() {
        for mv in CameraMove::ALL {
            let label = mv.label();
            let t = find(Kind::Movement, label).expect(label);
            assert_eq!(t.camera_move, Some(mv), "{}", mv.label());
        }
    }

    #[test]
    fn broken_tables_are_refused_with_the_term() {
        let dup = "[[term]]\nkind='size'\nid='a'\nen='x'\nzh='甲'\n[[term]]\nkind='size'\nid='a'\nen='y'\nzh='乙'\n";
        assert!(load(dup).err().unwrap_or_default().contains("'a'"));
        let bad = "[[term]]\nkind='size'\nid='a'\nen='x'\nzh='甲'\nconflicts_with=['b']\n";
        assert!(load(bad).err().unwrap_or_default().contains("'b'"));
        let same = "[[term]]\nkind='size'\nid='a'\nen='x'\nzh='甲'\n[[term]]\nkind='size'\nid='b'\nen='X'\nzh='乙'\n";
        assert!(load(same).err().unwrap_or_default().contains("also names"));
        assert!(load("[[term]]\nkind='colour'").is_err());
    }

    proptest! {
        #[test]
        fn scan_and_find_never_panic(text in messy_text()) {
            for kind in Kind::ALL {
                let _ = scan(kind, &text);
                let _ = find(kind, &text);
            }
        }
    }
}
