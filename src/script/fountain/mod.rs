//! Fountain screenplays (<https://fountain.io/syntax>) to scenes and shots.
//!
//! Invariant: every action paragraph of a scene becomes exactly one shot, and whatever the reader
//! of the page would see besides action (dialogue, notes, lyrics) is attached to a shot, so
//! nothing is lost but the elements Fountain keeps out of the story: boneyard, sections, page
//! breaks, transitions, end marks (`THE END`, `（完）`) and centered text. Line numbers are those
//! of the file as written, however lines were joined or removed on the way. Control characters
//! and escape sequences are removed from every line before anything else reads it (`lines`),
//! and no field (action, dialogue line, note, heading …) may be longer than the field limit.
//!
//! Parsing runs in passes over lines: line endings and binary content, boneyard, notes, title
//! page (`lines`), then one pass (`parse`, here) that recognises elements (`elements`,
//! `heading`, `dialogue`; emphasis is stripped by `emphasis`) and hands them to a `Builder`,
//! which decides which shot each one belongs to.
//!
//! Chinese scripts written without knowing the spec's ASCII conventions are read as their
//! writers mean them, where that cannot be mistaken for something else: title pages with a
//! full-width colon (`标题：雨夜`, `lines`), headings opened by `内景`/`外景`/`内/外`… without
//! the forcing `.` (`heading`), headings opened by the scene number (`第一场 日 外 乡间公路`,
//! `zh_scene`), transitions and end marks such as `切至：` and `（完）` (`elements`), and
//! character cues that are a plain Chinese name above the dialogue, without `@` (`dialogue`).
//! Each rule says why it is safe where it is defined; when in doubt a line stays action, which
//! loses nothing and which `@` or `.` can force.

mod dialogue;
mod elements;
mod emphasis;
mod heading;
mod lines;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_limits;
#[cfg(test)]
mod tests_zh;
#[cfg(test)]
mod tests_zh_marks;
mod zh_scene;

pub use emphasis::strip_emphasis;
pub use heading::{Heading, parse_heading, scene_environment};

use dialogue::{Cue, dialogue_block};
use elements::{Marker, action_paragraph, block_end, is_end_mark, is_structural, is_transition};
use heading::{heading_prefix, is_forced_heading, scene_heading, zh_heading_prefix};
use lines::{split_lines, take_out_boneyard, take_out_notes, title_page};
use zh_scene::zh_scene_prefix;

use super::{ParsedScene, ParsedScript, ParsedShot, ScriptError, check_length};
use crate::model::{DialogueLine, ShotSpec};

/// Parses a Fountain screenplay. `file` only names the script in errors.
pub fn parse(file: &str, text: &str) -> Result<ParsedScript, ScriptError> {
    let lines = split_lines(file, text)?;
    let lines = take_out_boneyard(file, lines)?;
    let lines = take_out_notes(file, lines)?;
    let (title_page, start) = title_page(file, &lines)?;

    let mut book = Builder::default();
    for line in &lines[..start] {
        book.notes(&line.notes);
    }
    let mut after_break = true;
    let mut i = start;
    while i < lines.len() {
        let line = &lines[i];
        let t = line.text.trim();
        if line.is_blank() {
            book.notes(&line.notes);
            after_break = true;
            i += 1;
            continue;
        }
        let next = lines.get(i + 1);
        let next_break = next.is_none_or(|l| l.is_blank() || is_structural(l.text.trim()));
        let next_continues = next
            .is_some_and(|l| (l.is_soft() || !l.is_blank()) && Marker::of(l.text.trim()).is_none());

        if let Some(marker) = Marker::of(t) {
            book.notes(&line.notes);
            match marker {
                Marker::Synopsis(text) => {
                    let text = strip_emphasis(text);
                    check_length(file, line.no, "synopsis", &text)?;
                    book.synopsis(text);
                }
                Marker::Lyric(text) => {
                    let text = strip_emphasis(text);
                    check_length(file, line.no, "lyric", &text)?;
                    book.notes(&[format!("♪ {text}")]);
                }
                Marker::PageBreak | Marker::Section | Marker::Centered | Marker::Transition => {}
            }
            after_break = is_structural(t);
            i += 1;
            continue;
        }
        let forced_heading = after_break && is_forced_heading(t);
        let heading_words = heading_prefix(t).is_some()
            || zh_heading_prefix(t).is_some()
            || zh_scene_prefix(t).is_some();
        if forced_heading || (after_break && next_break && heading_words) {
            let scene = scene_heading(file, line.no, t, forced_heading)?;
            book.start_scene(scene);
            book.notes(&line.notes);
            after_break = true;
            i += 1;
            continue;
        }
        let alone = after_break && next_break && !t.starts_with('!');
        if alone && (is_transition(t) || is_end_mark(t)) {
            book.notes(&line.notes);
            after_break = false;
            i += 1;
            continue;
        }
        let end = block_end(&lines, i);
        if after_break && next_continues && !t.starts_with('!') {
            // A plain Chinese name is a cue only right above a line with text (not a soft
            // blank line), as the writer who never heard of Fountain types it.
            let plain_zh = next.is_some_and(|l| !l.is_blank());
            if let Some(cue) = Cue::parse(t, plain_zh) {
                let (dialogue, notes) = dialogue_block(file, &cue, &lines[i..end])?;
                book.dialogue(line.no, dialogue, notes);
                after_break = false;
                i = end;
                continue;
            }
        }
        let (action, notes) = action_paragraph(&lines[i..end]);
        check_length(file, line.no, "action", &action)?;
        book.action(line.no, action, notes);
        after_break = false;
        i = end;
    }
    Ok(ParsedScript {
        title_page,
        scenes: book.finish(file)?,
        warnings: Vec::new(),
    })
}

/// A syntax error at `line` of `file`; every pass reports its errors this way.
fn syntax(file: &str, line: u32, message: impl Into<String>) -> ScriptError {
    crate::script::syntax(file, line, &message.into())
}

/// Collects elements into scenes and shots, deciding which shot each piece belongs to.
///
/// Dialogue and notes go to the last shot of the scene; before the scene's first action they
/// wait and go to the next shot; a scene that ends with some still waiting gets a shot with no
/// action, so nothing is lost. Before the first heading a scene with no heading collects action;
/// it is dropped if it gets no shot, and what waited in it moves on to the first real scene.
#[derive(Debug, Default)]
struct Builder {
    done: Vec<ParsedScene>,
    current: ParsedScene,
    environment: String,
    /// `current` came from a heading (it is not the scene before the first heading).
    headed: bool,
    waiting_dialogue: Vec<DialogueLine>,
    waiting_line: u32,
    waiting_notes: Vec<String>,
    /// A heading or an action paragraph was seen.
    found: bool,
}

impl Builder {
    fn start_scene(&mut self, scene: ParsedScene) {
        self.close_scene();
        let environment = scene_environment(&scene);
        let old = std::mem::replace(&mut self.current, scene);
        if !self.headed && old.shots.is_empty() {
            let mut synopses = old.synopses;
            synopses.append(&mut self.current.synopses);
            self.current.synopses = synopses;
        } else {
            self.done.push(old);
        }
        self.environment = environment;
        self.headed = true;
        self.found = true;
    }

    /// Gives a scene without action a shot for its waiting dialogue (or notes, in a real scene).
    fn close_scene(&mut self) {
        if !self.current.shots.is_empty() {
            return;
        }
        let notes_only = self.waiting_dialogue.is_empty();
        if notes_only && (self.waiting_notes.is_empty() || !self.headed) {
            return;
        }
        let (line, source_text) = if notes_only {
            (self.current.line, self.waiting_notes.join("\n"))
        } else {
            let said: Vec<String> = self
                .waiting_dialogue
                .iter()
                .map(|d| format!("{}: {}", d.character, d.text))
                .collect();
            (self.waiting_line, said.join("\n"))
        };
        if !self.headed {
            self.current.line = line;
        }
        self.current.shots.push(ParsedShot {
            code: None,
            spec: ShotSpec {
                environment: self.environment.clone(),
                ..ShotSpec::default()
            },
            dialogue: std::mem::take(&mut self.waiting_dialogue),
            notes: std::mem::take(&mut self.waiting_notes),
            line,
            source_text,
        });
    }

    fn action(&mut self, line: u32, text: String, mut notes: Vec<String>) {
        if text.is_empty() {
            self.notes(&notes);
            return;
        }
        self.found = true;
        if !self.headed && self.current.shots.is_empty() {
            self.current.line = line;
        }
        let mut all_notes = std::mem::take(&mut self.waiting_notes);
        all_notes.append(&mut notes);
        self.current.shots.push(ParsedShot {
            code: None,
            spec: ShotSpec {
                action: text.clone(),
                environment: self.environment.clone(),
                ..ShotSpec::default()
            },
            dialogue: std::mem::take(&mut self.waiting_dialogue),
            notes: all_notes,
            line,
            source_text: text,
        });
    }

    fn dialogue(&mut self, line: u32, mut dialogue: Vec<DialogueLine>, mut notes: Vec<String>) {
        if let Some(shot) = self.current.shots.last_mut() {
            shot.dialogue.append(&mut dialogue);
            shot.notes.append(&mut notes);
            return;
        }
        if self.waiting_dialogue.is_empty() {
            self.waiting_line = line;
        }
        self.waiting_dialogue.append(&mut dialogue);
        self.waiting_notes.append(&mut notes);
    }

    fn notes(&mut self, notes: &[String]) {
        match self.current.shots.last_mut() {
            Some(shot) => shot.notes.extend(notes.iter().cloned()),
            None => self.waiting_notes.extend(notes.iter().cloned()),
        }
    }

    fn synopsis(&mut self, text: String) {
        if !text.is_empty() {
            self.current.synopses.push(text);
        }
    }

    fn finish(mut self, file: &str) -> Result<Vec<ParsedScene>, ScriptError> {
        if !self.found {
            return Err(syntax(
                file,
                1,
                "no scenes or action found; a Fountain scene starts with a heading such as 'INT. HOUSE - DAY'",
            ));
        }
        self.close_scene();
        if self.headed || !self.current.shots.is_empty() {
            self.done.push(self.current);
        }
        Ok(self.done)
    }
}
