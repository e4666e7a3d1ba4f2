//! The animatic renderer's MP4s as real tools see them: ffprobe reads the codec, size, rate,
//! frame count and duration asked for, ffmpeg decodes every frame without a complaint, and
//! the pictures move the way the camera move says.

mod common;

use std::path::Path;
use std::process::Command;
use std::sync::atomic::AtomicBool;

use previs::backend::animatic::render::{AnimaticSpec, render};
use previs::model::{CameraMove, Slate};

fn spec(
    (width, height): (u32, u32),
    fps: u32,
    frames: u32,
    camera: CameraMove,
    lighting: &str,
) -> AnimaticSpec {
    AnimaticSpec {
        width,
        height,
        fps,
        frames,
        seed: 20_240_611,
        camera,
        lighting: lighting.into(),
        grade: Default::default(),
        prompt: "她在雨夜的小巷里回头，霓虹灯映在积水中 — a woman turns in a rainy alley, neon in the puddles".into(),
        slate: Slate {
            project: "雨夜 Rain Night".into(),
            take_code: "SC012_SH12A_TK03".into(),
            shot_code: "12A".into(),
            scene_heading: "EXT. 小巷 ALLEY - NIGHT".into(),
            variant: "lighting=黄昏".into(),
        },
    }
}

fn render_file(spec: &AnimaticSpec, path: &Path) {
    let stats = render(spec, path, &mut |_, _| {}, &AtomicBool::new(false)).expect("render");
    assert_eq!(stats.frames, spec.frames);
    assert_eq!(
        stats.bytes,
        std::fs::metadata(path).expect("metadata").len()
    );
}

fn tools() -> bool {
    common::require_tool("ffprobe").is_some() && common::require_tool("ffmpeg").is_some()
}

/// Frame `n` decoded to 8-bit grey, `width·height` bytes.
fn grey_frame(path: &Path, n: u32, width: u32, height: u32) -> Vec<u8> {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(path)
        .args([
            "-vf",
            &format!("select=eq(n\\,{n})"),
            "-fps_mode",
            "passthrough",
            "-frames:v",
            "1",
        ])
        .args(["-f", "rawvideo", "-pix_fmt", "gray", "-"])
        .output()
        .expect("run ffmpeg");
    assert!(
        out.status.success(),
        "ffmpeg: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        out.stdout.len(),
        (width * height) as usize,
        "frame {n} of {}",
        path.display()
    );
    out.stdout
}

fn mean_abs_diff(a: &[u8], b: &[u8]) -> f64 {
    let sum: u64 = a
        .iter()
        .zip(b)
        .map(|(x, y)| u64::from(x.abs_diff(*y)))
        .sum();
    sum as f64 / a.len() as f64
}

#[test]
fn ffprobe_reads_what_was_asked_and_ffmpeg_decodes_it_cleanly() {
    if !tools() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let cases = [
        spec((1280, 720), 24, 48, CameraMove::PushIn, "黄昏 golden hour"),
        spec((720, 1280), 30, 30, CameraMove::PanLeft, "夜 moonlight"),
        spec((832, 480), 16, 24, CameraMove::TrackRight, "neon 霓虹"),
        spec((1920, 1080), 25, 25, CameraMove::Orbit, "火光 firelight"),
        spec((480, 832), 12, 20, CameraMove::Handheld, "阴天 overcast"),
    ];
    for (i, spec) in cases.iter().enumerate() {
        let path = dir.path().join(format!("take{i}.mp4"));
        render_file(spec, &path);
        let what = format!(
            "{}x{}@{} {:?}",
            spec.width, spec.height, spec.fps, spec.camera
        );

        let probe = common::ffprobe(&path);
        let streams = probe["streams"].as_array().expect("streams");
        assert_eq!(streams.len(), 1, "{what}: one stream");
        let s = &streams[0];
        assert_eq!(s["codec_name"], "h264", "{what}");
        assert_eq!(s["codec_tag_string"], "avc1", "{what}");
        assert_eq!(s["width"], spec.width, "{what}");
        assert_eq!(s["height"], spec.height, "{what}");
        assert_eq!(s["pix_fmt"], "yuv420p", "{what}");
        assert_eq!(s["r_frame_rate"], format!("{}/1", spec.fps), "{what}");
        assert_eq!(s["nb_read_frames"], spec.frames.to_string(), "{what}");
        let want = f64::from(spec.frames) / f64::from(spec.fps);
        let one_frame = 1.0 / f64::from(spec.fps);
        for duration in [&s["duration"], &probe["format"]["duration"]] {
            let got: f64 = duration
                .as_str()
                .and_then(|d| d.parse().ok())
                .expect("duration");
            assert!(
                (got - want).abs() <= one_frame,
                "{what}: duration {got}, want {want}"
            );
        }

        let decode = Command::new("ffmpeg")
            .args(["-v", "error", "-i"])
            .arg(&path)
            .args(["-f", "null", "-"])
            .output()
            .expect("run ffmpeg");
        let stderr = String::from_utf8_lossy(&decode.stderr);
        assert!(
            decode.status.success() && stderr.trim().is_empty(),
            "{what}: {stderr}"
        );
    }
}

#[test]
fn the_slate_gives_way_to_a_moving_picture() {
    if !tools() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let (w, h) = (1280, 720);
    // 2 s at 24 fps: the slate holds frames 0..24, the push in runs over 24..48.
    let path = dir.path().join("push.mp4");
    render_file(&spec((w, h), 24, 48, CameraMove::PushIn, "daylight"), &path);
    let slate = grey_frame(&path, 5, w, h);
    let start = grey_frame(&path, 24, w, h);
    let end = grey_frame(&path, 47, w, h);
    let slate_mean = slate.iter().map(|&p| f64::from(p)).sum::<f64>() / slate.len() as f64;
    assert!(
        slate_mean < 60.0,
        "the slate is a dark card (mean {slate_mean})"
    );
    assert!(
        slate.iter().filter(|&&p| p > 200).count() > 5_000,
        "the slate has bright text"
    );
    assert!(
        mean_abs_diff(&slate, &start) > 20.0,
        "the picture replaces the slate"
    );
    let moved = mean_abs_diff(&start, &end);
    assert!(
        moved > 5.0,
        "a push in changes the picture (mean difference {moved})"
    );
}

#[test]
fn a_static_shot_holds_still_apart_from_the_burn_in() {
    if !tools() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let (w, h) = (1280, 720);
    let path = dir.path().join("static.mp4");
    render_file(&spec((w, h), 24, 48, CameraMove::Static, "overcast"), &path);
    let a = grey_frame(&path, 30, w, h);
    let b = grey_frame(&path, 40, w, h);
    // The timecode sits in the bottom-right corner; allow its macroblocks some slack.
    let burn_in = |x: u32, y: u32| x >= w - 260 && y >= h - 80;
    let mut outside = 0;
    let mut inside = 0;
    for (i, (p, q)) in a.iter().zip(&b).enumerate() {
        if p.abs_diff(*q) <= 4 {
            continue;
        }
        let (x, y) = (i as u32 % w, i as u32 / w);
        if burn_in(x, y) {
            inside += 1;
        } else {
            outside += 1;
        }
    }
    assert_eq!(outside, 0, "pixels changed outside the burn-in");
    assert!(inside > 0, "the timecode runs");
}

#[test]
fn the_same_spec_renders_the_same_bytes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = spec((832, 480), 12, 30, CameraMove::CraneUp, "dawn 黎明");
    let (a, b) = (dir.path().join("a.mp4"), dir.path().join("b.mp4"));
    render_file(&s, &a);
    render_file(&s, &b);
    assert!(std::fs::read(&a).expect("a") == std::fs::read(&b).expect("b"));
}
