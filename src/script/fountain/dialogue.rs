//! Character cues and the dialogue under them: names, extensions, dual marks, parentheticals.
//!
//! Invariant: every line of a dialogue block after its cue ends up in a `DialogueLine`, as a
//! parenthetical or as spoken text, and every note in the block is handed back, so nothing
//! under a cue is lost.

use super::elements::is_all_caps;
use super::emphasis::strip_emphasis;
use super::heading::heading_prefix;
use super::lines::Line;
use crate::model::DialogueLine;

/// A character cue: `BRICK`, `MOM (O.S.)`, `@McCLANE`, `STEEL ^`, `@韩梅梅（画外音）`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Cue {
    name: String,
    extensions: Vec<String>,
    dual: bool,
}

impl Cue {
    /// Without `@`, the name (before any extension) must be all caps; extensions may be in any
    /// case (`HANS (on the radio)`). Chinese names have no case, so they need `@`.
    pub(super) fn parse(t: &str) -> Option<Self> {
        let (forced, body) = match t.strip_prefix('@') {
            Some(rest) => (true, rest.trim()),
            None => (false, t),
        };
        let (body, dual) = match body.strip_suffix('^') {
            Some(rest) => (rest.trim_end(), true),
            None => (body, false),
        };
        let split = body.find(['(', '（']).unwrap_or(body.len());
        let name = body[..split].trim();
        // A heading that lacks its blank line after (`EXT. ROAD - DAY` right above action) is
        // all caps too; no writer means a character called that, so it stays action.
        if name.is_empty() || (!forced && (!is_all_caps(name) || heading_prefix(name).is_some())) {
            return None;
        }
        let mut extensions = Vec::new();
        let mut rest = body[split..].trim_start();
        while !rest.is_empty() {
            let inner = rest.strip_prefix(['(', '（'])?;
            let close = inner.find([')', '）'])?;
            let closer_len = inner[close..].chars().next().map_or(1, char::len_utf8);
            extensions.push(strip_emphasis(inner[..close].trim()));
            rest = inner[close + closer_len..].trim_start();
        }
        Some(Self {
            name: strip_emphasis(name),
            extensions,
            dual,
        })
    }

    fn line(&self, parenthetical: Option<String>, said: &[String]) -> DialogueLine {
        DialogueLine {
            character: self.name.clone(),
            extensions: self.extensions.clone(),
            parenthetical,
            text: said.join("\n").trim().to_string(),
            dual: self.dual,
        }
    }
}

/// `(beat)` or `（低声）`: the text inside, if the whole line is wrapped.
fn parenthetical(t: &str) -> Option<&str> {
    t.strip_prefix(['(', '（'])?.strip_suffix([')', '）'])
}

/// The dialogue of a cue: a parenthetical attaches to the dialogue that follows it, so each
/// parenthetical after the first piece of dialogue starts a new line for the same character;
/// parentheticals that follow each other are joined with a space.
pub(super) fn dialogue_block(cue: &Cue, lines: &[Line]) -> (Vec<DialogueLine>, Vec<String>) {
    let mut notes = Vec::new();
    let mut out = Vec::new();
    let mut paren: Option<String> = None;
    let mut said: Vec<String> = Vec::new();
    for (k, line) in lines.iter().enumerate() {
        notes.extend(line.notes.iter().cloned());
        if k == 0 {
            continue;
        }
        let t = line.text.trim();
        if let Some(inner) = parenthetical(t) {
            if !said.is_empty() {
                out.push(cue.line(paren.take(), &said));
                said.clear();
            }
            let inner = strip_emphasis(inner.trim());
            paren = Some(match paren {
                Some(p) => format!("{p} {inner}"),
                None => inner,
            });
        } else {
            said.push(strip_emphasis(t));
        }
    }
    if !said.is_empty() || paren.is_some() {
        out.push(cue.line(paren, &said));
    }
    (out, notes)
}
