//! The animatic renderer: turns a shot's parameters into a real H.264 MP4 on the CPU, with no
//! GPU, no network and no external program.
//!
//! A clip is a slate card for its first second (at most a third of the clip), then a blocking
//! composition (sky, ground, set pieces at several depths, one or two figures, laid out from
//! the seed, coloured by the lighting) seen through the shot's camera move, with the take code
//! and a timecode burnt in. Frames are drawn directly in YUV 4:2:0 and fed to openh264; the
//! samples go into a faststart MP4 written by our own muxer.
//!
//! Invariants: the same spec gives byte-identical files (nothing depends on time, threads or
//! the machine's state); `render` writes only `out` and leaves it closed whatever happens;
//! every failure is an [`AnimaticError`] with a one-line message.

mod burnin;
mod camera;
mod encode;
mod figure;
mod font;
mod frame;
mod mux;
pub mod palette;
mod scene;
mod slate;

use std::fs::File;
use std::io::{self, BufWriter};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::model::{CameraMove, Slate};

use burnin::BurnIn;
use camera::Pose;
use encode::H264;
use frame::Frame;
use mux::{Mp4Writer, Track};
use palette::Palette;
use scene::Set;
use slate::{CardInfo, SlateCard};

/// Everything an animatic shows.
#[derive(Debug, Clone, PartialEq)]
pub struct AnimaticSpec {
    pub width: u32,
    pub height: u32,
    pub fps: u32,
    pub frames: u32,
    /// Decides the layout of the set (and the handheld shake and firelight flicker).
    pub seed: u64,
    pub camera: CameraMove,
    /// Free text in English or Chinese; decides the palette.
    pub lighting: String,
    /// The style preset's colour grade.
    pub grade: palette::Grade,
    /// The compiled prompt; its first ~80 characters are shown on the slate.
    pub prompt: String,
    pub slate: Slate,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RenderStats {
    pub frames: u32,
    /// Size of the MP4 written.
    pub bytes: u64,
    /// Frames that showed the slate card.
    pub slate_frames: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum AnimaticError {
    #[error("{0}")]
    InvalidSpec(String),
    #[error("render canceled")]
    Canceled,
    #[error("writing {path}: {source}")]
    Io { path: String, source: io::Error },
    #[error("H.264 encoder: {0}")]
    Encoder(String),
}

/// Largest and smallest short side, largest long side.
const SHORT_MIN: u32 = 480;
const SHORT_MAX: u32 = 1080;
const LONG_MAX: u32 = 1920;
const FPS_MIN: u32 = 8;
const FPS_MAX: u32 = 60;
const MAX_SECONDS: u32 = 60;

/// Checks a size, rate and length the animatic can render: landscape or portrait from 480p to
/// 1080p (short side 480..=1080, long side at most 1920, both even), 8 to 60 fps, 1 frame to
/// 60 seconds.
pub fn validate(width: u32, height: u32, fps: u32, frames: u32) -> Result<(), AnimaticError> {
    let sizes = "(e.g. 1280x720, 720x1280, 1920x1080)";
    let (short, long) = (width.min(height), width.max(height));
    if !(SHORT_MIN..=SHORT_MAX).contains(&short) || long > LONG_MAX {
        return Err(AnimaticError::InvalidSpec(format!(
            "unsupported size {width}x{height}: the short side must be {SHORT_MIN} to {SHORT_MAX} pixels \
             and the long side at most {LONG_MAX} {sizes}"
        )));
    }
    if width % 2 != 0 || height % 2 != 0 {
        return Err(AnimaticError::InvalidSpec(format!(
            "unsupported size {width}x{height}: width and height must be even {sizes}"
        )));
    }
    if !(FPS_MIN..=FPS_MAX).contains(&fps) {
        return Err(AnimaticError::InvalidSpec(format!(
            "unsupported frame rate {fps}: it must be {FPS_MIN} to {FPS_MAX} frames per second"
        )));
    }
    let max = MAX_SECONDS * fps;
    if !(1..=max).contains(&frames) {
        return Err(AnimaticError::InvalidSpec(format!(
            "unsupported length of {frames} frames: it must be 1 to {max} ({MAX_SECONDS} s at {fps} fps)"
        )));
    }
    Ok(())
}

/// Frames the slate card is shown for: one second, at most a third of the clip.
pub fn slate_frames(fps: u32, frames: u32) -> u32 {
    fps.min(frames / 3)
}

/// Renders `spec` into an MP4 at `out` (created or truncated, synced to disk before `Ok`).
/// Calls `progress(done, total)` after each encoded frame and checks `cancel` before each
/// frame; on cancel or error the file is closed and left for the caller to remove.
pub fn render(
    spec: &AnimaticSpec,
    out: &Path,
    progress: &mut dyn FnMut(u32, u32),
    cancel: &AtomicBool,
) -> Result<RenderStats, AnimaticError> {
    validate(spec.width, spec.height, spec.fps, spec.frames)?;
    let io_error = |source: io::Error| AnimaticError::Io {
        path: out.display().to_string(),
        source,
    };
    let file = File::create(out).map_err(io_error)?;
    // The MP4 header needs the parameter sets, known once the first frame is encoded.
    let mut pending = Some(BufWriter::with_capacity(1 << 18, file));

    let clip = Clip::new(spec);
    let mut frame = Frame::new(spec.width as usize, spec.height as usize);
    // An IDR every second keeps seeking in a player snappy for a few kilobytes each.
    let gop = spec.fps;
    let mut encoder = H264::new(spec.fps, gop)?;
    let mut sample = Vec::new();
    let mut mp4: Option<Mp4Writer<BufWriter<File>>> = None;

    for i in 0..spec.frames {
        if cancel.load(Ordering::Relaxed) {
            return Err(AnimaticError::Canceled);
        }
        clip.draw(i, &mut frame);
        let sync = encoder.encode(&frame, &mut sample)?;
        if let Some(writer) = pending.take() {
            let (sps, pps) = encoder.parameter_sets().ok_or_else(|| {
                AnimaticError::Encoder("the first frame came without SPS/PPS".into())
            })?;
            let track = Track {
                width: spec.width,
                height: spec.height,
                fps: spec.fps,
                frames: spec.frames,
                gop,
                sps,
                pps,
            };
            mp4 = Some(Mp4Writer::begin(writer, &track).map_err(io_error)?);
        }
        if let Some(mp4) = mp4.as_mut() {
            mp4.push(&sample, sync).map_err(io_error)?;
        }
        progress(i + 1, spec.frames);
    }

    let mp4 = mp4.ok_or_else(|| AnimaticError::Encoder("no frame was encoded".into()))?;
    let (writer, bytes) = mp4.finish().map_err(io_error)?;
    let file = writer.into_inner().map_err(|e| io_error(e.into_error()))?;
    file.sync_all().map_err(io_error)?;
    Ok(RenderStats {
        frames: spec.frames,
        bytes,
        slate_frames: clip.slate_frames,
    })
}

/// What a clip shows, prepared once: the slate card, the set, the palette and the burn-in.
struct Clip<'a> {
    spec: &'a AnimaticSpec,
    card: SlateCard,
    set: Set,
    palette: Palette,
    burn: BurnIn,
    slate_frames: u32,
}

impl<'a> Clip<'a> {
    fn new(spec: &'a AnimaticSpec) -> Self {
        Self {
            spec,
            card: SlateCard::new(&CardInfo {
                slate: &spec.slate,
                camera: spec.camera,
                lighting: &spec.lighting,
                prompt: &spec.prompt,
                width: spec.width,
                height: spec.height,
                fps: spec.fps,
                frames: spec.frames,
                seed: spec.seed,
            }),
            set: Set::layout(spec.seed, spec.width as usize, spec.height as usize),
            palette: Palette::from_lighting(&spec.lighting).graded(spec.grade),
            burn: BurnIn::new(&spec.slate.take_code, spec.width, spec.height, spec.fps),
            slate_frames: slate_frames(spec.fps, spec.frames),
        }
    }

    /// Draws frame `i` into `frame`, which holds frame `i - 1` (frames are drawn in order).
    fn draw(&self, i: u32, frame: &mut Frame) {
        if i < self.slate_frames {
            // The card never changes: draw it once and re-encode the same picture.
            if i == 0 {
                self.card.draw(frame);
            }
            return;
        }
        let spec = self.spec;
        let k = i - self.slate_frames;
        let shot_frames = spec.frames - self.slate_frames;
        let along = if shot_frames > 1 {
            k as f32 / (shot_frames - 1) as f32
        } else {
            0.0
        };
        let time = k as f32 / spec.fps as f32;
        let pose = Pose::at(spec.camera, along, time, spec.seed, self.set.anchor());
        self.set.draw(frame, &pose, &self.palette.at(spec.seed, i));
        self.burn.draw(frame, i);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(seed: u64) -> AnimaticSpec {
        AnimaticSpec {
            width: 640,
            height: 480,
            fps: 12,
            frames: 18,
            seed,
            camera: CameraMove::PushIn,
            lighting: "黄昏 golden hour".into(),
            grade: Default::default(),
            prompt: "她在雨夜的小巷里回头 — a woman turns in a rainy alley".into(),
            slate: Slate {
                project: "雨夜".into(),
                take_code: "SC012_SH12A_TK03".into(),
                shot_code: "12A".into(),
                scene_heading: "EXT. 小巷 - NIGHT".into(),
                variant: "dusk".into(),
            },
        }
    }

    fn render_to(spec: &AnimaticSpec, path: &Path) -> Result<RenderStats, AnimaticError> {
        render(spec, path, &mut |_, _| {}, &AtomicBool::new(false))
    }

    #[test]
    fn validate_table() {
        let ok = [
            (1280, 720, 24, 120),
            (720, 1280, 30, 30),
            (480, 832, 16, 24),
            (832, 480, 16, 24),
            (1080, 1920, 25, 25),
            (1920, 1080, 60, 3600),
            (640, 480, 8, 1),
            (480, 1920, 24, 1440),
        ];
        for (w, h, fps, frames) in ok {
            assert!(
                validate(w, h, fps, frames).is_ok(),
                "{w}x{h}@{fps} x{frames}"
            );
        }
        let refused = [
            (
                1000,
                300,
                24,
                24,
                "unsupported size 1000x300: the short side must be 480 to 1080 pixels and the long side at most 1920 (e.g. 1280x720, 720x1280, 1920x1080)",
            ),
            (2000, 1000, 24, 24, "unsupported size 2000x1000"),
            (1920, 1200, 24, 24, "the short side must be 480 to 1080"),
            (640, 400, 24, 24, "short side"),
            (1281, 720, 24, 24, "must be even"),
            (1280, 721, 24, 24, "must be even"),
            (0, 0, 24, 24, "unsupported size 0x0"),
            (
                1280,
                720,
                7,
                24,
                "unsupported frame rate 7: it must be 8 to 60 frames per second",
            ),
            (1280, 720, 61, 24, "unsupported frame rate 61"),
            (
                1280,
                720,
                24,
                0,
                "unsupported length of 0 frames: it must be 1 to 1440 (60 s at 24 fps)",
            ),
            (1280, 720, 24, 1441, "1 to 1440"),
        ];
        for (w, h, fps, frames, want) in refused {
            let err = validate(w, h, fps, frames).unwrap_err();
            let msg = err.to_string();
            assert!(matches!(err, AnimaticError::InvalidSpec(_)));
            assert!(msg.contains(want), "{w}x{h}@{fps} x{frames}: {msg}");
            assert!(!msg.contains('\n'));
        }
    }

    #[test]
    fn the_slate_is_one_second_at_most_a_third() {
        assert_eq!(slate_frames(24, 120), 24);
        assert_eq!(slate_frames(24, 30), 10);
        assert_eq!(slate_frames(24, 2), 0);
    }

    #[test]
    fn same_spec_same_bytes_other_seed_other_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b, c) = (
            dir.path().join("a.mp4"),
            dir.path().join("b.mp4"),
            dir.path().join("c.mp4"),
        );
        let stats = render_to(&spec(5), &a).unwrap();
        render_to(&spec(5), &b).unwrap();
        render_to(&spec(6), &c).unwrap();
        let (a, b, c) = (
            std::fs::read(a).unwrap(),
            std::fs::read(b).unwrap(),
            std::fs::read(c).unwrap(),
        );
        assert_eq!(stats.bytes as usize, a.len());
        assert_eq!(stats.frames, 18);
        assert_eq!(stats.slate_frames, 6);
        assert_eq!(&a[4..8], b"ftyp");
        assert!(a == b, "a render is deterministic");
        assert!(a != c, "the seed changes the picture");
    }

    #[test]
    fn progress_counts_every_frame_and_cancel_stops_promptly() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.mp4");
        let mut seen = Vec::new();
        render(
            &spec(1),
            &path,
            &mut |done, total| seen.push((done, total)),
            &AtomicBool::new(false),
        )
        .unwrap();
        assert_eq!(seen, (1..=18).map(|d| (d, 18)).collect::<Vec<_>>());

        let cancel = AtomicBool::new(false);
        let mut calls = 0;
        let err = render(
            &spec(1),
            &path,
            &mut |done, _| {
                calls += 1;
                if done == 3 {
                    cancel.store(true, Ordering::Relaxed);
                }
            },
            &cancel,
        )
        .unwrap_err();
        assert!(matches!(err, AnimaticError::Canceled), "{err}");
        assert_eq!(calls, 3);
        // The handle is closed: the partial file can be removed and replaced at once.
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn io_errors_name_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing").join("take.mp4");
        let err = render_to(&spec(1), &path).unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, AnimaticError::Io { .. }));
        assert!(
            msg.starts_with(&format!("writing {}: ", path.display())),
            "{msg}"
        );
        assert!(!msg.contains('\n'));

        let full = Path::new("/dev/full");
        if full.exists() {
            let err = render_to(&spec(1), full).unwrap_err();
            let msg = err.to_string();
            assert!(matches!(err, AnimaticError::Io { .. }), "{msg}");
            assert!(
                msg.contains("/dev/full") && msg.contains("No space left on device"),
                "{msg}"
            );
        }
    }

    #[test]
    fn invalid_specs_are_refused_before_touching_the_disk() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.mp4");
        let mut bad = spec(1);
        bad.fps = 7;
        assert!(matches!(
            render_to(&bad, &path),
            Err(AnimaticError::InvalidSpec(_))
        ));
        assert!(!path.exists());
    }
}
