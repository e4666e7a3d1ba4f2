//! The slate card shown on the first second of every animatic: who, what and how, readable
//! on a monitor from across the room.
//!
//! Invariant: all text is laid out and rasterised once, when the card is built; drawing the
//! card fills rectangles only, and nothing is placed outside the frame (long lines are cut
//! with `…`, the take code shrinks to fit).

use super::font::{GLYPH_H, TextMask, clip, excerpt, wrap};
use super::frame::{Frame, Yuv};
use crate::model::{CameraMove, Slate};

/// What the card says, besides the slate itself.
pub struct CardInfo<'a> {
    pub slate: &'a Slate,
    pub camera: CameraMove,
    pub lighting: &'a str,
    pub prompt: &'a str,
    pub width: u32,
    pub height: u32,
    pub fps: u32,
    pub frames: u32,
    pub seed: u64,
}

struct Line {
    mask: TextMask,
    x: i32,
    y: i32,
    scale: i32,
    colour: Yuv,
}

/// The laid-out card.
pub struct SlateCard {
    lines: Vec<Line>,
    /// Height of the clapper-stick stripes at the top.
    bar: i32,
    background: Yuv,
    stripe: Yuv,
}

/// Glyph scale for body text: 1 at 480p, 2 at 720p, 3 at 1080p (short side).
pub fn body_scale(width: u32, height: u32) -> i32 {
    i32::try_from((width.min(height) / 360).max(1)).unwrap_or(1)
}

impl SlateCard {
    pub fn new(info: &CardInfo<'_>) -> Self {
        let (w, h) = (info.width as i32, info.height as i32);
        let base = body_scale(info.width, info.height);
        let margin = w / 12;
        let room = (w - 2 * margin).max(8);
        let cols = usize::try_from(room / (8 * base)).unwrap_or(8).max(8);

        let white = Yuv::from_rgb(240, 240, 236);
        let dim = Yuv::from_rgb(150, 154, 162);
        let amber = Yuv::from_rgb(250, 196, 80);
        let slate = info.slate;

        // (text, scale, colour, space above in body-text lines)
        let mut plan: Vec<(String, i32, Yuv, f32)> = Vec::new();
        let project = if slate.project.is_empty() {
            "PREVIS"
        } else {
            slate.project.as_str()
        };
        plan.push((clip(&project.to_uppercase(), cols), base, dim, 0.0));
        let code = if slate.take_code.is_empty() {
            "ANIMATIC"
        } else {
            slate.take_code.as_str()
        };
        let code_mask = TextMask::new(code);
        let fit = i32::try_from((room as usize / code_mask.width().max(1)).max(1)).unwrap_or(1);
        plan.push((code.to_string(), (base * 2).min(fit).max(1), white, 0.3));
        let mut shot = String::new();
        if !slate.shot_code.is_empty() {
            shot = format!("SHOT {}", slate.shot_code);
        }
        if !slate.scene_heading.is_empty() {
            if !shot.is_empty() {
                shot.push_str(" · ");
            }
            shot.push_str(&slate.scene_heading);
        }
        if !shot.is_empty() {
            plan.push((clip(&shot, cols), base, white, 0.4));
        }
        if !slate.variant.is_empty() {
            plan.push((
                clip(&format!("VARIANT {}", slate.variant), cols),
                base,
                amber,
                0.2,
            ));
        }
        let mut camera = format!("CAMERA {}", info.camera.label());
        if !info.lighting.trim().is_empty() {
            camera.push_str(&format!(" · LIGHT {}", info.lighting));
        }
        plan.push((clip(&camera, cols), base, white, 0.2));
        for (i, line) in wrap(&excerpt(info.prompt, 80), cols, 3)
            .into_iter()
            .enumerate()
        {
            plan.push((line, base, dim, if i == 0 { 0.6 } else { 0.0 }));
        }
        let seconds = f64::from(info.frames) / f64::from(info.fps.max(1));
        let footer = format!(
            "{}x{} · {} fps · {:.1} s · seed {}",
            info.width, info.height, info.fps, seconds, info.seed
        );
        // The seed is what a re-roll needs: on a narrow (portrait) slate it gets its own line
        // rather than being cut.
        if footer.chars().count() <= cols {
            plan.push((footer, base, dim, 0.6));
        } else {
            let format = format!(
                "{}x{} · {} fps · {:.1} s",
                info.width, info.height, info.fps, seconds
            );
            plan.push((clip(&format, cols), base, dim, 0.6));
            plan.push((clip(&format!("seed {}", info.seed), cols), base, dim, 0.0));
        }

        // Centre the block of lines vertically below the clapper bar.
        let bar = (h / 12).max(8);
        let gap =
            |scale: i32, above: f32| (above * (GLYPH_H as i32 * base) as f32) as i32 + scale * 4;
        let total: i32 = plan
            .iter()
            .map(|(_, s, _, above)| gap(*s, *above) + GLYPH_H as i32 * s)
            .sum();
        let mut y = bar + ((h - bar - total) / 2).max(base * 4);
        let mut lines = Vec::with_capacity(plan.len());
        for (text, scale, colour, above) in plan {
            y += gap(scale, above);
            lines.push(Line {
                mask: TextMask::new(&text),
                x: margin,
                y,
                scale,
                colour,
            });
            y += GLYPH_H as i32 * scale;
        }
        Self {
            lines,
            bar,
            background: Yuv::from_rgb(22, 24, 30),
            stripe: Yuv::from_rgb(228, 228, 222),
        }
    }

    pub fn draw(&self, frame: &mut Frame) {
        frame.clear(self.background);
        // Clapper sticks: diagonal stripes across the top.
        let period = self.bar * 2;
        let bar = self.bar;
        let width = frame.width() as i32;
        let stripe = self.stripe;
        for k in -1..=(width / period + 1) {
            let x0 = k * period;
            frame.fill_spans(0, bar, stripe, |y| {
                let shift = bar - y;
                Some((x0 + shift, x0 + shift + self.bar))
            });
        }
        frame.fill_rect(
            0,
            bar,
            width,
            bar + (bar / 8).max(2),
            self.background.mix(stripe, 0.3),
        );
        for line in &self.lines {
            line.mask
                .draw(frame, line.x, line.y, line.scale, line.colour);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info<'a>(slate: &'a Slate, width: u32, height: u32) -> CardInfo<'a> {
        CardInfo {
            slate,
            camera: CameraMove::PushIn,
            lighting: "黄昏 逆光",
            prompt: "她在雨夜的小巷里回头，霓虹灯映在积水中 — a woman turns in a rainy alley, neon reflected in puddles",
            width,
            height,
            fps: 24,
            frames: 48,
            seed: 7,
        }
    }

    #[test]
    fn every_line_fits_inside_the_frame() {
        let slate = Slate {
            project: "雨夜 Rain Night".into(),
            take_code: "SC012A_SH12A-B_TK120".into(),
            shot_code: "12A-B".into(),
            scene_heading: "EXT. 小巷 ALLEY - NIGHT (CONTINUOUS) AND A VERY LONG HEADING INDEED"
                .into(),
            variant: "lighting=dusk".into(),
        };
        for (w, h) in [
            (832, 480),
            (480, 832),
            (1280, 720),
            (720, 1280),
            (1920, 1080),
            (1080, 1920),
        ] {
            let card = SlateCard::new(&info(&slate, w, h));
            assert!(card.lines.len() >= 7, "{w}x{h}");
            for line in &card.lines {
                let right = line.x + line.mask.width() as i32 * line.scale;
                let bottom = line.y + GLYPH_H as i32 * line.scale;
                assert!(
                    right <= w as i32 && bottom <= h as i32,
                    "{w}x{h}: line ends at {right},{bottom}"
                );
            }
            let code = &card.lines[1];
            assert!(
                code.scale >= card.lines[0].scale,
                "the take code is the largest text"
            );
        }
    }

    #[test]
    fn the_card_draws_text_on_dark() {
        let slate = Slate {
            take_code: "SC001_SH1A_TK01".into(),
            ..Slate::default()
        };
        let card = SlateCard::new(&info(&slate, 832, 480));
        let mut f = Frame::new(832, 480);
        card.draw(&mut f);
        let bright = f.y[480 / 6 * 832..].iter().filter(|&&p| p > 200).count();
        assert!(bright > 500, "text pixels: {bright}");
        let dark = f.y.iter().filter(|&&p| p < 40).count();
        assert!(dark > f.y.len() / 2);
    }
}
