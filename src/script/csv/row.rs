//! One data row of a shot list read into a shot: text cells, numbers, durations, notes and
//! dialogue.
//!
//! Invariant: an empty cell leaves its field unset; a cell that cannot be read is an error that
//! names the row's line, the column as the file wrote it and what was expected.

use super::columns::{Column, Columns};
use super::dialogue::read_dialogue;
use super::escape::unescape_note;
use super::syntax;
use crate::model::ShotSpec;
use crate::script::{ParsedShot, ScriptError};

/// One data row being read into a shot.
pub(super) struct Row<'a> {
    pub(super) file: &'a str,
    pub(super) line: u32,
    pub(super) header: &'a ::csv::StringRecord,
    pub(super) record: &'a ::csv::StringRecord,
    pub(super) columns: &'a Columns,
}

impl Row<'_> {
    /// The cell of `column`, line endings normalised and trimmed; empty when there is no column.
    pub(super) fn text(&self, column: Column) -> String {
        self.columns
            .get(column)
            .and_then(|i| self.record.get(i))
            .map(|cell| {
                cell.replace("\r\n", "\n")
                    .replace('\r', "\n")
                    .trim()
                    .to_string()
            })
            .unwrap_or_default()
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

    /// A positive whole number, or `None` for an empty cell.
    fn count(&self, column: Column, expected: &str) -> Result<Option<u32>, ScriptError> {
        let value = self.text(column);
        if value.is_empty() {
            return Ok(None);
        }
        match value.parse::<u32>() {
            Ok(n) if n > 0 => Ok(Some(n)),
            _ => Err(self.bad(column, &value, expected)),
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
            Some(seed.parse::<u64>().map_err(|_| {
                self.bad(
                    Column::Seed,
                    &seed,
                    "a whole number from 0 to 18446744073709551615",
                )
            })?)
        };
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
            width: self.count(Column::Width, "a width in pixels such as 1280")?,
            height: self.count(Column::Height, "a height in pixels such as 720")?,
            fps: self.count(Column::Fps, "frames per second such as 24")?,
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
        let code = self.text(Column::Shot);
        let source_text = if spec.action.is_empty() {
            spec.subject.clone()
        } else {
            spec.action.clone()
        };
        Ok(ParsedShot {
            code: (!code.is_empty()).then_some(code),
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
