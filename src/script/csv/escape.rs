//! Escapes inside the entries of the `notes` and `dialogue` cells. A cell holds one entry a line,
//! so inside an entry `\n` stands for a line break and `\\` for a backslash; `\x` keeps a
//! punctuation character `x` from being read as syntax.
//!
//! Invariant: `read_chars(&escape(text, special))` gives back the characters of `text`, with
//! every backslash, line break and `special` character marked as escaped.

/// Backslash, line break, and the `special` characters, escaped with a backslash.
pub(super) fn escape(text: &str, special: &[char]) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if special.contains(&c) => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

pub(super) fn unescape_note(text: &str) -> String {
    read_chars(text)
        .into_iter()
        .map(|(c, _)| c)
        .collect::<String>()
        .trim()
        .to_string()
}

/// Characters with whether they were escaped: `\n` → line break, `\\` → `\`, `\x` → `x` for
/// punctuation `x`; a backslash before anything else is an ordinary character.
pub(super) fn read_chars(text: &str) -> Vec<(char, bool)> {
    let mut out = Vec::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.peek().copied() {
                Some('n') => {
                    chars.next();
                    out.push(('\n', true));
                    continue;
                }
                Some(next)
                    if next == '\\' || (!next.is_alphanumeric() && !next.is_whitespace()) =>
                {
                    chars.next();
                    out.push((next, true));
                    continue;
                }
                _ => {}
            }
        }
        out.push((c, false));
    }
    out
}
