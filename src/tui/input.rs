//! A one-line text input (filters, the palette, prompt fields): character-based editing with a
//! cursor whose screen column is measured in display cells, so Chinese text keeps it in place.

use unicode_width::UnicodeWidthStr;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LineInput {
    chars: Vec<char>,
    /// Cursor position in characters (0..=len).
    cursor: usize,
}

/// What a key did to an input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edit {
    Changed,
    Moved,
    /// Not an editing key: the caller decides (Enter, Esc, Tab, arrows up/down…).
    Ignored,
}

impl LineInput {
    pub fn new(text: &str) -> Self {
        let chars: Vec<char> = text.chars().filter(|c| !c.is_control()).collect();
        let cursor = chars.len();
        Self { chars, cursor }
    }

    pub fn text(&self) -> String {
        self.chars.iter().collect()
    }

    pub fn is_empty(&self) -> bool {
        self.chars.is_empty()
    }

    /// Inserts pasted or typed text at the cursor; control characters (newlines included) are
    /// dropped, tabs become spaces.
    pub fn insert_str(&mut self, text: &str) {
        for c in text.chars() {
            let c = if c == '\t' { ' ' } else { c };
            if !c.is_control() {
                self.chars.insert(self.cursor, c);
                self.cursor += 1;
            }
        }
    }

    pub fn key(&mut self, ev: &KeyEvent) -> Edit {
        let ctrl = ev.modifiers.contains(KeyModifiers::CONTROL);
        match ev.code {
            KeyCode::Char('u') if ctrl => {
                self.chars.drain(..self.cursor);
                self.cursor = 0;
                Edit::Changed
            }
            KeyCode::Char('w') if ctrl => {
                let mut start = self.cursor;
                while start > 0 && self.chars[start - 1] == ' ' {
                    start -= 1;
                }
                while start > 0 && self.chars[start - 1] != ' ' {
                    start -= 1;
                }
                self.chars.drain(start..self.cursor);
                self.cursor = start;
                Edit::Changed
            }
            KeyCode::Char('a') if ctrl => {
                self.cursor = 0;
                Edit::Moved
            }
            KeyCode::Char('e') if ctrl => {
                self.cursor = self.chars.len();
                Edit::Moved
            }
            KeyCode::Char(_) if ctrl || ev.modifiers.contains(KeyModifiers::ALT) => Edit::Ignored,
            KeyCode::Char(c) => {
                self.chars.insert(self.cursor, c);
                self.cursor += 1;
                Edit::Changed
            }
            KeyCode::Backspace if self.cursor > 0 => {
                self.cursor -= 1;
                self.chars.remove(self.cursor);
                Edit::Changed
            }
            KeyCode::Delete if self.cursor < self.chars.len() => {
                self.chars.remove(self.cursor);
                Edit::Changed
            }
            KeyCode::Backspace | KeyCode::Delete => Edit::Moved,
            KeyCode::Left => {
                self.cursor = self.cursor.saturating_sub(1);
                Edit::Moved
            }
            KeyCode::Right => {
                self.cursor = (self.cursor + 1).min(self.chars.len());
                Edit::Moved
            }
            KeyCode::Home => {
                self.cursor = 0;
                Edit::Moved
            }
            KeyCode::End => {
                self.cursor = self.chars.len();
                Edit::Moved
            }
            _ => Edit::Ignored,
        }
    }

    /// The text to show in `width` cells and the cursor's column in it: the view scrolls so the
    /// cursor stays visible.
    pub fn visible(&self, width: u16) -> (String, u16) {
        let width = usize::from(width.max(1));
        let before: String = self.chars[..self.cursor].iter().collect();
        let mut skip = 0;
        while skip < self.cursor
            && UnicodeWidthStr::width(&before[byte_of(&before, skip)..]) >= width
        {
            skip += 1;
        }
        let mut out = String::new();
        let mut used = 0;
        for c in &self.chars[skip..] {
            let w = unicode_width::UnicodeWidthChar::width(*c).unwrap_or(0);
            if used + w > width {
                break;
            }
            used += w;
            out.push(*c);
        }
        let col = UnicodeWidthStr::width(&before[byte_of(&before, skip)..]);
        (out, u16::try_from(col).unwrap_or(u16::MAX))
    }
}

fn byte_of(s: &str, chars: usize) -> usize {
    s.char_indices().nth(chars).map_or(s.len(), |(i, _)| i)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn typing_chinese_keeps_the_cursor_in_display_cells() {
        let mut i = LineInput::default();
        for c in "雨夜a".chars() {
            i.key(&key(KeyCode::Char(c)));
        }
        assert_eq!(i.visible(20), ("雨夜a".to_string(), 5));
        i.key(&key(KeyCode::Left));
        assert_eq!(i.visible(20).1, 4);
        i.key(&key(KeyCode::Backspace));
        assert_eq!(i.text(), "雨a");
        assert_eq!(i.visible(20).1, 2);
    }

    #[test]
    fn a_long_line_scrolls_to_keep_the_cursor_visible() {
        let i = LineInput::new("一二三四五六七八九十");
        assert_eq!(i.visible(8), ("八九十".to_string(), 6));
        let mut i = i;
        i.key(&key(KeyCode::Home));
        assert_eq!(i.visible(8), ("一二三四".to_string(), 0));
    }

    #[test]
    fn control_characters_never_enter() {
        let mut i = LineInput::new("a\u{1b}[31mb\n");
        i.insert_str("\u{7}c\td");
        assert_eq!(i.text(), "a[31mbc d");
        let mut w = LineInput::new("slow push in");
        w.key(&KeyEvent::new(KeyCode::Char('w'), KeyModifiers::CONTROL));
        assert_eq!(w.text(), "slow push ");
        w.key(&KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL));
        assert!(w.is_empty());
    }
}
