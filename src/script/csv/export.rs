//! Shots out as a shot list that `parse` reads back.
//!
//! Spreadsheets run a cell that starts with `=`, `+`, `-` or `@` as a formula (a shot list
//! opened in one could then compute, or call out, from text an AI model or a colleague wrote),
//! and hide a leading `'`. So such a cell, and one that starts with `'`, is written with a `'`
//! before it, the spreadsheets' own mark for "text, not a formula", and `parse` takes exactly one
//! leading `'` off every cell.
//!
//! Invariant: `parse(export(…))` gives back every field exactly (see the module of `csv`), the
//! cells that got a `'` included.

use super::columns::Column;
use super::dialogue::write_dialogue;
use super::escape::escape;
use crate::model::{Scene, Shot};
use crate::script::ScriptError;

/// Writes `shots` (in the given order) as a shot list that `parse` reads back; each row's
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
        writer
            .write_record(row.map(text_cell))
            .map_err(|e| io(e.to_string()))?;
    }
    writer.flush().map_err(|e| io(e.to_string()))
}

/// `cell` with a `'` before it when a spreadsheet would run it as a formula or hide its `'`.
fn text_cell(cell: String) -> String {
    if cell.starts_with(['=', '+', '-', '@', '\'']) {
        format!("'{cell}")
    } else {
        cell
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_cells_get_a_quote() {
        let cases = [
            ("=SUM(A1)", "'=SUM(A1)"),
            ("+1", "'+1"),
            ("-3 dB", "'-3 dB"),
            ("@home", "'@home"),
            ("'quoted", "''quoted"),
            ("a=b", "a=b"),
            ("", ""),
            ("李雷", "李雷"),
        ];
        for (cell, want) in cases {
            assert_eq!(text_cell(cell.to_string()), want, "{cell:?}");
        }
    }
}
