//! Fountain emphasis (`***bold italic***`, `**bold**`, `*italic*`, `_underline_`) taken out of
//! the text the reader sees.
//!
//! Invariant: only markers that open and close a matching pair are removed, and the backslash
//! of an escaped marker; every other character stays, so no text is lost.

/// Removes Fountain emphasis (`***bold italic***`, `**bold**`, `*italic*`, `_underline_`) from
/// one line; `\*` and `\_` stay as literal characters.
///
/// As in the spec (and Markdown), a marker opens only before a non-space and closes only after
/// one, so `He dialed *69 and then *23` keeps both asterisks; `_` also does not open or close
/// inside a word, so `snake_case_name` stays as it is. Unmatched markers stay literal.
pub fn strip_emphasis(text: &str) -> String {
    struct Run {
        ch: char,
        len: usize,
        open: bool,
        close: bool,
    }
    enum Piece {
        Text(String),
        Run(usize),
    }
    let chars: Vec<char> = text.chars().collect();
    let mut pieces: Vec<Piece> = Vec::new();
    let mut runs: Vec<Run> = Vec::new();
    let push_char = |pieces: &mut Vec<Piece>, c: char| match pieces.last_mut() {
        Some(Piece::Text(s)) => s.push(c),
        _ => pieces.push(Piece::Text(c.to_string())),
    };
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\\' && matches!(chars.get(i + 1), Some('*' | '_')) {
            push_char(&mut pieces, chars[i + 1]);
            i += 2;
            continue;
        }
        if c != '*' && c != '_' {
            push_char(&mut pieces, c);
            i += 1;
            continue;
        }
        let start = i;
        while chars.get(i) == Some(&c) {
            i += 1;
        }
        let prev = start.checked_sub(1).map(|p| chars[p]);
        let next = chars.get(i).copied();
        let before_text = next.is_some_and(|n| !n.is_whitespace());
        let after_text = prev.is_some_and(|p| !p.is_whitespace());
        let (open, close) = if c == '*' {
            (before_text, after_text)
        } else {
            (
                before_text && !prev.is_some_and(is_word_char),
                after_text && !next.is_some_and(is_word_char),
            )
        };
        pieces.push(Piece::Run(runs.len()));
        runs.push(Run {
            ch: c,
            len: i - start,
            open,
            close,
        });
    }
    // Each closer is matched with the nearest earlier opener of the same character; openers in
    // between stay literal (they cannot close across it).
    let mut openers: Vec<usize> = Vec::new();
    for k in 0..runs.len() {
        if runs[k].close {
            while runs[k].len > 0 {
                let ch = runs[k].ch;
                let Some(pos) = openers
                    .iter()
                    .rposition(|&o| runs[o].ch == ch && runs[o].len > 0)
                else {
                    break;
                };
                let o = openers[pos];
                let used = runs[o].len.min(runs[k].len).min(3);
                runs[o].len -= used;
                runs[k].len -= used;
                openers.truncate(if runs[o].len == 0 { pos } else { pos + 1 });
            }
        }
        if runs[k].open && runs[k].len > 0 {
            openers.push(k);
        }
    }
    let mut out = String::with_capacity(text.len());
    for piece in pieces {
        match piece {
            Piece::Text(s) => out.push_str(&s),
            Piece::Run(r) => out.extend(std::iter::repeat_n(runs[r].ch, runs[r].len)),
        }
    }
    out
}

/// Letters with case and digits: `_` does not open or close between them (`snake_case`), but it
/// does next to Chinese, which has no spaces between words (`_李雷_冲进小巷`).
fn is_word_char(c: char) -> bool {
    c.is_ascii_digit() || c.is_lowercase() || c.is_uppercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emphasis_is_stripped_and_escapes_kept() {
        let cases = [
            ("*italic*", "italic"),
            ("**bold**", "bold"),
            ("***bold italic***", "bold italic"),
            ("_underline_", "underline"),
            ("_**both**_ here", "both here"),
            ("**bold *italic* bold**", "bold italic bold"),
            (
                "Brick and Steel *are* friends.",
                "Brick and Steel are friends.",
            ),
            (
                "He dialed *69 and then *23, and then hung up.",
                "He dialed *69 and then *23, and then hung up.",
            ),
            (
                "He dialed *69 and then 23*, and then hung up.",
                "He dialed 69 and then 23, and then hung up.",
            ),
            (
                "Steel enters the code: \\*9765\\*",
                "Steel enters the code: *9765*",
            ),
            ("snake_case_name", "snake_case_name"),
            ("a * b", "a * b"),
            ("unclosed **bold", "unclosed **bold"),
            ("他**猛地**回头", "他猛地回头"),
            ("_李雷_冲进小巷", "李雷冲进小巷"),
            ("back\\slash", "back\\slash"),
        ];
        for (text, want) in cases {
            assert_eq!(strip_emphasis(text), want, "{text:?}");
        }
    }
}
