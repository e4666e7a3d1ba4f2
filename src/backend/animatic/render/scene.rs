//! The blocking set of an animatic: sky, ground, set pieces at several depths and one or two
//! figures, laid out once from the seed and drawn through the camera on every frame.
//!
//! Invariant: the layout is a pure function of (seed, aspect ratio); drawing is a pure
//! function of (layout, pose, palette) and paints every pixel of the frame, far to near, so
//! no earlier frame shows through.

use super::camera::{Pose, Xform};
use super::figure::Figure;
use super::frame::{Frame, Yuv};
use super::palette::{Mood, Palette};

/// Eye height of the camera: how far below the horizon the ground at subject depth lies.
const EYE: f32 = 0.36;
/// Height of a figure at subject depth, in frame heights.
const FIGURE: f32 = 0.42;
/// Depths of the ground bands, far to near.
const GROUND: [f32; 10] = [0.12, 0.2, 0.3, 0.45, 0.65, 0.9, 1.25, 1.7, 2.4, 3.5];
/// Sky band boundaries above the horizon, in frame heights (at rest).
const SKY: [f32; 7] = [0.03, 0.07, 0.12, 0.19, 0.28, 0.4, 0.56];

/// splitmix64: small, fast and good enough to place set pieces.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `[lo, hi)`.
    fn range(&mut self, lo: f32, hi: f32) -> f32 {
        let unit = (self.next() >> 40) as f32 / (1u64 << 24) as f32;
        lo + (hi - lo) * unit
    }

    fn chance(&mut self, p: f32) -> bool {
        self.range(0.0, 1.0) < p
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Tone {
    Far,
    Mid,
    Near,
}

/// A box standing on the ground: a building, a pillar, a crate.
#[derive(Debug, Clone, PartialEq)]
struct Block {
    d: f32,
    x0: f32,
    x1: f32,
    top: f32,
    base: f32,
    tone: Tone,
    /// A narrower box on the roof: (inset on each side, height).
    cap: Option<(f32, f32)>,
    /// A grid of windows: columns, rows and which are lit (bit `row·cols + col`).
    windows: Option<(u8, u8, u64)>,
    /// A sign on the facade (shown under neon): its vertical position and accent choice.
    sign: Option<(f32, bool)>,
}

#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Block(Block),
    Figure(Figure),
}

impl Piece {
    fn depth(&self) -> f32 {
        match self {
            Self::Block(b) => b.d,
            Self::Figure(f) => f.d,
        }
    }
}

/// The laid-out set.
#[derive(Debug, Clone, PartialEq)]
pub struct Set {
    horizon: f32,
    /// Sun or moon: x, height above the horizon, radius.
    disc: (f32, f32, f32),
    /// Far to near.
    pieces: Vec<Piece>,
    anchor: (f32, f32),
}

impl Set {
    pub fn layout(seed: u64, width: usize, height: usize) -> Self {
        let mut rng = Rng(seed ^ 0x5eed_0fa4_1a71_c0de);
        let half = width as f32 / height as f32 / 2.0;
        let horizon = rng.range(-0.12, 0.0);
        let ground = |d: f32| horizon + EYE * d;
        let mut pieces = Vec::new();

        // Skyline: a continuous row of buildings, wide enough for any pan.
        let reach = half + 1.1;
        let mut x = -reach;
        while x < reach {
            let d = rng.range(0.22, 0.34);
            let w = rng.range(0.07, 0.2);
            let h = rng.range(0.08, 0.45);
            let cap = rng
                .chance(0.3)
                .then(|| (w * rng.range(0.15, 0.35), h * rng.range(0.08, 0.2)));
            pieces.push(Piece::Block(building(
                &mut rng,
                d,
                x,
                w,
                ground(d) - h,
                ground(d),
                Tone::Far,
                cap,
            )));
            x += w + rng.range(-0.02, 0.03);
        }

        // Mid ground: a few buildings and pillars.
        let count = 3 + (rng.next() % 3) as usize;
        for _ in 0..count {
            let d = rng.range(0.5, 0.72);
            let cx = rng.range(-reach, reach);
            let (w, h) = if rng.chance(0.4) {
                (rng.range(0.04, 0.08), 2.0)
            } else {
                (rng.range(0.18, 0.42), rng.range(0.25, 0.6))
            };
            let base = ground(d);
            pieces.push(Piece::Block(building(
                &mut rng,
                d,
                cx - w / 2.0,
                w,
                base - h,
                base,
                Tone::Mid,
                None,
            )));
        }

        // The subject, framed on a third, and maybe a second figure on the other side.
        let side = if rng.chance(0.5) { 1.0 } else { -1.0 };
        let sx = side * half * rng.range(0.15, 0.4);
        let subject = Figure {
            d: 1.0,
            x: sx,
            feet: ground(1.0),
            height: FIGURE * rng.range(0.92, 1.05),
            facing: -side * rng.range(0.3, 0.8),
            second: false,
        };
        let anchor = (sx, subject.feet - subject.height * 0.8);
        pieces.push(Piece::Figure(subject));
        if rng.chance(0.6) {
            let d = if rng.chance(0.7) {
                rng.range(0.72, 0.9)
            } else {
                rng.range(1.1, 1.2)
            };
            pieces.push(Piece::Figure(Figure {
                d,
                x: -side * half * rng.range(0.3, 0.55),
                feet: ground(d),
                height: FIGURE * d * rng.range(0.88, 1.0),
                facing: side * rng.range(0.3, 0.9),
                second: true,
            }));
        }

        // Foreground: crates and maybe a pillar framing an edge, clear of the subject.
        let count = 1 + (rng.next() % 3) as usize;
        for i in 0..count {
            let d = rng.range(1.6, 2.2);
            let edge = if i % 2 == 0 { -side } else { side };
            let cx = edge * rng.range(half * 0.6, half * 1.1);
            let (w, h) = if rng.chance(0.3) {
                (0.1, 3.0)
            } else {
                (rng.range(0.18, 0.3), rng.range(0.12, 0.22))
            };
            let base = ground(d);
            pieces.push(Piece::Block(Block {
                d,
                x0: cx - w * d / 2.0,
                x1: cx + w * d / 2.0,
                top: base - h * d,
                base,
                tone: Tone::Near,
                cap: None,
                windows: None,
                sign: None,
            }));
        }

        pieces.sort_by(|a, b| a.depth().total_cmp(&b.depth()));
        let disc = (
            rng.range(-half, half),
            rng.range(0.12, 0.34),
            rng.range(0.03, 0.06),
        );
        Self {
            horizon,
            disc,
            pieces,
            anchor,
        }
    }

    /// The point a push in closes on: the subject's face.
    pub fn anchor(&self) -> (f32, f32) {
        self.anchor
    }

    /// Paints the whole frame as seen from `pose`.
    pub fn draw(&self, frame: &mut Frame, pose: &Pose, pal: &Palette) {
        let (w, h) = (frame.width(), frame.height());
        let sky = pose.layer(0.0, w, h);
        self.draw_sky(frame, &sky, pal);
        self.draw_ground(frame, pose, pal);
        for piece in &self.pieces {
            let xf = pose.layer(piece.depth(), w, h);
            match piece {
                Piece::Block(b) => draw_block(frame, &xf, b, pal),
                Piece::Figure(f) => f.draw(frame, &xf, pose.turn, pal),
            }
        }
    }

    fn draw_sky(&self, frame: &mut Frame, xf: &Xform, pal: &Palette) {
        let width = frame.width() as i32;
        let row = |wy: f32| xf.point(0.0, wy).1.round() as i32;
        let horizon = row(self.horizon);
        // Band 0 is the top of the sky; the last band sits on the horizon.
        let n = SKY.len();
        let mut bottom = horizon;
        for (i, up) in SKY.iter().enumerate() {
            let top = if i + 1 == n {
                i32::MIN / 2
            } else {
                row(self.horizon - up)
            };
            frame.fill_rect(
                0,
                top,
                width,
                bottom,
                sky_colour(pal, i as f32 / (n - 1) as f32),
            );
            bottom = top;
        }
        let (dx, up, r) = self.disc;
        let disc = match pal.mood {
            Mood::Day => Some((
                pal.sky[3].mix(Yuv::from_rgb(255, 250, 230), 0.8),
                up + 0.15,
                r,
            )),
            Mood::Dusk => Some((pal.accent, up * 0.25, r * 2.2)),
            Mood::Dawn => Some((pal.accent, up * 0.3, r * 1.6)),
            Mood::Night => Some((
                pal.rim.mix(Yuv::from_rgb(255, 255, 255), 0.5),
                up + 0.1,
                r * 0.7,
            )),
            _ => None,
        };
        if let Some((c, up, r)) = disc {
            let (px, py) = xf.point(dx, self.horizon - up);
            frame.fill_ellipse(px, py, xf.len(r), xf.len(r), c);
        }
    }

    fn draw_ground(&self, frame: &mut Frame, pose: &Pose, pal: &Palette) {
        let (w, h) = (frame.width(), frame.height());
        let width = w as i32;
        let row = |d: f32| {
            pose.layer(d, w, h)
                .point(0.0, self.horizon + EYE * d)
                .1
                .round() as i32
        };
        let haze = pal.sky[3];
        let mut top = row(0.0);
        for (i, d) in GROUND.iter().enumerate() {
            let bottom = row(*d);
            let near = i as f32 / GROUND.len() as f32;
            let c = pal.ground[i % 2].mix(haze, 0.45 * (1.0 - near) * (1.0 - near));
            frame.fill_rect(0, top, width, bottom, c);
            top = bottom;
        }
        frame.fill_rect(0, top, width, i32::MAX / 2, pal.ground[GROUND.len() % 2]);
    }
}

#[allow(clippy::too_many_arguments)]
fn building(
    rng: &mut Rng,
    d: f32,
    x0: f32,
    w: f32,
    top: f32,
    base: f32,
    tone: Tone,
    cap: Option<(f32, f32)>,
) -> Block {
    let h = base - top;
    let windows = (h < 1.5 && w > 0.06).then(|| {
        let cols = (w / 0.035).clamp(1.0, 8.0) as u8;
        let rows = (h / 0.05).clamp(1.0, 8.0) as u8;
        (cols, rows, rng.next())
    });
    let sign = (w > 0.1 && rng.chance(0.5)).then(|| (rng.range(0.15, 0.5), rng.chance(0.5)));
    Block {
        d,
        x0,
        x1: x0 + w,
        top,
        base,
        tone,
        cap,
        windows,
        sign,
    }
}

fn sky_colour(pal: &Palette, t: f32) -> Yuv {
    let t = t.clamp(0.0, 1.0) * 3.0;
    let i = (t as usize).min(2);
    pal.sky[i].mix(pal.sky[i + 1], t - i as f32)
}

fn rect(frame: &mut Frame, xf: &Xform, x0: f32, y0: f32, x1: f32, y1: f32, c: Yuv) {
    let (a, b) = xf.point(x0, y0);
    let (p, q) = xf.point(x1, y1);
    frame.fill_rect(
        a.round() as i32,
        b.round() as i32,
        p.round() as i32,
        q.round() as i32,
        c,
    );
}

fn draw_block(frame: &mut Frame, xf: &Xform, b: &Block, pal: &Palette) {
    let body = match b.tone {
        Tone::Far => pal
            .far
            .mix(pal.sky[3], ((0.34 - b.d) * 2.0).clamp(0.0, 0.3)),
        Tone::Mid => pal.mid,
        Tone::Near => pal.near,
    };
    // Skip what cannot be seen: a block wholly off either side.
    let (left, _) = xf.point(b.x0, 0.0);
    let (right, _) = xf.point(b.x1, 0.0);
    if right < 0.0 || left > frame.width() as f32 {
        return;
    }
    rect(frame, xf, b.x0, b.top, b.x1, b.base, body);
    if let Some((inset, h)) = b.cap {
        rect(
            frame,
            xf,
            b.x0 + inset,
            b.top - h,
            b.x1 - inset,
            b.top,
            body,
        );
    }
    if let Some((cols, rows, lit)) = b.windows {
        let (cols, rows) = (f32::from(cols), f32::from(rows));
        let cw = (b.x1 - b.x0) / (cols * 2.0 + 1.0);
        let rh = (b.base - b.top) / (rows * 2.0 + 1.0);
        if xf.len(cw) >= 2.0 && xf.len(rh) >= 2.0 {
            let dark = body.mix(Yuv::from_rgb(0, 0, 0), 0.25);
            for r in 0..rows as u32 {
                for c in 0..cols as u32 {
                    let bit = (r * cols as u32 + c) % 64;
                    let on = pal.lit_windows
                        && (lit >> bit) & 1 == 1
                        && (lit >> ((bit + 17) % 64)) & 1 == 1;
                    let x = b.x0 + cw * (1.0 + 2.0 * c as f32);
                    let y = b.top + rh * (1.0 + 2.0 * r as f32);
                    rect(
                        frame,
                        xf,
                        x,
                        y,
                        x + cw,
                        y + rh,
                        if on { pal.accent } else { dark },
                    );
                }
            }
        }
    }
    if let (Mood::Neon, Some((at, pink))) = (pal.mood, b.sign) {
        let y = b.top + (b.base - b.top) * at;
        let c = if pink { pal.accent } else { pal.rim };
        let inset = (b.x1 - b.x0) * 0.2;
        rect(
            frame,
            xf,
            b.x0 + inset,
            y,
            b.x1 - inset,
            y + 0.02 * b.d.max(0.5),
            c,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::CameraMove;

    #[test]
    fn layouts_are_deterministic_and_differ_by_seed() {
        assert_eq!(Set::layout(1, 1280, 720), Set::layout(1, 1280, 720));
        assert_ne!(Set::layout(1, 1280, 720), Set::layout(2, 1280, 720));
    }

    #[test]
    fn every_layout_has_a_subject_and_set_pieces_at_several_depths() {
        for seed in 0..50 {
            let set = Set::layout(seed, 720, 1280);
            let subjects = set
                .pieces
                .iter()
                .filter(|p| matches!(p, Piece::Figure(f) if !f.second))
                .count();
            assert_eq!(subjects, 1, "seed {seed}");
            for tone in [Tone::Far, Tone::Mid, Tone::Near] {
                assert!(
                    set.pieces
                        .iter()
                        .any(|p| matches!(p, Piece::Block(b) if b.tone == tone)),
                    "seed {seed}: no {tone:?} piece"
                );
            }
            assert!(set.pieces.windows(2).all(|w| w[0].depth() <= w[1].depth()));
        }
    }

    #[test]
    fn drawing_paints_the_subject_and_differs_by_seed() {
        let pal = Palette::for_mood(Mood::Day);
        let draw = |seed| {
            let set = Set::layout(seed, 320, 180);
            let pose = Pose::at(CameraMove::Static, 0.0, 0.0, seed, set.anchor());
            let mut f = Frame::new(320, 180);
            f.clear(Yuv { y: 0, u: 0, v: 0 });
            set.draw(&mut f, &pose, &pal);
            f
        };
        let a = draw(3);
        assert!(a.y.iter().all(|&p| p >= 16), "every pixel painted");
        assert!(a.y.contains(&pal.subject.y));
        assert_ne!(a.y, draw(4).y);
    }
}
