//! Text for the slate and the burn-ins: GNU Unifont bitmap glyphs (8×16 halfwidth, 16×16
//! fullwidth, so Chinese renders), rasterised once into row spans and blitted at an integer
//! scale.
//!
//! Invariant: a `TextMask` is built once per string and drawing it only fills rectangles, so
//! per-frame text costs a few span fills; text is sanitised first (control characters never
//! reach the picture) and a character Unifont lacks draws as a hollow box.

use super::frame::{Frame, Yuv};

/// Glyph rows in Unifont.
pub const GLYPH_H: usize = 16;

/// A rasterised line of text at scale 1: per glyph row, the runs of set pixels `[a, b)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextMask {
    width: usize,
    rows: Vec<Vec<(u16, u16)>>,
}

/// The bitmap of one character: its width (8 or 16) and a pixel test.
fn glyph_bits(c: char) -> (usize, [u16; GLYPH_H]) {
    match unifont::get_glyph(c) {
        Some(unifont::Glyph::Halfwidth(rows)) => (8, rows.map(|r| u16::from(r) << 8)),
        Some(unifont::Glyph::Fullwidth(rows)) => (16, *rows),
        None => {
            // A hollow box the size of a halfwidth cell.
            let mut rows = [0u16; GLYPH_H];
            rows[2] = 0x7e00;
            rows[13] = 0x7e00;
            for r in &mut rows[3..13] {
                *r = 0x4200;
            }
            (8, rows)
        }
    }
}

/// Removes control characters (escape sequences included) and turns line breaks and tabs
/// into spaces: text from outside must not draw anything but glyphs.
pub fn sanitize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut last_space = false;
    for c in text.chars() {
        let c = if c.is_whitespace() { ' ' } else { c };
        if c.is_control() || (c == ' ' && last_space) {
            continue;
        }
        last_space = c == ' ';
        out.push(c);
    }
    out.trim().to_string()
}

/// Display width of a character in halfwidth cells.
pub fn cells(c: char) -> usize {
    glyph_bits(c).0 / 8
}

impl TextMask {
    pub fn new(text: &str) -> Self {
        let mut rows: Vec<Vec<(u16, u16)>> = vec![Vec::new(); GLYPH_H];
        let mut x = 0usize;
        for c in sanitize(text).chars() {
            let (w, bits) = glyph_bits(c);
            for (row, line) in rows.iter_mut().zip(bits) {
                let mut col = 0;
                while col < w {
                    if line & (0x8000 >> col) == 0 {
                        col += 1;
                        continue;
                    }
                    let start = col;
                    while col < w && line & (0x8000 >> col) != 0 {
                        col += 1;
                    }
                    let (a, b) = (to_u16(x + start), to_u16(x + col));
                    // Join with a run ending exactly where this one starts (across glyphs).
                    match row.last_mut() {
                        Some(last) if last.1 == a => last.1 = b,
                        _ => row.push((a, b)),
                    }
                }
            }
            x += w;
        }
        Self { width: x, rows }
    }

    /// Width at scale 1, in pixels.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Draws the text with its top-left corner at `(x, y)`, each glyph pixel `scale`² pixels.
    pub fn draw(&self, frame: &mut Frame, x: i32, y: i32, scale: i32, c: Yuv) {
        for (r, row) in self.rows.iter().enumerate() {
            let y0 = y + r as i32 * scale;
            for &(a, b) in row {
                frame.fill_rect(
                    x + i32::from(a) * scale,
                    y0,
                    x + i32::from(b) * scale,
                    y0 + scale,
                    c,
                );
            }
        }
    }
}

fn to_u16(x: usize) -> u16 {
    u16::try_from(x).unwrap_or(u16::MAX)
}

/// Cuts `text` to at most `max_chars` characters, marking a cut with `…`.
pub fn excerpt(text: &str, max_chars: usize) -> String {
    let text = sanitize(text);
    if text.chars().count() <= max_chars {
        return text;
    }
    let mut cut: String = text.chars().take(max_chars.saturating_sub(1)).collect();
    cut.truncate(cut.trim_end().len());
    cut.push('…');
    cut
}

/// The first `cols` halfwidth cells of `text` on one line, cut with `…` when longer.
pub fn clip(text: &str, cols: usize) -> String {
    wrap(text, cols, 1).into_iter().next().unwrap_or_default()
}

/// Wraps `text` into at most `max_lines` lines of at most `cols` halfwidth cells, breaking
/// at spaces where a line has one and anywhere otherwise (Chinese has no spaces). Text that
/// does not fit ends with `…`.
pub fn wrap(text: &str, cols: usize, max_lines: usize) -> Vec<String> {
    let cols = cols.max(2);
    let mut lines: Vec<String> = Vec::new();
    let mut rest: Vec<char> = sanitize(text).chars().collect();
    while !rest.is_empty() && lines.len() < max_lines {
        let fit = |limit: usize| {
            let mut used = 0;
            rest.iter()
                .take_while(|&&c| {
                    used += cells(c);
                    used <= limit
                })
                .count()
        };
        let end = fit(cols);
        if end == rest.len() {
            lines.push(rest.iter().collect());
            break;
        }
        if lines.len() + 1 == max_lines {
            let line: String = rest[..fit(cols - 1)].iter().collect();
            lines.push(format!("{}…", line.trim_end()));
            break;
        }
        let take = match rest[..end].iter().rposition(|&c| c == ' ') {
            Some(space) if space > 0 && rest[end] != ' ' => space,
            _ => end,
        };
        let line: String = rest[..take].iter().collect();
        lines.push(line.trim_end().to_string());
        let skip = take + rest[take..].iter().take_while(|&&c| c == ' ').count();
        rest.drain(..skip);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_is_fullwidth_and_latin_halfwidth() {
        assert_eq!(TextMask::new("夜 小巷").width(), 16 * 3 + 8);
        assert_eq!(TextMask::new("雨夜小巷").width(), 16 * 4);
        assert_eq!(TextMask::new("SC012_SH12A_TK03").width(), 8 * 16);
        let mask = TextMask::new("雨夜");
        assert!(
            mask.rows.iter().any(|r| !r.is_empty()),
            "CJK glyphs have pixels"
        );
    }

    #[test]
    fn missing_glyphs_are_hollow_boxes() {
        // U+10FFFD is a private-use code point Unifont does not draw.
        let mask = TextMask::new("\u{10FFFD}");
        assert_eq!(mask.width(), 8);
        assert_eq!(mask.rows[2], vec![(1, 7)]);
        assert_eq!(mask.rows[5], vec![(1, 2), (6, 7)]);
    }

    #[test]
    fn control_characters_never_reach_the_picture() {
        assert_eq!(sanitize("a\x1b[31mred\x07\n\tb  c "), "a[31mred b c");
        assert_eq!(TextMask::new("\x1b\x07"), TextMask::new(""));
    }

    #[test]
    fn drawing_scales_by_whole_pixels() {
        let mut f = Frame::new(64, 64);
        let white = Yuv {
            y: 235,
            u: 128,
            v: 128,
        };
        TextMask::new("I").draw(&mut f, 0, 0, 2, white);
        let lit = f.y.iter().filter(|&&p| p == 235).count();
        let bits: usize = TextMask::new("I")
            .rows
            .iter()
            .flatten()
            .map(|(a, b)| usize::from(b - a))
            .sum();
        assert_eq!(lit, bits * 4);
    }

    #[test]
    fn wrapping_breaks_at_spaces_and_anywhere_in_chinese() {
        assert_eq!(
            wrap("a slow push in on her face", 10, 3),
            vec!["a slow", "push in on", "her face"]
        );
        assert_eq!(wrap("雨夜小巷里她回头", 8, 3), vec!["雨夜小巷", "里她回头"]);
        assert_eq!(
            wrap("one two three four five", 9, 2),
            vec!["one two", "three fo…"]
        );
        assert_eq!(wrap("", 10, 2), Vec::<String>::new());
        assert_eq!(excerpt("abcdef", 4), "abc…");
        assert_eq!(excerpt("abc", 4), "abc");
        assert_eq!(clip("小巷 ALLEY", 6), "小巷…");
        assert_eq!(cells('…'), 1);
        assert_eq!(clip("ALLEY", 6), "ALLEY");
    }
}
