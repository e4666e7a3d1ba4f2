//! CSV shot lists: one row per shot, in (`parse`) and out (`export`).
//!
//! Invariant: `export` then `parse` gives back every field a row carries (scene number and
//! heading, shot code, the whole `ShotSpec`, dialogue, notes) exactly, for text without leading
//! or trailing whitespace and without control characters (which `parse` removes from every
//! cell), and for values `parse` accepts (a seed up to 2147483647, sizes and frame rates in
//! range). The `notes` and `dialogue` cells hold one entry per line; inside an entry `\n`
//! stands for a line break and `\\` for a backslash. A cell that starts with `'` loses that
//! one `'`, which `export` puts before cells a spreadsheet would run as formulas.
//!
//! The parts: `columns` says which header names mean which column, `quotes` finds a quoted
//! field that never closes, `row` reads one row into a shot, `escape` and `dialogue` hold the
//! text format of the `notes` and `dialogue` cells, `export` writes shot lists.

mod columns;
mod dialogue;
mod escape;
mod export;
mod quotes;
mod row;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_checks;

use std::collections::HashMap;

use columns::{Column, Columns, map_columns};
pub use export::export;
use quotes::unterminated_quote;
use row::Row;

use super::fountain::{parse_heading, scene_environment};
use super::{ParsedScene, ParsedScript, ScriptError};

/// Parses a CSV shot list with a header row. `file` only names the list in errors.
///
/// The delimiter is `,`, or `;` or a tab when the header line holds no comma (spreadsheet exports
/// in some locales). Unknown columns are ignored, with one warning that names them; a
/// `description` (or `subject`) column is required. Rows are grouped into scenes by their scene
/// value, in order of first appearance; a row with an empty scene cell belongs to the scene of
/// the row above (a merged cell in a spreadsheet), so only the first row must name one; without
/// a scene column every row belongs to scene `1`. Blank rows are skipped.
pub fn parse(file: &str, text: &str) -> Result<ParsedScript, ScriptError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let no_shots = || {
        syntax(
            file,
            1,
            "no shots found; add one row per shot under a header such as 'scene,shot,description'",
        )
    };
    if text.trim().is_empty() {
        return Err(no_shots());
    }
    let header_line = text.lines().next().unwrap_or("");
    let delimiter = if header_line.contains(',') {
        b','
    } else if header_line.matches(';').count() >= header_line.matches('\t').count().max(1) {
        b';'
    } else if header_line.contains('\t') {
        b'\t'
    } else {
        b','
    };
    if let Some(line) = unterminated_quote(text, delimiter) {
        return Err(syntax(
            file,
            line,
            "unterminated quote: the field opened here has no closing '\"'; close it or escape quotes inside it as \"\"",
        ));
    }
    let mut reader = ::csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(text.as_bytes());
    let mut records = reader.records();
    let header = match records.next() {
        None => return Err(no_shots()),
        Some(record) => record.map_err(|e| csv_error(file, &e))?,
    };
    let header_no = line_of(text, &header);
    let columns = map_columns(file, header_no, &header)?;

    let mut scenes: Vec<ParsedScene> = Vec::new();
    let mut by_number: HashMap<String, usize> = HashMap::new();
    let mut last_scene: Option<String> = None;
    // Ignored columns without a name are reported only when some row fills them.
    let mut unnamed_filled = vec![false; header.len()];
    for record in records {
        let record = record.map_err(|e| csv_error(file, &e))?;
        let line = line_of(text, &record);
        if record.iter().all(|cell| cell.trim().is_empty()) {
            continue;
        }
        if record.len() != header.len() {
            return Err(syntax(
                file,
                line,
                format!(
                    "row has {} fields but the header has {}; quote cells that contain '{}' or line breaks",
                    record.len(),
                    header.len(),
                    char::from(delimiter).escape_default()
                ),
            ));
        }
        for &i in &columns.ignored {
            if let Some(seen) = unnamed_filled.get_mut(i) {
                *seen |= record.get(i).is_some_and(|c| !c.trim().is_empty());
            }
        }
        let row = Row::new(file, line, &header, &record, &columns)?;
        let number = match columns.get(Column::Scene) {
            None => "1".to_string(),
            Some(_) => match (row.scene()?, last_scene.take()) {
                (Some(number), _) | (None, Some(number)) => number,
                (None, None) => {
                    return Err(syntax(
                        file,
                        line,
                        format!(
                            "the first row has no scene; fill the '{}' column (e.g. 1 or 12A); rows below it may leave it empty to stay in the same scene",
                            row.header_of(Column::Scene)
                        ),
                    ));
                }
            },
        };
        last_scene = Some(number.clone());
        let index = *by_number.entry(number.clone()).or_insert_with(|| {
            scenes.push(ParsedScene {
                number: Some(number.clone()),
                line,
                ..ParsedScene::default()
            });
            scenes.len() - 1
        });
        let scene = &mut scenes[index];
        let heading = row.text(Column::Heading);
        if !heading.is_empty() {
            if scene.heading.is_empty() {
                let parts = parse_heading(&heading);
                scene.heading = parts.text;
                scene.int_ext = parts.int_ext;
                scene.location = parts.location;
                scene.time_of_day = parts.time_of_day;
            } else if scene.heading != heading {
                return Err(syntax(
                    file,
                    line,
                    format!(
                        "scene {number} already has the heading '{}' (line {}); leave the heading empty or repeat it exactly",
                        scene.heading, scene.line
                    ),
                ));
            }
        }
        let shot = row.shot()?;
        scene.shots.push(shot);
    }
    if scenes.is_empty() {
        return Err(no_shots());
    }
    if columns.get(Column::Environment).is_none() {
        for scene in &mut scenes {
            let environment = scene_environment(scene);
            for shot in &mut scene.shots {
                shot.spec.environment = environment.clone();
            }
        }
    }
    let warnings = ignored_columns(file, header_no, &header, &columns, &unnamed_filled)
        .into_iter()
        .collect();
    Ok(ParsedScript {
        title_page: Vec::new(),
        scenes,
        warnings,
    })
}

/// `FILE:LINE: ignored columns: X, Y (known: scene, shot, …)`, or `None` when every column is
/// read. Columns without a name count only when `filled` says some row has a value in them.
fn ignored_columns(
    file: &str,
    line: u32,
    header: &::csv::StringRecord,
    columns: &Columns,
    filled: &[bool],
) -> Option<String> {
    let names: Vec<String> = columns
        .ignored
        .iter()
        .filter_map(|&i| {
            let name = crate::sanitize::line(header.get(i).unwrap_or_default());
            let name = name.trim();
            if !name.is_empty() {
                Some(name.to_string())
            } else if filled.get(i).copied().unwrap_or(false) {
                Some(format!("column {} (no name)", i + 1))
            } else {
                None
            }
        })
        .collect();
    if names.is_empty() {
        return None;
    }
    let known: Vec<&str> = Column::ALL.iter().map(|c| c.name()).collect();
    Some(format!(
        "{file}:{line}: ignored columns: {} (known: {})",
        names.join(", "),
        known.join(", ")
    ))
}

/// A syntax error at `line` of `file`; every part reports its errors this way.
fn syntax(file: &str, line: u32, message: impl Into<String>) -> ScriptError {
    crate::script::syntax(file, line, &message.into())
}

fn csv_error(file: &str, error: &::csv::Error) -> ScriptError {
    let line = error
        .position()
        .map_or(1, |p| u32::try_from(p.line()).unwrap_or(u32::MAX));
    syntax(file, line, format!("unreadable CSV: {error}"))
}

/// The 1-based physical line a record starts on. The reader positions a record before the blank
/// lines it skips, so those are counted here.
fn line_of(text: &str, record: &::csv::StringRecord) -> u32 {
    let Some(position) = record.position() else {
        return 1;
    };
    let start = usize::try_from(position.byte()).unwrap_or(usize::MAX);
    let skipped = text
        .as_bytes()
        .get(start..)
        .unwrap_or_default()
        .iter()
        .take_while(|b| matches!(b, b'\n' | b'\r'))
        .filter(|b| **b == b'\n')
        .count();
    u32::try_from(position.line())
        .unwrap_or(u32::MAX)
        .saturating_add(u32::try_from(skipped).unwrap_or(u32::MAX))
}
