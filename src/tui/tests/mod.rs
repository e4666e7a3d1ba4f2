//! Tests of the workstation without a terminal: the pure update function driven by keys, and
//! every view drawn into ratatui's TestBackend at 80x24 and 120x40 (insta snapshots), with
//! Chinese text in the script, the shots and the prompts.

mod snapshots;
mod update;

use std::sync::Arc;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use crate::engine::{Event, JobView};
use crate::model::{CameraSpec, Project, Shot, ShotId, ShotSpec};

use super::msg::{Effect, Msg, Snapshot};
use super::state::{RowState, State, TakeRow};
use super::theme::{Depth, Theme};
use super::{draw, keymap::Keymap, update::update};

const NOW: i64 = 1_795_600_000_000;

fn spec(subject: &str, action: &str, env: &str, size: &str, mv: &str, light: &str) -> ShotSpec {
    ShotSpec {
        subject: subject.into(),
        action: action.into(),
        environment: env.into(),
        camera: CameraSpec {
            size: size.into(),
            angle: String::new(),
            movement: mv.into(),
            lens: String::new(),
        },
        lighting: light.into(),
        ..ShotSpec::default()
    }
}

fn shots() -> Vec<Shot> {
    let mut a = Shot::new(
        ShotId(1),
        "night-chase",
        "1A",
        "1",
        1,
        spec(
            "a lone courier on a motorbike",
            "rain hammers the asphalt, a headlight cuts through the spray",
            "exterior, harbour road, night",
            "wide",
            "crane down",
            "night rain",
        ),
        NOW,
    );
    a.circled = Some(crate::model::TakeId(1));
    let b = Shot::new(
        ShotId(2),
        "night-chase",
        "2A",
        "2",
        2,
        spec(
            "李雷，二十多岁，湿透的夹克",
            "李雷冲进小巷狂奔，回头张望。",
            "夜，狭窄的小巷",
            "特写",
            "",
            "",
        ),
        NOW,
    );
    let c = Shot::new(
        ShotId(3),
        "night-chase",
        "2B",
        "2",
        3,
        spec(
            "韩梅梅",
            "韩梅梅从阴影中拉住他。",
            "",
            "中景",
            "手持",
            "月光",
        ),
        NOW,
    );
    vec![a, b, c]
}

fn scenes() -> Vec<crate::model::Scene> {
    let mut out = Vec::new();
    for (n, h) in [("1", "EXT. HARBOUR ROAD - NIGHT"), ("2", "夜 小巷")] {
        out.push(crate::model::Scene {
            number: n.into(),
            heading: h.into(),
            int_ext: None,
            location: String::new(),
            time_of_day: None,
            line: 1,
            synopses: Vec::new(),
        });
    }
    out
}

fn job(id: u64, take: &str, state: &str, progress: f32) -> JobView {
    JobView {
        id,
        project: "night-chase".into(),
        shot: take[6..take.len() - 5].trim_start_matches("SH").to_string(),
        take: take.into(),
        state: state.into(),
        progress,
        backend: "animatic".into(),
        model: "animatic-1".into(),
        seed: 1000 + id,
        prompt: "李雷冲进小巷，回头张望。特写，缓慢推进，霓虹雨夜".into(),
        duration_s: 3.0,
        width: 1280,
        height: 720,
        fps: 24,
        frames: 72,
        cost: 0.0,
        currency: "CNY".into(),
        attempts: 1,
        remote_id: None,
        error: (state == "failed")
            .then(|| "ComfyUI execution_error: CUDA out of memory on node 8 (KSampler)".into()),
        retry_at: None,
        cache_hit: false,
        path: None,
        parent: None,
        variant: Default::default(),
        created_at: NOW - 60_000,
        priority: i64::try_from(id).unwrap_or(0),
        started_at: (state != "queued").then_some(NOW - 12_000),
        finished_at: (state == "failed").then_some(NOW - 1_000),
    }
}

fn take_row(code: &str, shot: &str, prompt: &str, seed: u64, age_ms: i64) -> TakeRow {
    TakeRow {
        is_take: true,
        job: seed,
        code: code.into(),
        shot_code: shot.into(),
        state: RowState::Done,
        prompt: prompt.into(),
        seed,
        backend: "animatic".into(),
        model: "animatic-1".into(),
        style: String::new(),
        variant: String::new(),
        cost: 0.0,
        currency: "CNY".into(),
        render_ms: 2_400,
        created_at: NOW - age_ms,
        path: format!("/home/film/data/takes/night-chase/{code}.mp4"),
        width: 1280,
        height: 720,
        duration_s: 3.0,
        parent: None,
        circled: false,
    }
}

const SCRIPT: &str = "Title: NIGHT CHASE 夜追\n\nEXT. HARBOUR ROAD - NIGHT\n\nRain hammers the asphalt. A motorbike headlight cuts through the spray.\n\n.夜 小巷\n\n李雷冲进小巷，回头张望。\n\n韩梅梅\n（低声）\n别出声。\n";

/// A state like a real project's: three shots (one Chinese scene), four jobs, three takes.
fn state() -> State {
    let mut st = super::new_state(
        Project::new("night-chase", NOW).expect("valid name"),
        Keymap::default(),
        Arc::new(crate::prompt::Workbench::default()),
        None,
    );
    st.now = NOW;
    let snap = Snapshot {
        project: st.project.clone(),
        scenes: scenes(),
        shots: shots(),
        jobs: vec![
            job(7, "SC002_SH2A_TK02", "remote", 0.42),
            job(8, "SC002_SH2A_TK03", "queued", 0.0),
            job(9, "SC002_SH2B_TK01", "queued", 0.0),
        ],
        paused: false,
        script: Some(("/home/film/night-chase.fountain".into(), SCRIPT.into())),
    };
    for effect in update(&mut st, Msg::Loaded(Box::new(snap))) {
        // What the effect worker does with a lint request.
        if let Effect::Lint { shots } = effect {
            let marks = super::views::shots::lint_codes(&st.workbench.rules, None, &shots);
            update(&mut st, Msg::Linted(marks));
        }
    }
    let mut first = take_row(
        "SC001_SH1A_TK01",
        "1A",
        "a lone courier on a motorbike, rain hammers the asphalt, wide shot, crane down, night rain",
        1101,
        3_600_000,
    );
    first.circled = true;
    let mut reroll = take_row(
        "SC001_SH1A_TK02",
        "1A",
        "a lone courier on a motorbike, rain hammers the asphalt, wide shot, crane down, neon",
        1102,
        1_800_000,
    );
    reroll.parent = Some("SC001_SH1A_TK01".into());
    let zh = take_row(
        "SC002_SH2A_TK01",
        "2A",
        "李雷，二十多岁，湿透的夹克，冲进小巷，回头张望。夜，狭窄的小巷。特写",
        2201,
        600_000,
    );
    update(&mut st, Msg::TakesLoaded(vec![first, reroll, zh]));
    update(
        &mut st,
        Msg::Engine(Event::JobUpdated {
            job: Box::new(job(6, "SC001_SH1A_TK03", "failed", 0.0)),
        }),
    );
    update(&mut st, Msg::Tick(NOW));
    st.status = None;
    st
}

fn key(st: &mut State, code: KeyCode) -> Vec<Effect> {
    update(st, Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

fn ch(st: &mut State, c: char) -> Vec<Effect> {
    key(st, KeyCode::Char(c))
}

fn ctrl(st: &mut State, c: char) -> Vec<Effect> {
    update(
        st,
        Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL)),
    )
}

fn typed(st: &mut State, text: &str) {
    for c in text.chars() {
        ch(st, c);
    }
}

/// The screen as text, one line per row (wide characters take their two cells once).
fn screen(st: &State, w: u16, h: u16) -> String {
    let theme = Theme::load("default", Depth::None).expect("built-in theme");
    let mut term = Terminal::new(TestBackend::new(w, h)).expect("test backend");
    term.draw(|f| draw::draw(f, st, &theme)).expect("draw");
    let buf = term.backend().buffer().clone();
    let mut out = String::new();
    for y in 0..h {
        let mut skip = 0;
        for x in 0..w {
            if skip > 0 {
                skip -= 1;
                continue;
            }
            let sym = buf[(x, y)].symbol();
            skip = unicode_width::UnicodeWidthStr::width(sym).saturating_sub(1);
            out.push_str(sym);
        }
        out.push('\n');
    }
    out
}
