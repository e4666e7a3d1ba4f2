//! The passes over lines that come before elements are recognised: line endings and binary
//! content, boneyard (`/* … */`), notes (`[[ … ]]`) and the title page.
//!
//! Title pages with a full-width colon: Chinese input methods type `：` for `:`, so
//! `标题：雨夜` and `Title：…` are keys like `Title:`. Everything else about the title page is
//! as the spec says: it is read only at the very top, up to the first blank line, and indented
//! lines continue the value above.
//!
//! Invariant: every `Line` keeps the number of the line of the file where it starts, however
//! boneyard and notes joined or removed lines; besides tabs becoming four spaces and control
//! characters, escape sequences and bidi overrides being removed (by `sanitize`, before any
//! other pass, so no text handed out can hold them), only boneyard and notes leave the text, and
//! every note that holds text is kept in `Line::notes`.

use super::elements::is_transition;
use super::emphasis::strip_emphasis;
use super::syntax;
use super::zh_scene::zh_scene_prefix;
use crate::sanitize::sanitize;
use crate::script::{ScriptError, check_length};

/// A line after boneyard and notes are taken out. A boneyard or note spanning lines joins the
/// text before it and the text after it into one line, numbered where it started.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Line {
    pub(super) no: u32,
    pub(super) text: String,
    /// Notes that stood on this line (or on note-only lines right after it).
    pub(super) notes: Vec<String>,
}

impl Line {
    pub(super) fn is_blank(&self) -> bool {
        self.text.trim().is_empty()
    }

    /// Exactly two spaces: the spec's way to keep an empty line inside dialogue or a paragraph.
    pub(super) fn is_soft(&self) -> bool {
        self.text == "  "
    }
}

fn line_no(index: usize) -> u32 {
    u32::try_from(index + 1).unwrap_or(u32::MAX)
}

/// Splits on CRLF, LF and lone CR; refuses binary content (a NUL byte, which no text editor
/// writes but UTF-16 and binary files are full of); tabs become four spaces; other control
/// characters, escape sequences (`ESC [31m`) and bidi overrides are removed, as text pasted
/// from a terminal or a word processor carries them and they must never reach one.
pub(super) fn split_lines(file: &str, text: &str) -> Result<Vec<Line>, ScriptError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    let mut out = Vec::new();
    for (index, raw) in text.split('\n').enumerate() {
        if raw.contains('\0') {
            return Err(syntax(
                file,
                line_no(index),
                "binary content (a NUL byte); a Fountain script is plain UTF-8 text: check that this is the right file",
            ));
        }
        out.push(Line {
            no: line_no(index),
            text: sanitize(&raw.replace('\t', "    "), false),
            notes: Vec::new(),
        });
    }
    Ok(out)
}

/// Removes `/* … */` anywhere, across lines and blank lines. The text before and after a
/// boneyard joins into one line: a line emptied this way is blank, as if the hidden text had
/// never been typed (the spec's own example relies on it).
pub(super) fn take_out_boneyard(file: &str, lines: Vec<Line>) -> Result<Vec<Line>, ScriptError> {
    let mut out = Vec::with_capacity(lines.len());
    // While inside a boneyard: the logical line so far and the line of its `/*`.
    let mut open: Option<(Line, u32)> = None;
    for line in lines {
        let (mut kept, mut opened) = match open.take() {
            Some((kept, at)) => (kept, Some(at)),
            None => (
                Line {
                    no: line.no,
                    ..Line::default()
                },
                None,
            ),
        };
        let mut rest = line.text.as_str();
        loop {
            if opened.is_some() {
                let Some(p) = rest.find("*/") else { break };
                rest = &rest[p + 2..];
                opened = None;
            } else if let Some(p) = rest.find("/*") {
                kept.text.push_str(&rest[..p]);
                rest = &rest[p + 2..];
                opened = Some(line.no);
            } else {
                kept.text.push_str(rest);
                break;
            }
        }
        match opened {
            Some(at) => open = Some((kept, at)),
            None => out.push(kept),
        }
    }
    if let Some((_, at)) = open {
        return Err(syntax(
            file,
            at,
            "unterminated boneyard: '/*' has no closing '*/'; add '*/' where the hidden text ends",
        ));
    }
    Ok(out)
}

/// Moves `[[ … ]]` out of the text into `Line::notes`. A note may span lines but not a blank
/// line (two spaces keep an empty line inside it). A line that held only notes disappears and
/// its notes go to the line before it, or, after a blank line, stand alone on a blank line.
pub(super) fn take_out_notes(file: &str, lines: Vec<Line>) -> Result<Vec<Line>, ScriptError> {
    let mut out: Vec<Line> = Vec::with_capacity(lines.len());
    // While inside a note: the logical line so far, the note so far, the line of its `[[`.
    let mut open: Option<(Line, String, u32)> = None;
    let mut had_note = false;
    for line in lines {
        let (mut kept, mut note, mut opened) = match open.take() {
            Some((kept, mut note, at)) => {
                if line.is_blank() && !line.is_soft() {
                    return Err(unterminated_note(file, at));
                }
                note.push('\n');
                (kept, note, Some(at))
            }
            None => {
                had_note = false;
                (
                    Line {
                        no: line.no,
                        ..Line::default()
                    },
                    String::new(),
                    None,
                )
            }
        };
        let mut rest = line.text.as_str();
        loop {
            if opened.is_some() {
                let Some(p) = rest.find("]]") else {
                    note.push_str(rest);
                    break;
                };
                note.push_str(&rest[..p]);
                rest = &rest[p + 2..];
                opened = None;
                let text = clean_note(&note);
                check_length(file, kept.no, "note", &text)?;
                if !text.is_empty() {
                    kept.notes.push(text);
                }
                note.clear();
            } else if let Some(p) = rest.find("[[") {
                kept.text.push_str(&rest[..p]);
                rest = &rest[p + 2..];
                opened = Some(line.no);
                had_note = true;
            } else {
                kept.text.push_str(rest);
                break;
            }
        }
        if let Some(at) = opened {
            open = Some((kept, note, at));
            continue;
        }
        if had_note && kept.is_blank() {
            match out.last_mut() {
                Some(prev) if !prev.is_blank() => prev.notes.append(&mut kept.notes),
                _ => out.push(Line {
                    text: String::new(),
                    ..kept
                }),
            }
        } else {
            out.push(kept);
        }
    }
    if let Some((_, _, at)) = open {
        return Err(unterminated_note(file, at));
    }
    Ok(out)
}

fn unterminated_note(file: &str, line: u32) -> ScriptError {
    syntax(
        file,
        line,
        "unterminated note: '[[' has no closing ']]' before the next blank line; close it with ']]' (two spaces keep an empty line inside a note)",
    )
}

fn clean_note(note: &str) -> String {
    let lines: Vec<String> = note.lines().map(|l| strip_emphasis(l.trim())).collect();
    lines.join("\n").trim().to_string()
}

/// The title page: its `Key: value` pairs and the index of the first line after it.
pub(super) type TitlePage = (Vec<(String, String)>, usize);

/// `Key: value` lines at the top, values inline or indented below, up to the first blank line.
/// A value longer than the field limit is an error at the line of its key.
pub(super) fn title_page(file: &str, lines: &[Line]) -> Result<TitlePage, ScriptError> {
    let Some(first) = lines.iter().position(|l| !l.is_blank()) else {
        return Ok((Vec::new(), 0));
    };
    if title_key(&lines[first].text).is_none() {
        return Ok((Vec::new(), 0));
    }
    let mut pairs: Vec<(String, String)> = Vec::new();
    let mut key_lines: Vec<u32> = Vec::new();
    let mut i = first;
    while let Some(line) = lines.get(i).filter(|l| !l.is_blank()) {
        match title_key(&line.text) {
            Some((key, value)) => {
                pairs.push((key.to_string(), strip_emphasis(value)));
                key_lines.push(line.no);
            }
            None => {
                if let Some((_, value)) = pairs.last_mut() {
                    if !value.is_empty() {
                        value.push('\n');
                    }
                    value.push_str(&strip_emphasis(line.text.trim()));
                }
            }
        }
        i += 1;
    }
    for ((key, value), no) in pairs.iter().zip(key_lines) {
        check_length(file, no, &format!("title page value '{key}'"), value)?;
    }
    Ok((pairs, i))
}

/// `Draft date: 1 May` → (`Draft date`, `1 May`); `作者：林晓` → (`作者`, `林晓`). The key ends at
/// the first colon, ASCII or full-width; keys start with a letter (of any script), hold letters,
/// digits, spaces, `-` and `_`, and are not indented (indented lines continue the previous
/// value). A transition (`切至：`) or a Chinese scene heading (`第十二场：外 码头 夜`) is not a key.
fn title_key(text: &str) -> Option<(&str, &str)> {
    if text.starts_with(char::is_whitespace)
        || is_transition(text.trim())
        || zh_scene_prefix(text.trim()).is_some()
    {
        return None;
    }
    let (key, value) = text.split_once([':', '：'])?;
    let key = key.trim_end();
    let ok = key.chars().next().is_some_and(char::is_alphabetic)
        && key.chars().count() <= 40
        && key
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_'));
    ok.then(|| (key, value.trim()))
}
