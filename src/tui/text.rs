//! Text for the screen: outside text sanitised (no control characters or escape sequences), cut
//! to a width in display cells (a Chinese character is two) with an ellipsis, padded to align.

use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// Sanitised, on one line, cut to `width` cells (with `…` when cut).
pub fn fit(text: &str, width: usize) -> String {
    let clean = crate::sanitize::line(text);
    cut(&clean, width)
}

/// Cuts already clean text to `width` cells.
pub fn cut(text: &str, width: usize) -> String {
    if UnicodeWidthStr::width(text) <= width {
        return text.to_string();
    }
    if width == 0 {
        return String::new();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = c.width().unwrap_or(0);
        if used + w > width - 1 {
            break;
        }
        used += w;
        out.push(c);
    }
    out.push('…');
    out
}

/// `fit` padded with spaces to exactly `width` cells.
pub fn pad(text: &str, width: usize) -> String {
    let mut s = fit(text, width);
    let w = UnicodeWidthStr::width(s.as_str());
    s.extend(std::iter::repeat_n(' ', width.saturating_sub(w)));
    s
}

/// Display width in cells.
pub fn width(text: &str) -> usize {
    UnicodeWidthStr::width(text)
}

/// Wraps sanitised text into lines of at most `width` cells, breaking at spaces where it can
/// and anywhere in runs without spaces (Chinese).
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(2);
    let mut lines = Vec::new();
    for para in crate::sanitize::sanitize(text, true).split('\n') {
        let mut line = String::new();
        let mut used = 0;
        for word in split_keep_spaces(para) {
            let ww = UnicodeWidthStr::width(word);
            if used + ww <= width {
                line.push_str(word);
                used += ww;
                continue;
            }
            if ww <= width && !word.trim().is_empty() {
                lines.push(line.trim_end().to_string());
                line = word.to_string();
                used = ww;
                continue;
            }
            for c in word.chars() {
                let cw = c.width().unwrap_or(0);
                if used + cw > width {
                    lines.push(line.trim_end().to_string());
                    line.clear();
                    used = 0;
                }
                if !(used == 0 && c == ' ') {
                    line.push(c);
                    used += cw;
                }
            }
        }
        lines.push(line.trim_end().to_string());
    }
    lines
}

fn split_keep_spaces(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, c) in s.char_indices() {
        if c == ' ' {
            out.push(&s[start..i + 1]);
            start = i + 1;
        }
    }
    if start < s.len() {
        out.push(&s[start..]);
    }
    out
}

/// `12.3 s`, `4 m 05 s`, `1 h 02 m`.
pub fn duration(ms: u64) -> String {
    let s = ms / 1000;
    if s < 60 {
        format!("{:.1} s", ms as f64 / 1000.0)
    } else if s < 3600 {
        format!("{} m {:02} s", s / 60, s % 60)
    } else {
        format!("{} h {:02} m", s / 3600, (s % 3600) / 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_counts_cells_and_strips_escapes() {
        assert_eq!(fit("雨夜小巷追逐", 7), "雨夜小…");
        assert_eq!(width(&fit("雨夜小巷追逐", 7)), 7);
        assert_eq!(fit("a\u{1b}[2Jb", 10), "ab");
        assert_eq!(pad("雨", 4), "雨  ");
        assert_eq!(fit("abc", 0), "");
    }

    #[test]
    fn wrap_breaks_words_and_han_runs() {
        assert_eq!(wrap("a slow push in", 8), vec!["a slow", "push in"]);
        assert_eq!(
            wrap("李雷冲进小巷回头张望", 8),
            vec!["李雷冲进", "小巷回头", "张望"]
        );
        assert_eq!(wrap("one\ntwo", 10), vec!["one", "two"]);
    }

    #[test]
    fn durations_read_like_a_clock() {
        assert_eq!(duration(1_500), "1.5 s");
        assert_eq!(duration(245_000), "4 m 05 s");
        assert_eq!(duration(3_720_000), "1 h 02 m");
    }
}
