//! CSV shot lists: one row per shot, in (`parse`) and out (`export`).
//!
//! Invariant: `export` then `parse` gives back every field a row carries (scene number and
//! heading, shot code, the whole `ShotSpec`, dialogue, notes) exactly, for text without leading
//! or trailing whitespace. The `notes` and `dialogue` cells hold one entry per line; inside an
//! entry `\n` stands for a line break and `\\` for a backslash.
//!
//! The parts: `columns` says which header names mean which column, `row` reads one row into a
//! shot, `escape` and `dialogue` hold the text format of the `notes` and `dialogue` cells.

mod columns;
mod dialogue;
mod escape;
mod row;
#[cfg(test)]
mod tests;

use std::collections::HashMap;

use columns::{Column, map_columns};
use dialogue::write_dialogue;
use escape::escape;
use row::Row;

use super::fountain::{parse_heading, scene_environment};
use super::{ParsedScene, ParsedScript, ScriptError};
use crate::model::{Scene, Shot};

/// Parses a CSV shot list with a header row. `file` only names the list in errors.
///
/// The delimiter is `,`, or `;` or a tab when the header line holds no comma (spreadsheet exports
/// in some locales). Unknown columns are ignored; a `description` (or `subject`) column is
/// required. Rows are grouped into scenes by their scene value, in order of first appearance;
/// without a scene column every row belongs to scene `1`. Blank rows are skipped.
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
        let row = Row {
            file,
            line,
            header: &header,
            record: &record,
            columns: &columns,
        };
        let number = match columns.get(Column::Scene) {
            None => "1".to_string(),
            Some(_) => {
                let number = row.text(Column::Scene);
                if number.is_empty() {
                    return Err(syntax(
                        file,
                        line,
                        format!(
                            "row has no scene; fill the '{}' column (e.g. 1 or 12A)",
                            row.header_of(Column::Scene)
                        ),
                    ));
                }
                number
            }
        };
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
    Ok(ParsedScript {
        title_page: Vec::new(),
        scenes,
    })
}

/// Writes `shots` (in the given order) as a shot list that [`parse`] reads back; each row's
/// heading is that of the scene in `scenes` whose number is the shot's scene.
pub fn export(
    scenes: &[Scene],
    shots: &[Shot],
    out: &mut dyn std::io::Write,
) -> Result<(), ScriptError> {
    let io = |message: String| ScriptError::Io {
        file: "<output>".into(),
        message,
    };
    let mut writer = ::csv::Writer::from_writer(out);
    writer
        .write_record(Column::ALL.map(Column::name))
        .map_err(|e| io(e.to_string()))?;
    for shot in shots {
        let heading = scenes
            .iter()
            .find(|s| s.number == shot.scene)
            .map_or("", |s| s.heading.as_str());
        let spec = &shot.spec;
        let number = |n: Option<u32>| n.map(|n| n.to_string()).unwrap_or_default();
        let notes: Vec<String> = shot.notes.iter().map(|n| escape(n, &[])).collect();
        let dialogue: Vec<String> = shot.dialogue.iter().map(write_dialogue).collect();
        let row: [String; 20] = [
            shot.scene.clone(),
            shot.code.clone(),
            heading.to_string(),
            spec.camera.size.clone(),
            spec.camera.angle.clone(),
            spec.camera.movement.clone(),
            spec.camera.lens.clone(),
            spec.action.clone(),
            spec.duration_s.map(|d| d.to_string()).unwrap_or_default(),
            notes.join("\n"),
            spec.subject.clone(),
            spec.environment.clone(),
            spec.lighting.clone(),
            spec.style.clone(),
            spec.negative.clone(),
            number(spec.width),
            number(spec.height),
            number(spec.fps),
            spec.seed.map(|s| s.to_string()).unwrap_or_default(),
            dialogue.join("\n"),
        ];
        writer.write_record(&row).map_err(|e| io(e.to_string()))?;
    }
    writer.flush().map_err(|e| io(e.to_string()))
}

/// A syntax error at `line` of `file`; every part reports its errors this way.
fn syntax(file: &str, line: u32, message: impl Into<String>) -> ScriptError {
    ScriptError::Syntax {
        file: file.to_string(),
        line,
        message: message.into(),
    }
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
