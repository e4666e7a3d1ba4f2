//! One sanitiser for every string from outside (prompts, file names, backend messages) before
//! it reaches a terminal: escape sequences and control characters are removed, so a prompt can
//! never move the cursor, change colours or retitle the window.

/// Removes ANSI/VT escape sequences (CSI, OSC, DCS, …) and control characters; keeps newlines
/// and tabs only when `keep_newlines` is set (tabs become spaces otherwise).
pub fn sanitize(text: &str, keep_newlines: bool) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => skip_escape(&mut chars),
            // C1 control introducers (CSI, OSC, DCS, SOS, PM, APC) start sequences too.
            '\u{9b}' => skip_csi(&mut chars),
            '\u{9d}' | '\u{90}' | '\u{98}' | '\u{9e}' | '\u{9f}' => skip_string(&mut chars),
            '\n' if keep_newlines => out.push('\n'),
            '\n' | '\r' | '\t' => out.push(' '),
            c if c.is_control() => {}
            // Bidi overrides can reorder what the user sees.
            '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => {}
            c => out.push(c),
        }
    }
    out
}

/// One line: newlines become spaces.
pub fn line(text: &str) -> String {
    sanitize(text, false)
}

type Chars<'a> = std::iter::Peekable<std::str::Chars<'a>>;

fn skip_escape(chars: &mut Chars<'_>) {
    match chars.next() {
        Some('[') => skip_csi(chars),
        Some(']' | 'P' | 'X' | '^' | '_') => skip_string(chars),
        // Two-character sequences (ESC c, ESC 7, ESC ( B …): drop the next char too.
        Some('(' | ')' | '*' | '+' | '#' | '%') => {
            chars.next();
        }
        _ => {}
    }
}

fn skip_csi(chars: &mut Chars<'_>) {
    for c in chars.by_ref() {
        if ('\u{40}'..='\u{7e}').contains(&c) {
            break;
        }
    }
}

/// Skips to the string terminator (BEL, ESC \ or ST).
fn skip_string(chars: &mut Chars<'_>) {
    while let Some(c) = chars.next() {
        match c {
            '\u{7}' | '\u{9c}' => break,
            '\u{1b}' => {
                if chars.peek() == Some(&'\\') {
                    chars.next();
                }
                break;
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_controls_are_removed() {
        let cases = [
            ("plain 中文 text", "plain 中文 text"),
            ("red \u{1b}[31mALERT\u{1b}[0m", "red ALERT"),
            ("title \u{1b}]0;pwned\u{7}done", "title done"),
            ("osc52 \u{1b}]52;c;ZXZpbA==\u{1b}\\end", "osc52 end"),
            ("dcs \u{1b}Pq#0;2;0;0;0\u{1b}\\x", "dcs x"),
            ("c1 \u{9b}2Jclear", "c1 clear"),
            ("bell\u{7} nul\u{0} bs\u{8}", "bell nul bs"),
            ("a\nb\tc\rd", "a b c d"),
            ("rtl \u{202e}evil", "rtl evil"),
            ("reset \u{1b}c done", "reset  done"),
            ("charset \u{1b}(0x", "charset x"),
            ("cut \u{1b}[", "cut "),
        ];
        for (input, want) in cases {
            assert_eq!(line(input), want, "{input:?}");
        }
        assert_eq!(sanitize("a\nb", true), "a\nb");
    }
}
