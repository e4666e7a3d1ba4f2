//! The workstation under load, without a terminal:
//!
//! 1. bytes written to the terminal per second while the Queue view watches 20 live jobs,
//!    against a full repaint of every frame;
//! 2. how a burst of 1,000 engine events within 100 ms is coalesced into frames;
//! 3. the first frame with 100,000 takes in a real store, against opening the store and reading
//!    the project, and the history rows that load after it;
//! 4. history search over those rows (whole queries and one more typed character), against a
//!    plain `str::contains` scan of each row, and of one contiguous copy of the same text;
//! 5. the resident set before and after the rows are loaded (measured in a child process, so
//!    the store build in this one does not blur it).
//!
//! The loop's rule (src/tui/run.rs) is replayed on simulated time: every message marks the
//! screen dirty, and a dirty screen is drawn as soon as `run::FRAME` has passed since the last
//! frame; messages waiting together are drawn once. Frames go through ratatui's crossterm
//! backend into a writer that counts bytes, so only the cells that changed are written, as on a
//! real terminal. Timings are printed, never asserted.
//!
//! Run: `cargo bench --bench tui`. `PREVIS_BENCH_TAKES=20000` makes a quicker, smaller run.

#![allow(clippy::unwrap_used)] // a benchmark: a failed unwrap is a failed run

use std::cell::Cell;
use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::Path;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use previs::engine::{Event, JobView};
use previs::model::{
    Cost, JobId, JobRecord, JobState, MediaInfo, Project, Recipe, Scene, Shot, ShotId, ShotSpec,
    Slate, Take, TakeId, Timings, shot_code, take_code,
};
use previs::prompt::Workbench;
use previs::prompt::lint::lint_spec;
use previs::store::{Store, media};
use previs::tui::keymap::Keymap;
use previs::tui::msg::Msg;
use previs::tui::state::{HistoryFilter, RowState, State, TakeRow, View};
use previs::tui::theme::{Depth, Theme};
use previs::tui::update::update;
use previs::tui::views::history;
use previs::tui::{data, draw, new_state, run};
use ratatui::backend::{Backend, CrosstermBackend, TestBackend};
use ratatui::buffer::{Buffer, Cell as BufCell};
use ratatui::layout::Rect;
use ratatui::{Terminal, TerminalOptions, Viewport};

const PROJECT: &str = "night-chase";
const NOW: i64 = 1_795_600_000_000;
const SHOTS: usize = 100;
const FAILED: usize = 2_000;
const CANCELED: usize = 500;
const QUEUED: usize = 20;
const LIVE_JOBS: u64 = 20;
/// Simulated time watched in figure 1.
const WATCH_S: u64 = 10;
/// The engine's flush of coalesced progress (engine::PROGRESS_EVERY), offset from the UI tick.
const ENGINE_EVERY_US: u64 = 200_000;
const ENGINE_PHASE_US: u64 = 37_000;
/// Set in the child process that measures the resident set: the store's directory.
const RSS_CHILD: &str = "PREVIS_TUI_BENCH_RSS_STORE";

// ---------------------------------------------------------------------------------------------
// Terminal output, counted.

/// A terminal that counts the bytes written to it.
#[derive(Clone, Default)]
struct CountingWriter(Rc<Cell<u64>>);

impl Write for CountingWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.set(self.0.get() + buf.len() as u64);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

type Term = Terminal<CrosstermBackend<CountingWriter>>;

/// A w×h terminal on a counting writer (a fixed viewport: no tty is asked for its size).
fn terminal(w: u16, h: u16) -> (Term, Rc<Cell<u64>>) {
    let out = CountingWriter::default();
    let bytes = out.0.clone();
    let options = TerminalOptions {
        viewport: Viewport::Fixed(Rect::new(0, 0, w, h)),
    };
    (
        Terminal::with_options(CrosstermBackend::new(out), options).unwrap(),
        bytes,
    )
}

// ---------------------------------------------------------------------------------------------
// The loop's drawing rule on simulated time.

fn frame_us() -> u64 {
    run::FRAME.as_micros() as u64
}

/// Replays `events` (simulated µs, message) through `update` under the loop's drawing rule and
/// calls `frame` with the state and the time of each frame drawn; `last_draw` is the time of
/// the frame already on screen. Returns the number of frames drawn.
fn replay(
    st: &mut State,
    events: Vec<(u64, Msg)>,
    last_draw: Option<u64>,
    mut frame: impl FnMut(&State, u64),
) -> usize {
    let due = |last: Option<u64>| last.map_or(0, |l| l + frame_us());
    let mut last = last_draw;
    let mut dirty = false;
    let mut frames = 0;
    let mut events = events.into_iter().peekable();
    while let Some((t, msg)) = events.next() {
        // The loop's sleep ends before this message arrives: the pending frame is drawn.
        if dirty && due(last) < t {
            let at = due(last);
            frame(st, at);
            (last, frames) = (Some(at), frames + 1);
        }
        update(st, msg);
        // Whatever else is already waiting is drained before drawing.
        while let Some((_, m)) = events.next_if(|(t2, _)| *t2 == t) {
            update(st, m);
        }
        dirty = true;
        if due(last) <= t {
            frame(st, t);
            (last, dirty, frames) = (Some(t), false, frames + 1);
        }
    }
    if dirty {
        frame(st, due(last));
        frames += 1;
    }
    frames
}

// ---------------------------------------------------------------------------------------------
// A realistic project: shots in English and Chinese, prompts compiled by previs.

struct Vocab {
    subjects: &'static [&'static str],
    actions: &'static [&'static str],
    places: &'static [&'static str],
    sizes: &'static [&'static str],
    moves: &'static [&'static str],
    lights: &'static [&'static str],
    edits: &'static [&'static str],
}

const EN: Vocab = Vocab {
    subjects: &[
        "a lone courier on a motorbike",
        "a detective in a wet trench coat",
        "two kids carrying paper lanterns",
        "an old fisherman mending his nets",
        "a street vendor under a blue tarp",
        "a woman in a red raincoat",
        "a stray dog with a torn collar",
        "a taxi driver smoking by his cab",
    ],
    actions: &[
        "rain hammers the asphalt as a headlight cuts through the spray",
        "turns and runs into the alley, glancing back",
        "waits under the flickering sign, checking a watch",
        "climbs the harbour stairs two at a time",
        "pulls a hood up and disappears into the crowd",
        "drops a parcel; oranges roll across the wet stones",
    ],
    places: &[
        "exterior, harbour road, night",
        "narrow alley behind the night market",
        "rooftop overlooking the container port",
        "tram stop in heavy rain",
        "fish market at dawn",
        "empty underpass lit by neon",
    ],
    sizes: &[
        "wide",
        "medium",
        "close-up",
        "extreme close-up",
        "full shot",
    ],
    moves: &[
        "crane down",
        "slow push in",
        "handheld",
        "dolly left",
        "static",
        "orbit",
    ],
    lights: &[
        "night rain",
        "neon",
        "dusk",
        "golden hour",
        "moonlight",
        "overcast",
    ],
    edits: &[
        ", rain intensifies",
        ", steam rises from a manhole",
        ", the sign flickers red",
        ", slower",
    ],
};

const ZH: Vocab = Vocab {
    subjects: &[
        "李雷，二十多岁，湿透的夹克",
        "韩梅梅，红色雨衣",
        "卖馄饨的老人",
        "穿校服的女孩",
        "骑摩托的快递员",
        "戴斗笠的渔夫",
    ],
    actions: &[
        "冲进小巷狂奔，回头张望",
        "从阴影中拉住他",
        "撑伞走过石桥",
        "在码头边点燃一支烟",
        "把灯笼挂上屋檐",
        "推着小车穿过菜市场",
    ],
    places: &[
        "夜，狭窄的小巷",
        "雨中的码头",
        "老城区的菜市场",
        "江边的石桥",
        "霓虹闪烁的街口",
    ],
    sizes: &["特写", "中景", "远景", "近景"],
    moves: &["手持", "缓慢推进", "横移", "固定镜头"],
    lights: &["月光", "霓虹", "黄昏", "雨夜"],
    edits: &["，雨更大了", "，远处有雷声", "，镜头更慢"],
};

const STYLES: &[&str] = &["noir", "anime", "35mm film", "watercolor", "ink wash"];

fn pick<'a>(rng: &mut fastrand::Rng, list: &[&'a str]) -> &'a str {
    list[rng.usize(..list.len())]
}

/// Every third scene is written in Chinese.
fn vocab(scene: usize) -> &'static Vocab {
    if scene % 3 == 2 { &ZH } else { &EN }
}

fn shot_spec(rng: &mut fastrand::Rng, v: &Vocab) -> ShotSpec {
    let mut spec = ShotSpec {
        subject: pick(rng, v.subjects).into(),
        action: pick(rng, v.actions).into(),
        environment: pick(rng, v.places).into(),
        lighting: pick(rng, v.lights).into(),
        ..ShotSpec::default()
    };
    spec.camera.size = pick(rng, v.sizes).into();
    spec.camera.movement = pick(rng, v.moves).into();
    spec
}

/// 100 shots: 25 scenes of four shots (`1A` … `25D`).
fn shots(rng: &mut fastrand::Rng) -> Vec<Shot> {
    (0..SHOTS)
        .map(|i| {
            let scene = (i / 4 + 1).to_string();
            let code = shot_code(&scene, i % 4);
            let spec = shot_spec(rng, vocab(i / 4 + 1));
            let id = ShotId(i as u64 + 1);
            Shot::new(id, PROJECT, &code, &scene, i as u32 + 1, spec, NOW)
        })
        .collect()
}

/// A take's recipe: the shot's spec, sometimes a lighting variant, a style preset or an edit.
fn recipe(rng: &mut fastrand::Rng, shot: &Shot, backend: &str) -> Recipe {
    let v = vocab(shot.scene.parse().unwrap_or(1));
    let mut spec = shot.spec.clone();
    let mut variant = BTreeMap::new();
    if rng.u8(..10) < 3 {
        let light = pick(rng, v.lights);
        spec.lighting = light.into();
        variant.insert("lighting".to_string(), light.to_string());
    }
    let style = (rng.u8(..10) < 3).then(|| pick(rng, STYLES).to_string());
    if let Some(s) = &style {
        spec.style = s.clone();
    }
    let compiled = previs::prompt::compile(&spec);
    let mut prompt = compiled.prompt;
    if rng.u8(..10) == 0 {
        prompt.push_str(pick(rng, v.edits));
    }
    let model = match backend {
        "animatic" => "animatic-1",
        "box" => "wan2.2-t2v-a14b",
        _ => "wan2.2-t2v-plus",
    };
    Recipe {
        prompt,
        negative: compiled.negative,
        seed: rng.u64(..1 << 31),
        backend: backend.into(),
        model: model.into(),
        width: 1280,
        height: 720,
        fps: 24,
        duration_s: 5.0,
        frames: 120,
        style,
        variant,
        spec,
        params: BTreeMap::new(),
    }
}

fn job_record(id: u64, shot: &Shot, number: u32, recipe: Recipe, at: i64) -> JobRecord {
    let code = take_code(&shot.scene, &shot.code, number).unwrap();
    JobRecord {
        id: JobId(id),
        project: PROJECT.into(),
        shot: shot.id,
        shot_code: shot.code.clone(),
        take_number: number,
        take_code: code.clone(),
        slate: Slate {
            project: PROJECT.into(),
            take_code: code,
            shot_code: shot.code.clone(),
            scene_heading: format!("SCENE {}", shot.scene),
            variant: recipe.variant_label(),
        },
        recipe,
        parent: None,
        state: JobState::Queued,
        attempts: 1,
        not_before: None,
        submission_key: format!("{id:032x}"),
        remote_id: None,
        last_error: None,
        priority: i64::try_from(id).unwrap_or(i64::MAX),
        created_at: at - 300_000,
        updated_at: at,
        started_at: Some(at - 240_000),
        finished_at: None,
    }
}

// ---------------------------------------------------------------------------------------------
// 1 and 2: live jobs on the Queue view.

/// A running job `elapsed_s` into a render of `total_s`.
fn live_job(id: u64, shot: &Shot, recipe: &Recipe, elapsed_s: f64, total_s: f64) -> JobView {
    let take = take_code(&shot.scene, &shot.code, 40 + id as u32).unwrap();
    JobView {
        id,
        project: PROJECT.into(),
        shot: shot.code.clone(),
        take,
        state: "remote".into(),
        progress: (elapsed_s / total_s) as f32,
        backend: recipe.backend.clone(),
        model: recipe.model.clone(),
        seed: recipe.seed,
        prompt: recipe.prompt.clone(),
        duration_s: 5.0,
        width: 1280,
        height: 720,
        fps: 24,
        frames: 120,
        cost: 0.0,
        currency: "CNY".into(),
        attempts: 1,
        remote_id: Some(format!("prompt-{id:04}")),
        error: None,
        retry_at: None,
        cache_hit: false,
        path: None,
        parent: None,
        variant: recipe.variant.clone(),
        created_at: NOW - 900_000,
        priority: id as i64,
        started_at: Some(NOW - (elapsed_s * 1000.0) as i64),
        finished_at: None,
    }
}

/// 20 jobs rendering on a ComfyUI box and on DashScope, 1 to 10 minutes each, at various
/// points of their render (none ends within the watched time). Returns them with
/// (seconds elapsed, seconds in all) at time zero.
fn live_jobs() -> Vec<(JobView, f64, f64)> {
    let mut rng = fastrand::Rng::with_seed(20);
    let shots = shots(&mut rng);
    (1..=LIVE_JOBS)
        .map(|id| {
            let shot = &shots[rng.usize(..SHOTS)];
            let backend = if id % 2 == 0 { "box" } else { "dashscope" };
            let r = recipe(&mut rng, shot, backend);
            let total = 60.0 + 28.0 * (id - 1) as f64;
            let elapsed = (total - WATCH_S as f64 - 5.0) * rng.f64();
            (live_job(id, shot, &r, elapsed, total), elapsed, total)
        })
        .collect()
}

fn queue_state(jobs: &[(JobView, f64, f64)]) -> State {
    let mut st = new_state(
        Project::new(PROJECT, NOW).unwrap(),
        Keymap::default(),
        Arc::new(Workbench::default()),
        None,
    );
    st.now = NOW;
    for (j, _, _) in jobs {
        update(
            &mut st,
            Msg::Engine(Event::JobUpdated {
                job: Box::new(j.clone()),
            }),
        );
    }
    st.view = View::Queue;
    st
}

/// The part of the Queue view a cell belongs to (the column widths of
/// src/tui/views/queue.rs, replicated to attribute the bytes).
fn part_of(x: u16, y: u16, w: u16, h: u16) -> &'static str {
    let rows = h.saturating_sub(2 + 5 + 2);
    if y < 2 || y >= 2 + rows || x < 1 || x + 1 >= w {
        return "outside the job rows";
    }
    let inner = usize::from(w - 2);
    let backend_w = if inner >= 100 { 14 } else { 9 };
    let bar_w = inner
        .saturating_sub(16 + 12 + 9 + 9 + backend_w + 8)
        .clamp(4, 40);
    let mut col = usize::from(x - 1);
    for (width, part) in [
        (16, "take"),
        (12, "state"),
        (bar_w, "progress bar"),
        (9, "elapsed"),
        (9, "ETA"),
        (backend_w, "backend"),
    ] {
        if col < width {
            return part;
        }
        col -= width;
    }
    "cost"
}

const PARTS: [&str; 8] = [
    "progress bar",
    "ETA",
    "elapsed",
    "take",
    "state",
    "backend",
    "cost",
    "outside the job rows",
];

struct Watch {
    frames: usize,
    messages: usize,
    bytes: u64,
    full_bytes: u64,
    first_frame: u64,
    /// Per part of the view: the bytes it adds to the frames (written with it against written
    /// without it) and the cells of it that changed.
    parts: Vec<(&'static str, u64, u64)>,
    /// Times a job's ETA went up from one frame to the next while its render went on.
    eta_rises: usize,
}

/// Figure 1: `WATCH_S` seconds of the Queue view at w×h with 20 jobs reporting progress.
fn watch(w: u16, h: u16, theme: &Theme) -> Watch {
    let jobs = live_jobs();
    let mut st = queue_state(&jobs);
    st.height = h;
    let mut events = Vec::new();
    let flushes = WATCH_S * 1_000_000 / ENGINE_EVERY_US;
    for k in 0..flushes {
        let t = k * ENGINE_EVERY_US + ENGINE_PHASE_US;
        for (j, elapsed, total) in &jobs {
            let mut j = j.clone();
            j.progress = ((elapsed + t as f64 / 1e6) / total) as f32;
            events.push((t, Msg::Engine(Event::JobUpdated { job: Box::new(j) })));
        }
    }
    for s in 1..=WATCH_S {
        let t = s * 1_000_000;
        events.push((t, Msg::Tick(NOW + (t / 1000) as i64)));
    }
    events.sort_by_key(|(t, _)| *t);
    let messages = events.len();

    let (mut term, bytes) = terminal(w, h);
    let first = term.draw(|f| draw::draw(f, &st, theme)).unwrap();
    let mut prev: Buffer = first.buffer.clone();
    let first_frame = bytes.get();
    bytes.set(0);
    let mut full_bytes = 0;
    let mut parts: HashMap<&str, (u64, u64)> = HashMap::new();
    let (mut scratch, scratch_bytes) = terminal(w, h);
    let mut etas: HashMap<u64, f64> = HashMap::new();
    let mut eta_rises = 0;
    let frames = replay(&mut st, events, Some(0), |st, _| {
        let done = term.draw(|f| draw::draw(f, st, theme)).unwrap();
        let cur = done.buffer.clone();
        // Which parts of the screen changed, and what each adds to the bytes of the frame.
        let diff: Vec<(u16, u16, &BufCell)> = prev.diff(&cur);
        let mut written = |cells: Vec<(u16, u16, &BufCell)>| {
            let before = scratch_bytes.get();
            scratch.backend_mut().draw(cells.into_iter()).unwrap();
            scratch_bytes.get() - before
        };
        let all = written(diff.clone());
        for part in PARTS {
            let (with, without): (Vec<_>, Vec<_>) = diff
                .iter()
                .partition(|(x, y, _)| part_of(*x, *y, w, h) == part);
            if with.is_empty() {
                continue;
            }
            let e = parts.entry(part).or_default();
            e.0 += all - written(without);
            e.1 += with.len() as u64;
        }
        prev = cur;
        // The same frame on a cleared screen: every cell written.
        let (mut fresh, fresh_bytes) = terminal(w, h);
        fresh.draw(|f| draw::draw(f, st, theme)).unwrap();
        full_bytes += fresh_bytes.get() + b"\x1b[2J".len() as u64;
        for j in &st.queue.jobs {
            let (Some(start), true) = (j.started_at, j.progress > 0.02) else {
                continue;
            };
            // queue::timing's estimate, as a number.
            let elapsed = (st.now - start).max(0) as f64;
            let eta = elapsed * f64::from(1.0 - j.progress) / f64::from(j.progress);
            if etas.insert(j.id, eta).is_some_and(|was| eta > was + 500.0) {
                eta_rises += 1;
            }
        }
    });
    Watch {
        frames,
        messages,
        bytes: bytes.get(),
        full_bytes,
        first_frame,
        parts: PARTS
            .iter()
            .map(|p| {
                let (b, c) = parts.get(p).copied().unwrap_or_default();
                (*p, b, c)
            })
            .collect(),
        eta_rises,
    }
}

struct Burst {
    messages: usize,
    frames: usize,
    in_window: usize,
    min_gap_us: u64,
    cpu: Duration,
}

/// Figure 2: 1,000 progress events for the 20 live jobs within 100 ms.
fn burst(theme: &Theme) -> Burst {
    let jobs = live_jobs();
    let mut st = queue_state(&jobs);
    st.height = 40;
    let start = 1_000_000;
    let events: Vec<(u64, Msg)> = (0..1000u64)
        .map(|i| {
            let (j, elapsed, total) = &jobs[(i % LIVE_JOBS) as usize];
            let mut j = j.clone();
            j.progress = ((elapsed + i as f64 / 1e4) / total) as f32;
            (
                start + i * 100,
                Msg::Engine(Event::JobUpdated { job: Box::new(j) }),
            )
        })
        .collect();
    let messages = events.len();
    let (mut term, _) = terminal(120, 40);
    term.draw(|f| draw::draw(f, &st, theme)).unwrap();
    let mut times = Vec::new();
    let clock = Instant::now();
    // The previous frame is long past: the first message is drawn at once.
    let frames = replay(&mut st, events, None, |st, t| {
        term.draw(|f| draw::draw(f, st, theme)).unwrap();
        times.push(t);
    });
    let cpu = clock.elapsed();
    Burst {
        messages,
        frames,
        in_window: times.iter().filter(|t| **t < start + 100_000).count(),
        min_gap_us: times.windows(2).map(|p| p[1] - p[0]).min().unwrap_or(0),
        cpu,
    }
}

// ---------------------------------------------------------------------------------------------
// 3: a store with 100k takes, and the first frame on it.

struct Built {
    time: Duration,
    takes: usize,
    ended: usize,
}

/// Writes the project the way the engine does: every take through `finish_job` (one
/// transaction and one flush each), failed, canceled and waiting jobs through `enqueue`.
fn build_store(dir: &Path, takes: usize) -> Built {
    let clock = Instant::now();
    let store = Store::open(dir).unwrap();
    let mut rng = fastrand::Rng::with_seed(7);
    store
        .create_project(&Project::new(PROJECT, NOW - 200 * 86_400_000).unwrap())
        .unwrap();
    let mut shots = shots(&mut rng);
    let scenes: Vec<Scene> = (1..=SHOTS / 4)
        .map(|n| Scene {
            number: n.to_string(),
            heading: if std::ptr::eq(vocab(n), &ZH) {
                format!("夜 小巷 {n}")
            } else {
                format!("EXT. HARBOUR ROAD {n} - NIGHT")
            },
            int_ext: None,
            location: String::new(),
            time_of_day: None,
            line: n as u32 * 10,
            synopses: Vec::new(),
        })
        .collect();
    store.put_scenes(PROJECT, &scenes).unwrap();
    store.put_shots(&shots).unwrap();

    let backends = ["animatic", "animatic", "box", "box", "dashscope"];
    let mut last_take: Vec<Option<TakeId>> = vec![None; SHOTS];
    // One take every 100 s, the newest just before NOW.
    let at = |i: usize, n: usize| NOW - (n - i) as i64 * 100_000;
    for i in 0..takes {
        let s = rng.usize(..SHOTS);
        let shot = &mut shots[s];
        let number = shot.next_take;
        shot.next_take += 1;
        let backend = pick(&mut rng, &backends);
        let r = recipe(&mut rng, shot, backend);
        let id = i as u64 + 1;
        let created = at(i, takes);
        let mut job = job_record(id, shot, number, r, created);
        job.parent = last_take[s].filter(|_| rng.u8(..100) < 15);
        job.state = JobState::Done {
            take: TakeId(id),
            cache_hit: false,
        };
        job.finished_at = Some(created);
        let render_ms = match backend {
            "animatic" => rng.u64(2_000..6_000),
            "box" => rng.u64(180_000..600_000),
            _ => rng.u64(60_000..240_000),
        };
        let (amount, currency) = match backend {
            "dashscope" => (3.5, "CNY"),
            "box" => (0.04, "USD"),
            _ => (0.0, "USD"),
        };
        let take = Take {
            id: TakeId(id),
            code: job.take_code.clone(),
            project: PROJECT.into(),
            shot: shot.id,
            shot_code: shot.code.clone(),
            number,
            recipe: job.recipe.clone(),
            file: media::take_rel_path(PROJECT, &job.take_code),
            media: MediaInfo {
                codec: "h264".into(),
                width: 1280,
                height: 720,
                fps: 24.0,
                frames: 120,
                duration_s: 5.0,
                bytes: rng.u64(1_500_000..4_000_000),
                sha256: format!("{:032x}{:032x}", rng.u128(..), rng.u128(..)),
            },
            cost: Cost {
                amount,
                currency: currency.into(),
            },
            timings: Timings {
                queued_at: job.created_at,
                started_at: job.started_at,
                finished_at: created,
                render_ms,
            },
            parent: job.parent,
            rendered_by: None,
            job: JobId(id),
            created_at: created,
        };
        store.finish_job(&job, Some(&take)).unwrap();
        last_take[s] = Some(TakeId(id));
        if rng.u8(..100) < 2 {
            shot.circled = Some(TakeId(id));
        }
    }

    // Jobs that ended without a take, spread over the same months, and a waiting queue.
    let reasons = [
        "ComfyUI execution_error: CUDA out of memory on node 8 (KSampler)",
        "DashScope DataInspectionFailed: input data may contain inappropriate content",
        "render box unreachable: connection refused (http://10.0.0.12:8188)",
        "timed out after 900 s waiting for the render",
    ];
    let mut others = Vec::new();
    for n in 0..FAILED + CANCELED + QUEUED {
        let s = rng.usize(..SHOTS);
        let shot = &mut shots[s];
        let number = shot.next_take;
        shot.next_take += 1;
        let backend = pick(&mut rng, &backends[2..]);
        let r = recipe(&mut rng, shot, backend);
        let at = if n < FAILED + CANCELED {
            NOW - rng.i64(0..takes as i64 * 100_000)
        } else {
            NOW
        };
        let mut job = job_record((takes + n + 1) as u64, shot, number, r, at);
        job.state = if n < FAILED {
            JobState::Failed {
                reason: pick(&mut rng, &reasons).into(),
                attempts: 3,
            }
        } else if n < FAILED + CANCELED {
            JobState::Canceled
        } else {
            JobState::Queued
        };
        job.finished_at = (n < FAILED + CANCELED).then_some(at);
        others.push(job);
    }
    store.enqueue(&others, &shots).unwrap();
    store.flush().unwrap();
    Built {
        time: clock.elapsed(),
        takes,
        ended: FAILED + CANCELED,
    }
}

struct Startup {
    open: Duration,
    snapshot: Duration,
    state: Duration,
    draw: Duration,
    take_rows: Duration,
    set_rows: Duration,
    /// Where the first frame's time goes: reading every job record (the snapshot does), and
    /// linting every shot (the state does).
    all_jobs: Duration,
    lint: Duration,
}

impl Startup {
    fn first_frame(&self) -> Duration {
        self.snapshot + self.state + self.draw
    }
}

/// The workstation's start on `dir` as `tui::initial_state` and the loop do it: open the store
/// and read the project (the baseline), snapshot, state, first frame; then the history rows.
fn start(dir: &Path, theme: &Theme) -> (Startup, Vec<TakeRow>) {
    let clock = Instant::now();
    let store = Store::open_waiting(dir, Duration::from_secs(10)).unwrap();
    let project = store.project(PROJECT).unwrap().unwrap();
    let open = clock.elapsed();

    let clock = Instant::now();
    let snap = data::snapshot(&store, &project.name).unwrap();
    let snapshot = clock.elapsed();
    let clock = Instant::now();
    let workbench = Arc::new(Workbench::default());
    let mut st = new_state(project, Keymap::default(), workbench, None);
    update(&mut st, Msg::Loaded(Box::new(snap)));
    st.history.loading = true;
    st.view = if st.shots.rows.is_empty() {
        View::Script
    } else {
        View::Shots
    };
    st.now = NOW;
    let state = clock.elapsed();
    let clock = Instant::now();
    let mut term = Terminal::new(TestBackend::new(80, 24)).unwrap();
    term.draw(|f| draw::draw(f, &st, theme)).unwrap();
    let draw = clock.elapsed();

    let clock = Instant::now();
    let rows = data::take_rows(&store, PROJECT).unwrap();
    let take_rows = clock.elapsed();
    let copy = rows.clone();
    let clock = Instant::now();
    update(&mut st, Msg::TakesLoaded(copy));
    let set_rows = clock.elapsed();

    let clock = Instant::now();
    store.jobs().unwrap();
    let all_jobs = clock.elapsed();
    let clock = Instant::now();
    for r in &st.shots.rows {
        lint_spec(&r.shot.spec, &r.heading, &st.workbench.rules, None);
    }
    let lint = clock.elapsed();
    let startup = Startup {
        open,
        snapshot,
        state,
        draw,
        take_rows,
        set_rows,
        all_jobs,
        lint,
    };
    (startup, rows)
}

// ---------------------------------------------------------------------------------------------
// 4: history search.

const QUERIES: &[&str] = &[
    // single words
    "rain",
    "alley",
    "courier",
    "neon",
    "harbour",
    "detective",
    "lantern",
    "fisherman",
    "motorbike",
    "market",
    "crane",
    "tarp",
    "oranges",
    "underpass",
    "raincoat",
    "watch",
    // two words
    "rain alley",
    "neon night",
    "courier motorbike",
    "harbour stairs",
    "push in",
    "red raincoat",
    "paper lanterns",
    "golden hour",
    "fish market",
    "container port",
    // Chinese, two characters
    "小巷",
    "码头",
    "霓虹",
    "月光",
    "李雷",
    "石桥",
    "灯笼",
    "雨夜",
    "特写",
    "市场",
    "快递",
    "黄昏",
    // codes
    "SC012",
    "SH7B",
    "TK150",
    "sc003_sh3a",
    // field tokens
    "state:failed",
    "state:canceled",
    "state:failed cuda",
    "shot:7B",
    "shot:7B rain",
    "backend:dashscope",
    "backend:dashscope 小巷",
    "style:noir",
    "style:noir neon",
    "circled",
    "circled 码头",
    "lighting=dusk",
    // nothing matches
    "zebra",
    "xylophone quartet",
    "量子纠缠",
    "qqqq",
];

/// What is typed, one character at a time.
const TYPED: &[&str] = &[
    "motorbike",
    "lanterns",
    "小巷追逐",
    "detective",
    "rain alley",
];

fn median_of_3<T>(mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut times = Vec::new();
    let mut out = None;
    for _ in 0..3 {
        let clock = Instant::now();
        out = Some(f());
        times.push(clock.elapsed());
    }
    times.sort();
    (times[1], out.unwrap())
}

struct Spread {
    p50: Duration,
    p95: Duration,
    max: Duration,
    n: usize,
}

fn spread(mut v: Vec<Duration>) -> Spread {
    v.sort();
    let at = |p: f64| v[((v.len() as f64 * p).ceil() as usize).clamp(1, v.len()) - 1];
    Spread {
        p50: at(0.5),
        p95: at(0.95),
        max: at(1.0),
        n: v.len(),
    }
}

/// The baseline: the query text as a substring of each row's prompt, code or variant.
fn contains_scan(rows: &[TakeRow], q: &str) -> Vec<usize> {
    (0..rows.len())
        .rev()
        .filter(|i| {
            let r = &rows[*i];
            r.prompt.contains(q) || r.code.contains(q) || r.variant.contains(q)
        })
        .collect()
}

/// The same text copied into one buffer (prompt, code and variant of each row in turn): what a
/// scan costs when it does not follow a pointer to each string.
struct Packed {
    text: String,
    /// Where each row's text starts.
    starts: Vec<usize>,
}

fn packed(rows: &[TakeRow]) -> Packed {
    let mut p = Packed {
        text: String::new(),
        starts: Vec::with_capacity(rows.len()),
    };
    for r in rows {
        p.starts.push(p.text.len());
        for field in [&r.prompt, &r.code, &r.variant] {
            p.text.push_str(field);
            p.text.push('\n');
        }
    }
    p
}

fn packed_scan(p: &Packed, q: &str) -> Vec<usize> {
    if q.is_empty() {
        return (0..p.starts.len()).rev().collect();
    }
    let mut out: Vec<usize> = Vec::new();
    for (at, _) in p.text.match_indices(q) {
        let row = p.starts.partition_point(|s| *s <= at) - 1;
        if out.last() != Some(&row) {
            out.push(row);
        }
    }
    out.reverse();
    out
}

struct Searches {
    whole: Spread,
    typed: Spread,
    narrowed: usize,
    contains: Spread,
    packed: Spread,
    slowest: (String, Duration, usize),
}

fn searches(rows: &[TakeRow]) -> Searches {
    let pack = packed(rows);
    let hay = history::Haystack::build(rows);
    let (mut whole, mut contains, mut packed) = (Vec::new(), Vec::new(), Vec::new());
    let mut slowest = (String::new(), Duration::ZERO, 0);
    println!(
        "  {:<24} {:>8} {:>10} {:>8} {:>10} {:>10}",
        "query", "matches", "search", "substr.", "contains", "packed"
    );
    for q in QUERIES {
        let f = history::parse_filter(q);
        let (t, hits) = median_of_3(|| history::search(rows, &hay, &f, None));
        let (tc, plain) = median_of_3(|| contains_scan(rows, &f.query));
        let (tp, _) = median_of_3(|| packed_scan(&pack, &f.query));
        println!(
            "  {:<24} {:>8} {:>7.1} ms {:>8} {:>7.1} ms {:>7.1} ms",
            q,
            hits.len(),
            ms(t),
            plain.len(),
            ms(tc),
            ms(tp)
        );
        if t > slowest.1 {
            slowest = (q.to_string(), t, hits.len());
        }
        whole.push(t);
        contains.push(tc);
        packed.push(tp);
    }
    let mut typed = Vec::new();
    let mut narrowed = 0;
    for word in TYPED {
        let mut old = HistoryFilter::default();
        let mut old_hits: Vec<usize> = (0..rows.len()).rev().collect();
        let mut text = String::new();
        for c in word.chars() {
            text.push(c);
            let f = history::parse_filter(&text);
            let narrows = !old.query.is_empty() && f.query.starts_with(&old.query);
            let (t, hits) =
                median_of_3(|| history::search(rows, &hay, &f, Some((&old, &old_hits))));
            if text.chars().count() > 1 {
                typed.push(t);
                narrowed += usize::from(narrows);
            }
            (old, old_hits) = (f, hits);
        }
    }
    Searches {
        whole: spread(whole),
        typed: spread(typed),
        narrowed,
        contains: spread(contains),
        packed: spread(packed),
        slowest,
    }
}

// ---------------------------------------------------------------------------------------------
// 5: resident set.

fn status_kb(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// The heap a row holds: the struct and its strings.
fn row_heap(r: &TakeRow) -> usize {
    let reason = match &r.state {
        RowState::Failed(s) => s.capacity(),
        _ => 0,
    };
    let strings = [
        &r.code,
        &r.shot_code,
        &r.prompt,
        &r.backend,
        &r.model,
        &r.style,
        &r.variant,
        &r.currency,
        &r.path,
    ];
    std::mem::size_of::<TakeRow>()
        + strings.iter().map(|s| s.capacity()).sum::<usize>()
        + r.parent.as_ref().map_or(0, String::capacity)
        + reason
}

/// In the child process: the resident set with the store open, at the first frame, with the
/// history loaded, and after closing the store. Prints
/// `rss <open> <first frame> <history> <peak> <closed> (kB) <rows> <row heap bytes>`.
fn rss_child(dir: &Path) {
    let store = Store::open_waiting(dir, Duration::from_secs(10)).unwrap();
    let open = status_kb("VmRSS:");
    let snap = data::snapshot(&store, PROJECT).unwrap();
    let workbench = Arc::new(Workbench::default());
    let mut st = new_state(snap.project.clone(), Keymap::default(), workbench, None);
    update(&mut st, Msg::Loaded(Box::new(snap)));
    let first = status_kb("VmRSS:");
    let rows = data::take_rows(&store, PROJECT).unwrap();
    update(&mut st, Msg::TakesLoaded(rows));
    let loaded = status_kb("VmRSS:");
    let peak = status_kb("VmHWM:");
    drop(store);
    let closed = status_kb("VmRSS:");
    let heap: usize = st.history.rows.iter().map(row_heap).sum::<usize>()
        + st.history.visible.capacity() * std::mem::size_of::<usize>();
    println!(
        "rss {open} {first} {loaded} {peak} {closed} {} {heap}",
        st.history.rows.len()
    );
}

/// The child's figures, in its order.
fn rss(dir: &Path) -> Option<[u64; 7]> {
    let out = std::process::Command::new(std::env::current_exe().ok()?)
        .env(RSS_CHILD, dir)
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().find_map(|l| l.strip_prefix("rss "))?;
    let v: Vec<u64> = line
        .split_whitespace()
        .filter_map(|n| n.parse().ok())
        .collect();
    v.try_into().ok()
}

// ---------------------------------------------------------------------------------------------
// The report.

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn mib(kb: u64) -> f64 {
    kb as f64 / 1024.0
}

/// The summary's lines: figure, measured, target, met.
#[derive(Default)]
struct Summary(Vec<[String; 4]>);

impl Summary {
    fn add(&mut self, figure: String, measured: String, target: &str, met: Option<bool>) {
        let met = match met {
            Some(true) => "yes",
            Some(false) => "NO",
            None => "-",
        };
        self.0.push([figure, measured, target.into(), met.into()]);
    }

    fn print(&self) {
        println!("\nsummary");
        println!("  {:<38} {:<56} {:<24} met", "figure", "measured", "target");
        for [figure, measured, target, met] in &self.0 {
            println!("  {figure:<38} {measured:<56} {target:<24} {met}");
        }
    }
}

fn load_average() -> String {
    let avg = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let first: Vec<&str> = avg.split_whitespace().take(3).collect();
    format!(
        "load average {} on {} cores",
        first.join(" "),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    )
}

fn figure_1(summary: &mut Summary) {
    println!(
        "\n1. terminal output while the Queue view watches {LIVE_JOBS} live jobs for {WATCH_S} s \
         (every job's progress every {} ms, a clock tick every second)",
        ENGINE_EVERY_US / 1000
    );
    let theme = Theme::load("default", Depth::TrueColor).unwrap();
    let theme_256 = Theme::load("default", Depth::Ansi256).unwrap();
    for (w, h) in [(80, 24), (120, 40)] {
        let r = watch(w, h, &theme);
        let rate = r.bytes as f64 / WATCH_S as f64;
        let full = r.full_bytes as f64 / WATCH_S as f64;
        let rate_256 = watch(w, h, &theme_256).bytes as f64 / WATCH_S as f64;
        println!(
            "  {w}x{h}: {} messages → {} frames; {rate:.0} B/s ({:.0} B/frame; {rate_256:.0} B/s \
             in 256 colours); a full repaint of the same frames {full:.0} B/s; ratio {:.3} \
             (1/{:.0}); first frame {} B",
            r.messages,
            r.frames,
            r.bytes as f64 / r.frames as f64,
            rate / full,
            full / rate,
            r.first_frame
        );
        println!(
            "    what changes: cells changed in {WATCH_S} s, and the bytes/s the frames would \
             lose if that part did not change"
        );
        for (part, bytes, cells) in r.parts.iter().filter(|p| p.2 > 0) {
            println!(
                "      {part:<22} {cells:>6} cells {:>7.0} B/s",
                *bytes as f64 / WATCH_S as f64
            );
        }
        if r.eta_rises > 0 {
            println!(
                "    the jobs' ETAs went up between two frames {} times in {WATCH_S} s: progress \
                 is fresh, the elapsed time it is divided into is the last tick's",
                r.eta_rises
            );
        }
        summary.add(
            format!("1. terminal bytes/s, {LIVE_JOBS} jobs, {w}x{h}"),
            format!(
                "{:.2} KB/s (full repaint {:.1} KB/s)",
                rate / 1000.0,
                full / 1000.0
            ),
            "< 4 KB/s",
            Some(rate < 4000.0),
        );
    }
}

fn figure_2(summary: &mut Summary) {
    let theme = Theme::load("default", Depth::TrueColor).unwrap();
    let b = burst(&theme);
    println!(
        "\n2. a burst of {} engine events within 100 ms: {} frames ({} inside the 100 ms, then \
         one for the last messages); shortest gap {:.1} ms (≤ {:.1} fps); applying them and \
         drawing took {:.1} ms",
        b.messages,
        b.frames,
        b.in_window,
        b.min_gap_us as f64 / 1000.0,
        1e6 / b.min_gap_us.max(1) as f64,
        ms(b.cpu)
    );
    summary.add(
        "2. frames for 1,000 events in 100 ms".into(),
        format!(
            "{} in the 100 ms, {} in all, for {} messages",
            b.in_window, b.frames, b.messages
        ),
        "≤ 4 (≤ ~30 fps)",
        Some(b.in_window <= 4 && b.min_gap_us >= frame_us()),
    );
}

fn figure_3(dir: &Path, takes: usize, summary: &mut Summary) -> Vec<TakeRow> {
    println!(
        "\n3. first frame with {takes} takes in the store (sled, in {})",
        dir.display()
    );
    let built = build_store(dir, takes);
    println!(
        "  store written in {:.1} s: {} takes through finish_job ({:.0} takes/s), {} jobs \
         ended without a take, {QUEUED} waiting",
        built.time.as_secs_f64(),
        built.takes,
        built.takes as f64 / built.time.as_secs_f64(),
        built.ended
    );
    let theme = Theme::load("default", Depth::TrueColor).unwrap();
    let mut runs = Vec::new();
    let mut rows = Vec::new();
    for _ in 0..3 {
        // Each run opens the store anew, as the workstation does (the OS file cache is warm).
        let (s, r) = start(dir, &theme);
        println!(
            "  open + project {:>6.1} ms | snapshot {:>6.1} ms, state {:>5.1} ms, draw {:>4.1} ms \
             → first frame {:>6.1} ms | take_rows {:>6.1} ms, into the state {:>5.1} ms",
            ms(s.open),
            ms(s.snapshot),
            ms(s.state),
            ms(s.draw),
            ms(s.first_frame()),
            ms(s.take_rows),
            ms(s.set_rows)
        );
        runs.push(s);
        rows = r;
    }
    let median = |f: fn(&Startup) -> Duration| {
        let mut v: Vec<Duration> = runs.iter().map(f).collect();
        v.sort();
        v[v.len() / 2]
    };
    let (open, first) = (median(|s| s.open), median(Startup::first_frame));
    let (take_rows, set_rows) = (median(|s| s.take_rows), median(|s| s.set_rows));
    let rate = rows.len() as f64 / take_rows.as_secs_f64();
    println!(
        "  medians: first frame {:.1} ms = {:.1}x opening the store and reading the project \
         ({:.1} ms); the history ({} rows) follows: take_rows {:.1} ms ({rate:.0} rows/s) + \
         {:.1} ms into the state = {:.1}x the first frame",
        ms(first),
        ms(first) / ms(open),
        ms(open),
        rows.len(),
        ms(take_rows),
        ms(set_rows),
        ms(take_rows + set_rows) / ms(first)
    );
    println!(
        "  what the first frame avoids: decoding every job record (store.jobs(), {} records: \
         {:.1} ms; the snapshot reads the index of unfinished jobs) and linting every shot \
         before drawing ({SHOTS} shots: {:.1} ms; lint marks arrive from the effect thread)",
        takes + built.ended + QUEUED,
        ms(median(|s| s.all_jobs)),
        ms(median(|s| s.lint))
    );
    summary.add(
        format!("3. first frame, {takes} takes"),
        format!(
            "{:.0} ms ({:.1}x open + project)",
            ms(first),
            ms(first) / ms(open)
        ),
        "< 150 ms",
        Some(first < Duration::from_millis(150)),
    );
    summary.add(
        format!("3. take_rows, {} rows", rows.len()),
        format!(
            "{:.0} ms ({:.0}k rows/s), +{:.0} ms into the state",
            ms(take_rows),
            rate / 1000.0,
            ms(set_rows)
        ),
        "(after the first frame)",
        None,
    );
    rows
}

fn figure_4(rows: &[TakeRow], summary: &mut Summary) {
    println!(
        "\n4. history search over {} rows: {} queries, median of 3 runs each; `substr.` counts \
         the rows a plain substring finds; `packed` scans one contiguous copy of the same text",
        rows.len(),
        QUERIES.len()
    );
    let q = searches(rows);
    let show = |name: &str, s: &Spread| {
        println!(
            "  {name:<38} n={:<3} p50 {:>6.1} ms  p95 {:>6.1} ms  max {:>6.1} ms",
            s.n,
            ms(s.p50),
            ms(s.p95),
            ms(s.max)
        );
    };
    show("history::search, whole queries", &q.whole);
    show("history::search, one more character", &q.typed);
    show("str::contains per row (baseline)", &q.contains);
    show("str::contains, packed text", &q.packed);
    println!(
        "  {} of the {} keystrokes narrowed the previous result; slowest query {:?} ({:.1} ms, \
         {} matches); search / contains: p50 {:.1}x, p95 {:.1}x",
        q.narrowed,
        q.typed.n,
        q.slowest.0,
        ms(q.slowest.1),
        q.slowest.2,
        ms(q.whole.p50) / ms(q.contains.p50),
        ms(q.whole.p95) / ms(q.contains.p95)
    );
    for (name, s) in [
        ("whole queries", &q.whole),
        ("one more character", &q.typed),
    ] {
        summary.add(
            format!("4. search p95, {name}"),
            format!(
                "{:.1} ms (p50 {:.1}, max {:.1}; contains p95 {:.1})",
                ms(s.p95),
                ms(s.p50),
                ms(s.max),
                ms(q.contains.p95)
            ),
            "p95 < 10 ms",
            Some(s.p95 < Duration::from_millis(10)),
        );
    }
}

fn figure_5(dir: &Path, summary: &mut Summary) {
    println!("\n5. resident set (a child process opens the store and loads the history)");
    let Some([open, first, loaded, peak, closed, rows, heap]) = rss(dir) else {
        println!("  the child process failed; nothing measured");
        return;
    };
    let per_row = (loaded.saturating_sub(first) * 1024) as f64 / rows as f64;
    println!(
        "  store open {:.1} MiB; at the first frame {:.1} MiB; history loaded {:.1} MiB (peak \
         {:.1} MiB); store closed {:.1} MiB",
        mib(open),
        mib(first),
        mib(loaded),
        mib(peak),
        mib(closed)
    );
    println!(
        "  loading {rows} rows: +{:.1} MiB = {per_row:.0} B per row; the rows themselves hold \
         {:.0} B each (struct, strings, index); the rest is the store's cache and freed \
         decoding garbage the allocator keeps",
        mib(loaded.saturating_sub(first)),
        heap as f64 / rows as f64
    );
    summary.add(
        format!("5. resident set, {rows} rows"),
        format!(
            "{:.0} → {:.0} MiB, {per_row:.0} B/row (rows alone {:.0})",
            mib(first),
            mib(loaded),
            heap as f64 / rows as f64
        ),
        "(report)",
        None,
    );
}

fn main() {
    if let Some(dir) = std::env::var_os(RSS_CHILD) {
        rss_child(Path::new(&dir));
        return;
    }
    let takes: usize = std::env::var("PREVIS_BENCH_TAKES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    println!(
        "tui bench: the loop's rule replayed on simulated time (a frame at most every {} ms, \
         only after a message); default theme; {}",
        run::FRAME.as_millis(),
        load_average()
    );
    let mut summary = Summary::default();
    figure_1(&mut summary);
    figure_2(&mut summary);
    let dir = tempfile::tempdir().unwrap();
    let rows = figure_3(dir.path(), takes, &mut summary);
    figure_4(&rows, &mut summary);
    drop(rows);
    figure_5(dir.path(), &mut summary);
    summary.print();
    println!("  ({})", load_average());
}
