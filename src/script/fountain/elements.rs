//! What a line or a block of lines is, from its text: markers (page breaks, sections,
//! synopses, centered text, forced transitions, lyrics), standard transitions (English and
//! Chinese), end marks, and the extent and text of an action paragraph.
//!
//! Chinese transitions and end marks: Chinese scripts write `切至：`, `淡出。`, `叠化` or `（完）`
//! and `剧终` on a line of their own where English ones write `CUT TO:` and `THE END`. Only the
//! exact words count (with one trailing `：`, `:`, `。` or `.`), and only standing alone between
//! blank lines (`parse` checks that), so a sentence that starts with them stays action.
//!
//! Invariant: nothing here fails or keeps state; whether a line may be an element where it
//! stands (after a blank line, before one) is for `parse` to decide.

use super::emphasis::strip_emphasis;
use super::lines::Line;

/// At least one cased letter and no lower-case one: `R2D2` and `DR. 李` yes, `23` and `李雷` no.
pub(super) fn is_all_caps(text: &str) -> bool {
    text.chars().any(char::is_uppercase) && !text.chars().any(char::is_lowercase)
}

/// `CUT TO:`, and the standard transitions that do not end in `TO:` (a difference from the spec,
/// which knows only `TO:`: they would otherwise become shots).
pub(super) fn is_transition(t: &str) -> bool {
    const STANDALONE: [&str; 4] = ["FADE IN", "FADE OUT", "FADE TO BLACK", "CUT TO BLACK"];
    const ZH: [&str; 12] = [
        "切至",
        "切到",
        "切换到",
        "淡出",
        "淡入",
        "叠化",
        "化入",
        "化出",
        "转场",
        "闪回",
        "黑场",
        "渐隐",
    ];
    let bare = t.trim_end_matches([':', '.']);
    (is_all_caps(t) && (t.ends_with("TO:") || STANDALONE.contains(&bare)))
        || ZH.contains(&without_end_punctuation(t))
}

/// `（完）`, `剧终`, `THE END`: the end of the script, which makes no shot.
pub(super) fn is_end_mark(t: &str) -> bool {
    const MARKS: [&str; 7] = [
        "（完）",
        "(完)",
        "完",
        "剧终",
        "全剧终",
        "（全剧终）",
        "THE END",
    ];
    MARKS.contains(&without_end_punctuation(t))
}

/// `t` without one trailing `：`, `:`, `。` or `.` (and the spaces before it).
fn without_end_punctuation(t: &str) -> &str {
    t.strip_suffix(['：', ':', '。', '.'])
        .unwrap_or(t)
        .trim_end()
}

/// Page breaks, sections and synopses: lines that separate elements like a blank line does.
pub(super) fn is_structural(t: &str) -> bool {
    matches!(
        Marker::of(t),
        Some(Marker::PageBreak | Marker::Section | Marker::Synopsis(_))
    )
}

/// Elements recognised from one line alone, wherever it stands.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Marker<'a> {
    PageBreak,
    Synopsis(&'a str),
    Section,
    Centered,
    Transition,
    Lyric(&'a str),
}

impl<'a> Marker<'a> {
    pub(super) fn of(t: &'a str) -> Option<Self> {
        if t.len() >= 3 && t.chars().all(|c| c == '=') {
            Some(Self::PageBreak)
        } else if let Some(rest) = t.strip_prefix('=') {
            Some(Self::Synopsis(rest.trim()))
        } else if t.starts_with('#') {
            Some(Self::Section)
        } else if t.starts_with('>') && t.ends_with('<') && t.len() >= 2 {
            Some(Self::Centered)
        } else if t.starts_with('>') {
            Some(Self::Transition)
        } else {
            t.strip_prefix('~').map(|rest| Self::Lyric(rest.trim()))
        }
    }
}

/// The index after the last line of the paragraph or dialogue block starting at `start`:
/// it runs to a blank line or to a line that is an element on its own.
pub(super) fn block_end(lines: &[Line], start: usize) -> usize {
    let mut end = start + 1;
    while let Some(line) = lines.get(end) {
        if (line.is_blank() && !line.is_soft()) || Marker::of(line.text.trim()).is_some() {
            break;
        }
        end += 1;
    }
    end
}

/// The text of an action paragraph (each line trimmed and stripped of emphasis, a leading `!`
/// removed) and the notes that stood in it. Its length is for `parse` to check.
pub(super) fn action_paragraph(lines: &[Line]) -> (String, Vec<String>) {
    let mut texts = Vec::with_capacity(lines.len());
    let mut notes = Vec::new();
    for (k, line) in lines.iter().enumerate() {
        let mut t = line.text.trim();
        if k == 0 {
            t = t.strip_prefix('!').unwrap_or(t).trim_start();
        }
        texts.push(strip_emphasis(t));
        notes.extend(line.notes.iter().cloned());
    }
    (texts.join("\n").trim().to_string(), notes)
}
