//! The `dialogue` cell of a shot list: one dialogue line an entry, written as
//!
//! ```text
//! CHARACTER (EXT) (EXT) [dual]: (parenthetical) text
//! ```
//!
//! Everything but the character and the text is optional: `BRICK: Hi.`,
//! `MOM (O.S.): Dinner!`, `STEEL [dual]: (grinning) Retirement.`, `韩梅梅：（低声）快走。`
//! (a full-width colon and parentheses are read too; `^` after the name means dual as well).
//! Characters that would be read as syntax are escaped with a backslash: `\(`, `\)`, `\[`,
//! `\]`, `\^`, `\:` (and their full-width forms) in the character and in extensions, `\(` and
//! `\)` in the parenthetical, and a `(` that opens the text when there is no parenthetical.
//!
//! Invariant: `read_dialogue(&write_dialogue(line))` gives back `line` exactly, for text without
//! leading or trailing whitespace.

use super::escape::{escape, read_chars};
use crate::model::DialogueLine;

/// Escaped in the character and in extensions: everything the cue and the colon are read by.
const NAME_SPECIAL: &[char] = &['(', ')', '[', ']', '^', ':', '：', '（', '）'];
const PAREN_SPECIAL: &[char] = &['(', ')', '（', '）'];

pub(super) fn write_dialogue(line: &DialogueLine) -> String {
    let mut out = escape(&line.character, NAME_SPECIAL);
    for ext in &line.extensions {
        out.push_str(" (");
        out.push_str(&escape(ext, NAME_SPECIAL));
        out.push(')');
    }
    if line.dual {
        out.push_str(" [dual]");
    }
    out.push(':');
    if let Some(p) = &line.parenthetical {
        out.push_str(" (");
        out.push_str(&escape(p, PAREN_SPECIAL));
        out.push(')');
    }
    let text = escape(&line.text, &[]);
    if !text.is_empty() {
        out.push(' ');
        if text.starts_with(['(', '（']) {
            out.push('\\');
        }
        out.push_str(&text);
    }
    out
}

/// Reads one dialogue line (see the module documentation); the error says what is wrong.
pub(super) fn read_dialogue(entry: &str) -> Result<DialogueLine, String> {
    let chars = read_chars(entry);
    let is = |i: usize, set: &[char]| chars.get(i).is_some_and(|(c, esc)| !esc && set.contains(c));
    let text_of = |range: &[(char, bool)]| range.iter().map(|(c, _)| *c).collect::<String>();
    let colon = (0..chars.len())
        .find(|&i| is(i, &[':', '：']))
        .ok_or("no ':' after the character")?;

    // The cue: name, then ` (EXT)` groups and an optional `[dual]` or `^`.
    let cue = &chars[..colon];
    let name_end = (0..cue.len())
        .find(|&i| is(i, &['(', '（', '[', '^']))
        .unwrap_or(cue.len());
    let character = text_of(&cue[..name_end]).trim().to_string();
    let mut extensions = Vec::new();
    let mut dual = false;
    let mut i = name_end;
    while i < cue.len() {
        if cue[i].0.is_whitespace() && !cue[i].1 {
            i += 1;
        } else if is(i, &['(', '（']) {
            let close = (i + 1..cue.len())
                .find(|&j| is(j, &[')', '）']))
                .ok_or("an extension '(' is not closed")?;
            extensions.push(text_of(&cue[i + 1..close]).trim().to_string());
            i = close + 1;
        } else if is(i, &['^']) {
            dual = true;
            i += 1;
        } else if is(i, &['[']) {
            let close = (i + 1..cue.len())
                .find(|&j| is(j, &[']']))
                .ok_or("a '[' is not closed")?;
            let word = text_of(&cue[i + 1..close]);
            if !word.trim().eq_ignore_ascii_case("dual") {
                return Err(format!("'[{word}]' is not '[dual]'"));
            }
            dual = true;
            i = close + 1;
        } else {
            return Err("text after the character's extensions".to_string());
        }
    }

    // After the colon: an optional parenthetical, then the text.
    let mut i = colon + 1;
    while chars
        .get(i)
        .is_some_and(|(c, esc)| !esc && c.is_whitespace())
    {
        i += 1;
    }
    let mut parenthetical = None;
    if is(i, &['(', '（']) {
        let close = (i + 1..chars.len())
            .find(|&j| is(j, &[')', '）']))
            .ok_or("the parenthetical '(' is not closed")?;
        parenthetical = Some(text_of(&chars[i + 1..close]).trim().to_string());
        i = close + 1;
    }
    let text = text_of(&chars[i.min(chars.len())..]).trim().to_string();
    Ok(DialogueLine {
        character,
        extensions,
        parenthetical,
        text,
        dual,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::script::csv::tests::line;

    #[test]
    fn dialogue_cells_read_the_documented_format() {
        let cases = [
            ("BRICK: Hi.", line("BRICK", &[], None, "Hi.", false)),
            (
                "MOM (O.S.): Dinner!",
                line("MOM", &["O.S."], None, "Dinner!", false),
            ),
            (
                "STEEL [dual]: (grinning) Retirement.",
                line("STEEL", &[], Some("grinning"), "Retirement.", true),
            ),
            ("STEEL ^: Yes.", line("STEEL", &[], None, "Yes.", true)),
            (
                "韩梅梅（画外音）：（低声）快走。",
                line("韩梅梅", &["画外音"], Some("低声"), "快走。", false),
            ),
            (
                "A (V.O.) (CONT'D) [DUAL]:",
                line("A", &["V.O.", "CONT'D"], None, "", true),
            ),
            (
                "NOTE\\: X: two\\nlines",
                line("NOTE: X", &[], None, "two\nlines", false),
            ),
            (
                "B: \\(aside) not a parenthetical",
                line("B", &[], None, "(aside) not a parenthetical", false),
            ),
            ("B: time 10:30", line("B", &[], None, "time 10:30", false)),
        ];
        for (text, want) in cases {
            assert_eq!(read_dialogue(text).as_ref(), Ok(&want), "{text:?}");
            assert_eq!(
                read_dialogue(&write_dialogue(&want)).as_ref(),
                Ok(&want),
                "{text:?}"
            );
        }
        for bad in [
            "no colon here",
            "A (V.O.: x",
            "A [solo]: x",
            "A (X) B: x",
            "A: (open",
        ] {
            assert!(read_dialogue(bad).is_err(), "{bad:?}");
        }
    }
}
