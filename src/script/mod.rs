//! Scripts to shots: Fountain screenplays and CSV shot lists in, CSV shot lists out.
//!
//! Invariant: parsing is pure (text in, [`ParsedScript`] out) and never touches the store;
//! reconciling a parse with the shots already stored is [`merge`]'s job. Every error names the
//! file and the 1-based line. Every text a parser hands out (headings, action, dialogue, notes,
//! synopses, title page values, cells, codes) has passed [`crate::sanitize`], so it holds no
//! control characters, escape sequences or bidi overrides (line breaks stay in multi-line
//! fields), and no field is longer than [`MAX_FIELD_CHARS`].

pub mod csv;
pub mod fountain;
pub mod merge;

use std::path::Path;

use thiserror::Error;

use crate::model::{CameraSpec, DialogueLine, IntExt, ShotSpec};

/// A script after parsing, before it is matched with what the store holds.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ParsedScript {
    /// Fountain title page keys and values in file order (`Title`, `Author`, …).
    pub title_page: Vec<(String, String)>,
    pub scenes: Vec<ParsedScene>,
    /// What the parser read past without failing, for the user to see: `FILE:LINE: …` each
    /// (columns of a shot list it does not know, for instance).
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ParsedScene {
    /// `#12A#` in Fountain or the scene column of a CSV; `None`: numbered in order later.
    pub number: Option<String>,
    /// The heading as written, emphasis stripped; empty for action before the first heading.
    pub heading: String,
    pub int_ext: Option<IntExt>,
    pub location: String,
    pub time_of_day: Option<String>,
    /// 1-based line of the heading (of the first row, for CSV).
    pub line: u32,
    pub synopses: Vec<String>,
    pub shots: Vec<ParsedShot>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ParsedShot {
    /// The shot column of a CSV; `None` for Fountain (codes are assigned from the scene).
    pub code: Option<String>,
    /// Fountain: `action` from the paragraph, `environment` from the heading; CSV: every
    /// column that was present.
    pub spec: ShotSpec,
    pub dialogue: Vec<DialogueLine>,
    pub notes: Vec<String>,
    /// 1-based line where the shot starts.
    pub line: u32,
    /// The text that identifies the shot across re-imports (the action paragraph as written,
    /// emphasis stripped, line endings normalised).
    pub source_text: String,
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum ScriptError {
    #[error("{file}:{line}: {message}")]
    Syntax {
        file: String,
        line: u32,
        message: String,
    },
    #[error("{file}:{line}: invalid UTF-8 (byte offset {offset}); save the file as UTF-8")]
    InvalidUtf8 {
        file: String,
        line: u32,
        offset: usize,
    },
    #[error("{file}: {message}")]
    Io { file: String, message: String },
    #[error(
        "{file}: unknown script format {ext:?}; use a .fountain (or .spmd, .txt) screenplay or a .csv shot list"
    )]
    UnknownFormat { file: String, ext: String },
}

/// Which parser a file goes to, by extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Fountain,
    Csv,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Self::Fountain => "fountain",
            Self::Csv => "csv",
        }
    }

    pub fn of(path: &Path) -> Result<Self, ScriptError> {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or("")
            .to_ascii_lowercase();
        match ext.as_str() {
            "fountain" | "spmd" | "txt" => Ok(Self::Fountain),
            "csv" => Ok(Self::Csv),
            _ => Err(ScriptError::UnknownFormat {
                file: path.display().to_string(),
                ext,
            }),
        }
    }
}

/// Decodes `bytes` as UTF-8 (a BOM is dropped), naming the line of the first bad byte.
pub fn decode(file: &str, bytes: &[u8]) -> Result<String, ScriptError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(s) => Ok(s.to_string()),
        Err(e) => {
            let offset = e.valid_up_to();
            let line = 1 + bytes[..offset].iter().filter(|b| **b == b'\n').count();
            Err(ScriptError::InvalidUtf8 {
                file: file.to_string(),
                line: u32::try_from(line).unwrap_or(u32::MAX),
                offset,
            })
        }
    }
}

/// Reads and parses a script file, choosing the parser by extension.
pub fn parse_file(path: &Path) -> Result<(Format, ParsedScript), ScriptError> {
    let file = path.display().to_string();
    if path.is_dir() {
        return Err(ScriptError::Io {
            file,
            message: "is a directory; give the script file itself (a .fountain or .csv)".into(),
        });
    }
    let format = Format::of(path)?;
    let bytes = std::fs::read(path).map_err(|e| ScriptError::Io {
        file: file.clone(),
        message: match e.kind() {
            std::io::ErrorKind::NotFound => "no such file; check the path".to_string(),
            std::io::ErrorKind::PermissionDenied => {
                "not readable (permission denied); check its permissions".to_string()
            }
            _ => e.to_string(),
        },
    })?;
    let text = decode(&file, &bytes)?;
    let parsed = match format {
        Format::Fountain => fountain::parse(&file, &text)?,
        Format::Csv => csv::parse(&file, &text)?,
    };
    Ok((format, parsed))
}

/// The longest text one field (an action paragraph, a dialogue line, a note, a cell …) may hold,
/// in characters: a longer one is an error rather than a prompt nobody can read or render.
pub const MAX_FIELD_CHARS: usize = 20_000;

/// An error at `line` of `file` when `text`, the `field` named in the message (`action`,
/// `'Notes' cell`), is longer than [`MAX_FIELD_CHARS`].
pub(crate) fn check_length(
    file: &str,
    line: u32,
    field: &str,
    text: &str,
) -> Result<(), ScriptError> {
    if text.len() <= MAX_FIELD_CHARS {
        return Ok(());
    }
    let n = text.chars().count();
    if n <= MAX_FIELD_CHARS {
        return Ok(());
    }
    Err(ScriptError::Syntax {
        file: file.to_string(),
        line,
        message: format!(
            "the {field} is {n} characters long; split it (at most {MAX_FIELD_CHARS})"
        ),
    })
}

/// A syntax error; the message quotes text from the file, so it is sanitised like that text.
pub(crate) fn syntax(file: &str, line: u32, message: &str) -> ScriptError {
    ScriptError::Syntax {
        file: file.to_string(),
        line,
        message: crate::sanitize::line(message),
    }
}

/// Keeps `CameraSpec` import in one place for both formats.
pub fn camera(size: &str, angle: &str, movement: &str, lens: &str) -> CameraSpec {
    CameraSpec {
        size: size.trim().to_string(),
        angle: angle.trim().to_string(),
        movement: movement.trim().to_string(),
        lens: lens.trim().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_names_the_line_of_bad_bytes() {
        let err = decode("s.fountain", b"EXT. ROAD - DAY\n\nok\n\xff\xfe").unwrap_err();
        assert_eq!(
            err.to_string(),
            "s.fountain:4: invalid UTF-8 (byte offset 20); save the file as UTF-8"
        );
        assert_eq!(decode("s", b"\xEF\xBB\xBFhi").unwrap(), "hi");
    }

    #[test]
    fn fields_longer_than_the_limit_are_errors() {
        let at_limit = "字".repeat(MAX_FIELD_CHARS);
        assert_eq!(check_length("f", 3, "action", &at_limit), Ok(()));
        let over = format!("{at_limit}a");
        let err = check_length("f", 3, "action", &over).unwrap_err();
        assert_eq!(
            err.to_string(),
            "f:3: the action is 20001 characters long; split it (at most 20000)"
        );
        let msg = syntax("f", 1, "column 'x\u{1b}[2J' has 'a\nb\u{202e}'").to_string();
        assert_eq!(msg, "f:1: column 'x' has 'a b'");
    }

    #[test]
    fn format_by_extension() {
        assert_eq!(
            Format::of(Path::new("a.Fountain")).unwrap(),
            Format::Fountain
        );
        assert_eq!(Format::of(Path::new("a.csv")).unwrap(), Format::Csv);
        assert!(Format::of(Path::new("a.docx")).is_err());
    }
}
