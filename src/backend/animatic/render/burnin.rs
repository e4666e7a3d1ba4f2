//! The burn-in on every picture frame: the take code top-left and the timecode
//! `HH:MM:SS:FF` bottom-right, small text on translucent dark boxes, as dailies have.
//!
//! Invariant: the take code and the eleven timecode glyphs are rasterised once; a frame's
//! timecode is composed from them, so a burn-in costs two box shades and some span fills.
//! The timecode counts frames of the file from 00:00:00:00 at non-drop `fps`.

use super::font::{GLYPH_H, TextMask, clip};
use super::frame::{Frame, Yuv};

pub struct BurnIn {
    code: TextMask,
    /// Glyphs `0`–`9` then `:`.
    digits: Vec<TextMask>,
    digit_w: i32,
    scale: i32,
    margin: i32,
    pad: i32,
    fps: u32,
    text: Yuv,
}

/// `HH:MM:SS:FF` of frame `index` at `fps` frames per second (non-drop).
pub fn timecode(index: u32, fps: u32) -> String {
    let fps = fps.max(1);
    let ff = index % fps;
    let secs = index / fps;
    format!(
        "{:02}:{:02}:{:02}:{:02}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60,
        ff
    )
}

impl BurnIn {
    pub fn new(take_code: &str, width: u32, height: u32, fps: u32) -> Self {
        let short = width.min(height);
        let scale = i32::try_from((short / 540).max(1)).unwrap_or(1);
        let margin = i32::try_from(short / 36).unwrap_or(8);
        let pad = 3 * scale;
        let cols = usize::try_from((i32::try_from(width).unwrap_or(0) / 2 - margin) / (8 * scale))
            .unwrap_or(8);
        let digits: Vec<TextMask> = "0123456789:"
            .chars()
            .map(|c| TextMask::new(&c.to_string()))
            .collect();
        Self {
            code: TextMask::new(&clip(take_code, cols.max(4))),
            digit_w: 8 * scale,
            digits,
            scale,
            margin,
            pad,
            fps,
            text: Yuv::from_rgb(236, 236, 230),
        }
    }

    pub fn draw(&self, frame: &mut Frame, index: u32) {
        let (s, m, pad) = (self.scale, self.margin, self.pad);
        let line_h = GLYPH_H as i32 * s;
        if self.code.width() > 0 {
            let w = self.code.width() as i32 * s;
            frame.shade_rect(m - pad, m - pad, m + w + pad, m + line_h + pad, 90);
            self.code.draw(frame, m, m, s, self.text);
        }
        let tc = timecode(index, self.fps);
        let w = tc.len() as i32 * self.digit_w;
        let x0 = frame.width() as i32 - m - w;
        let y0 = frame.height() as i32 - m - line_h;
        frame.shade_rect(x0 - pad, y0 - pad, x0 + w + pad, y0 + line_h + pad, 90);
        for (i, c) in tc.bytes().enumerate() {
            let glyph = match c {
                b'0'..=b'9' => usize::from(c - b'0'),
                _ => 10,
            };
            if let Some(mask) = self.digits.get(glyph) {
                mask.draw(frame, x0 + i as i32 * self.digit_w, y0, s, self.text);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timecodes_count_frames_non_drop() {
        assert_eq!(timecode(0, 24), "00:00:00:00");
        assert_eq!(timecode(23, 24), "00:00:00:23");
        assert_eq!(timecode(24, 24), "00:00:01:00");
        assert_eq!(timecode(60 * 60 * 30 + 61 * 30 + 5, 30), "01:01:01:05");
        assert_eq!(timecode(59, 60), "00:00:00:59");
    }

    #[test]
    fn burn_in_touches_only_the_corners() {
        let mut f = Frame::new(1280, 720);
        f.clear(Yuv {
            y: 128,
            u: 128,
            v: 128,
        });
        let burn = BurnIn::new("SC012_SH12A_TK03", 1280, 720, 24);
        burn.draw(&mut f, 1234);
        let changed: Vec<usize> = (0..f.y.len()).filter(|&i| f.y[i] != 128).collect();
        assert!(!changed.is_empty());
        for i in changed {
            let (x, y) = (i % 1280, i / 1280);
            let top_left = x < 400 && y < 60;
            let bottom_right = x > 1280 - 200 && y > 720 - 60;
            assert!(top_left || bottom_right, "pixel {x},{y} changed");
        }
    }
}
