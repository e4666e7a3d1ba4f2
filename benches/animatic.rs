//! How fast the built-in animatic renders, against ffmpeg/libx264 `ultrafast` on a clip of the
//! same size, rate and length, measured in the same run (best of 3 each). The animatic draws
//! and encodes on the current thread only; ffmpeg runs once with its default threads and once
//! with `-threads 1`. Run with `cargo bench --bench animatic`.

use std::path::Path;
use std::process::Command;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use previs::backend::animatic::render::{AnimaticSpec, render};
use previs::model::{CameraMove, Slate};

const WIDTH: u32 = 1280;
const HEIGHT: u32 = 720;
const FPS: u32 = 24;
const SECONDS: u32 = 8;
const RUNS: usize = 3;

fn spec(camera: CameraMove, width: u32, height: u32, fps: u32) -> AnimaticSpec {
    AnimaticSpec {
        width,
        height,
        fps,
        frames: fps * SECONDS,
        seed: 42,
        camera,
        lighting: "dusk, 黄昏".into(),
        grade: Default::default(),
        prompt: "a woman turns in a rainy alley, neon reflected in the puddles, slow push in"
            .into(),
        slate: Slate {
            project: "bench".into(),
            take_code: "SC001_SH1A_TK01".into(),
            shot_code: "1A".into(),
            scene_heading: "EXT. ALLEY - DUSK".into(),
            variant: String::new(),
        },
    }
}

/// The best wall time of `RUNS` runs of `f`, with what the last run returned.
fn best_of<T>(mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut best = Duration::MAX;
    let mut last = None;
    for _ in 0..RUNS {
        let start = Instant::now();
        let out = f();
        best = best.min(start.elapsed());
        last = Some(out);
    }
    match last {
        Some(out) => (best, out),
        None => unreachable!("RUNS > 0"),
    }
}

fn animatic(spec: &AnimaticSpec, out: &Path) -> (Duration, u64) {
    best_of(
        || match render(spec, out, &mut |_, _| {}, &AtomicBool::new(false)) {
            Ok(stats) => stats.bytes,
            Err(e) => panic!("animatic render failed: {e}"),
        },
    )
}

fn ffmpeg(out: &Path, single_thread: bool) -> Option<(Duration, u64)> {
    let source = format!("testsrc2=size={WIDTH}x{HEIGHT}:rate={FPS}");
    let mut run = || {
        let mut cmd = Command::new("ffmpeg");
        cmd.args([
            "-y",
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            &source,
            "-t",
            &SECONDS.to_string(),
        ]);
        cmd.args(["-c:v", "libx264", "-preset", "ultrafast"]);
        if single_thread {
            cmd.args(["-threads", "1"]);
        }
        let status = cmd.arg(out).status().ok()?;
        status
            .success()
            .then(|| std::fs::metadata(out).map(|m| m.len()).unwrap_or(0))
    };
    run()?;
    let (time, bytes) = best_of(&mut run);
    Some((time, bytes?))
}

fn fps_of(frames: u32, time: Duration) -> f64 {
    f64::from(frames) / time.as_secs_f64()
}

fn line(name: &str, frames: u32, fps: u32, time: Duration, bytes: u64) -> f64 {
    let rate = fps_of(frames, time);
    println!(
        "{name:<40} {:>7.3} s  {rate:>7.1} frames/s  {:>5.1}x real time  {:>8.1} KiB",
        time.as_secs_f64(),
        rate / f64::from(fps),
        bytes as f64 / 1024.0
    );
    rate
}

fn main() {
    let dir = match tempfile::tempdir() {
        Ok(dir) => dir,
        Err(e) => panic!("temporary directory: {e}"),
    };
    let frames = FPS * SECONDS;
    println!(
        "animatic bench: {WIDTH}x{HEIGHT}, {FPS} fps, {SECONDS} s ({frames} frames), best of {RUNS}; \
         the animatic runs on one thread"
    );
    let main = spec(CameraMove::PushIn, WIDTH, HEIGHT, FPS);
    let (time, bytes) = animatic(&main, &dir.path().join("animatic.mp4"));
    let ours = line(
        "animatic push in (draw + encode + mux)",
        frames,
        FPS,
        time,
        bytes,
    );
    for camera in [CameraMove::Static, CameraMove::Handheld] {
        let (time, bytes) = animatic(
            &spec(camera, WIDTH, HEIGHT, FPS),
            &dir.path().join("other.mp4"),
        );
        line(
            &format!("animatic {}", camera.label()),
            frames,
            FPS,
            time,
            bytes,
        );
    }
    let full_hd = spec(CameraMove::PushIn, 1920, 1080, 25);
    let (time, bytes) = animatic(&full_hd, &dir.path().join("hd.mp4"));
    line(
        "animatic push in 1920x1080 25 fps",
        full_hd.frames,
        25,
        time,
        bytes,
    );

    let out = dir.path().join("x264.mp4");
    let baselines = [
        ("ffmpeg testsrc2 + libx264 ultrafast", false),
        ("ffmpeg ... -threads 1", true),
    ];
    let mut ratios = Vec::new();
    for (name, single) in baselines {
        match ffmpeg(&out, single) {
            Some((time, bytes)) => {
                let theirs = line(name, frames, FPS, time, bytes);
                ratios.push((name, ours / theirs));
            }
            None => {
                println!(
                    "{name}: skipped, ffmpeg is missing or failed (install it with `apt-get install -y ffmpeg`)"
                );
            }
        }
    }
    println!(
        "animatic at {WIDTH}x{HEIGHT}: {:.1}x real time on one core",
        ours / f64::from(FPS)
    );
    for (name, ratio) in ratios {
        println!("ratio animatic / {name}: {ratio:.2}");
    }
}
