//! Blocklist rules and matching.
//!
//! A term matches when its folded form (see `normalize`) is a substring of the folded prompt.
//! Latin terms are matched on the form with leetspeak undone and must start a word of the
//! original text; those of four letters or fewer (and quoted ones) must also end one. The
//! trade-off: "sex" no longer hits "Essex" or "sextant", "naked" no longer hits "snaked" and
//! "putin" no longer hits "computing", but a Latin term glued to a preceding letter
//! ("xnaked", "childporn" for the rule "porn") slips through; the classifier hook is the place
//! for deeper checks. Chinese has no spaces, so CJK terms match anywhere; the ordinary words
//! that happen to contain a term (角色 + 情绪 reads as 色情) are listed as allowed phrases, and
//! a match lying inside an allowed phrase does not count.
//!
//! Invariants: rules are checked in order (built-in first, gravest first) and the first that
//! matches names the refusal; a message shows the matched span of the prompt and nothing more.

use std::collections::HashMap;
use std::path::Path;
use std::sync::OnceLock;

use super::normalize::{Folded, is_word_char, normalize};
use super::parse::{Line, Term, parse_line};
use super::{Blocked, Rule, message};

/// A line may expand (through `|`) to at most this many rules.
const MAX_EXPANSION: usize = 10_000;

/// The source of the embedded rules.
pub(super) const BUILT_IN: &str = "built-in";

/// Built-in rules plus user rules, ready to check prompts.
#[derive(Debug, Clone, Default)]
pub struct Blocklist {
    patterns: Vec<Pattern>,
    index: HashMap<Pattern, usize>,
    rules: Vec<Entry>,
    /// Patterns of allowed phrases.
    allow: Vec<usize>,
}

#[derive(Debug, Clone)]
struct Entry {
    rule: Rule,
    /// Indices into `patterns`; all must match.
    parts: Vec<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Pattern {
    folded: String,
    /// Matched on the leetspeak form, starting a word.
    latin: bool,
    /// Also ending a word (short or quoted Latin terms).
    both_ends: bool,
}

impl Pattern {
    fn new(term: &Term) -> Result<Pattern, String> {
        let base = normalize(&term.written);
        if base.is_empty() {
            return Err(format!(
                "{:?} has no letters or digits, so it would match every prompt; give a word",
                term.written
            ));
        }
        let latin = base.chars().all(|c| c.is_ascii_alphanumeric());
        if term.whole_word && !latin {
            return Err(format!(
                "quotes mark a whole Latin word and {:?} is not one; remove the quotes",
                term.written
            ));
        }
        if latin && base.len() < 2 {
            return Err(format!(
                "{:?} is a single letter and would block every prompt with that word; give a longer term",
                term.written
            ));
        }
        let folded = if latin {
            Folded::new(&term.written, true).text
        } else {
            base
        };
        let both_ends = latin && (term.whole_word || folded.len() <= 4);
        Ok(Pattern {
            folded,
            latin,
            both_ends,
        })
    }
}

impl Blocklist {
    /// The embedded rules: sexual content, minors, real political leaders, terrorist
    /// propaganda, gore beyond film norms and self-harm instructions, in Chinese and English.
    pub fn builtin() -> Blocklist {
        static BUILTIN: OnceLock<Blocklist> = OnceLock::new();
        BUILTIN
            .get_or_init(|| {
                let mut list = Blocklist::default();
                for (n, line) in include_str!("blocklist.txt").lines().enumerate() {
                    // A bad built-in line is skipped, not fatal: the rest still protects
                    // (a test keeps the file clean).
                    if let Err(e) = list.add_line(line, BUILT_IN) {
                        tracing::error!("built-in blocklist line {}: {e}", n + 1);
                    }
                }
                list
            })
            .clone()
    }

    /// Adds a user file: one term per line; `#` comments and blank lines ignored; a line
    /// `a & b` means both must appear; optional `category: term` prefix (`|` alternatives,
    /// `"word"` whole words and `! phrase` allowed phrases as in the built-in list). Errors name
    /// `path:line` and the fix; invalid UTF-8 or a missing file is a one-line error.
    pub fn with_file(mut self, path: &Path) -> Result<Blocklist, String> {
        let shown = path.display();
        let bytes = std::fs::read(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => {
                format!("{shown}: no such blocklist file; check the path")
            }
            _ => format!(
                "{shown}: cannot read the blocklist ({e}); check the path and its permissions"
            ),
        })?;
        let text = String::from_utf8(bytes).map_err(|e| {
            let at = e.utf8_error().valid_up_to();
            let line = e.as_bytes()[..at].iter().filter(|&&b| b == b'\n').count() + 1;
            format!("{shown}:{line}: invalid UTF-8 at byte {at}; save the file as UTF-8")
        })?;
        let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
        for (n, line) in text.lines().enumerate() {
            let source = format!("{shown}:{}", n + 1);
            self.add_line(line, &source)
                .map_err(|e| format!("{source}: {e}"))?;
        }
        Ok(self)
    }

    /// Number of rules (a line with `|` alternatives counts once per combination).
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The rules in the order they are checked.
    pub fn rules(&self) -> impl Iterator<Item = &Rule> {
        self.rules.iter().map(|e| &e.rule)
    }

    /// The first rule the text matches. Run it on the compiled prompt (and the negative prompt
    /// if the caller wants that checked as well).
    pub fn check(&self, text: &str) -> Option<Blocked> {
        if self.rules.is_empty() {
            return None;
        }
        let scan = Scan::new(text);
        let allowed: Vec<(usize, usize)> = self
            .allow
            .iter()
            .flat_map(|&p| scan.occurrences(&self.patterns[p]))
            .collect();
        let mut first: Vec<Option<Option<(usize, usize)>>> = vec![None; self.patterns.len()];
        'rules: for entry in &self.rules {
            let mut spans = Vec::with_capacity(entry.parts.len());
            for &p in &entry.parts {
                let hit = *first[p].get_or_insert_with(|| {
                    scan.occurrences(&self.patterns[p])
                        .into_iter()
                        .find(|&(s, e)| !allowed.iter().any(|&(a, b)| a <= s && e <= b))
                });
                match hit {
                    Some(span) => spans.push(span),
                    None => continue 'rules,
                }
            }
            return Some(message::term_blocked(&entry.rule, text, &spans));
        }
        None
    }

    pub(super) fn add_line(&mut self, line: &str, source: &str) -> Result<(), String> {
        match parse_line(line)? {
            None => Ok(()),
            Some(Line::Allow(terms)) => {
                for t in &terms {
                    let p = self.intern(Pattern::new(t)?);
                    self.allow.push(p);
                }
                Ok(())
            }
            Some(Line::Rule { category, parts }) => {
                let compiled = parts
                    .iter()
                    .map(|alts| {
                        alts.iter()
                            .map(|t| Pattern::new(t).map(|p| (t.written.as_str(), p)))
                            .collect::<Result<Vec<_>, _>>()
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                let total = compiled
                    .iter()
                    .try_fold(1usize, |n, alts| n.checked_mul(alts.len()))
                    .filter(|&n| n <= MAX_EXPANSION);
                if total.is_none() {
                    return Err(format!(
                        "the '|' alternatives expand to more than {MAX_EXPANSION} rules; split the line"
                    ));
                }
                // Every combination of alternatives, the last part varying fastest.
                let mut pick = vec![0usize; compiled.len()];
                loop {
                    let chosen: Vec<&(&str, Pattern)> = compiled
                        .iter()
                        .zip(&pick)
                        .map(|(alts, &i)| &alts[i])
                        .collect();
                    let words: Vec<&str> = chosen.iter().map(|(w, _)| *w).collect();
                    let parts = chosen.iter().map(|(_, p)| self.intern(p.clone())).collect();
                    self.rules.push(Entry {
                        rule: Rule {
                            id: format!("{category}/{}", words.join(" & ")),
                            category: category.clone(),
                            source: source.to_string(),
                        },
                        parts,
                    });
                    let mut k = compiled.len();
                    loop {
                        if k == 0 {
                            return Ok(());
                        }
                        k -= 1;
                        pick[k] += 1;
                        if pick[k] < compiled[k].len() {
                            break;
                        }
                        pick[k] = 0;
                    }
                }
            }
        }
    }

    fn intern(&mut self, p: Pattern) -> usize {
        if let Some(&i) = self.index.get(&p) {
            return i;
        }
        self.patterns.push(p.clone());
        self.index.insert(p, self.patterns.len() - 1);
        self.patterns.len() - 1
    }
}

/// A prompt folded both ways, with the original for word boundaries.
struct Scan<'a> {
    original: &'a str,
    plain: Folded,
    leet: Folded,
}

impl<'a> Scan<'a> {
    fn new(original: &'a str) -> Scan<'a> {
        Scan {
            original,
            plain: Folded::new(original, false),
            leet: Folded::new(original, true),
        }
    }

    /// Original byte ranges of every occurrence that respects the pattern's word boundaries.
    fn occurrences(&self, p: &Pattern) -> Vec<(usize, usize)> {
        let folded = if p.latin { &self.leet } else { &self.plain };
        let mut out = Vec::new();
        let mut from = 0;
        while let Some(i) = folded.text.get(from..).and_then(|t| t.find(&p.folded)) {
            let at = from + i;
            if let Some((s, e)) = folded.original_span(at, p.folded.len()) {
                if !p.latin || self.bounded(s, e, p.both_ends) {
                    out.push((s, e));
                }
            }
            from = at + folded.text[at..].chars().next().map_or(1, char::len_utf8);
        }
        out
    }

    fn bounded(&self, start: usize, end: usize, both_ends: bool) -> bool {
        let before = self.original[..start].chars().next_back();
        let after = self.original[end..].chars().next();
        let starts_word = !before.is_some_and(is_word_char);
        let ends_word = !after.is_some_and(is_word_char);
        starts_word && (ends_word || !both_ends)
    }
}
