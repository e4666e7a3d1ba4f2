//! Character cues and the dialogue under them: names, extensions, dual marks, parentheticals.
//!
//! Chinese cues without `@`: the spec finds a cue by its upper case, which Chinese names do not
//! have, and writers who never read the spec type the name alone on a line above the dialogue.
//! So a line that is only a plain Chinese name ([`is_plain_zh_name`]: Han characters, with `·`
//! between parts as in 约翰·史密斯 and Latin letters or digits beside them, 2 to 10 characters,
//! no punctuation, not starting with a digit, not a screenplay word such as 淡入, 黄昏 or 内景),
//! optionally with extensions in `()` or `（）` and the dual `^`, is a cue when it stands
//! after a blank line and right above a line with text. Action lines that are that short and
//! that free of punctuation are rare in Chinese; the rules lean to action (a sentence has
//! punctuation, a one-character line is more often a sound like 砰 than a name), and `@` still
//! forces any cue. An extension of such a cue must look like one (`画外音`, `O.S.`): one with
//! sentence punctuation or starting with a digit (`（28岁，职员）`) introduces a character in
//! action instead.
//!
//! Invariant: every line of a dialogue block after its cue ends up in a `DialogueLine`, as a
//! parenthetical or as spoken text, and every note in the block is handed back, so nothing
//! under a cue is lost; a name, parenthetical or spoken text longer than the field limit is an
//! error at the line where it starts.

use super::elements::is_all_caps;
use super::emphasis::strip_emphasis;
use super::heading::{ZH_TIMES, heading_prefix, zh_int_ext};
use super::lines::Line;
use super::zh_scene::zh_scene_prefix;
use crate::model::DialogueLine;
use crate::script::{ScriptError, check_length};

/// A character cue: `BRICK`, `MOM (O.S.)`, `@McCLANE`, `STEEL ^`, `@韩梅梅（画外音）`, `李明（画外音）`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Cue {
    name: String,
    extensions: Vec<String>,
    dual: bool,
}

impl Cue {
    /// Without `@`, the name (before any extension) must be all caps; extensions may be in any
    /// case (`HANS (on the radio)`). With `plain_zh` (the caller saw a line with text right
    /// below), a plain Chinese name with plain extensions is a cue too (see the module docs).
    pub(super) fn parse(t: &str, plain_zh: bool) -> Option<Self> {
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
        if name.is_empty() {
            return None;
        }
        let mut extensions = Vec::new();
        let mut rest = body[split..].trim_start();
        while !rest.is_empty() {
            let inner = rest.strip_prefix(['(', '（'])?;
            let close = inner.find([')', '）'])?;
            let closer_len = inner[close..].chars().next().map_or(1, char::len_utf8);
            extensions.push(inner[..close].trim());
            rest = inner[close + closer_len..].trim_start();
        }
        // A heading that lacks its blank line after (`EXT. ROAD - DAY` right above action) is
        // all caps too; no writer means a character called that, so it stays action.
        let caps = is_all_caps(name) && heading_prefix(name).is_none();
        let zh =
            plain_zh && is_plain_zh_name(name) && extensions.iter().all(|e| is_plain_extension(e));
        if !(forced || caps || zh) {
            return None;
        }
        Some(Self {
            name: strip_emphasis(name),
            extensions: extensions.into_iter().map(strip_emphasis).collect(),
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

/// The longest plain Chinese name read as a cue, in characters (`·` included).
const MAX_ZH_NAME: usize = 10;

/// Words that stand alone on a line in Chinese scripts without naming a character: transitions,
/// captions and other directions (times of day and int/ext words are checked besides).
const NOT_NAMES: &[&str] = &[
    "淡入",
    "淡出",
    "渐显",
    "渐隐",
    "切至",
    "切到",
    "切换到",
    "化入",
    "化出",
    "切入",
    "切出",
    "切换",
    "叠化",
    "划入",
    "划出",
    "黑场",
    "黑屏",
    "切黑",
    "闪回",
    "闪回结束",
    "回到现实",
    "字幕",
    "片头",
    "片尾",
    "剧终",
    "全剧终",
    "定格",
    "空镜",
    "空镜头",
    "蒙太奇",
    "慢镜头",
    "特写",
    "全景",
    "远景",
    "近景",
    "中景",
    "主观镜头",
    "画外音",
    "转场",
];

/// Han ideographs (and 〇), the characters a Chinese name is written in.
fn is_han(c: char) -> bool {
    matches!(c,
        '\u{3007}' | '\u{3400}'..='\u{4DBF}' | '\u{4E00}'..='\u{9FFF}' | '\u{F900}'..='\u{FAFF}'
        | '\u{20000}'..='\u{323AF}')
}

/// The dot between the parts of a transcribed foreign name: 约翰·史密斯 (and its look-alikes).
fn is_name_dot(c: char) -> bool {
    matches!(c, '·' | '・' | '‧')
}

/// 王芳, 约翰·史密斯, 警察2, Tony王: 2 to [`MAX_ZH_NAME`] characters, Han with `·` between parts
/// and ASCII letters or digits, at least one Han, not starting with a digit, and not a word
/// that stands alone for another reason (a transition, a time of day, an int/ext word, the
/// start of a heading that lacks its blank line).
pub(super) fn is_plain_zh_name(name: &str) -> bool {
    let chars: Vec<char> = name.chars().collect();
    let (Some(&first), Some(&last)) = (chars.first(), chars.last()) else {
        return false;
    };
    (2..=MAX_ZH_NAME).contains(&chars.len())
        && chars.iter().any(|&c| is_han(c))
        && chars
            .iter()
            .all(|&c| is_han(c) || c.is_ascii_alphanumeric() || is_name_dot(c))
        && !first.is_ascii_digit()
        && !is_name_dot(first)
        && !is_name_dot(last)
        && !NOT_NAMES.contains(&name)
        && !ZH_TIMES.contains(&name)
        && zh_int_ext(name).is_none()
        && zh_scene_prefix(name).is_none()
        && !["内景", "外景", "内外景"]
            .iter()
            .any(|w| name.starts_with(w))
}

/// `画外音`, `O.S.`, `CONT'D`, `电话里`: no sentence punctuation and no leading digit, which an
/// aside about a character in action has (`28岁，公司职员`).
fn is_plain_extension(e: &str) -> bool {
    const PUNCTUATION: &str = "，。！？；：、…—“”‘’「」『』《》,;:!?\"";
    !e.starts_with(|c: char| c.is_ascii_digit()) && !e.contains(|c| PUNCTUATION.contains(c))
}

/// `(beat)` or `（低声）`: the text inside, if the whole line is wrapped.
fn parenthetical(t: &str) -> Option<&str> {
    t.strip_prefix(['(', '（'])?.strip_suffix([')', '）'])
}

/// A dialogue block: its lines and the notes that stood in it.
pub(super) type Block = (Vec<DialogueLine>, Vec<String>);

/// The dialogue of a cue: a parenthetical attaches to the dialogue that follows it, so each
/// parenthetical after the first piece of dialogue starts a new line for the same character;
/// parentheticals that follow each other are joined with a space.
pub(super) fn dialogue_block(file: &str, cue: &Cue, lines: &[Line]) -> Result<Block, ScriptError> {
    let mut notes = Vec::new();
    let mut out = Vec::new();
    let mut paren: Option<String> = None;
    let mut said: Vec<String> = Vec::new();
    // The lines where the pending parenthetical and the pending spoken text start.
    let (mut paren_at, mut said_at) = (0, 0);
    let mut push = |paren: Option<String>, paren_at: u32, said: &[String], said_at: u32| {
        let line = cue.line(paren, said);
        if let Some(p) = &line.parenthetical {
            check_length(file, paren_at, "parenthetical", p)?;
        }
        check_length(file, said_at, "dialogue line", &line.text)?;
        out.push(line);
        Ok::<(), ScriptError>(())
    };
    for (k, line) in lines.iter().enumerate() {
        notes.extend(line.notes.iter().cloned());
        if k == 0 {
            check_length(file, line.no, "character name", &cue.name)?;
            continue;
        }
        let t = line.text.trim();
        if let Some(inner) = parenthetical(t) {
            if !said.is_empty() {
                push(paren.take(), paren_at, &said, said_at)?;
                said.clear();
            }
            let inner = strip_emphasis(inner.trim());
            paren = Some(match paren {
                Some(p) => format!("{p} {inner}"),
                None => {
                    paren_at = line.no;
                    inner
                }
            });
        } else {
            if said.is_empty() {
                said_at = line.no;
            }
            said.push(strip_emphasis(t));
        }
    }
    if !said.is_empty() || paren.is_some() {
        push(paren, paren_at, &said, said_at)?;
    }
    Ok((out, notes))
}
