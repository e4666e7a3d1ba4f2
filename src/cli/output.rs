//! Printing: aligned tables for people, one JSON document for programs. Every cell is
//! sanitised; widths count terminal columns, so Chinese text lines up.

use std::cell::RefCell;
use std::io::Write as _;

use anyhow::Result;
use serde::Serialize;

use crate::sanitize::line;

thread_local! {
    /// When set, command output goes here instead of the terminal (a command run on behalf of
    /// another previs process, see `cli::control`).
    static CAPTURE: RefCell<Option<Captured>> = const { RefCell::new(None) };
}

/// What a captured command printed.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Captured {
    pub stdout: String,
    pub stderr: String,
}

/// Runs `f` with its output captured on this thread.
pub fn capture<T>(f: impl FnOnce() -> T) -> (T, Captured) {
    CAPTURE.with(|c| *c.borrow_mut() = Some(Captured::default()));
    let r = f();
    let out = CAPTURE.with(|c| c.borrow_mut().take()).unwrap_or_default();
    (r, out)
}

/// A line on stdout. A closed pipe (`previs shots | head -1`) ends the command quietly.
pub fn out_line(text: &str) {
    let captured = CAPTURE.with(|c| {
        c.borrow_mut().as_mut().map(|cap| {
            cap.stdout.push_str(text);
            cap.stdout.push('\n');
        })
    });
    if captured.is_some() {
        return;
    }
    let mut o = std::io::stdout().lock();
    if let Err(e) = writeln!(o, "{text}") {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
    }
}

/// A line on stderr.
pub fn err_line(text: &str) {
    let captured = CAPTURE.with(|c| {
        c.borrow_mut().as_mut().map(|cap| {
            cap.stderr.push_str(text);
            cap.stderr.push('\n');
        })
    });
    if captured.is_none() {
        let _ = writeln!(std::io::stderr().lock(), "{text}");
    }
}

/// `println!` for command output.
macro_rules! outln {
    ($($t:tt)*) => { $crate::cli::output::out_line(&format!($($t)*)) };
}

/// `eprintln!` for command notes.
macro_rules! errln {
    ($($t:tt)*) => { $crate::cli::output::err_line(&format!($($t)*)) };
}

pub(crate) use {errln, outln};

/// A timestamp as `YYYY-MM-DD HH:MM UTC`.
pub fn when(ms: crate::model::Millis) -> String {
    let ((y, m, d), rem) = crate::model::utc_date(ms);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60
    )
}

pub fn print_json<T: Serialize + ?Sized>(value: &T) -> Result<()> {
    let text = serde_json::to_string_pretty(value)?;
    out_line(&text);
    Ok(())
}

/// Terminal columns of `s` (CJK and other wide characters take two).
pub fn width(s: &str) -> usize {
    s.chars().map(char_width).sum()
}

fn char_width(c: char) -> usize {
    let cp = c as u32;
    let wide = matches!(cp,
        0x1100..=0x115F | 0x2E80..=0x303E | 0x3041..=0x33FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF
        | 0xA000..=0xA4CF | 0xAC00..=0xD7A3 | 0xF900..=0xFAFF | 0xFE30..=0xFE4F | 0xFF00..=0xFF60
        | 0xFFE0..=0xFFE6 | 0x1F300..=0x1F64F | 0x1F900..=0x1F9FF | 0x20000..=0x3FFFD);
    if wide { 2 } else { 1 }
}

/// Cuts `s` to at most `max` columns, marking a cut with `…`.
pub fn clip(s: &str, max: usize) -> String {
    if width(s) <= max {
        return s.to_string();
    }
    let mut out = String::new();
    let mut w = 0;
    for c in s.chars() {
        let cw = char_width(c);
        if w + cw + 1 > max {
            break;
        }
        out.push(c);
        w += cw;
    }
    out.push('…');
    out
}

/// Prints rows under headers. Columns are cut at 40 terminal columns, except the last, which is
/// printed whole (it holds paths and messages people copy).
pub fn table(headers: &[&str], rows: &[Vec<String>]) {
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| r.iter().map(|c| line(c)).collect())
        .collect();
    let n = headers.len();
    let mut widths: Vec<usize> = headers.iter().map(|h| width(h)).collect();
    for r in &rows {
        for (i, c) in r.iter().enumerate().take(n.saturating_sub(1)) {
            widths[i] = widths[i].max(width(c).min(40));
        }
    }
    let print = |cells: &[String]| {
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i + 1 == n {
                s.push_str(&clip(c, 200));
            } else {
                let c = clip(c, widths[i]);
                s.push_str(&c);
                s.push_str(&" ".repeat(widths[i] - width(&c) + 2));
            }
        }
        out_line(s.trim_end());
    };
    print(&headers.iter().map(|h| (*h).to_string()).collect::<Vec<_>>());
    for r in &rows {
        print(r);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_civil_utc() {
        assert_eq!(when(0), "1970-01-01 00:00 UTC");
        assert_eq!(when(1_795_623_480_000), "2026-11-25 16:18 UTC");
        assert_eq!(when(951_782_400_000), "2000-02-29 00:00 UTC");
    }

    #[test]
    fn widths_count_wide_characters_twice() {
        assert_eq!(width("abc"), 3);
        assert_eq!(width("夜 小巷"), 7);
        assert_eq!(clip("夜色中的小巷", 7), "夜色中…");
        assert_eq!(clip("short", 7), "short");
    }
}
