//! A standing figure of the blocking: a silhouette with head, torso, arms and legs, a rim of
//! key light on the side it faces, and a profile that shows which way it looks.
//!
//! Invariant: a figure is drawn in one pass of flat fills through its layer's transform; a
//! figure too small or wholly off screen draws nothing, and nothing it draws leaves the frame.

use super::camera::Xform;
use super::frame::{Frame, Yuv};
use super::palette::Palette;

/// A standing figure: head, torso, arms and legs.
#[derive(Debug, Clone, PartialEq)]
pub struct Figure {
    /// Depth (inverse distance, the subject is 1).
    pub d: f32,
    /// Centre line and ground contact in world units; `height` already scaled by depth.
    pub x: f32,
    pub feet: f32,
    pub height: f32,
    /// Which way it faces when the camera is at rest, radians (0: towards the camera).
    pub facing: f32,
    pub second: bool,
}

impl Figure {
    /// Draws the figure through its layer's transform, turned by `turn` (orbit).
    pub fn draw(&self, frame: &mut Frame, xf: &Xform, turn: f32, pal: &Palette) {
        // Work in pixels: `u` pixels per figure height, `(cx, top)` the top of the head.
        let u = xf.len(self.height);
        let (cx, feet) = xf.point(self.x, self.feet);
        let top = feet - u;
        if u < 4.0 || cx + u < 0.0 || cx - u > frame.width() as f32 {
            return;
        }
        let angle = self.facing + turn;
        // Seen from the side a body is narrower; the profile shows which way it faces.
        let k = 0.55 + 0.45 * angle.cos().abs();
        let side = angle.sin();
        // The key light comes from the side the figure faces; its rim outlines that edge.
        let lit = if side >= 0.0 { 1.0 } else { -1.0 };
        let rim = (0.012 * u).max(1.0);
        let body = if self.second { pal.second } else { pal.subject };
        let shadow = pal.ground[0].mix(Yuv::from_rgb(0, 0, 0), 0.4);
        let y = |v: f32| top + v * u;
        let r = |v: f32| v.round() as i32;

        frame.fill_ellipse(cx, feet, 0.2 * u * k + 0.02 * u, 0.03 * u, shadow);
        for leg in [-1.0, 1.0] {
            let c = cx + leg * 0.036 * u * k;
            let half = 0.027 * u * k;
            frame.fill_rect(r(c - half), r(y(0.5)), r(c + half), r(feet), body);
        }
        // Arms hang from the shoulders and flare a little towards the hands; the far arm
        // disappears behind the body when the figure turns.
        let shoulder = 0.105 * u * k;
        for arm in [-1.0f32, 1.0] {
            if arm * side < -0.6 {
                continue;
            }
            let (a0, a1) = (y(0.17), y(0.5));
            let (x0, x1) = (cx + arm * shoulder, cx + arm * (shoulder + 0.03 * u));
            let w = 0.036 * u;
            frame.fill_spans(r(a0), r(a1), body, |py| {
                let t = ((py as f32 - a0) / (a1 - a0)).clamp(0.0, 1.0);
                let c = x0 + (x1 - x0) * t;
                Some((r(c - w / 2.0), r(c + w / 2.0)))
            });
        }
        // Torso: a trapezoid, shoulders wider than hips, first in rim colour, then the body
        // inset on the lit edge so a sliver of rim stays.
        let (t0, t1) = (y(0.16), y(0.54));
        let hip = 0.075 * u * k;
        let torso = |py: i32, inset: f32| {
            let t = ((py as f32 + 0.5 - t0) / (t1 - t0)).clamp(0.0, 1.0);
            let half = shoulder + (hip - shoulder) * t;
            let (mut a, mut b) = (cx - half, cx + half);
            if lit > 0.0 {
                b -= inset;
            } else {
                a += inset;
            }
            Some((r(a), r(b)))
        };
        frame.fill_spans(r(t0), r(t1), pal.rim, |py| torso(py, 0.0));
        frame.fill_spans(r(t0), r(t1), body, |py| torso(py, rim));
        for s in [-1.0, 1.0] {
            frame.fill_ellipse(
                cx + s * (shoulder - 0.025 * u),
                y(0.185),
                0.035 * u,
                0.03 * u,
                body,
            );
        }
        frame.fill_rect(
            r(cx - 0.024 * u),
            r(y(0.1)),
            r(cx + 0.024 * u),
            r(y(0.18)),
            body,
        );
        // Head with its rim, and nose and chin in profile.
        let (hx, hy, hrx, hry) = (cx, y(0.075), 0.058 * u, 0.07 * u);
        frame.fill_ellipse(hx + lit * rim, hy, hrx, hry, pal.rim);
        frame.fill_ellipse(hx, hy, hrx, hry, body);
        if side.abs() > 0.25 {
            frame.fill_ellipse(
                cx + side.signum() * 0.055 * u,
                y(0.088),
                0.02 * u,
                0.022 * u,
                body,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::animatic::render::camera::Pose;
    use crate::backend::animatic::render::palette::Mood;
    use crate::model::CameraMove;

    /// Pixels of the subject's colour on the widest row of a figure turned by `turn`.
    fn width_at(turn: f32) -> usize {
        let pal = Palette::for_mood(Mood::Day);
        let mut frame = Frame::new(320, 240);
        frame.clear(Yuv {
            y: 16,
            u: 128,
            v: 128,
        });
        let f = Figure {
            d: 1.0,
            x: 0.0,
            feet: 0.4,
            height: 0.6,
            facing: 0.0,
            second: false,
        };
        let xf = Pose::at(CameraMove::Static, 0.0, 0.0, 0, (0.0, 0.0)).layer(1.0, 320, 240);
        f.draw(&mut frame, &xf, turn, &pal);
        frame
            .y
            .chunks(320)
            .map(|row| row.iter().filter(|&&p| p != 16).count())
            .max()
            .unwrap_or(0)
    }

    #[test]
    fn a_figure_turned_side_on_is_narrower() {
        let front = width_at(0.0);
        let side = width_at(std::f32::consts::FRAC_PI_2);
        assert!(front > 20 && side < front, "front {front}, side {side}");
    }

    #[test]
    fn figures_off_screen_draw_nothing() {
        let pal = Palette::for_mood(Mood::Night);
        let mut frame = Frame::new(320, 240);
        frame.clear(Yuv {
            y: 16,
            u: 128,
            v: 128,
        });
        let xf = Pose::at(CameraMove::Static, 0.0, 0.0, 0, (0.0, 0.0)).layer(1.0, 320, 240);
        let f = Figure {
            d: 1.0,
            x: 9.0,
            feet: 0.4,
            height: 0.6,
            facing: 0.0,
            second: true,
        };
        f.draw(&mut frame, &xf, 0.0, &pal);
        assert!(frame.y.iter().all(|&p| p == 16));
    }
}
