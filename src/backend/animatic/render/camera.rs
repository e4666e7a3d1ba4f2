//! The animatic's 2D camera: where a camera move has got to at a moment of the clip, and how
//! that moves each depth layer of the set.
//!
//! Coordinates: "world" is where a shape sits on screen when the camera is at rest, in units
//! of the frame height, origin at the frame centre, y down. Every shape carries a depth `d`,
//! its inverse distance relative to the subject: the sky is 0, the subject 1, a foreground
//! crate 2. Rotations of the camera (pan, tilt, handheld shake) shift every layer alike;
//! translations (track, crane, orbit) shift a layer in proportion to `d` (parallax); a dolly
//! (push in / pull out) magnifies a layer by `1 / (1 - z·d)` about the subject.
//!
//! Invariant: a pose is a pure function of (move, progress, time, seed); moves are eased in
//! and out, so they start and end at rest.

use crate::model::CameraMove;

/// Total pan/track travel of a move over the clip, in frame heights.
const PAN: f32 = 0.45;
const TILT: f32 = 0.28;
const TRACK: f32 = 0.45;
const CRANE: f32 = 0.22;
/// Dolly travel as a share of the distance to the subject.
const PUSH: f32 = 0.38;
/// Orbit: sideways travel and the angle the subject turns through.
const ORBIT: f32 = 0.40;
const ORBIT_TURN: f32 = 1.2;
/// Handheld shake amplitude bound, in frame heights.
const SHAKE: f32 = 0.012;
/// The dolly never gets closer than this share of a layer's distance (keeps `1 - z·d` > 0).
const MIN_DISTANCE: f32 = 0.2;

/// Where the camera is at one moment.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pose {
    /// Rotation as a screen shift applied to every layer (pan, tilt, shake), frame heights.
    pub look: (f32, f32),
    /// Translation measured at subject depth (track, crane, orbit).
    pub travel: (f32, f32),
    /// Dolly travel towards the subject as a share of its distance (negative: away).
    pub dolly: f32,
    /// The point the dolly magnifies about: the subject, in world units.
    pub anchor: (f32, f32),
    /// How far the subject has turned to the camera, radians (orbit).
    pub turn: f32,
}

/// How one depth layer maps world units to pixels: `px = wx·scale + x`, `py = wy·scale + y`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Xform {
    pub scale: f32,
    pub x: f32,
    pub y: f32,
}

impl Xform {
    pub fn point(&self, wx: f32, wy: f32) -> (f32, f32) {
        (wx * self.scale + self.x, wy * self.scale + self.y)
    }

    pub fn len(&self, w: f32) -> f32 {
        w * self.scale
    }
}

/// Smoothstep easing: 0 → 0, 1 → 1, zero speed at both ends, monotonic in between.
pub fn ease(t: f32) -> f32 {
    let t = t.clamp(0.0, 1.0);
    t * t * (3.0 - 2.0 * t)
}

impl Pose {
    /// The pose of `mv` at `progress` (0 at the first frame of the shot, 1 at its last) and
    /// `time_s` seconds into the shot (for the handheld shake), around `anchor`.
    pub fn at(mv: CameraMove, progress: f32, time_s: f32, seed: u64, anchor: (f32, f32)) -> Self {
        let e = ease(progress);
        let mut pose = Self {
            look: (0.0, 0.0),
            travel: (0.0, 0.0),
            dolly: 0.0,
            anchor,
            turn: 0.0,
        };
        match mv {
            CameraMove::Static => {}
            CameraMove::PushIn => pose.dolly = PUSH * e,
            CameraMove::PullOut => pose.dolly = PUSH * (1.0 - e) - 0.15 * e,
            CameraMove::PanLeft => pose.look.0 = -PAN * e,
            CameraMove::PanRight => pose.look.0 = PAN * e,
            CameraMove::TiltUp => pose.look.1 = -TILT * e,
            CameraMove::TiltDown => pose.look.1 = TILT * e,
            CameraMove::TrackLeft => pose.travel.0 = -TRACK * e,
            CameraMove::TrackRight => pose.travel.0 = TRACK * e,
            CameraMove::CraneUp => pose.travel.1 = -CRANE * e,
            CameraMove::CraneDown => pose.travel.1 = CRANE * e,
            CameraMove::Orbit => {
                // Travel sideways while turning to keep the subject framed: layers behind
                // the subject slide one way, layers in front the other.
                let x = ORBIT * (2.0 * e - 1.0);
                pose.travel.0 = x;
                pose.look.0 = -x;
                pose.turn = ORBIT_TURN * (2.0 * e - 1.0);
            }
            CameraMove::Handheld => pose.look = shake(seed, time_s),
        }
        pose
    }

    /// The transform of the layer at depth `d` for a frame `width`×`height` pixels.
    pub fn layer(&self, d: f32, width: usize, height: usize) -> Xform {
        let unit = height as f32;
        let (cx, cy) = (width as f32 / 2.0, height as f32 / 2.0);
        let m = 1.0 / (1.0 - self.dolly * d).max(MIN_DISTANCE);
        let (ax, ay) = self.anchor;
        // screen = anchor + (world - anchor - travel·d)·m - look
        let ox = ax - (ax + self.travel.0 * d) * m - self.look.0;
        let oy = ay - (ay + self.travel.1 * d) * m - self.look.1;
        Xform {
            scale: m * unit,
            x: cx + ox * unit,
            y: cy + oy * unit,
        }
    }
}

/// A deterministic hand-held wobble: a few sines per axis with phases from the seed,
/// bounded by `SHAKE` on each axis.
fn shake(seed: u64, t: f32) -> (f32, f32) {
    let phase = |k: u32| {
        ((seed.rotate_left(k * 11) >> 40) & 0xffff) as f32 / 65535.0 * std::f32::consts::TAU
    };
    let axis = |base: u32, rates: [f32; 3]| {
        let w = [0.55, 0.3, 0.15];
        (0..3)
            .map(|i| w[i] * (t * rates[i] + phase(base + i as u32)).sin())
            .sum::<f32>()
    };
    (
        SHAKE * axis(0, [1.3, 3.7, 8.9]),
        SHAKE * 0.8 * axis(3, [1.1, 4.3, 7.7]),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const W: usize = 1280;
    const H: usize = 720;

    fn layer(mv: CameraMove, p: f32, d: f32) -> Xform {
        Pose::at(mv, p, p * 5.0, 42, (0.1, 0.2)).layer(d, W, H)
    }

    fn steps() -> impl Iterator<Item = f32> {
        (0..=20).map(|i| i as f32 / 20.0)
    }

    #[test]
    fn easing_starts_and_ends_at_rest() {
        assert_eq!(ease(0.0), 0.0);
        assert_eq!(ease(1.0), 1.0);
        assert!(ease(0.05) < 0.05 && ease(0.95) > 0.95);
        let v: Vec<f32> = steps().map(ease).collect();
        assert!(v.windows(2).all(|w| w[1] >= w[0]));
    }

    #[test]
    fn every_move_starts_where_static_does_except_orbit_and_pull_out() {
        let rest = layer(CameraMove::Static, 0.0, 1.0);
        for mv in CameraMove::ALL {
            if matches!(
                mv,
                CameraMove::Orbit | CameraMove::PullOut | CameraMove::Handheld
            ) {
                continue;
            }
            assert_eq!(layer(mv, 0.0, 1.0), rest, "{mv:?}");
        }
        assert_eq!(rest.scale, H as f32);
        assert_eq!((rest.x, rest.y), (W as f32 / 2.0, H as f32 / 2.0));
    }

    #[test]
    fn push_in_magnifies_monotonically_and_near_layers_more() {
        let s: Vec<f32> = steps()
            .map(|p| layer(CameraMove::PushIn, p, 1.0).scale)
            .collect();
        assert!(s.windows(2).all(|w| w[1] >= w[0]));
        assert!(s[20] > s[0] * 1.4);
        let near = layer(CameraMove::PushIn, 1.0, 2.0).scale;
        let far = layer(CameraMove::PushIn, 1.0, 0.3).scale;
        assert!(near > s[20] && s[20] > far);
        assert_eq!(
            layer(CameraMove::PushIn, 1.0, 0.0).scale,
            H as f32,
            "the sky does not grow"
        );
        // The subject's anchor stays put while it grows.
        let a = layer(CameraMove::PushIn, 1.0, 1.0).point(0.1, 0.2);
        let b = layer(CameraMove::Static, 1.0, 1.0).point(0.1, 0.2);
        assert!((a.0 - b.0).abs() < 1e-3 && (a.1 - b.1).abs() < 1e-3);
    }

    #[test]
    fn pull_out_shrinks_monotonically() {
        let s: Vec<f32> = steps()
            .map(|p| layer(CameraMove::PullOut, p, 1.0).scale)
            .collect();
        assert!(s.windows(2).all(|w| w[1] <= w[0]));
        assert!(s[0] > s[20] * 1.4);
    }

    #[test]
    fn pans_and_tilts_shift_every_layer_the_same_way() {
        // Panning left turns the camera left: the scene slides right on screen.
        let x: Vec<f32> = steps()
            .map(|p| layer(CameraMove::PanLeft, p, 1.0).x)
            .collect();
        assert!(x.windows(2).all(|w| w[1] >= w[0]) && x[20] > x[0] + 200.0);
        let right = layer(CameraMove::PanRight, 1.0, 1.0).x;
        assert!(right < x[0] - 200.0);
        for d in [0.0, 0.5, 2.0] {
            let shift = layer(CameraMove::PanLeft, 1.0, d).x - layer(CameraMove::Static, 1.0, d).x;
            assert!((shift - PAN * H as f32).abs() < 1e-2, "depth {d}: {shift}");
        }
        // Tilting up: the scene slides down.
        assert!(
            layer(CameraMove::TiltUp, 1.0, 0.0).y > layer(CameraMove::TiltUp, 0.0, 0.0).y + 100.0
        );
        assert!(
            layer(CameraMove::TiltDown, 1.0, 0.0).y
                < layer(CameraMove::TiltDown, 0.0, 0.0).y - 100.0
        );
    }

    #[test]
    fn tracks_and_cranes_have_parallax() {
        let shift = |mv, d: f32| layer(mv, 1.0, d).x - layer(mv, 0.0, d).x;
        assert_eq!(shift(CameraMove::TrackLeft, 0.0), 0.0, "the sky stays");
        assert!(shift(CameraMove::TrackLeft, 2.0) > shift(CameraMove::TrackLeft, 1.0));
        assert!(shift(CameraMove::TrackLeft, 1.0) > shift(CameraMove::TrackLeft, 0.3));
        assert!(shift(CameraMove::TrackLeft, 0.3) > 0.0);
        assert!(shift(CameraMove::TrackRight, 1.0) < 0.0);
        let rise = |mv, d: f32| layer(mv, 1.0, d).y - layer(mv, 0.0, d).y;
        assert!(rise(CameraMove::CraneUp, 2.0) > rise(CameraMove::CraneUp, 0.5));
        assert!(rise(CameraMove::CraneUp, 0.5) > 0.0);
        assert!(rise(CameraMove::CraneDown, 1.0) < 0.0);
    }

    #[test]
    fn orbit_slides_background_and_foreground_opposite_ways_and_turns_the_subject() {
        let shift =
            |d: f32| layer(CameraMove::Orbit, 1.0, d).x - layer(CameraMove::Orbit, 0.0, d).x;
        assert!(shift(0.3) * shift(2.0) < 0.0);
        assert!(shift(1.0).abs() < 1e-2, "the subject stays framed");
        let a = Pose::at(CameraMove::Orbit, 0.0, 0.0, 1, (0.0, 0.0)).turn;
        let b = Pose::at(CameraMove::Orbit, 1.0, 5.0, 1, (0.0, 0.0)).turn;
        assert!(b - a > 2.0);
    }

    #[test]
    fn handheld_is_deterministic_bounded_and_seeded() {
        let mut moved = false;
        for i in 0..240 {
            let t = i as f32 / 24.0;
            let a = Pose::at(CameraMove::Handheld, t / 10.0, t, 7, (0.0, 0.0));
            let b = Pose::at(CameraMove::Handheld, t / 10.0, t, 7, (0.0, 0.0));
            assert_eq!(a, b);
            assert!(a.look.0.abs() <= SHAKE && a.look.1.abs() <= SHAKE);
            moved |= a.look.0.abs() > SHAKE / 10.0;
            assert_eq!(a.dolly, 0.0);
        }
        assert!(moved);
        let other = Pose::at(CameraMove::Handheld, 0.1, 1.0, 8, (0.0, 0.0));
        assert_ne!(
            other,
            Pose::at(CameraMove::Handheld, 0.1, 1.0, 7, (0.0, 0.0))
        );
    }
}
