//! One data row of a shot list read into a shot: text cells, numbers, durations, notes and
//! dialogue.
//!
//! Every cell of a known column is cleaned once, when the row is read (`clean_cell`): line
//! endings normalised, trimmed, one leading `'` removed (the mark `export` puts before a cell a
//! spreadsheet would run as a formula, and the one spreadsheets use to keep text as text), and
//! control characters, escape sequences and bidi overrides removed.
//!
//! Invariant: an empty cell leaves its field unset; a cell that cannot be read (or is longer
//! than the field limit) is an error that names the row's line, the column as the file wrote it
//! and what was expected.

use std::collections::HashMap;

use super::columns::{Column, Columns};
use super::dialogue::read_dialogue;
use super::escape::unescape_note;
use super::syntax;
use crate::model::ShotSpec;
use crate::sanitize::sanitize;
use crate::script::{ParsedShot, ScriptError, check_length};

/// The largest seed every backend takes (a signed 32-bit integer).
const MAX_SEED: u64 = 2_147_483_647;

/// A cell as the row holds it.
struct Cell {
    /// Trimmed, without the leading `'`, not yet sanitised: what the user typed.
    raw: String,
    /// `raw` sanitised and trimmed again: what the shot gets.
    text: String,
}

/// `raw` trimmed, without one leading `'`, and the same sanitised (keeping line breaks when
/// `multiline`).
fn clean_cell(raw: &str, multiline: bool) -> Cell {
    let cell = raw.replace("\r\n", "\n").replace('\r', "\n");
    let cell = cell.trim();
    let raw = cell.strip_prefix('\'').unwrap_or(cell).trim().to_string();
    let text = sanitize(&raw, multiline).trim().to_string();
    Cell { raw, text }
}

/// One data row being read into a shot.
pub(super) struct Row<'a> {
    file: &'a str,
    line: u32,
    header: &'a ::csv::StringRecord,
    columns: &'a Columns,
    cells: HashMap<Column, Cell>,
}

impl<'a> Row<'a> {
    /// Reads the cells of the known columns of `record`, at `line` of `file`.
    pub(super) fn new(
        file: &'a str,
        line: u32,
        header: &'a ::csv::StringRecord,
        record: &::csv::StringRecord,
        columns: &'a Columns,
    ) -> Result<Self, ScriptError> {
        let mut row = Self {
            file,
            line,
            header,
            columns,
            cells: HashMap::new(),
        };
        for column in Column::ALL {
            let Some(raw) = columns.get(column).and_then(|i| record.get(i)) else {
                continue;
            };
            let cell = clean_cell(raw, column.is_multiline());
            let field = format!("'{}' cell", row.header_of(column));
            check_length(file, line, &field, &cell.text)?;
            row.cells.insert(column, cell);
        }
        Ok(row)
    }

    /// The cleaned cell of `column`; empty when there is no column.
    pub(super) fn text(&self, column: Column) -> String {
        self.cells
            .get(&column)
            .map(|c| c.text.clone())
            .unwrap_or_default()
    }

    /// The scene cell (`None` when it is empty), a scene number as [`Self::code`] checks it.
    pub(super) fn scene(&self) -> Result<Option<String>, ScriptError> {
        self.code(Column::Scene, "scene number")
    }

    /// The cell of `column` (`None` when it is empty) as a code that names files and folders
    /// later: something must be left of it once cleaned, and no `/` or `\`.
    fn code(&self, column: Column, what: &str) -> Result<Option<String>, ScriptError> {
        let Some(cell) = self.cells.get(&column).filter(|c| !c.raw.is_empty()) else {
            return Ok(None);
        };
        let (shown, problem) = if cell.text.is_empty() {
            (
                format!("{:?}", cell.raw),
                "is empty once control characters are removed".to_string(),
            )
        } else if let Some(c) = cell.text.chars().find(|c| matches!(c, '/' | '\\')) {
            (format!("\"{}\"", cell.text), format!("contains '{c}'"))
        } else {
            return Ok(Some(cell.text.clone()));
        };
        Err(syntax(
            self.file,
            self.line,
            format!("{what} {shown} {problem}; use letters, digits, '-' or '.'"),
        ))
    }

    /// The header as the file wrote it, for messages.
    pub(super) fn header_of(&self, column: Column) -> &str {
        self.columns
            .get(column)
            .and_then(|i| self.header.get(i))
            .map_or(column.name(), str::trim)
    }

    fn bad(&self, column: Column, value: &str, expected: &str) -> ScriptError {
        syntax(
            self.file,
            self.line,
            format!(
                "column '{}' has '{value}'; expected {expected}",
                self.header_of(column)
            ),
        )
    }

    /// A whole number that `valid` accepts, or `None` for an empty cell.
    fn count(
        &self,
        column: Column,
        valid: impl Fn(u32) -> bool,
        expected: &str,
    ) -> Result<Option<u32>, ScriptError> {
        let value = self.text(column);
        if value.is_empty() {
            return Ok(None);
        }
        match value.parse::<u32>() {
            Ok(n) if valid(n) => Ok(Some(n)),
            _ => Err(self.bad(column, &value, expected)),
        }
    }

    /// Width and height: even (video encoders need it) and from 16 to 4096 pixels; one without
    /// the other is an error, since a backend cannot guess the missing side.
    fn size(&self) -> Result<(Option<u32>, Option<u32>), ScriptError> {
        let pixels = |n: u32| n % 2 == 0 && (16..=4096).contains(&n);
        let width = self.count(
            Column::Width,
            pixels,
            "a width in pixels such as 1280: an even number from 16 to 4096",
        )?;
        let height = self.count(
            Column::Height,
            pixels,
            "a height in pixels such as 720: an even number from 16 to 4096",
        )?;
        let one = |(has, has_value): (Column, u32), lacks: Column| {
            syntax(
                self.file,
                self.line,
                format!(
                    "column '{}' has '{has_value}' but '{}' is empty; fill both or neither",
                    self.header_of(has),
                    self.header_of(lacks)
                ),
            )
        };
        match (width, height) {
            (Some(w), None) => Err(one((Column::Width, w), Column::Height)),
            (None, Some(h)) => Err(one((Column::Height, h), Column::Width)),
            _ => Ok((width, height)),
        }
    }

    pub(super) fn shot(&self) -> Result<ParsedShot, ScriptError> {
        let duration = self.text(Column::Duration);
        let duration_s = if duration.is_empty() {
            None
        } else {
            Some(parse_duration(&duration).ok_or_else(|| {
                self.bad(
                    Column::Duration,
                    &duration,
                    "seconds such as 5, 5s or 2.5, or minutes:seconds such as 00:05",
                )
            })?)
        };
        let seed = self.text(Column::Seed);
        let seed = if seed.is_empty() {
            None
        } else {
            match seed.parse::<u64>() {
                Ok(n) if n <= MAX_SEED => Some(n),
                _ => {
                    return Err(self.bad(
                        Column::Seed,
                        &seed,
                        "a whole number (seed must be 0 to 2147483647)",
                    ));
                }
            }
        };
        let (width, height) = self.size()?;
        let spec = ShotSpec {
            subject: self.text(Column::Subject),
            action: self.text(Column::Description),
            environment: self.text(Column::Environment),
            camera: crate::script::camera(
                &self.text(Column::Size),
                &self.text(Column::Angle),
                &self.text(Column::Movement),
                &self.text(Column::Lens),
            ),
            lighting: self.text(Column::Lighting),
            style: self.text(Column::Style),
            negative: self.text(Column::Negative),
            duration_s,
            width,
            height,
            fps: self.count(
                Column::Fps,
                |n| (1..=120).contains(&n),
                "frames per second such as 24: a whole number from 1 to 120",
            )?,
            seed,
        };
        let notes = self
            .text(Column::Notes)
            .lines()
            .map(|l| unescape_note(l.trim()))
            .filter(|n| !n.is_empty())
            .collect();
        let mut dialogue = Vec::new();
        for entry in self.text(Column::Dialogue).lines() {
            let entry = entry.trim();
            if entry.is_empty() {
                continue;
            }
            dialogue.push(read_dialogue(entry).map_err(|why| {
                syntax(
                    self.file,
                    self.line,
                    format!(
                        "column '{}' has '{entry}': {why}; write one line per dialogue line as CHARACTER (EXT) [dual]: (parenthetical) text",
                        self.header_of(Column::Dialogue)
                    ),
                )
            })?);
        }
        let code = self.code(Column::Shot, "shot code")?;
        let source_text = if spec.action.is_empty() {
            spec.subject.clone()
        } else {
            spec.action.clone()
        };
        Ok(ParsedShot {
            code,
            spec,
            dialogue,
            notes,
            line: self.line,
            source_text,
        })
    }
}

/// `5`, `5s`, `2.5`, `2.5 sec`, `5秒`, `00:05`, `1:02.5`, `0:01:30`: positive, finite seconds.
fn parse_duration(value: &str) -> Option<f64> {
    let lower = value.trim().to_lowercase();
    let bare = ["秒", "seconds", "second", "secs", "sec", "s"]
        .iter()
        .find_map(|unit| lower.strip_suffix(unit))
        .unwrap_or(&lower)
        .trim();
    let seconds = if bare.contains(':') {
        let parts: Vec<&str> = bare.split(':').collect();
        if parts.len() > 3 {
            return None;
        }
        let (last, whole) = parts.split_last()?;
        let secs: f64 = last.parse().ok()?;
        if !(0.0..60.0).contains(&secs) || last.starts_with(['+', '-']) {
            return None;
        }
        let mut total = 0.0;
        for part in whole {
            if part.is_empty() || !part.chars().all(|c| c.is_ascii_digit()) {
                return None;
            }
            total = total * 60.0 + part.parse::<f64>().ok()?;
        }
        total * 60.0 + secs
    } else {
        bare.parse::<f64>().ok()?
    };
    (seconds.is_finite() && seconds > 0.0).then_some(seconds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_in_every_common_form() {
        let cases = [
            ("5", 5.0),
            ("5s", 5.0),
            ("5 s", 5.0),
            ("2.5", 2.5),
            ("2.5 sec", 2.5),
            ("4秒", 4.0),
            ("00:05", 5.0),
            ("01:30", 90.0),
            ("1:02.5", 62.5),
            ("0:01:30", 90.0),
        ];
        for (text, want) in cases {
            assert_eq!(parse_duration(text), Some(want), "{text:?}");
        }
        for bad in [
            "", "abc", "-1", "0", "1:75", "1:-5", "nan", "inf", "1:2:3:4", ":5", "5m",
        ] {
            assert_eq!(parse_duration(bad), None, "{bad:?}");
        }
    }
}
